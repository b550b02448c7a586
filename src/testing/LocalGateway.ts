/**
 * A local Discord gateway: a real websocket + HTTP server on 127.0.0.1 that speaks the gateway
 * protocol as Discord does, records every breach of Discord's rules, and lets tests inject faults
 * and synthetic traffic.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import type { WebSocket } from "ws"
import * as Compress from "../codec/Compress.ts"
import type { Compression } from "../codec/Compression.ts"
import type { EncodingName } from "../codec/Encoding.ts"
import { monotonicMillis } from "../internal/due.ts"
import { durationOf } from "../internal/duration.ts"
import { kindOf } from "../internal/printable.ts"
import { isOptionsMap, isOptionsObject } from "../internal/record.ts"
import { TaggedError } from "../internal/taggedError.ts"
import { toldKey, unknownKeys, unknownOptionsText, wholeList } from "../internal/unknownOptions.ts"
import { CloseCode } from "../protocol/CloseCode.ts"
import type { GatewayBot } from "../protocol/GatewayBot.ts"
import * as Intents from "../protocol/Intents.ts"
import { maxShardCount, show } from "../protocol/internal/schema.ts"
import { isHeartbeatInterval, maxHeartbeatInterval } from "../protocol/Receive.ts"
import * as CloseFrame from "../transport/CloseFrame.ts"
import { Connection } from "./Connection.ts"
import type { Host, Settings } from "./Connection.ts"
import * as GatewayHttp from "./Http.ts"
import { countsProblem } from "./internal/counts.ts"
import * as Log from "./Log.ts"
import * as Rules from "./Rules.ts"
import { framedData, type Session } from "./Session.ts"
import * as Traffic from "./Traffic.ts"
import * as Visibility from "./Visibility.ts"

/**
 * Options for {@link make}. Every field but `token` has a default.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The only token the gateway accepts. */
  readonly token: Redacted.Redacted<string>
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number | undefined
  /** Recommended shard count, as `/gateway/bot` reports it (default 1). */
  readonly shards?: number | undefined
  /** Refuse (4010) identifies whose shard count differs from `shards` (default false). */
  readonly strictShardCount?: boolean | undefined
  /**
   * The privileged intents the application may use, as enabled in the developer portal (default:
   * all three). An Identify asking for another is closed with 4014, as Discord does.
   */
  readonly privilegedIntents?: number | undefined
  /**
   * `session_start_limit` (defaults: 1000 total and remaining, 24 h reset, max_concurrency 1; with
   * less than `total` remaining, `resetAfter` counts down from when the gateway is made; more
   * remaining than `total` dies, a `RangeError`). An
   * Identify past it resets the token, as Discord does: every session ends, its connection closed
   * with 4004, and the token is refused (Identify and Resume with 4004, `/gateway/bot` with 401) for
   * the rest of the gateway's life.
   */
  readonly sessionStartLimit?: {
    readonly total?: number | undefined
    readonly remaining?: number | undefined
    readonly resetAfter?: Duration.DurationInput | undefined
    readonly maxConcurrency?: number | undefined
  } | undefined
  /** Hello's `heartbeat_interval` (default 41250 ms). */
  readonly heartbeatInterval?: Duration.DurationInput | undefined
  /** Grace beyond 1.5 intervals before a heartbeat counts as missed (default 1 s). */
  readonly heartbeatSlack?: Duration.DurationInput | undefined
  /**
   * Whether a missed heartbeat closes the connection (default false: recorded only). `true` closes
   * it with 4000, its session left resumable, as Discord forces a Resume; a close code closes it
   * with that code (4009 ends the session; one no close frame carries dies at `make`, a
   * `RangeError`; 1006 drops the connection).
   */
  readonly closeOnMissedHeartbeat?: boolean | number | undefined
  /**
   * How long a client has to answer op 1 with a heartbeat, and op 7 by closing the connection,
   * before it is recorded as a breach (`HeartbeatRequestIgnored`, `ReconnectIgnored`; default 5 s:
   * "at once", with room for a busy machine).
   */
  readonly answerWithin?: Duration.DurationInput | undefined
  /** Delay before every Hello (default 0). */
  readonly helloDelay?: Duration.DurationInput | undefined
  /** How long a session stays resumable after its connection dies (default 3 minutes). */
  readonly resumeWindow?: Duration.DurationInput | undefined
  /** One identify per `rate_limit_key` per this long (default 5 s, as Discord). */
  readonly identifyCooldown?: Duration.DurationInput | undefined
  /** Dispatches each session keeps for replay (default 1000). */
  readonly replayBufferSize?: number | undefined
  /** Members per GUILD_MEMBERS_CHUNK (default 1000). */
  readonly memberChunkSize?: number | undefined
  /** Synthetic guilds, spread over `shards` (default 2 per shard). */
  readonly guilds?: number | undefined
  /** Members per synthetic guild, besides the bot (default 20). */
  readonly membersPerGuild?: number | undefined
  /** Seed of the synthetic world, session ids and traffic (default 1). */
  readonly seed?: number | undefined
  /** Entries kept per log list (default 10000; violations are kept in full). */
  readonly logCapacity?: number | undefined
}

/**
 * Which connections a fault applies to: all, one connection by id, or every connection of a shard.
 * Only connections open when it is called; each fault returns how many it reached (0: none
 * matched, a shard not connected yet, say).
 *
 * @since 0.1.0
 */
export type Target = "all" | { readonly connection: number } | { readonly shard: number }

/**
 * Which sessions a dispatch goes to: all, one by id, or every session of a shard.
 *
 * @since 0.1.0
 */
export type SessionTarget = "all" | { readonly session: string } | { readonly shard: number }

/**
 * A running local gateway.
 *
 * @since 0.1.0
 */
export interface LocalGateway {
  /** The port it listens on. */
  readonly port: number
  /** The websocket URL `/gateway/bot` reports: `ws://127.0.0.1:PORT`. */
  readonly url: string
  /** The REST base, for clients that fetch `/gateway/bot`: `http://127.0.0.1:PORT/api`. */
  readonly apiUrl: string
  /** The synthetic world: bot user, application and guilds. */
  readonly world: Traffic.World
  /** What `GET /gateway/bot` answers now. */
  readonly gatewayBot: Effect.Effect<GatewayBot>
  /** A copy of everything recorded so far. */
  readonly log: Effect.Effect<Log.Snapshot>
  /** The breaches recorded so far. */
  readonly violations: Effect.Effect<ReadonlyArray<Log.Violation>>
  /**
   * Waits until `predicate` holds on the log (checked after every change), then returns a copy; a
   * predicate that throws ends the wait with that defect, and so does the gateway's scope closing
   * first (the log can no longer change: the wait hung).
   */
  readonly awaitLog: (predicate: (log: Log.Snapshot) => boolean) => Effect.Effect<Log.Snapshot>
  /**
   * Closes connections with a close frame; 1005, 1006 and 1015 (which say no close frame came) drop
   * them instead, and a code no close frame can carry, or a reason over 123 bytes, dies (a
   * `RangeError`), the connections left as they were.
   */
  readonly close: (target: Target, code: number, reason?: string) => Effect.Effect<number>
  /** Destroys connections' TCP sockets without a close frame. */
  readonly drop: (target: Target) => Effect.Effect<number>
  /** Stops (false) or resumes (true) acknowledging heartbeats on current connections. */
  readonly setAcks: (target: Target, acking: boolean) => Effect.Effect<number>
  /** Sends op 7 (reconnect). */
  readonly reconnect: (target: Target) => Effect.Effect<number>
  /** Sends op 9 with `resumable` (false also ends the session). */
  readonly invalidateSession: (target: Target, resumable: boolean) => Effect.Effect<number>
  /** Sends op 1 (heartbeat request). */
  readonly requestHeartbeat: (target: Target) => Effect.Effect<number>
  /** Sends a frame the client cannot decode. */
  readonly sendMalformed: (target: Target) => Effect.Effect<number>
  /**
   * Stalls connections for `duration`: they send nothing meanwhile (dispatches, ACKs, Hello are held
   * in order), then send everything held at once. A connection that closes while stalled loses what it
   * held; its session's dispatches stay resumable. A duration that is none or negative dies (a
   * `RangeError`).
   */
  readonly stall: (target: Target, duration: Duration.DurationInput) => Effect.Effect<number>
  /**
   * The connections open now (not later ones), if they use zlib-stream, send each message from
   * now on in websocket frames of at most `bytes` bytes, as Discord may: a client joins them until
   * the message's `00 00 ff ff`. 0 sends whole messages again; a count that is not a non-negative
   * integer dies (a `RangeError`).
   */
  readonly splitMessages: (target: Target, bytes: number) => Effect.Effect<number>
  /**
   * For `duration`, delays each frame connections send by `perFrameDelay` (order is kept). A
   * duration that is none or negative dies (a `RangeError`).
   */
  readonly slow: (target: Target, perFrameDelay: Duration.DurationInput, duration: Duration.DurationInput) => Effect.Effect<number>
  /** Delays the Hello of the next connection (a delay that is none or negative dies, a `RangeError`). */
  readonly delayNextHello: (delay: Duration.DurationInput) => Effect.Effect<void>
  /**
   * Dispatches an event to sessions (buffered for replay if detached) whose intents let them see
   * it, as Discord would (`Visibility`: a type their intents do not open is not sent; a guild
   * message's content is emptied without MessageContent; to `"all"`, where Discord routes it:
   * `Visibility.shardOfDispatch`, a guild's event to its guild's shard, a direct message's to
   * shard 0, a type of the test's own to every session); returns how many got it (none once the
   * gateway's scope closed).
   */
  readonly dispatch: (target: SessionTarget, t: string, d: unknown) => Effect.Effect<number>
  /**
   * Starts synthetic traffic: `eventsPerSecond` per session (each shard's session), any positive
   * finite rate, fractions too (zero or less stops it; Infinity or NaN dies with a `RangeError`).
   * After a pause (a blocked event loop) a session gets at most one second's worth at once, and
   * never more than 10,000 events in one go (a rate the process cannot keep up with would
   * otherwise hold its event loop for good); the rest is dropped, not caught up. Once the
   * gateway's scope closed, it starts nothing.
   */
  readonly startTraffic: (eventsPerSecond: number) => Effect.Effect<void>
  /** Stops synthetic traffic. */
  readonly stopTraffic: Effect.Effect<void>
}

/**
 * The local gateway as a service.
 *
 * @since 0.1.0
 */
export const LocalGateway: Context.Tag<LocalGateway, LocalGateway> = Context.GenericTag<LocalGateway>("discord-gateway/LocalGateway")

/**
 * The most events synthetic traffic sends a session in one go: one tick's work stays short, so a
 * rate past what the process can send leaves its event loop turns (1e7 a second held it for good).
 */
const maxBurst = 10_000

/** The largest message the websocket server takes; ws closes with 1009 for a larger one. */
const wsMaxPayloadBytes = 64 * 1024 * 1024

const millis = (input: Duration.DurationInput | undefined, fallback: number): number =>
  input === undefined ? fallback : Duration.toMillis(Duration.decode(input))

// `run`, once every named duration of `control` is one: one that is none ("3 secondz") died with
// Effect's bare "Invalid DurationInput", and a negative or NaN one was taken as 0;
// `Duration.infinity` is one (a stall for good)
const withDurations = <A>(control: string, durations: ReadonlyArray<readonly [string, unknown]>, run: Effect.Effect<A>): Effect.Effect<A> =>
  Effect.suspend(() => {
    const refused = durations.find(([, input]) => durationOf(input) === undefined)
    return refused === undefined
      ? run
      : Effect.die(new RangeError(`${control}: ${refused[0]} must be a duration of at least 0, got ${show(refused[1])}`))
  })

const parseEncoding = (value: string | undefined): EncodingName | undefined =>
  value === undefined || value === "json" ? "json" : value === "etf" ? "etf" : undefined

const parseCompression = (value: string | undefined): Compression | undefined =>
  value === undefined ? "none" : value === "zlib-stream" || value === "zstd-stream" ? value : undefined

/**
 * The local gateway could not listen on its port (e.g. `EADDRINUSE`: another server has it).
 *
 * @since 0.1.0
 */
export class LocalGatewayError extends TaggedError("LocalGatewayError")<{
  readonly reason: "Listen"
  readonly port: number
  readonly code: string | undefined
}> {
  override get message(): string {
    return `the local gateway cannot listen on 127.0.0.1:${this.port}${this.code === undefined ? "" : ` (${this.code})`}`
  }
}

// every option of `make`, and of its `sessionStartLimit` (checked against their types)
const optionKeys = wholeList<Options>()({
  token: true,
  port: true,
  shards: true,
  strictShardCount: true,
  privilegedIntents: true,
  sessionStartLimit: true,
  heartbeatInterval: true,
  heartbeatSlack: true,
  closeOnMissedHeartbeat: true,
  answerWithin: true,
  helloDelay: true,
  resumeWindow: true,
  identifyCooldown: true,
  replayBufferSize: true,
  memberChunkSize: true,
  guilds: true,
  membersPerGuild: true,
  seed: true,
  logCapacity: true
})
const sessionStartLimitKeys = wholeList<NonNullable<Options["sessionStartLimit"]>>()({
  total: true,
  remaining: true,
  resetAfter: true,
  maxConcurrency: true
})

// what a plain JavaScript caller may give that the types refuse, checked before anything reads
// it: a misspelt option (`identifyColdown`) was ignored, its default kept; a token that is no
// `Redacted` threw "Unable to get redacted value" out of the HTTP handler at the first GET
// /gateway/bot or Identify; a port given as a string was a Unix socket path to `listen`; and
// privileged intents of NaN were none (an Identify asking for one closed with 4014), -1 all
const optionsProblem = (options: Options): Error | undefined => {
  if (!isOptionsObject(options)) return new TypeError(`LocalGateway.make: options must be an object with a token, got ${kindOf(options)}`)
  const limit: unknown = options.sessionStartLimit
  if (limit !== undefined && !isOptionsMap(limit)) {
    return new TypeError(`sessionStartLimit must be an object, got ${show(limit)}`)
  }
  const unknown = unknownOptionsText([
    ...unknownKeys(options, optionKeys).map((key) => toldKey(key)),
    ...(limit === undefined ? [] : unknownKeys(limit, sessionStartLimitKeys).map((key) => toldKey(key, "sessionStartLimit")))
  ])
  if (unknown !== undefined) return new RangeError(unknown)
  // never quoted: a token
  if (!Redacted.isRedacted(options.token)) return new TypeError(`token must be a Redacted (Redacted.make(token)), got ${kindOf(options.token)}`)
  // a number Node cannot listen on (70000, -1) fails with LocalGatewayError, as a port held does
  if (options.port !== undefined && typeof options.port !== "number") {
    return new TypeError(`port must be a port number (a whole number from 0 to 65535), got ${show(options.port)}`)
  }
  // "false" from a JSON or env config was taken as true: every Identify of another shard count
  // closed with 4010
  if (options.strictShardCount !== undefined && typeof options.strictShardCount !== "boolean") {
    return new TypeError(`strictShardCount must be true or false, got ${show(options.strictShardCount)}`)
  }
  // a string ("4000") was refused as a close code no close frame carries, naming a code it carries
  const missed: unknown = options.closeOnMissedHeartbeat
  if (missed !== undefined && typeof missed !== "boolean" && typeof missed !== "number") {
    return new TypeError(`closeOnMissedHeartbeat must be true, false or a close code (a number), got ${show(missed)}`)
  }
  if (options.privilegedIntents !== undefined && !Intents.isValid(options.privilegedIntents)) {
    return new RangeError(`privilegedIntents must be intent bits (a whole number whose bits are intents), got ${show(options.privilegedIntents)}`)
  }
  return undefined
}

/**
 * Starts a local gateway on 127.0.0.1 (fails with `LocalGatewayError` when it cannot listen on
 * the port asked for). Closing the scope closes the server, every socket and every timer. An
 * option it cannot use dies at once, naming it: a misspelt one, a count or a duration it cannot
 * serve (a `RangeError`), a `token` that is no `Redacted`, a `port` that is no number, a
 * `strictShardCount` that is no boolean or a `closeOnMissedHeartbeat` that is neither (a `TypeError`).
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<LocalGateway, LocalGatewayError, Scope.Scope> =>
  Effect.gen(function*() {
    // the live clock, whatever Clock the caller's fiber has: the gateway runs on real sockets and
    // real timers, so its cooldowns, windows and timestamps keep real time under a TestClock too.
    // Its time is the wall clock's at the start moved on by the monotonic clock: a wall clock
    // stepped back an hour refused every identify for that hour, one stepped forward let a
    // flood through the send window and ended sessions still in their resume window
    const refused = optionsProblem(options)
    if (refused !== undefined) return yield* Effect.die(refused)
    const clock = Clock.make()
    const runtime = yield* Effect.runtime<never>()
    // (whole milliseconds, as `Date.now()`'s: snowflakes and timestamps are made from it)
    const startedAt = clock.unsafeCurrentTimeMillis() - monotonicMillis(clock)
    const now = () => Math.floor(startedAt + monotonicMillis(clock))
    const limit = options.sessionStartLimit
    const seed = options.seed ?? 1
    const missedClose = options.closeOnMissedHeartbeat === true ? CloseCode.UnknownError : options.closeOnMissedHeartbeat ?? false
    const refusedClose = missedClose === false || CloseFrame.saysNoFrame(missedClose) ? undefined : CloseFrame.problem(missedClose, "")
    if (refusedClose !== undefined) return yield* Effect.die(new RangeError(`closeOnMissedHeartbeat: ${refusedClose}`))
    // a count that is no positive whole number was served as it was (`"shards": 2.5` from
    // /gateway/bot, a world sharded by `% 2.5`) or quietly made 1; a shard count or a
    // max_concurrency over 65535 was served in a body no client takes (an Identify carries no
    // more shards, and `GatewayBot` holds both to it)
    const countProblem = countsProblem([
      ["shards", options.shards, 1, maxShardCount],
      ["maxConcurrency", limit?.maxConcurrency, 1, maxShardCount],
      ["total", limit?.total, 0],
      ["remaining", limit?.remaining, 0],
      ["replayBufferSize", options.replayBufferSize, 1],
      ["memberChunkSize", options.memberChunkSize, 1],
      ["logCapacity", options.logCapacity, 1],
      ["guilds", options.guilds, 0],
      ["membersPerGuild", options.membersPerGuild, 0]
    ])
    if (countProblem !== undefined) return yield* Effect.die(new RangeError(countProblem))
    // more left than the day holds was served as given, and refilled to the total after the reset
    const total = limit?.total ?? 1000
    if (limit?.remaining !== undefined && limit.remaining > total) {
      return yield* Effect.die(new RangeError(`sessionStartLimit.remaining must be at most its total (${total}), got ${limit.remaining}`))
    }
    // a duration that is none ("3 minutez") died with Effect's bare "Invalid DurationInput", and a
    // heartbeat interval no Hello can carry (0, NaN, over an hour) had every client refuse the
    // Hello and connect again for ever
    const durations = [
      ["heartbeatInterval", options.heartbeatInterval],
      ["heartbeatSlack", options.heartbeatSlack],
      ["answerWithin", options.answerWithin],
      ["helloDelay", options.helloDelay],
      ["resumeWindow", options.resumeWindow],
      ["identifyCooldown", options.identifyCooldown],
      ["sessionStartLimit.resetAfter", limit?.resetAfter]
    ] as const
    for (const [name, input] of durations) {
      const duration = input === undefined ? undefined : durationOf(input)
      if (input !== undefined && (duration === undefined || !Duration.isFinite(duration))) {
        return yield* Effect.die(new RangeError(`${name} must be a finite duration, got ${show(input)}`))
      }
    }
    const heartbeatIntervalMs = millis(options.heartbeatInterval, 41_250)
    if (!isHeartbeatInterval(heartbeatIntervalMs)) {
      return yield* Effect.die(
        new RangeError(`heartbeatInterval must be a whole number of milliseconds from 1 to ${maxHeartbeatInterval} (what a Hello carries), got ${heartbeatIntervalMs}`)
      )
    }
    const settings: Settings = {
      token: options.token,
      shards: options.shards ?? 1,
      strictShardCount: options.strictShardCount ?? false,
      privilegedIntents: options.privilegedIntents ?? Intents.privileged,
      maxConcurrency: limit?.maxConcurrency ?? 1,
      heartbeatIntervalMs,
      heartbeatSlackMs: millis(options.heartbeatSlack, 1_000),
      closeOnMissedHeartbeat: missedClose,
      answerWithinMs: millis(options.answerWithin, 5_000),
      helloDelayMs: millis(options.helloDelay, 0),
      resumeWindowMs: millis(options.resumeWindow, 180_000),
      replayBufferSize: options.replayBufferSize ?? 1000,
      memberChunkSize: options.memberChunkSize ?? 1000,
      seed
    }
    const world = Traffic.makeWorld({
      seed,
      guilds: options.guilds ?? settings.shards * 2,
      shards: settings.shards,
      membersPerGuild: options.membersPerGuild ?? 20
    })
    const recorder = new Log.Recorder(options.logCapacity ?? 10_000)
    const sessions = new Map<string, Session>()
    const connections = new Map<number, Connection>()
    const sessionIdRandom = Traffic.seeded(seed ^ 0x5e55)
    let sessionsMade = 0
    let nextConnectionId = 0
    let pendingHelloDelay: number | undefined
    let port = 0
    const run = Runtime.runSync(runtime)
    const log = (effect: Effect.Effect<void>, annotations: Record<string, unknown>) =>
      run(effect.pipe(Effect.annotateLogs(annotations), Effect.annotateLogs("component", "LocalGateway")))

    const host: Host = {
      settings,
      now,
      recorder,
      world,
      sessions,
      identifyBuckets: new Rules.IdentifyBuckets(millis(options.identifyCooldown, 5_000)),
      memberRequests: new Rules.MemberRequestLimiter(Rules.memberRequestCooldownMs),
      sessionStarts: new Rules.SessionStartLimit(total, limit?.remaining ?? total, millis(limit?.resetAfter, 86_400_000), now()),
      tokenReset: false,
      get resumeUrl() {
        return `ws://127.0.0.1:${port}/resume`
      },
      takeHelloDelay: () => {
        const delay = pendingHelloDelay ?? settings.helloDelayMs
        pendingHelloDelay = undefined
        return delay
      },
      newSessionId: () =>
        Array.from({ length: 32 }, () => Math.floor(sessionIdRandom() * 16).toString(16)).join(""),
      newWorker: () => {
        // the next in turn that no live session holds (the 1025th session made shared the first's,
        // and both sent messages of one id); with 1024 live, the next in turn
        sweepSessions()
        const held = new Set(Array.from(sessions.values(), (session) => session.worker))
        for (let tried = 0; tried < 1024; tried++) {
          const worker = sessionsMade++ % 1024
          if (!held.has(worker)) return worker
        }
        return sessionsMade++ % 1024
      },
      warn: (message, annotations) => log(Effect.logWarning(message), annotations)
    }

    const sweepSessions = () => {
      const at = now()
      for (const [id, session] of sessions) {
        if (!session.resumable(at, settings.resumeWindowMs)) sessions.delete(id)
      }
    }

    // a socket closed before its connection is made: a frame ws refuses meanwhile is an `error`
    // event, which with no listener threw out of the socket's callback and ended the process
    const refuse = (socket: WebSocket, code: number, reason: string) => {
      socket.on("error", () => {})
      socket.close(code, reason)
    }

    const accept = (socket: WebSocket, request: Http.IncomingMessage) => {
      sweepSessions()
      const url = GatewayHttp.requestUrl(request)
      if (url === undefined) return refuse(socket, CloseCode.DecodeError, "the request target is no URL")
      const query = Object.fromEntries(url.searchParams)
      const compression = parseCompression(query["compress"])
      let compressor: Compress.Compressor
      try {
        compressor = Compress.unsafeMake(compression ?? "none")
      } catch (error) {
        return refuse(socket, CloseCode.UnknownError, error instanceof Error ? error.message.slice(0, 120) : "compression unavailable")
      }
      const encoding = parseEncoding(query["encoding"])
      const connection = new Connection(++nextConnectionId, socket, compressor, encoding ?? "json", host, url.pathname, query)
      connections.set(connection.id, connection)
      log(Effect.logDebug("connection opened"), { connection: connection.id, path: url.pathname })
      socket.on("error", (error: Error & { readonly code?: string }) => {
        // a frame that crossed the gateway's own close is not read, as `onMessage` reads none (it
        // was recorded as a second breach)
        if (connection.record.closedBy !== undefined) return
        // past `wsMaxPayloadBytes`, ws has already closed with 1009: the breach is still recorded
        if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
          connection.violate("PayloadTooLarge", `payload over ${wsMaxPayloadBytes} bytes, refused by the websocket server`, 1009, "Message too big")
        }
        // so is a text frame that is not UTF-8 (ws closes with 1007): it was logged as a connection
        // lost, no rule broken
        if (error.code === "WS_ERR_INVALID_UTF8") {
          connection.violate("DecodeError", "a text frame that is not valid UTF-8, refused by the websocket server", 1007, "Invalid UTF-8")
        }
      })
      socket.once("close", (code) => {
        connections.delete(connection.id)
        log(Effect.logDebug("connection closed"), { connection: connection.id, code })
      })
      if (query["v"] !== "10") {
        return connection.violate("InvalidApiVersion", `v=${query["v"] ?? "(absent)"}`, CloseCode.InvalidApiVersion, "Invalid API version.")
      }
      if (encoding === undefined) {
        return connection.violate("InvalidEncoding", `unknown encoding ${query["encoding"]}`, CloseCode.DecodeError, "Error while decoding payload.")
      }
      if (compression === undefined) {
        return connection.violate("InvalidEncoding", `unknown compress ${query["compress"]}`, CloseCode.DecodeError, "Error while decoding payload.")
      }
      connection.start(host.takeHelloDelay())
    }

    const server = Http.createServer(GatewayHttp.handler({
      url: () => `ws://127.0.0.1:${port}`,
      authorized: (authorization) => !host.tokenReset && authorization === `Bot ${Redacted.value(settings.token)}`,
      gatewayBot: () => gatewayBot()
    }))
    // ws refuses a message over `maxPayload` itself, closing with 1009 before the gateway sees it:
    // the limit is far above any test's, so that an oversized payload meets Discord's rule (4002)
    const wss = new WebSocketServer({ noServer: true, maxPayload: wsMaxPayloadBytes })
    server.on("upgrade", (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request))
    })

    const gatewayBot = (): GatewayBot => {
      const current = host.sessionStarts.current(now())
      return {
        url: `ws://127.0.0.1:${port}`,
        shards: settings.shards,
        session_start_limit: {
          total,
          remaining: current.remaining,
          reset_after: current.resetAfter,
          max_concurrency: settings.maxConcurrency
        }
      }
    }

    let pump: ReturnType<typeof setInterval> | undefined
    const stopPump = () => {
      if (pump !== undefined) clearInterval(pump)
      pump = undefined
    }
    const startPump = (eventsPerSecond: number) => {
      stopPump()
      if (eventsPerSecond <= 0) return
      // a session gets its share of events as they fall due, the fraction carried over between
      // ticks (so a rate below one per tick, or per second, still sends); after a long pause
      // (a blocked event loop) it gets at most one second's worth at once, the rest dropped; the
      // fraction goes with its session when that is swept (a long run meets many)
      const burst = Math.max(1, Math.min(maxBurst, Math.ceil(eventsPerSecond)))
      const carry = new WeakMap<Session, number>()
      let last = now()
      pump = setInterval(() => {
        const at = now()
        const elapsed = Math.max(0, at - last)
        last = at
        sweepSessions()
        for (const session of sessions.values()) {
          const due = (carry.get(session) ?? 0) + (eventsPerSecond * elapsed) / 1000
          const whole = Math.floor(due)
          carry.set(session, due - whole)
          const count = Math.min(whole, burst)
          for (let i = 0; i < count; i++) {
            const event = session.source(at)
            if (event === undefined) break
            session.dispatch(event.t, event.d, at)
          }
        }
      }, Math.max(5, Math.min(100, Math.floor(1000 / eventsPerSecond))))
    }

    yield* Effect.async<void, LocalGatewayError>((resume) => {
      const refused = (error: Error & { readonly code?: unknown }) =>
        resume(Effect.fail(
          new LocalGatewayError({ reason: "Listen", port: options.port ?? 0, code: typeof error.code === "string" ? error.code : undefined })
        ))
      server.once("error", refused)
      // a port no socket can have (70000, -1) throws at once rather than emitting the error
      try {
        server.listen(options.port ?? 0, "127.0.0.1", () => resume(Effect.void))
      } catch (error) {
        refused(error as Error)
      }
      // interrupted before it listens: nothing is left listening
      return Effect.sync(() => void server.close())
    })
    port = (server.address() as AddressInfo).port

    // once the scope closed, nothing starts again: no traffic, no dispatch
    let closed = false
    // the `awaitLog` waits not over: ended as the scope closes (the log can no longer change, and
    // they waited for ever)
    const waits = new Set<() => void>()
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closed = true
        stopPump()
        for (const connection of connections.values()) connection.drop()
        connections.clear()
        // after the drops, which the log records: a wait for the connections' end is over
        for (const end of [...waits]) end()
        for (const socket of wss.clients) socket.terminate()
        wss.close()
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )

    // the connections open now; with `closing`, also those the gateway is closing (its close frame
    // not answered yet), which only a drop still reaches: a control counted them as reached, and
    // `invalidateSession(..., false)` ended a session its client was never told of
    const targets = (target: Target, closing = false): Array<Connection> =>
      [...connections.values()].filter((connection) =>
        (closing || connection.open) &&
        (target === "all" ? true : "connection" in target ? connection.id === target.connection : connection.shardId === target.shard)
      )
    // how many connections it reached
    const each = (target: Target, f: (connection: Connection) => void, closing = false) =>
      Effect.sync(() => {
        const reached = targets(target, closing)
        for (const connection of reached) f(connection)
        return reached.length
      })

    const gateway: LocalGateway = {
      port,
      url: `ws://127.0.0.1:${port}`,
      apiUrl: `http://127.0.0.1:${port}/api`,
      world,
      gatewayBot: Effect.sync(gatewayBot),
      log: Effect.sync(() => recorder.snapshot()),
      violations: Effect.sync(() => [...recorder.violations]),
      awaitLog: (predicate) =>
        Effect.async<Log.Snapshot>((resume) => {
          // whether the wait is over: the predicate holds, or it threw (a defect that ends this
          // wait, not the gateway's work that made the change)
          const done = (): boolean => {
            try {
              if (!predicate(recorder)) return false
              resume(Effect.sync(() => recorder.snapshot()))
            } catch (error) {
              resume(Effect.die(error))
            }
            return true
          }
          if (done()) return
          if (closed) return void resume(Effect.die(new Error("the local gateway is closed: its log will not change")))
          const finish = () => {
            stop()
            waits.delete(closedWhileWaiting)
          }
          const closedWhileWaiting = () => {
            finish()
            if (!done()) resume(Effect.die(new Error("the local gateway closed before its log held what was awaited")))
          }
          const stop = recorder.listen(() => {
            if (done()) finish()
          })
          waits.add(closedWhileWaiting)
          return Effect.sync(finish)
        }),
      close: (target, code, reason) => {
        // refused whether or not a connection is targeted (a typo passed while none was open)
        const refused = CloseFrame.saysNoFrame(code) ? undefined : CloseFrame.problem(code, reason ?? "")
        return refused === undefined
          ? each(target, (connection) => connection.close(code, reason), CloseFrame.saysNoFrame(code))
          : Effect.die(new RangeError(refused))
      },
      drop: (target) => each(target, (connection) => connection.drop(), true),
      setAcks: (target, acking) => each(target, (connection) => (connection.acking = acking)),
      reconnect: (target) => each(target, (connection) => connection.reconnect()),
      invalidateSession: (target, resumable) => each(target, (connection) => connection.invalidate(resumable)),
      requestHeartbeat: (target) => each(target, (connection) => connection.requestHeartbeat()),
      sendMalformed: (target) => each(target, (connection) => connection.sendMalformed()),
      stall: (target, duration) =>
        withDurations("stall", [["duration", duration]], each(target, (connection) => connection.stall(millis(duration, 0)))),
      splitMessages: (target, bytes) =>
        Number.isSafeInteger(bytes) && bytes >= 0
          ? each(target, (connection) => connection.split(bytes))
          : Effect.die(new RangeError(`splitMessages: bytes must be a non-negative integer, got ${bytes}`)),
      slow: (target, perFrameDelay, duration) =>
        withDurations(
          "slow",
          [["perFrameDelay", perFrameDelay], ["duration", duration]],
          each(target, (connection) => connection.slow(millis(perFrameDelay, 0), millis(duration, 0)))
        ),
      delayNextHello: (delay) =>
        withDurations("delayNextHello", [["delay", delay]], Effect.sync(() => void (pendingHelloDelay = millis(delay, 0)))),
      dispatch: (target, t, d) =>
        Effect.sync(() => {
          if (closed) return 0
          // refused before any session takes it (each session's copy, its intents' shaping and all,
          // was refused in turn: those before it had taken a sequence number and been sent it);
          // taken as JSON writes it, so that each session's copy is shaped from what is written (a
          // class's `toJSON` was dropped by the shaping, its content kept)
          const data: unknown = JSON.parse(framedData(d))
          sweepSessions()
          const at = now()
          let count = 0
          for (const session of sessions.values()) {
            // to all: where Discord routes it (each shard got a guild's event, and a fleet's
            // program handled it once per shard)
            const routed = target === "all" ? Visibility.shardOfDispatch(t, data, session.shard[1]) : undefined
            const matches = target === "all"
              ? routed === undefined || session.shard[0] === routed
              : "session" in target
              ? session.id === target.session
              : session.shard[0] === target.shard
            if (matches && session.dispatch(t, data, at) !== undefined) count++
          }
          return count
        }),
      startTraffic: (eventsPerSecond) =>
        Number.isFinite(eventsPerSecond)
          ? Effect.sync(() => closed ? undefined : startPump(eventsPerSecond))
          : Effect.die(new RangeError(`startTraffic: eventsPerSecond must be a finite number, got ${eventsPerSecond}`)),
      stopTraffic: Effect.sync(stopPump)
    }
    return gateway
  })

/**
 * A layer that runs a local gateway for as long as the layer lives.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<LocalGateway, LocalGatewayError> => Layer.scoped(LocalGateway, make(options))
