/**
 * Reading a comma-separated list, as every list a person writes is read (`--intents`, `--shards`,
 * `--events`, `Intents.parse`, the `events` and `shards` config values): a comma at an end is
 * dropped, two in a row are taken as one, and blanks around an item are dropped.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"

/**
 * What a list without items was, as a message says it received it: a blank text, or commas alone
 * (a list whose items went missing).
 *
 * @since 0.1.0
 */
export type NoItems = "an empty value" | "only commas"

/**
 * The items of the comma-separated `text`, each trimmed, a blank one dropped; or, when none is
 * left, whether `text` was blank or only commas.
 *
 * @since 0.1.0
 */
export const commaList = (text: string): Either.Either<Arr.NonEmptyReadonlyArray<string>, NoItems> => {
  const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "")
  return Arr.isNonEmptyReadonlyArray(items) ? Either.right(items) : Either.left(text.trim() === "" ? "an empty value" : "only commas")
}
