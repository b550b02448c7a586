/**
 * The Identify that resolved options describe: built, checked as it would be sent, and checked
 * again with a new presence, which a session's next Identify carries.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import type { Encoding } from "../../codec/Encoding.ts"
import * as Commands from "../../protocol/Commands.ts"

/**
 * What of a session's resolved options an Identify is made of, and the encoding it goes out in.
 *
 * @since 0.1.0
 */
export interface IdentifyOptions {
  readonly token: Redacted.Redacted<string>
  readonly intents: number
  readonly shard: readonly [id: number, count: number]
  readonly largeThreshold: number
  readonly presence: Commands.Presence | undefined
  readonly properties: { readonly os: string; readonly browser: string; readonly device: string }
  readonly encoding: Encoding
}

/**
 * The Identify command the options describe.
 *
 * @since 0.1.0
 */
export const identifyCommand = (options: IdentifyOptions): Commands.Identify =>
  Commands.identify({
    token: options.token,
    properties: options.properties,
    intents: options.intents,
    shard: options.shard,
    large_threshold: options.largeThreshold,
    ...(options.presence === undefined ? {} : { presence: options.presence })
  })

/**
 * The Identify the options describe, as it was checked (its presence a copy, read once), if it can
 * be sent.
 *
 * @since 0.1.0
 */
export const checkIdentify = (options: IdentifyOptions): Either.Either<Commands.Identify, Commands.InvalidCommand> =>
  Either.map(Commands.encodeChecked(identifyCommand(options), options.encoding), ({ checked }) => checked)

/**
 * `options` with the presence `identify` was checked with: a copy, which the caller's later changes
 * (or a getter's next answer) do not reach.
 *
 * @since 0.1.0
 */
export const presenceAsChecked = <O extends IdentifyOptions>(options: O, identify: Commands.Identify): O =>
  options.presence === undefined ? options : { ...options, presence: identify.presence }

/**
 * `options` identifying with `presence` (a copy of it, as checked) from now on, as a session does
 * after `updatePresence`: fails when the Identify could not carry it (an Identify holds more than a
 * Presence Update).
 *
 * @since 0.1.0
 */
export const withPresence = <O extends IdentifyOptions>(
  options: O,
  presence: Commands.Presence
): Either.Either<O, Commands.InvalidCommand> => {
  const identifying = { ...options, presence }
  return Either.mapBoth(checkIdentify(identifying), {
    onRight: (identify) => presenceAsChecked(identifying, identify),
    onLeft: (error) => {
      const why = "a new session's Identify carries the presence, and with this one it fails: "
      return new Commands.InvalidCommand({
        reason: error.reason,
        command: "PresenceUpdate",
        message: `PresenceUpdate: ${why}${error.message}`,
        // the Identify's problems as its message tells them, why before the first
        problems: error.problems.map((problem, index) => index === 0 ? `${why}${error.command}: ${problem}` : problem)
      })
    }
  })
}
