/**
 * Telling a misspelt option: options from JavaScript or a parsed file may hold a key no option has
 * (`identifyColdown`, `highWatermark`), which was ignored and its default kept.
 *
 * @since 0.1.0
 */
import { clipped, notShown, quoted } from "./printable.ts"

/**
 * `list` as it is, when it names every key of `T` and no other: a check the compiler makes, so
 * that an option added to a type and not to its list, or a key left in a list after its option
 * went, fails to compile.
 *
 * @since 0.1.0
 */
export const wholeList = <T>() => <L extends { readonly [K in keyof T]-?: true }>(list: L & { readonly [K in Exclude<keyof L, keyof T>]: never }): L =>
  list

/**
 * The own keys of `given` that `known` has none of and that hold a value (one holding `undefined`
 * is an option left out).
 *
 * @since 0.1.0
 */
export const unknownKeys = (given: object, known: object): Array<string> =>
  // (the value read of an unknown key alone: a known one's getter, which may throw, is read as its check reads it)
  Object.keys(given).filter((key) => !Object.hasOwn(known, key) && (given as Record<string, unknown>)[key] !== undefined)

/**
 * A key as a message names it, within the option `within` if any (`sessionStartLimit.totl`): as it
 * is when a plain word, quoted otherwise, and told by its length past 40 characters (it may be a
 * value pasted where a key goes).
 *
 * @since 0.1.0
 */
export const toldKey = (key: string, within?: string): string => {
  const told = key.length > 40 ? notShown(key) : /^\w+$/.test(key) ? key : clipped(quoted(key), 60)
  return within === undefined ? told : `${within}.${told}`
}

// unknown options named in a message: a program's whole config spread into the options named
// every key of it
const maxNamed = 10

/**
 * What a message says of the unknown options `told` (none: `undefined`).
 *
 * @since 0.1.0
 */
export const unknownOptionsText = (told: ReadonlyArray<string>): string | undefined =>
  told.length === 0
    ? undefined
    : `unknown option${told.length === 1 ? "" : "s"} ${
      told.length <= maxNamed ? told.join(", ") : `${told.slice(0, maxNamed).join(", ")} and ${told.length - maxNamed} more`
    } (misspelt?)`

/**
 * What a message says of the keys of `given` that `known` has none of (none: `undefined`): the
 * check of an options object with no nested options.
 *
 * @since 0.1.0
 */
export const unknownOptionsIn = (given: object, known: object): string | undefined =>
  unknownOptionsText(unknownKeys(given, known).map((key) => toldKey(key)))
