/**
 * Dispatch type names read from a config value, for the `events` option of `Session.layerConfig`
 * and `Fleet.layerConfig`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import { commaList } from "../internal/commaList.ts"
import { isQuotable, notShown } from "../internal/printable.ts"
import { type EventName, isTypeNameInAnyCase } from "./Event.ts"

const expected = "Expected dispatch types (such as MESSAGE_CREATE,GUILD_CREATE)"

/**
 * The dispatch types listed in the config value `name`, comma-separated, in any case:
 * `events: EventNames.config("DISCORD_EVENTS")` (`Config.array(Config.string())` is no list of
 * `EventName`s to the types). A name that is no dispatch type's as Discord writes them (1 to 64 of
 * A-Z, 0-9 and `_`, once upper-cased; ASCII only) or an empty value is a `ConfigError`; a name the
 * typings do not know yet is taken, as Discord adds types before they do. A value over 40
 * characters, or not printable ASCII, is not quoted. The stream of a layer is typed for every event
 * whatever the list.
 *
 * @since 0.1.0
 */
export const config = (name: string): Config.Config<ReadonlyArray<EventName>> =>
  Config.nested(
    Config.mapOrFail(Config.string(), (text) => {
      const listed = commaList(text)
      if (Either.isLeft(listed)) return Either.left(ConfigError.InvalidData([], `${expected} but received ${listed.left}`))
      const names = listed.right
      const misnamed = names.find((given) => !isTypeNameInAnyCase(given))
      if (misnamed !== undefined) {
        const shown = isQuotable(text) ? JSON.stringify(misnamed) : notShown(text)
        return Either.left(ConfigError.InvalidData([], `${expected} but received ${shown}`))
      }
      // a name these typings do not know is a dispatch type Discord added since: typed as a name
      return Either.right(names.map((given) => given.toUpperCase() as EventName))
    }),
    name
  )
