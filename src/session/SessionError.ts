/**
 * The errors a session surfaces. Everything else is recovered inside and only shows up as a
 * state transition with its reason.
 *
 * @since 0.1.0
 */
import { TaggedError } from "../internal/taggedError.ts"
import { escaped } from "../internal/printable.ts"
import * as CloseCode from "../protocol/CloseCode.ts"

/**
 * The gateway closed with a code that forbids reconnecting (4004, 4010-4014): the session ended.
 *
 * @since 0.1.0
 */
export class FatalClose extends TaggedError("FatalClose")<{
  readonly code: number
  readonly shard: number
  /**
   * The close frame's reason, as the gateway (or a proxy before it) wrote it, every run of the
   * token masked, escaped as inside a JSON string (quotes, backslashes and control characters: it
   * is the peer's text, and whatever prints the error, its JSON or `util.inspect`, writes it as
   * it is); `""` when the frame had none. Given the text as it came.
   */
  readonly reason: string
}> {
  constructor(fields: { readonly code: number; readonly shard: number; readonly reason: string }) {
    super({ ...fields, reason: escaped(fields.reason) })
  }
  /** What the code means, in words. */
  get meaning(): string {
    return CloseCode.describe(this.code)
  }
  override get message(): string {
    const said = this.reason === "" ? "" : ` saying "${this.reason}"`
    return `shard ${this.shard}: the gateway closed with ${this.code} (${this.meaning})${said}; not reconnecting`
  }
}

/**
 * The gateway sent a message over `maxMessageBytes` twice at the same point: in answer to the
 * same Identify, or first after the same event and again in the Resume's replay. It sends it on
 * every try, so the session ends rather than reconnect for ever (spending a session start every
 * few tries). It stays resumable: a process with a larger `maxMessageBytes` resumes it from
 * `disconnect`'s point and gets the message.
 *
 * @since 0.1.0
 */
export class MessageTooLarge extends TaggedError("MessageTooLarge")<{
  readonly shard: number
  /** The `maxMessageBytes` it was over. */
  readonly maxMessageBytes: number
  /** The last event before it (none: before READY). */
  readonly sequence: number | null
}> {
  override get message(): string {
    const where = this.sequence === null ? "before READY" : `after sequence ${this.sequence}`
    return `shard ${this.shard}: the gateway sent a message over maxMessageBytes (${this.maxMessageBytes} bytes) ${where}, and again on the next try; raise maxMessageBytes (the session stays resumable)`
  }
}

/**
 * `GET /gateway/bot` failed. A `passing` failure (no answer, a 408, a 429, a 5xx) is retried with
 * backoff (no sooner than `retryAfter` seconds, when the answer gave one) and only shows up as
 * transitions; any other (`Unauthorized`: the token was rejected; another 4xx, such as a 404 from
 * a wrong `api`; a body that is no answer) cannot mend by itself and is fatal, unless an earlier
 * answer is still at hand to use meanwhile.
 *
 * @since 0.1.0
 */
export class GatewayInfoError extends TaggedError("GatewayInfoError")<{
  readonly reason: "Unauthorized" | "RateLimited" | "Http" | "Decode"
  readonly detail: string
  /** The seconds the answer asked to wait: a 429's, or a 5xx's `Retry-After`. */
  readonly retryAfter?: number | undefined
  /** With `Http`, when the server answered: the status of its answer (a 404, a 503...). */
  readonly status?: number | undefined
  /** Where the URL came from, when not from `GET /gateway/bot`: a session's `gatewayUrl` source. */
  readonly source?: "gatewayUrl" | undefined
}> {
  /** Whether trying again can help: no answer (the network, a timeout), a 408, a 429 or a 5xx. */
  get passing(): boolean {
    return this.reason === "RateLimited" ||
      (this.reason === "Http" && (this.status === undefined || this.status === 408 || this.status === 429 || this.status >= 500))
  }

  override get message(): string {
    const wait = this.retryAfter === undefined ? "" : `; retry after ${this.retryAfter} s`
    return this.source === "gatewayUrl"
      ? `the gatewayUrl source failed: ${this.detail}${wait}`
      : this.reason === "Unauthorized"
      ? `GET /gateway/bot was refused: the token was rejected (${this.detail})`
      // one trying again cannot mend (a 404, an answer that is none) read as one it could
      : `GET /gateway/bot failed: ${this.detail}${wait}${this.passing ? "" : "; trying again cannot mend it: check the api option"}`
  }
}

/**
 * One thing wrong with the options given to a session or a fleet: which option, and what is wrong.
 *
 * @since 0.1.0
 */
export interface OptionProblem {
  /**
   * The option's path as the options spell it: `"intents"`, `"backoff.max"`,
   * `"backoff.afterInvalidSession[1]"`, `"presence.activities[0].name"`, a fleet's `"shards"` or
   * `"shardCount"`. A resume point's problems (a fleet's list of them too) name `"resume"`. `""`
   * where the problem is no one option's: options that are no object or whose keys could not be
   * read, several options named together (misspelt ones, a session's given to a fleet), an
   * Identify refused as a whole (too large for all it carries), the count of an Identify's
   * problems past the tenth.
   */
  readonly option: string
  /** What is wrong, as the message says it, the option named in it; the token masked. */
  readonly problem: string
}

/**
 * The options given to a session or a fleet are invalid; nothing was sent. `problems` says which
 * options, in the order the message tells them.
 *
 * @since 0.1.0
 */
export class InvalidOptions extends TaggedError("InvalidOptions")<{
  /** The problems' texts, joined with "; ". */
  readonly detail: string
  /** Each thing wrong, with the option it is about. */
  readonly problems: ReadonlyArray<OptionProblem>
}> {
  override get message(): string {
    // a fleet's own options too (`shards`, `shardCount`): "session options" misnamed them
    return `invalid options: ${this.detail}`
  }
}

/**
 * The session is not running any more (it was disconnected or ended), so it cannot do this. It
 * names the shards and guilds of what failed, so a program can ask again for those only (a
 * fleet's soundboard request split over shards fails only for the parts that did not go out).
 *
 * @since 0.1.0
 */
export class SessionClosed extends TaggedError("SessionClosed")<{
  readonly detail: string
  /** The shards whose sessions ended before the command, or their part of it, was done. */
  readonly shards: ReadonlyArray<number>
  /** The guilds of what failed (none for a command about no guild, a presence update). */
  readonly guildIds: ReadonlyArray<string>
}> {
  override get message(): string {
    return `session closed: ${this.detail}`
  }
}

/**
 * Whether `error` says the bot's token itself was refused: a 4004 close, or a 401 from
 * `GET /gateway/bot` (not a `gatewayUrl` source's own refusal). No session of the bot can be
 * resumed with it then.
 *
 * @internal
 * @since 0.1.0
 */
export const refusesToken = (error: unknown): boolean =>
  (error instanceof FatalClose && error.code === CloseCode.CloseCode.AuthenticationFailed) ||
  (error instanceof GatewayInfoError && error.reason === "Unauthorized" && error.source === undefined)
