/**
 * What a session is told: the options a program gives, their defaults, and their validation.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import { type Compression, compressions } from "../codec/Compression.ts"
import * as Decompress from "../codec/Decompress.ts"
import * as ZstdNative from "../codec/ZstdNative.ts"
import type { Encoding, EncodingName } from "../codec/Encoding.ts"
import * as Etf from "../codec/Etf.ts"
import * as Json from "../codec/Json.ts"
import { asTimeout, durationOf, isSleepable, longestSleepText } from "../internal/duration.ts"
import { kindOf, thrownText } from "../internal/printable.ts"
import { isOptionsMap, isRecord } from "../internal/record.ts"
import { toldKey, unknownKeys, unknownOptionsText, wholeList } from "../internal/unknownOptions.ts"
import * as SendLimiter from "../limits/SendLimiter.ts"
import * as Commands from "../protocol/Commands.ts"
import { type EventName, isTypeName } from "../protocol/Event.ts"
import * as Intents from "../protocol/Intents.ts"
import { isHttpUrl, isPair, isWebSocketUrl, maxUrlLength, shardPairProblem, show, showUrl } from "../protocol/internal/schema.ts"
import * as Backoff from "./Backoff.ts"
import { shortestMaxAge } from "./GatewayCache.ts"
import { defaultApi, sourceOf } from "./internal/gatewaySource.ts"
import { checkIdentify, presenceAsChecked } from "./internal/identify.ts"
import { fleetKeys, nestedKeys, optionAt, sessionKeys } from "./internal/optionKeys.ts"
import { invalidOptions, mustBe, notAnObject, ofResume, soleOption } from "./internal/optionProblems.ts"
import { readOnce } from "./internal/readOnce.ts"
import { readPoint, type ResumePoint, resumePointProblems, resumePointShapeProblems, resumesOver } from "./ResumePoint.ts"
import type { GatewayInfoError, InvalidOptions, OptionProblem } from "./SessionError.ts"

/**
 * Resume points, as a program stores and hands them back (`ResumePoint`), moves them on as it
 * handles events (`pointAfter`) and tells whether a session resumes one (`resumesOver`,
 * `whyNotResumed`).
 *
 * @since 0.1.0
 */
export { pointAfter, type ResumePoint, resumesOver, whyNotResumed } from "./ResumePoint.ts"

/**
 * The timeouts of one connection. One that runs more than a second late (the process did not run:
 * a blocked event loop, SIGSTOP) waits a second more, in which an answer that came meanwhile is
 * read. `Duration.infinity` is none; so is one over 24.8 days, which `resolve` makes
 * `Duration.infinity` (Node's timers wait no longer, and Effect's sleeps past that never end: a
 * `TestClock` would have ended it).
 *
 * @since 0.1.0
 */
export interface Timeouts {
  /** Opening the socket: TCP, TLS and the websocket upgrade (default 15 s); `GET /gateway/bot` too. */
  readonly connect: Duration.DurationInput
  /** From the open socket to Hello (default 20 s). */
  readonly hello: Duration.DurationInput
  /**
   * From Resume to RESUMED (default 30 s; a resume replays first), counted again while a slow
   * program keeps the replay waiting for room. An Identify not answered by then is only warned
   * about: the connection waits on while its heartbeats are acknowledged, as Discord asks during an
   * outage, since another Identify would spend a session start.
   */
  readonly ready: Duration.DurationInput
  /**
   * Request Guild Members: from the request going out to the first chunk of its answer, and from
   * each chunk to the next (default 30 s), so that a large guild's answer takes as long as it keeps
   * coming; counted only while a connection is answered (a drop pauses it, the next READY or
   * RESUMED, or a replayed event held up by a full events buffer, goes on with it), and started
   * over as a reader that waited for room in the events buffer gets it, up to ten timeouts after
   * the last chunk. A request waiting for an answered connection or the send limit is not counted
   * against it.
   */
  readonly members: Duration.DurationInput
}

/**
 * The identify `properties`.
 *
 * @since 0.1.0
 */
export interface IdentifyProperties {
  readonly os: string
  readonly browser: string
  readonly device: string
}

/**
 * Events a session buffers for the program when `bufferSize` is not given.
 *
 * @since 0.1.0
 */
export const defaultBufferSize = 4096

/**
 * Some fields of `A`, to change from their defaults; a field given as `undefined` keeps its default.
 *
 * @since 0.1.0
 */
export type Overrides<A> = { readonly [K in keyof A]?: A[K] | undefined }

/**
 * Options of a session. Only `token` and `intents` are required.
 *
 * @since 0.1.0
 */
export interface SessionOptions<N extends EventName = EventName> {
  /** The bot token. It never leaves a `Redacted` except inside Identify and Resume payloads. */
  readonly token: Redacted.Redacted<string>
  /** Intent bits, e.g. `Intents.Guilds | Intents.GuildMessages`. */
  readonly intents: number
  /** `[shard id, shard count]` (default `[0, 1]`). */
  readonly shard?: readonly [id: number, count: number] | undefined
  /** The gateway URL; without it, `GET /gateway/bot` is asked (and cached). */
  readonly gateway?: string | undefined
  /**
   * Where a fresh identify gets its gateway URL instead, asked before every identify: e.g. a
   * program's own discovery, or a cache of its own. Takes precedence over `gateway` and the
   * session's own fetch; a failure that is not `passing` is fatal, any other is retried with backoff.
   */
  readonly gatewayUrl?: Effect.Effect<string, GatewayInfoError> | undefined
  /** The REST base for `GET /gateway/bot` (default `https://discord.com/api/v10`). */
  readonly api?: string | undefined
  /**
   * How old the `GET /gateway/bot` answer may get before a fresh identify asks again (default
   * {@link defaultGatewayInfoMaxAge}; `Duration.infinity`: never). A fleet keeps one answer for
   * all its shards. Unused when `gateway` or `gatewayUrl` is given.
   */
  readonly gatewayInfoMaxAge?: Duration.DurationInput | undefined
  /** Transport compression (default `zlib-stream`). */
  readonly compression?: Compression | undefined
  /**
   * Payload encoding: `"json"` (the default) or `"etf"`, or an `Encoding` such as `Etf.encoding`.
   * Both give the same event shapes.
   */
  readonly encoding?: Encoding | EncodingName | undefined
  /** Members above which a guild counts as large, 50-250 (default 50). */
  readonly largeThreshold?: number | undefined
  /** The presence to identify with. */
  readonly presence?: Commands.Presence | undefined
  /**
   * The identify `properties`; a key left out keeps its default (`os`: this platform, `browser`
   * and `device`: the library's name).
   */
  readonly properties?: Overrides<IdentifyProperties> | undefined
  /** Connection timeouts. */
  readonly timeouts?: Overrides<Timeouts> | undefined
  /** Reconnect backoff. */
  readonly backoff?: Overrides<Backoff.BackoffOptions> | undefined
  /** A session to resume (from `disconnect` of another session) instead of identifying. */
  readonly resume?: ResumePoint | undefined
  /**
   * Events buffered for the program. When the buffer is full the session stops reading the
   * socket until the program takes events (default 4096). A fleet's merged stream buffers as many.
   */
  readonly bufferSize?: number | undefined
  /**
   * The largest message accepted from the gateway, after decompression (default 64 MiB, at least
   * {@link minMessageBytes}). One over it ends the connection; the same one again at the same
   * point ends the session with `MessageTooLarge`, resumable by a process that takes larger
   * messages.
   */
  readonly maxMessageBytes?: number | undefined
  /**
   * Only these dispatch types are delivered (default: all), READY and RESUMED included: list them
   * to get them (`transitions` says when the session is ready either way). The others still count
   * in the sequence (so resumes stay exact) but are skipped, and over JSON never even parsed:
   * their `op`, `s` and `t` are read before `d`, where Discord puts them, and what follows `d` is
   * not read but for the closing `}` (a key repeated after it, which Discord never sends, goes
   * unseen, and a message cut short just after a `}` of its `d` is skipped, where without `events`
   * it fails; one cut anywhere else fails either way). The list narrows the type of the events
   * `make` gives (`events: ["MESSAGE_CREATE"]`: each event is `EventOf<"MESSAGE_CREATE">`).
   */
  readonly events?: ReadonlyArray<N> | undefined
}

/**
 * Options with every default filled in, validated.
 *
 * @since 0.1.0
 */
export interface ResolvedOptions {
  readonly token: Redacted.Redacted<string>
  readonly intents: number
  readonly shard: readonly [id: number, count: number]
  readonly gateway: string | undefined
  readonly gatewayUrl: Effect.Effect<string, GatewayInfoError> | undefined
  readonly api: string
  readonly gatewayInfoMaxAge: Duration.DurationInput
  readonly compression: Compression
  readonly encoding: Encoding
  readonly largeThreshold: number
  readonly presence: Commands.Presence | undefined
  readonly properties: IdentifyProperties
  readonly timeouts: Timeouts
  readonly backoff: Backoff.BackoffOptions
  readonly resume: ResumePoint | undefined
  readonly bufferSize: number
  readonly maxMessageBytes: number
  readonly events: ReadonlySet<string> | undefined
  readonly sendLimit: SendLimiter.SendLimiterOptions
  readonly presenceLimit: SendLimiter.SendLimiterOptions
}

/**
 * The least `maxMessageBytes`: the largest payload a client may send (Hello and READY are
 * larger than a few bytes, and a gateway's own limit is no smaller).
 *
 * @since 0.1.0
 */
export const minMessageBytes = 4096

/**
 * The default REST base.
 *
 * @since 0.1.0
 */
export { defaultApi } from "./internal/gatewaySource.ts"

/**
 * The default for `gatewayInfoMaxAge`.
 *
 * @since 0.1.0
 */
export const defaultGatewayInfoMaxAge: Duration.DurationInput = "1 hour"

const defaultTimeouts: Timeouts = { connect: "15 seconds", hello: "20 seconds", ready: "30 seconds", members: "30 seconds" }

// each timeout as it is waited for: one past the longest timer is none (one of 30 days ended the
// connection under a TestClock, and never in production)
const asTimers = (timeouts: Timeouts): Timeouts => {
  const made = { ...timeouts }
  for (const name of Object.keys(made) as Array<keyof Timeouts>) made[name] = asTimeout(made[name])
  return made
}

// the URL a resume point's is held against: the session's own source's, when it has one (a
// `gatewayUrl` source's scheme is known only once asked, and plaintext is taken there: its
// points' URLs are too; the session holds a plaintext one against the source's answer before it
// resumes there)
const pointSource = (options: Pick<SessionOptions, "gateway" | "gatewayUrl" | "api">): string | undefined =>
  options.gatewayUrl !== undefined && options.gateway === undefined ? undefined : sourceOf(options)

const shardProblems = (
  shard: readonly [id: number, count: number],
  resume: ResumePoint | undefined,
  source: string | undefined,
  token: unknown
): Array<OptionProblem> => {
  const found: Array<OptionProblem> = []
  const [id, count] = shard
  const problem = shardPairProblem(shard)
  if (problem !== undefined) found.push({ option: "shard", problem: `shard ${problem}` })
  if (resume !== undefined) {
    found.push(...resumePointProblems(resume, source, token).map(ofResume))
    const resumed = resume.shard
    if (resumed[0] !== id || resumed[1] !== count) found.push(ofResume(`resume.shard [${resumed}] is not this session's shard [${id}, ${count}]`))
  }
  return found
}

const defaultProperties: IdentifyProperties = {
  os: process.platform,
  browser: "effect-discord-gateway",
  device: "effect-discord-gateway"
}

// `defaults` with the values `given` has: a key given as `undefined` keeps its default
const withDefaults = <A extends object>(defaults: A, given: Overrides<A> | undefined): A => {
  if (given === undefined) return defaults
  const filled = { ...defaults }
  for (const key of Object.keys(given) as Array<keyof A>) {
    const value = given[key]
    if (value !== undefined) filled[key] = value
  }
  return filled
}

const showDuration = (input: unknown): string =>
  Duration.isDuration(input)
    ? Duration.format(input)
    : typeof input === "bigint"
    ? `${input}n`
    : Array.isArray(input) && input.length <= 2
    ? `[${input.map(show).join(", ")}]`
    : show(input)

const isPositive = (duration: Duration.Duration): boolean => Duration.greaterThan(duration, Duration.zero)

// the problem with `input` unless it is a positive duration, an infinite one included
const positiveDurationProblems = (name: string, input: unknown): Array<OptionProblem> => {
  const duration = durationOf(input)
  return duration !== undefined && isPositive(duration) ? [] : [mustBe(name, "a positive duration", showDuration(input))]
}

const maxAgeProblems = (input: unknown): Array<OptionProblem> => {
  const duration = durationOf(input)
  return duration !== undefined && Duration.greaterThanOrEqualTo(duration, shortestMaxAge)
    ? []
    : [mustBe("gatewayInfoMaxAge", "a duration of at least 1 second", showDuration(input))]
}

const durationProblems = (timeouts: Timeouts, backoff: Backoff.BackoffOptions, givenMaxOnly: boolean): Array<OptionProblem> => {
  // a timeout may be infinite (none); a zero one would end every connection at once
  const found = (["connect", "hello", "ready", "members"] as const).flatMap((name) =>
    positiveDurationProblems(`timeouts.${name}`, timeouts[name])
  )
  // a zero or infinite backoff reconnects in a tight loop or never; so does one past the longest
  // timer (a sleep longer than Node's timers never ends), which `stableAfter`, never slept, may be
  const positive = (name: "initial" | "max" | "stableAfter") => {
    const duration = durationOf(backoff[name])
    const slept = name !== "stableAfter"
    if (duration !== undefined && isPositive(duration) && (slept ? isSleepable(duration) : Duration.isFinite(duration))) return duration
    found.push(mustBe(`backoff.${name}`, `a positive, finite duration${slept ? longestSleepText : ""}`, showDuration(backoff[name])))
    return undefined
  }
  const initial = positive("initial")
  const max = positive("max")
  positive("stableAfter")
  if (initial !== undefined && max !== undefined && Duration.greaterThan(initial, max)) {
    // named as the program gave it: `max` alone, under the default `initial`, is the wrong one
    const option = givenMaxOnly ? "backoff.max" : "backoff.initial"
    found.push({ option, problem: `backoff.initial must not exceed backoff.max, got ${showDuration(backoff.initial)} and ${showDuration(backoff.max)}` })
  }
  const pause: unknown = backoff.afterInvalidSession
  if (!Array.isArray(pause) || pause.length !== 2) {
    found.push(mustBe("backoff.afterInvalidSession", "a [min, max] pair of durations", showDuration(pause)))
    return found
  }
  // zero is allowed here: what follows op 9 is a resume, or an identify the identify limiter spaces
  const [shortest, longest] = pause.map((input: unknown, i) => {
    const duration = durationOf(input)
    if (duration !== undefined && isSleepable(duration)) return duration
    found.push(mustBe(`backoff.afterInvalidSession[${i}]`, `a non-negative, finite duration${longestSleepText}`, showDuration(input)))
    return undefined
  })
  if (shortest !== undefined && longest !== undefined && Duration.greaterThan(shortest, longest)) {
    found.push({ option: "backoff.afterInvalidSession", problem: `backoff.afterInvalidSession must have its min at most its max, got ${showDuration(pause)}` })
  }
  return found
}

// a key found where no option is: as the message tells it, and as `OptionProblem.option` names it
interface UnknownKey {
  readonly told: string
  readonly option: string
}

// the keys of `given` that are none of `known`'s and hold a value, within the option `within` if
// any: options from JavaScript or a parsed file may misspell one (`timeout`), which was ignored,
// its default kept
const unknownKeysIn = (given: object, known: object, within?: string): Array<UnknownKey> =>
  unknownKeys(given, known).map((key) => ({
    told: toldKey(key, within),
    option: optionAt(within === undefined ? [key] : [within, key])
  }))

// the lists of options that reading them once and telling a misspelt one go by, checked against
// the types here: an option added to a type and not to its list, or a key left in a list after its
// option went, fails to compile
const optionLists = {
  session: wholeList<SessionOptions>()(sessionKeys),
  nested: {
    timeouts: wholeList<Timeouts>()(nestedKeys.timeouts),
    backoff: wholeList<Backoff.BackoffOptions>()(nestedKeys.backoff),
    properties: wholeList<IdentifyProperties>()(nestedKeys.properties)
  }
}

// the options and nested options no session takes, each problem naming its option when it names
// one only
const unknownOptions = (options: SessionOptions): Array<OptionProblem> => {
  const keys = unknownKeysIn(options, optionLists.session)
  for (const [name, known] of Object.entries(optionLists.nested)) {
    const value: unknown = options[name as keyof typeof optionLists.nested]
    if (isOptionsMap(value)) keys.push(...unknownKeysIn(value, known, name))
  }
  const isFleets = ({ told }: UnknownKey) => (fleetKeys as ReadonlyArray<string>).includes(told)
  const fleets = keys.filter(isFleets).map(({ told }) => told)
  const unknown = keys.filter((key) => !isFleets(key))
  const text = unknownOptionsText(unknown.map((key) => key.told))
  return [
    ...(fleets.length === 0 ? [] : [
      { option: soleOption(fleets), problem: `${fleets.join(", ")} ${fleets.length === 1 ? "is a fleet's option" : "are a fleet's options"}, not a session's` }
    ]),
    ...(text === undefined ? [] : [{ option: soleOption(unknown.map(({ option }) => option)), problem: text }])
  ]
}

// the shapes the types promise, which options from JavaScript or a parsed file may not keep:
// checked first, since the checks after read into them (a `null` for an object threw a TypeError)
const shapeProblems = (options: SessionOptions, resume: unknown): Array<OptionProblem> => {
  const problem = notAnObject(options)
  if (problem !== undefined) return [{ option: "", problem }]
  const found: Array<OptionProblem> = unknownOptions(options)
  for (const name of ["timeouts", "backoff", "properties"] as const) {
    const value: unknown = options[name]
    if (value !== undefined && !isOptionsMap(value)) found.push(mustBe(name, "an object", show(value)))
  }
  if (resume !== undefined) found.push(...resumePointShapeProblems(resume).map(ofResume))
  if (options.shard !== undefined && !isPair(options.shard)) found.push(mustBe("shard", "an [id, count] pair", show(options.shard)))
  const events: unknown = options.events
  // `Array.from`: `every` and `filter` skip a list's holes (`new Array(2)`, from JavaScript)
  if (events !== undefined && !(Array.isArray(events) && Array.from(events).every((t) => typeof t === "string"))) {
    found.push(mustBe("events", "a list of dispatch types", show(events)))
  } else if (events !== undefined) {
    // matched exactly: a name no dispatch type has (`message_create`) would deliver nothing, unsaid
    const misnamed = (events as ReadonlyArray<string>).filter((t) => !isTypeName(t))
    if (misnamed.length > 0) {
      found.push({
        option: "events",
        problem: `events must name dispatch types as Discord writes them (1 to 64 of A-Z, 0-9 and _), got ${misnamed.slice(0, 3).map(show).join(", ")}`
      })
    }
  }
  const encoding: unknown = options.encoding
  // an Encoding's name goes into the gateway URL (`encoding=undefined` was dialled)
  if (
    encoding !== undefined && typeof encoding !== "string" &&
    !(isRecord(encoding) && (encoding["name"] === "json" || encoding["name"] === "etf") && typeof encoding["decode"] === "function" &&
      typeof encoding["encode"] === "function")
  ) {
    found.push(mustBe("encoding", `"json", "etf" or an Encoding named "json" or "etf"`, show(encoding)))
  } else if (isRecord(encoding)) {
    // the optional members too: one of another kind passed, and the session died at the gateway's
    // first message ("is not a function")
    for (const member of ["decodedSize", "header"] as const) {
      const value = encoding[member]
      if (value !== undefined && typeof value !== "function") found.push(mustBe(`encoding.${member}`, "a function", show(value)))
    }
    const binaryOnly = encoding["binaryOnly"]
    if (binaryOnly !== undefined && typeof binaryOnly !== "boolean") found.push(mustBe("encoding.binaryOnly", "a boolean", show(binaryOnly)))
  }
  // a URL given here was taken, and the session died at its first identify, quoting it
  const source: unknown = options.gatewayUrl
  if (source !== undefined && !Effect.isEffect(source)) {
    found.push(mustBe("gatewayUrl", "an Effect that gives a ws:// or wss:// URL (a URL itself is the gateway option)", kindOf(source)))
  }
  return found
}

const problems = (options: SessionOptions, resume: ResumePoint | undefined): ReadonlyArray<OptionProblem> => {
  const malformed = shapeProblems(options, resume)
  if (malformed.length > 0) return malformed
  const found = shardProblems(options.shard ?? [0, 1], resume, pointSource(options), options.token)
  if (!Intents.isValid(options.intents)) found.push(mustBe("intents", "a combination of known intent bits", show(options.intents)))
  if (options.gateway !== undefined && !isWebSocketUrl(options.gateway)) {
    found.push(mustBe("gateway", `a ws:// or wss:// URL without a fragment or credentials, of at most ${maxUrlLength} characters`, showUrl(options.gateway)))
  }
  const compression: unknown = options.compression
  if (compression !== undefined && !compressions.includes(compression as Compression)) {
    found.push(mustBe("compression", `"zlib-stream", "zstd-stream" or "none"`, show(compression)))
  } else if (options.compression !== undefined && !Decompress.isAvailable(options.compression)) {
    found.push({ option: "compression", problem: ZstdNative.unavailableMessage() })
  }
  const encoding: unknown = options.encoding
  if (typeof encoding === "string" && encoding !== "json" && encoding !== "etf") {
    found.push(mustBe("encoding", `"json" or "etf"`, show(encoding)))
  }
  if (options.api !== undefined && !isHttpUrl(options.api)) {
    found.push(mustBe("api", `an http(s) URL without credentials, of at most ${maxUrlLength} characters`, showUrl(options.api)))
  }
  const buffer = options.bufferSize
  if (buffer !== undefined && (!Number.isSafeInteger(buffer) || buffer < 1)) found.push(mustBe("bufferSize", "a positive integer", show(buffer)))
  // below a payload's size, no Hello would fit: every connection would end at its first message
  const largest = options.maxMessageBytes
  if (largest !== undefined && (!Number.isSafeInteger(largest) || largest < minMessageBytes)) {
    found.push(mustBe("maxMessageBytes", `an integer of at least ${minMessageBytes}`, show(largest)))
  }
  // named as the option, not as the Identify's field
  const threshold = options.largeThreshold
  if (threshold !== undefined && !(Number.isSafeInteger(threshold) && threshold >= 50 && threshold <= 250)) {
    found.push(mustBe("largeThreshold", "an integer between 50 and 250", show(threshold)))
  }
  const backoff = options.backoff
  // an infinite factor would jump from the first wait to `max`, a schedule nobody meant
  if (backoff?.factor !== undefined && !(typeof backoff.factor === "number" && Number.isFinite(backoff.factor) && backoff.factor >= 1)) {
    found.push(mustBe("backoff.factor", "a finite number of at least 1", show(backoff.factor)))
  }
  const givenMaxOnly = backoff?.max !== undefined && backoff.initial === undefined
  found.push(...durationProblems(withDefaults(defaultTimeouts, options.timeouts), withDefaults(Backoff.defaults, backoff), givenMaxOnly))
  // a zero age would fetch before every identify, and a tiny one asked once a millisecond while
  // a session waited for the identify budget (a day's wait: millions of requests)
  if (options.gatewayInfoMaxAge !== undefined) found.push(...maxAgeProblems(options.gatewayInfoMaxAge))
  return found
}

const encodingOf = (encoding: Encoding | EncodingName | undefined): Encoding =>
  encoding === undefined || encoding === "json" ? Json.encoding : encoding === "etf" ? Etf.encoding : encoding

/**
 * Fills in defaults and checks everything, including the Identify payload the options produce
 * and the Resume of the point they resume from, so a session with bad options fails before
 * anything is sent.
 *
 * @since 0.1.0
 */
export const resolve = (given: SessionOptions): Either.Either<ResolvedOptions, InvalidOptions> =>
  Either.flatMap(readOnce(given), (options) => {
    // the point read once too, as plain data
    const read = isRecord(options) ? readPoint(options, "resume") : Either.right(undefined)
    if (Either.isLeft(read)) return Either.left(invalidOptions([ofResume(read.left)], options.token))
    return resolveWith(options, read.right as ResumePoint | undefined)
  })

/**
 * The options every session of a fleet shares, resolved and checked as {@link resolve} does, for
 * no shard in particular and with no resume point: a fleet's own options (`shards`, `shardCount`,
 * `startupWindow`, its `resume` list) are taken and left to it. `options` are as {@link readOnce}
 * gave them.
 *
 * @internal
 * @since 0.1.0
 */
export const resolveShared = (
  options: Omit<SessionOptions, "shard" | "resume" | "gatewayUrl"> & { readonly [K in "resume" | "shard" | "gatewayUrl" | (typeof fleetKeys)[number]]?: unknown }
): Either.Either<ResolvedOptions, InvalidOptions> => {
  // (options read once are a copy of their own: a spread of it loses nothing)
  const { gatewayUrl: _gatewayUrl, resume: _resume, shard: _shard, shardCount: _shardCount, shards: _shards, startupWindow: _startupWindow, ...shared } = options
  return resolveWith(shared, undefined)
}

const resolveWith = (options: SessionOptions, resume: ResumePoint | undefined): Either.Either<ResolvedOptions, InvalidOptions> => {
  const found = problems(options, resume)
  if (found.length > 0) return Either.left(invalidOptions(found, isRecord(options) ? options.token : undefined))
  const resolved: ResolvedOptions = {
    token: options.token,
    intents: options.intents,
    shard: options.shard ?? [0, 1],
    gateway: options.gateway,
    gatewayUrl: options.gatewayUrl,
    api: options.api ?? defaultApi,
    gatewayInfoMaxAge: options.gatewayInfoMaxAge ?? defaultGatewayInfoMaxAge,
    compression: options.compression ?? "zlib-stream",
    encoding: encodingOf(options.encoding),
    largeThreshold: options.largeThreshold ?? 50,
    presence: options.presence,
    properties: withDefaults(defaultProperties, options.properties),
    timeouts: asTimers(withDefaults(defaultTimeouts, options.timeouts)),
    backoff: withDefaults(Backoff.defaults, options.backoff),
    resume,
    bufferSize: options.bufferSize ?? defaultBufferSize,
    maxMessageBytes: options.maxMessageBytes ?? Decompress.defaultMaxMessageBytes,
    events: options.events === undefined ? undefined : new Set(options.events),
    sendLimit: SendLimiter.gatewaySends,
    presenceLimit: SendLimiter.presenceUpdates
  }
  return Either.mapLeft(
    Either.map(handshakesOf(resolved), (identify) => presenceAsChecked(resolved, identify)),
    (error) => error instanceof Commands.InvalidCommand ? handshakeRefused(error, options.token) : error
  )
}

// `checkHandshakes`, where a program's own Encoding that throws or gives no frame is the encoding
// option's fault (it died at make, naming no option)
const handshakesOf = (options: ResolvedOptions): Either.Either<Commands.Identify, Commands.InvalidCommand | InvalidOptions> => {
  try {
    return checkHandshakes(options)
  } catch (thrown) {
    return Either.left(invalidOptions([{ option: "encoding", problem: `encoding could not encode the Identify: ${thrownText(thrown)}` }], options.token))
  }
}

// each problem of a refused Identify begins with the path of what its check refused (as
// `formatProblems` writes it); one in a field the Identify carries as its option is (the token,
// the presence, the properties) is that option's path, down to its last plain segment
const identifyField = /^(?:token|presence|properties)(?:\.[A-Za-z_$][\w$]*|\[\d+\])*/

// the options refused for the Identify or the Resume they make, one problem each, as the message
// tells them (the command named before the first): a Resume's fault is its point's; an Identify's,
// the option its path names, if any (one too large is no one option's, nor is the count of the
// problems past the tenth)
const handshakeRefused = (error: Commands.InvalidCommand, token: unknown): InvalidOptions =>
  invalidOptions(
    error.problems.map((problem, index) => ({
      option: error.command === "Resume" ? "resume" : identifyField.exec(problem)?.[0] ?? "",
      problem: index === 0 ? `${error.command}: ${problem}` : problem
    })),
    token
  )

// the options' Identify as checked, if it can be sent, and the Resume of the point they resume
// from, however far its sequence goes (an Identify that fits leaves room for a Resume of a session
// id Discord issues, not of every id a point may hold); a point of another encoding or other
// intents is never resumed here, only handed back
const checkHandshakes = (options: ResolvedOptions): Either.Either<Commands.Identify, Commands.InvalidCommand> =>
  Either.flatMap(checkIdentify(options), (identify) =>
    options.resume === undefined || !resumesOver(options.resume, options.encoding, options.intents)
      ? Either.right(identify)
      : Either.map(Commands.resumeFits(options.token, options.resume.sessionId, options.encoding), () => identify))

/**
 * `options` (resolved for any shard of the same count) for another shard and the point it
 * resumes from, if any. The shard, the resume point and its Resume, and the Identify payload (a
 * longer shard number lengthens it) are checked: the rest was checked when `options` were
 * resolved. A fleet resolves its shards' common options once this way, and its sessions share
 * their parts.
 *
 * @since 0.1.0
 */
export const forShard = (
  options: ResolvedOptions,
  shard: readonly [id: number, count: number],
  given: ResumePoint | undefined
): Either.Either<ResolvedOptions, InvalidOptions> => {
  // read once, as plain data, and its shape checked first: a stored point's `shard` may be null
  // (it threw a TypeError) or a pair of strings (told as not this session's shard [1, 4])
  const read = readPoint({ resume: given }, "resume")
  const shape = Either.isLeft(read) ? [read.left] : read.right === undefined ? [] : resumePointShapeProblems(read.right)
  if (shape.length > 0) return Either.left(invalidOptions(shape.map(ofResume), options.token))
  const resume = Either.getOrUndefined(read) as ResumePoint | undefined
  const found = shardProblems(shard, resume, pointSource(options), options.token)
  return found.length > 0
    ? Either.left(invalidOptions(found, options.token))
    // the presence kept as resolved: checked once, shared by every shard's options
    : Either.mapBoth(checkHandshakes({ ...options, shard, resume }), {
      onLeft: (error) => handshakeRefused(error, options.token),
      onRight: () => ({ ...options, shard, resume })
    })
}

const gatewayParams = new Set(["v", "encoding", "compress"])

// whether a piece of a query (`key=value`, as spelled) sets one of the gateway's parameters (read
// after a `&`: alone, a leading `?` of its key would be taken for the query's)
const setsGatewayParam = (piece: string): boolean => {
  const [key] = new URLSearchParams(`&${piece}`).keys()
  return key !== undefined && gatewayParams.has(key)
}

// `url`'s query without the gateway's parameters, its others as they are spelled
const ownQuery = (url: URL): Array<string> => url.search === "" ? [] : url.search.slice(1).split("&").filter((piece) => !setsGatewayParam(piece))

/**
 * `url` with the gateway query (`v`, `encoding`, `compress`) the options ask for, after the
 * URL's other parameters as they are spelled (a proxy's URL may be signed over its text; written
 * anew through `searchParams`, `a~b` became `a%7Eb` and a bare `flag` became `flag=`).
 *
 * @since 0.1.0
 */
export const gatewayUrl = (url: string, options: ResolvedOptions): string => {
  const target = new URL(url)
  const compress = options.compression === "none" ? [] : [`compress=${options.compression}`]
  // the setter drops one leading `?`: the query's own, not one of its first key
  target.search = `?${[...ownQuery(target), "v=10", `encoding=${encodeURIComponent(options.encoding.name)}`, ...compress].join("&")}`
  return target.toString()
}
