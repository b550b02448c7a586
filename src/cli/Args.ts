/**
 * The command line: flags, their defaults, and their validation.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type { Compression } from "../codec/Compression.ts"
import { commaList } from "../internal/commaList.ts"
import { isQuotable } from "../internal/printable.ts"
import { withoutToken } from "../internal/secret.ts"
import { TaggedError } from "../internal/taggedError.ts"
import { maxShardCount } from "../protocol/Commands.ts"
import { isTypeNameInAnyCase, knownTypeNames } from "../protocol/Event.ts"
import { isHttpUrl, isWebSocketUrl, maxUrlLength } from "../protocol/internal/schema.ts"
import * as Intents from "../protocol/Intents.ts"
import * as Session from "../session/Session.ts"
import { defaultApi, minMessageBytes } from "../session/SessionOptions.ts"

/**
 * What the command line asks for.
 *
 * @since 0.1.0
 */
export interface CliOptions {
  /** The bot token; none means the embedded local gateway. */
  readonly token: Redacted.Redacted<string> | undefined
  readonly api: string
  readonly gateway: string | undefined
  /** Shard ids to run; none means all of them. */
  readonly shards: ReadonlyArray<number> | undefined
  readonly shardCount: number | undefined
  readonly intents: number
  readonly compress: Compression
  readonly encoding: "json" | "etf"
  /** Dispatch types to show; none means all. */
  readonly events: ReadonlySet<string> | undefined
  readonly format: "pretty" | "ndjson"
  /** Seconds to run before a resumable close and exit 0. */
  readonly duration: number | undefined
  /** The largest message taken from the gateway, in bytes; none means the session's default. */
  readonly maxMessageBytes: number | undefined
  readonly logLevel: LogLevel.LogLevel
  readonly help: boolean
}

/**
 * A flag is unknown, missing its value, or has a value that makes no sense.
 *
 * @since 0.1.0
 */
export class UsageError extends TaggedError("UsageError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/**
 * The help text.
 *
 * @since 0.1.0
 */
export const usage = `Usage: effect-discord-gateway [flags]

Connects shards to the Discord gateway and prints their events. With no token, it starts an
embedded local gateway with synthetic traffic.

  --token <t>              bot token (default: env DISCORD_TOKEN; neither: embedded gateway; empty: error);
                           other users of the machine can read a flag (ps), not DISCORD_TOKEN
  --api <url>              REST base for GET /gateway/bot (default ${defaultApi})
  --gateway <url>          connect to this gateway URL, skipping GET /gateway/bot (the shard count is
                           then --shard-count, or just enough for --shards, or 1)
  --shards <ids>           e.g. 0-3 or 0,2,5 (default: all)
  --shard-count <n>        total shards (default: recommended)
  --intents <n|NAME,NAME>  intents as a number or names (default: all non-privileged; embedded: all)
  --compress <c>           zlib-stream | zstd-stream | none (default zlib-stream)
  --encoding <e>           json | etf (default json)
  --events <T1,T2>         only these dispatch types (unknown names: a warning)
  --format <f>             pretty | ndjson (default: pretty on a terminal, ndjson otherwise)
  --duration <seconds>     stop after this long (resumable close), then exit 0
  --max-message-bytes <n>  largest message taken from the gateway, e.g. 67108864, 65536KiB or 128MiB
                           (default 64MiB; at least ${minMessageBytes} bytes)
  --log-level <level>      trace | debug | info | warning (warn) | error | none (default info)
  --help, -h               this text

Values of --compress, --encoding, --format and --log-level may be given in any case.
`

// a Map: looked up by what the user typed, an object's inherited names (`constructor`) were levels
const levels: ReadonlyMap<string, LogLevel.LogLevel> = new Map([
  ["trace", LogLevel.Trace],
  ["debug", LogLevel.Debug],
  ["info", LogLevel.Info],
  ["warning", LogLevel.Warning],
  ["warn", LogLevel.Warning],
  ["error", LogLevel.Error],
  ["none", LogLevel.None]
])

const flags = new Set([
  "--token",
  "--api",
  "--gateway",
  "--shards",
  "--shard-count",
  "--intents",
  "--compress",
  "--encoding",
  "--events",
  "--format",
  "--duration",
  "--max-message-bytes",
  "--log-level"
])

const nonNegativeInteger = /^\d+$/

/**
 * `text` quoted for a message, when it is at most 40 printable ASCII characters; otherwise only its
 * length. A bot token is far longer (some 58 to 72 characters), so a token given in the wrong place
 * (after another flag, or without `--token`) never reaches the terminal, nor does a control sequence.
 */
const echo = (text: string): string =>
  isQuotable(text) ? JSON.stringify(text) : `<${text.length} ${text.length === 1 ? "character" : "characters"}, not shown>`

/**
 * A URL as `echo` shows it, unless it has an `@`: then not at all, as it may carry a password
 * (URL parsers find one in forms far from `scheme://user:pass@host`, also in a malformed URL).
 */
const echoUrl = (url: string): string => url.includes("@") ? "the URL given (not shown: it may carry a password)" : echo(url)

// what is wrong with `--intents` (`text`), repeating what was given only as `echo` shows it (the
// error keeps a long value by its length only)
const intentsProblem = (error: Intents.InvalidIntents, text: string): string => {
  const given = text.trim()
  const names: ReadonlyArray<string> = Either.getOrElse(commaList(given), () => [])
  // the number as read, without a comma at its end (`131072,` had "bits 0x0")
  if (error.reason === "UnknownBits") return `${echo(given)} has ${Intents.unknownBits(Number(names[0] ?? given))}, which no intent uses`
  if (error.reason === "NoNames") return error.message
  // the name itself: the error keeps a long one by its length
  const name = names.find((part) => Intents.fromNames([part])._tag === "Left") ?? given
  if (error.reason === "UnknownName") return `unknown intent name ${echo(name)}`
  return `expected a non-negative integer or intent names, got ${echo(given)}`
}

/**
 * How many shards the embedded gateway runs unless `--shard-count` says.
 *
 * @since 0.1.0
 */
export const embeddedShardCount = 4

/**
 * Parses shard ids: `0-3`, `0,2,5`, or a mix (`0-2,7`); a comma at an end or two in a row are
 * taken as one, as in `--intents`, `--events` and `FleetOptions.shardsConfig`. Sorted, without
 * repeats.
 */
const parseShards = (text: string): Either.Either<ReadonlyArray<number>, UsageError> => {
  const listed = commaList(text)
  if (Either.isLeft(listed)) return Either.left(new UsageError({ detail: "--shards: no shard id given (e.g. 0-3 or 0,2,5)" }))
  const ids = new Set<number>()
  for (const part of listed.right) {
    // `0 - 3` as `0-3`, as FleetOptions.shardsConfig reads it
    const range = part.split("-").map((end) => end.trim())
    if (range.length > 2 || range.some((end) => !nonNegativeInteger.test(end))) {
      return Either.left(new UsageError({ detail: `--shards: ${echo(part)} is not a shard id or range (e.g. 0-3 or 0,2,5)` }))
    }
    const from = Number(range[0])
    const to = Number(range[1] ?? range[0])
    if (to < from) return Either.left(new UsageError({ detail: `--shards: the range ${echo(part)} runs backwards` }))
    if (to >= maxShardCount) {
      return Either.left(
        new UsageError({ detail: `--shards: shard ids go up to ${maxShardCount - 1} (an Identify carries at most ${maxShardCount} shards), got ${echo(part)}` })
      )
    }
    for (let id = from; id <= to; id++) ids.add(id)
  }
  return Either.right([...ids].sort((a, b) => a - b))
}

// a decimal number, as `--duration` takes it
const decimal = /^\s*(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/

// bytes, KiB or MiB, as `--max-message-bytes` takes them
const byteSize = /^(\d+)(KiB|MiB)?$/i
const byteUnits: ReadonlyMap<string, number> = new Map([["", 1], ["kib", 1024], ["mib", 1024 * 1024]])

const parseMessageBytes = (text: string): Either.Either<number, UsageError> => {
  const found = byteSize.exec(text.trim())
  const bytes = found === null ? Number.NaN : Number(found[1]) * byteUnits.get((found[2] ?? "").toLowerCase())!
  if (Number.isSafeInteger(bytes) && bytes >= minMessageBytes) return Either.right(bytes)
  return Either.left(
    new UsageError({
      detail: bytes > Number.MAX_SAFE_INTEGER
        ? `--max-message-bytes: at most ${Number.MAX_SAFE_INTEGER} bytes, got ${echo(text)}`
        : `--max-message-bytes: expected a number of bytes of at least ${minMessageBytes} (or KiB, MiB), got ${echo(text)}`
    })
  )
}

// in any case, as `--log-level` and `--events` take theirs
const oneOf = <const T extends string>(flag: string, value: string, allowed: ReadonlyArray<T>): Either.Either<T, UsageError> => {
  const found = allowed.find((name) => name === value.toLowerCase())
  return found !== undefined
    ? Either.right(found)
    : Either.left(new UsageError({ detail: `${flag}: expected one of ${allowed.join(", ")}, got ${echo(value)}` }))
}

/**
 * The token from the flag, else the environment; neither means the embedded gateway. Surrounding
 * whitespace and a leading `Bot ` (as in the REST header) are dropped. A flag or variable that is
 * present but empty is an error rather than a silent switch to the embedded gateway: it is what a
 * script with an unset variable, or a CI job with a missing secret, passes.
 */
const tokenOf = (
  flag: string | undefined,
  variable: string | undefined
): Either.Either<Redacted.Redacted<string> | undefined, UsageError> => {
  const text = flag ?? variable
  if (text === undefined) return Either.right(undefined)
  const token = Session.token(text)
  const named = flag !== undefined ? "--token" : "DISCORD_TOKEN"
  if (Redacted.value(token) === "") {
    // (`Bot` alone is a prefix with no token after it, not an empty value)
    const prefixOnly = text.trim() !== ""
    return Either.left(
      new UsageError({
        detail: prefixOnly
          ? `${named} holds the \`Bot \` prefix and no token after it`
          : flag !== undefined
          ? "--token is empty; leave the flag out to run the embedded local gateway"
          : "DISCORD_TOKEN is set but empty; unset it to run the embedded local gateway"
      })
    )
  }
  // as the Identify's check says it, but naming where it came from (a secret file of two lines
  // exited 2 naming neither); the token itself is never shown
  if (!/^[\x21-\x7e]+$/.test(Redacted.value(token))) {
    return Either.left(new UsageError({ detail: `${named}: the token must be printable ASCII without spaces, as Discord's tokens are` }))
  }
  return Either.right(token)
}

// a dispatch type as given, if it looks like one; otherwise as `echo` shows it
const unquoted = (name: string): string => /^[A-Z0-9_]{1,40}$/.test(name) ? name : echo(name)

// a URL's hostname (as `URL` writes it: lower case, IPv6 in brackets and shortest) that names this
// machine: `localhost` (a trailing dot or not), 127.0.0.0/8 (also IPv4-mapped), `::1`, and the
// unspecified address, which a connection takes to this machine. Not a subdomain of `localhost`:
// the system's resolver may ask DNS for it (glibc does), and a resolver that answers any name would
// get the token in the clear, unwarned
const isLoopback = (hostname: string): boolean =>
  /^localhost\.?$/.test(hostname) ||
  /^127\.\d+\.\d+\.\d+$/.test(hostname) ||
  /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname) ||
  ["[::1]", "0.0.0.0", "[::]"].includes(hostname)

/**
 * What to warn about before running, none of it wrong enough to refuse: `--events` names that are no
 * dispatch type discord-api-types knows (Discord adds types before the typings have them, but a typo
 * is likelier), a token that would travel unencrypted (`http://`, `ws://`) to another machine
 * (a REST proxy inside a private network does that on purpose; a typo of `https` does not), and a
 * `--gateway` on another machine, which leaves the identify limiter without the day's budget.
 *
 * @since 0.1.0
 */
export const warnings = (options: CliOptions): ReadonlyArray<string> => {
  const found: Array<string> = []
  const unknown = [...(options.events ?? [])].filter((name) => !knownTypeNames.has(name)).map(unquoted)
  if (unknown.length > 0) found.push(`--events: ${unknown.join(", ")}: not a dispatch type this version knows; passed on as given`)
  if (options.token === undefined) return found
  // with --gateway the fleet is given a shard count too, so GET /gateway/bot is never asked: the
  // token never goes to --api
  const api = options.gateway === undefined ? options.api : undefined
  for (const [flag, url, secure] of [["--api", api, "https"], ["--gateway", options.gateway, "wss"]] as const) {
    const target = url === undefined ? undefined : new URL(url)
    if (target !== undefined && (target.protocol === "http:" || target.protocol === "ws:") && !isLoopback(target.hostname)) {
      // (masked: a host is written lower case, a token put in it by mistake too)
      found.push(`${flag}: the token goes unencrypted to ${withoutToken(target.host, options.token)}; use ${secure}:// unless that network is yours`)
    }
  }
  // a gateway on this machine is a test's: Discord's daily budget is not at stake there
  if (options.gateway !== undefined && !isLoopback(new URL(options.gateway).hostname)) {
    found.push("--gateway: GET /gateway/bot is skipped, so the day's session-start budget is unknown and a reconnect loop could spend it all; without --gateway, the URL comes from --api")
  }
  return found
}

/**
 * Parses the arguments (without `node` and the script), the environment, and whether stdout
 * is a terminal.
 *
 * @since 0.1.0
 */
export const parse = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
  isTerminal: boolean
): Either.Either<CliOptions, UsageError> =>
  // asked for, the help wins over whatever else is wrong (a bad flag, an empty DISCORD_TOKEN); after
  // a `--` it is an operand, as any argument there (POSIX)
  flagsOf(argv).some((arg) => arg === "--help" || arg === "-h")
    ? Either.map(parseFlags([], {}, isTerminal), (defaults) => ({ ...defaults, help: true }))
    : parseFlags(argv, env, isTerminal)

// the arguments before a `--`, where flags are
const flagsOf = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const end = argv.indexOf("--")
  return end === -1 ? argv : argv.slice(0, end)
}

const parseFlags = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
  isTerminal: boolean
): Either.Either<CliOptions, UsageError> =>
  Either.gen(function*() {
    const values = new Map<string, string>()
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      // the end of the flags (POSIX), which a wrapper may pass on: nothing else may follow
      if (arg === "--" && i + 1 === argv.length) break
      // not a flag: perhaps a token given without --token, so it is not repeated
      if (!arg.startsWith("-") || arg === "--") {
        const at = arg === "--" ? i + 2 : i + 1
        return yield* Either.left(new UsageError({ detail: `unexpected argument #${at} (flags start with --; see --help)` }))
      }
      const [name, inline] = arg.includes("=")
        ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
        : [arg, undefined]
      if (name === "--help" || name === "-h") return yield* Either.left(new UsageError({ detail: `${name} takes no value` }))
      if (!flags.has(name)) return yield* Either.left(new UsageError({ detail: `unknown flag ${echo(name)} (see --help)` }))
      const value = inline ?? argv[++i]
      if (value === undefined || (inline === undefined && value.startsWith("--"))) {
        return yield* Either.left(new UsageError({ detail: `${name} needs a value` }))
      }
      // the one given last would win, silently: `--shards 0-3 --shards 8` is not 0-3 and 8
      if (values.has(name)) return yield* Either.left(new UsageError({ detail: `${name} is given twice (give it once)` }))
      // spaces around a value are no part of it, for every flag alike (some took them, some refused them)
      values.set(name, value.trim())
    }

    const token = yield* tokenOf(values.get("--token"), env["DISCORD_TOKEN"])
    const shardCountText = values.get("--shard-count")
    if (shardCountText !== undefined && (!nonNegativeInteger.test(shardCountText) || Number(shardCountText) < 1)) {
      return yield* Either.left(new UsageError({ detail: `--shard-count: expected a positive integer, got ${echo(shardCountText)}` }))
    }
    if (shardCountText !== undefined && Number(shardCountText) > maxShardCount) {
      return yield* Either.left(
        new UsageError({ detail: `--shard-count: at most ${maxShardCount} (the most an Identify carries), got ${echo(shardCountText)}` })
      )
    }
    const shardCount = shardCountText === undefined ? undefined : Number(shardCountText)
    const shardsText = values.get("--shards")
    const shards = shardsText === undefined ? undefined : yield* parseShards(shardsText)
    if (shards !== undefined && shardCount !== undefined && shards.some((id) => id >= shardCount)) {
      return yield* Either.left(new UsageError({ detail: `--shards: ids must be below --shard-count ${shardCount}` }))
    }
    if (shards !== undefined && shardCount === undefined && token === undefined && shards.some((id) => id >= embeddedShardCount)) {
      return yield* Either.left(
        new UsageError({ detail: `--shards: ids must be below the embedded gateway's ${embeddedShardCount} shards (--shard-count runs more)` })
      )
    }
    const intentsText = values.get("--intents")
    // an empty value (a script's unset variable) is no quiet 0: `--intents 0` says that
    if (intentsText?.trim() === "") {
      return yield* Either.left(new UsageError({ detail: `--intents: no intents given (0 for none)` }))
    }
    // the embedded gateway enables the privileged intents (a bot's content and presences show)
    const intents = intentsText === undefined
      ? token === undefined ? Intents.all : Intents.nonPrivileged
      : yield* Either.mapLeft(Intents.parse(intentsText), (error) => new UsageError({ detail: `--intents: ${intentsProblem(error, intentsText)}` }))
    const durationText = values.get("--duration")
    // decimal only: `Number` also reads 0x10 as 16 and "" as 0
    const duration = durationText === undefined ? undefined : decimal.test(durationText) ? Number(durationText) : Number.NaN
    if (duration !== undefined && !(Number.isFinite(duration) && duration > 0)) {
      return yield* Either.left(new UsageError({ detail: `--duration: expected a positive number of seconds, got ${echo(String(durationText))}` }))
    }
    const bytesText = values.get("--max-message-bytes")
    const maxMessageBytes = bytesText === undefined ? undefined : yield* parseMessageBytes(bytesText)
    const levelText = values.get("--log-level") ?? "info"
    const logLevel = levels.get(levelText.toLowerCase())
    if (logLevel === undefined) {
      return yield* Either.left(new UsageError({ detail: `--log-level: expected one of ${[...levels.keys()].join(", ")}, got ${echo(levelText)}` }))
    }
    const eventsText = values.get("--events")
    const listed = eventsText === undefined ? undefined : commaList(eventsText)
    if (listed !== undefined && Either.isLeft(listed)) {
      return yield* Either.left(new UsageError({ detail: `--events: no dispatch type given (e.g. MESSAGE_CREATE,GUILD_CREATE)` }))
    }
    const given = listed?.right
    // a name no dispatch type can have (`message-create`) was warned of as passed on, then refused
    // by the session's options once the gateway was up; checked before it is upper-cased, which
    // makes `MESSAGE_CREATE` of `meſſage_create` and `SS` of `ß`
    const misnamed = (given ?? []).filter((t) => !isTypeNameInAnyCase(t))
    const events = given === undefined ? undefined : new Set(given.map((t) => t.toUpperCase()))
    if (misnamed.length > 0) {
      return yield* Either.left(
        new UsageError({ detail: `--events: ${misnamed.slice(0, 3).map(echo).join(", ")}: not a dispatch type name (A-Z, 0-9 and _, at most 64)` })
      )
    }
    // checked here as the session would, so that the line names the flag and shows only what `echo` shows
    const urls = [
      ["--api", values.get("--api"), isHttpUrl, "an http:// or https:// URL without credentials"],
      ["--gateway", values.get("--gateway"), isWebSocketUrl, "a ws:// or wss:// URL without a fragment or credentials"]
    ] as const
    for (const [flag, url, fits, kind] of urls) {
      if (url !== undefined && !URL.canParse(url)) return yield* Either.left(new UsageError({ detail: `${flag}: ${echoUrl(url)} is not a URL` }))
      if (url !== undefined && !fits(url)) {
        return yield* Either.left(new UsageError({ detail: `${flag}: expected ${kind}, of at most ${maxUrlLength} characters, got ${echoUrl(url)}` }))
      }
      // without a token the CLI runs its embedded gateway: another one would get its placeholder
      if (url !== undefined && token === undefined) {
        return yield* Either.left(new UsageError({ detail: `${flag} needs a token (--token or DISCORD_TOKEN)` }))
      }
    }

    return {
      token,
      api: values.get("--api") ?? defaultApi,
      gateway: values.get("--gateway"),
      shards,
      shardCount,
      intents,
      compress: yield* oneOf("--compress", values.get("--compress") ?? "zlib-stream", ["zlib-stream", "zstd-stream", "none"]),
      encoding: yield* oneOf("--encoding", values.get("--encoding") ?? "json", ["json", "etf"]),
      events,
      format: yield* oneOf("--format", values.get("--format") ?? (isTerminal ? "pretty" : "ndjson"), ["pretty", "ndjson"]),
      duration,
      maxMessageBytes,
      logLevel,
      help: false
    }
  })
