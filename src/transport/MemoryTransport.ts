/**
 * An in-memory transport for tests: every connection the client opens is handed to the test as
 * a `MemoryPeer`, the server side of that connection. No sockets and no real time: it runs
 * under `TestClock`.
 *
 * @since 0.1.0
 */
import { GatewayOpcodes } from "discord-api-types/gateway/v10"
import type { GatewayIdentify, GatewayResume, GatewaySendPayload } from "discord-api-types/gateway/v10"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import { isUtf8 } from "node:buffer"
import { TextFrame } from "../codec/TextFrame.ts"
import { TaggedError } from "../internal/taggedError.ts"
import { ResumableClose } from "../protocol/CloseCode.ts"
import { isHeartbeatInterval, maxHeartbeatInterval } from "../protocol/Receive.ts"
import * as CloseFrame from "./CloseFrame.ts"
import { checkConnectOptions, ConnectionClosed, GatewayTransport, receiveFrom, refusedUpgrade, TransportError } from "./GatewayTransport.ts"
import type { Connection, ConnectOptions, Frame, OutgoingFrame } from "./GatewayTransport.ts"

/**
 * How a connection ended: the code (none for a dropped connection), the reason, and which side
 * ended it.
 *
 * @since 0.1.0
 */
export interface CloseInfo {
  readonly code: number | undefined
  readonly reason: string
  readonly by: "client" | "server"
}

/**
 * The connection ended before the client sent the frame a `MemoryPeer` waited for: a test fails
 * with it instead of waiting for ever.
 *
 * @since 0.1.0
 */
export class ConnectionEnded extends TaggedError("ConnectionEnded")<{
  readonly closed: CloseInfo
  /** What the peer waited for, where it says more than "another frame" (its `handshake`'s Identify or Resume). */
  readonly awaited?: string | undefined
}> {
  override get message(): string {
    const { by, code, reason } = this.closed
    const how = code === undefined ? "dropped" : `closed with ${code}${reason === "" ? "" : ` (${reason})`}`
    // a test that moved the TestClock past a timeout in one step is told where to look
    const why = by === "client"
      ? ": the client gave it up (a timeout the TestClock passed, a zombie check, a stop, or a frame of the test's that broke the protocol: its transitions say which)"
      : ""
    return `the connection ended (${how}, by the ${by}) before the client sent ${this.awaited ?? "another frame"}${why}`
  }
}

/**
 * What happens to a connect attempt: `accept` opens a connection, `fail` fails it with
 * `TransportError` "Connect", `hang` never completes (until the client interrupts it).
 *
 * @since 0.1.0
 */
export type ConnectOutcome = "accept" | "fail" | "hang"

/**
 * An HTTP answer instead of the websocket upgrade: its status, and the seconds its `Retry-After`
 * asks to wait.
 *
 * @since 0.1.0
 */
export interface RefusedUpgrade {
  readonly status: number
  readonly retryAfter?: number | undefined
}

/**
 * One connect attempt, as the gateway saw it: when (by the `Clock`), where, and its outcome.
 *
 * @since 0.1.0
 */
export interface ConnectAttempt {
  readonly url: string
  readonly at: number
  readonly outcome: ConnectOutcome
}

/**
 * A payload the client sent, parsed: one of the commands discord-api-types describes (`op` tells
 * which; the session sends no other).
 *
 * @since 0.1.0
 */
export type Payload = GatewaySendPayload

/**
 * What opens a session: the client's Identify (op 2) or Resume (op 6).
 *
 * @since 0.1.0
 */
export type Opening = GatewayIdentify | GatewayResume

/**
 * The server side of one in-memory connection.
 *
 * @since 0.1.0
 */
export interface MemoryPeer {
  /** The url the client connected to. */
  readonly url: string
  /** The options the client connected with. */
  readonly options: ConnectOptions
  /**
   * Sends a frame to the client. Ignored once the connection is closed, as on a real network. A
   * `TextFrame` that is not UTF-8 is refused by the client as a websocket refuses it: the
   * connection ends with 1007, by the client.
   */
  readonly send: (frame: Frame) => Effect.Effect<void>
  /**
   * Sends `JSON.stringify(value)` as a text frame; a value with no JSON text (`undefined`, a
   * function) dies with a `TypeError`.
   */
  readonly sendJson: (value: unknown) => Effect.Effect<void>
  /**
   * The next frame the client sent, waiting for one if none is pending; fails with
   * `ConnectionEnded` once the connection ended and every frame sent before was taken.
   */
  readonly received: Effect.Effect<OutgoingFrame, ConnectionEnded>
  /**
   * The next text frame the client sent, parsed as JSON and typed as discord-api-types' commands
   * (narrow by `op`); dies on a binary frame, or on JSON that is no object with a numeric `op`.
   */
  readonly receivedJson: Effect.Effect<Payload, ConnectionEnded>
  /** Every frame the client has sent and the test has not taken yet, without waiting. */
  readonly takeAll: Effect.Effect<Chunk.Chunk<OutgoingFrame>>
  /**
   * Says Hello with a heartbeat interval of `interval` ms (default 41250) and returns the client's
   * first payload that is not a heartbeat, parsed: its Identify (op 2) or Resume (op 6), typed
   * (narrow by `op`). JSON only: an ETF session's Hello and payloads are the test's to encode and
   * decode. An interval no Hello carries (not a whole number of ms from 1 to an hour), an ETF
   * session, a second handshake on one connection, or another command first, dies saying so.
   */
  readonly handshake: (interval?: number) => Effect.Effect<Opening, ConnectionEnded>
  /**
   * From now on, answers each JSON heartbeat the client sends with an ACK at once (`true`), or
   * leaves them to the test (`false`, the default). Heartbeats answered this way are still
   * received; an ETF session's are always left to the test.
   */
  readonly autoAck: (on: boolean) => Effect.Effect<void>
  /**
   * The server closes the connection: the client's frames end with `ConnectionClosed(code)`. As
   * over a real socket, 1005, 1006 and 1015 (which say no close frame came) drop it instead, and a
   * code no close frame can carry, or a reason over 123 bytes, dies (a `RangeError`), the
   * connection left as it was.
   */
  readonly close: (code: number, reason?: string) => Effect.Effect<void>
  /** The connection drops without a close frame: the client sees a code of `undefined`. */
  readonly drop: Effect.Effect<void>
  /**
   * From now on, answers the client's close at once (`true`, the default), or leaves it to the test
   * (`false`), as a gateway that has not read the client's close frame yet: the client's frames end
   * with its close (`received` fails with `ConnectionEnded`), while the test's frames still reach
   * it, until `answerClose` (or `close`, or `drop`) ends the connection, or the gateway goes away
   * (`layer`'s scope closes).
   */
  readonly answersClose: (on: boolean) => Effect.Effect<void>
  /**
   * Answers the client's close left to the test (`answersClose(false)`): the connection ends, the
   * client's frames with `ConnectionClosed` of its own code. Nothing when no close waits.
   */
  readonly answerClose: Effect.Effect<void>
  /** Waits until the connection has ended, and says how (the client's close code, usually). */
  readonly closed: Effect.Effect<CloseInfo>
  /** Whether the connection is still open. */
  readonly isOpen: Effect.Effect<boolean>
}

/**
 * The gateway side of the in-memory transport: accepts connections and scripts connect failures.
 *
 * @since 0.1.0
 */
export class MemoryGateway extends Context.Tag("discord-gateway/MemoryGateway")<
  MemoryGateway,
  {
    /** The next accepted connection, waiting for the client to open one. */
    readonly accept: Effect.Effect<MemoryPeer>
    /**
     * Makes the next `times` (default 1; `Infinity`: every one from now on; one that is no whole
     * number dies, a `RangeError`) connect attempts fail with `TransportError` "Connect"; with
     * `answer`, as a server answering the upgrade with that HTTP status (and `Retry-After` seconds)
     * does.
     */
    readonly failNextConnect: (times?: number, answer?: RefusedUpgrade) => Effect.Effect<void>
    /** Makes the next `times` (default 1, as `failNextConnect`'s) connect attempts hang until the client gives up. */
    readonly hangNextConnect: (times?: number) => Effect.Effect<void>
    /**
     * Forgets the failures and hangs still scripted: connects are accepted again (the end of an
     * outage scripted with `Infinity`, which nothing else ended).
     */
    readonly acceptConnects: Effect.Effect<void>
    /** Every connect attempt so far, in order. */
    readonly attempts: Effect.Effect<ReadonlyArray<ConnectAttempt>>
  }
>() {}

// what `receivedJson` takes for a payload: the client sends only commands, each an object with its op
const isPayload = (value: unknown): value is Payload =>
  typeof value === "object" && value !== null && typeof (value as { readonly op?: unknown }).op === "number"

const heartbeatAck = JSON.stringify({ op: 11, d: null, s: null, t: null })

// a heartbeat as the session encodes it in JSON (op first); an ETF one is binary
const isHeartbeat = (frame: OutgoingFrame): boolean => typeof frame === "string" && frame.startsWith(`{"op":1,`)

const byteLength = (frame: Frame): number =>
  typeof frame === "string" ? Buffer.byteLength(frame, "utf8") : frame instanceof TextFrame ? frame.bytes.byteLength : frame.byteLength

/** Both ends of one in-memory connection. */
const makePair = (url: string, options: ConnectOptions) =>
  Effect.gen(function*() {
    const toClient = yield* Mailbox.make<Frame, ConnectionClosed>()
    const toServer = yield* Mailbox.make<OutgoingFrame, ConnectionEnded>()
    const ended = yield* Deferred.make<CloseInfo>()

    let open = true
    let acking = false
    let answering = true
    // whether the test's `handshake` said Hello on this connection
    let shookHands = false
    // the client's close, its frames ended, waiting for the test to answer it
    let unanswered: CloseInfo | undefined
    // how the connection ended, as the client reads it
    let closed: ConnectionClosed | undefined
    /** Ends the connection; only the first end counts. */
    const end = (info: CloseInfo): void => {
      if (!open) return
      open = false
      closed = new ConnectionClosed({ code: info.code, reason: info.reason, byClient: info.by === "client" })
      Deferred.unsafeDone(ended, Exit.succeed(info))
      toServer.unsafeDone(Exit.fail(new ConnectionEnded({ closed: info })))
      toClient.unsafeDone(Exit.fail(closed))
    }
    const isEnded = Effect.sync(() => !open)
    // the client's close: as over a socket, a code no close frame carries drops the connection
    const closedByClient = (code: number, reason: string): void => {
      if (!open || unanswered !== undefined) return
      const info: CloseInfo = CloseFrame.problem(code, reason) === undefined
        ? { code, reason, by: "client" }
        : { code: undefined, reason: "", by: "client" }
      if (answering || info.code === undefined) return end(info)
      unanswered = info
      toServer.unsafeDone(Exit.fail(new ConnectionEnded({ closed: info })))
    }

    const connection: Connection = {
      receive: receiveFrom(toClient),
      send: (frame) =>
        Effect.suspend(() => {
          const gone = closed ?? (unanswered === undefined ? undefined : new ConnectionClosed({ ...unanswered, byClient: true }))
          return gone !== undefined
            ? Effect.fail(new TransportError({ reason: "Send", cause: gone }))
            : Effect.zipRight(toServer.offer(frame), acking && isHeartbeat(frame) ? toClient.offer(heartbeatAck) : Effect.void)
        }),
      close: (code, reason = "") => Effect.sync(() => closedByClient(code, reason))
    }

    const peerSend = (frame: Frame) =>
      Effect.flatMap(isEnded, (done): Effect.Effect<void> => {
        if (done) return Effect.void
        if (byteLength(frame) > options.maxFrameBytes) {
          return Effect.sync(() => end({ code: 1009, reason: "Max payload size exceeded", by: "client" }))
        }
        if (frame instanceof TextFrame && !isUtf8(frame.bytes)) {
          return Effect.sync(() => end({ code: 1007, reason: "Invalid WebSocket frame: invalid UTF-8 sequence", by: "client" }))
        }
        return toClient.offer(frame)
      })

    // the mailbox ends only with ConnectionEnded, which `take` fails with beside a
    // NoSuchElementException: that one went on in the failure, outside its type, and a test that
    // failed on it showed it before the reason
    const received: Effect.Effect<OutgoingFrame, ConnectionEnded> = Effect.catchAllCause(toServer.take, (cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
      const ended = Chunk.findFirst(Cause.failures(cause), (error): error is ConnectionEnded => error._tag === "ConnectionEnded")
      return ended._tag === "Some" ? Effect.fail(ended.value) : Effect.die(Cause.squash(cause))
    })
    const receivedJson: Effect.Effect<Payload, ConnectionEnded> = Effect.flatMap(received, (frame) => {
      if (typeof frame !== "string") return Effect.dieMessage("MemoryPeer.receivedJson: the client sent a binary frame")
      const json = Effect.try({ try: (): unknown => JSON.parse(frame), catch: (cause) => cause }).pipe(Effect.orDie)
      return Effect.flatMap(json, (value) =>
        isPayload(value)
          ? Effect.succeed(value)
          : Effect.dieMessage(`MemoryPeer.receivedJson: the client sent ${frame.slice(0, 80)}, no gateway payload (an object with a numeric op)`))
    })
    // the client's next payload that is not a heartbeat: its Identify or Resume
    const receivedOpening: Effect.Effect<Opening, ConnectionEnded> = Effect.flatMap(receivedJson, (payload) =>
      payload.op === GatewayOpcodes.Identify || payload.op === GatewayOpcodes.Resume
        ? Effect.succeed(payload)
        : payload.op === GatewayOpcodes.Heartbeat
        ? receivedOpening
        : Effect.dieMessage(`MemoryPeer.handshake: the client sent op ${payload.op} before its Identify or Resume`))
    const drop = Effect.sync(() => end({ code: undefined, reason: "", by: "server" }))
    const peer: MemoryPeer = {
      url,
      options,
      send: peerSend,
      sendJson: (value) =>
        Effect.suspend(() => {
          // `JSON.stringify` gives no text for `undefined` or a function: it died reading its length
          const text: string | undefined = JSON.stringify(value)
          return text === undefined ? Effect.die(new TypeError(`sendJson: ${typeof value} is no JSON value`)) : peerSend(text)
        }),
      received,
      receivedJson,
      // what is left once the connection ended, then nothing
      takeAll: Effect.orElseSucceed(toServer.clear, Chunk.empty),
      // a Hello no client takes, or one an ETF session cannot read, ended in the client's close
      // and a bare "closed with 4900": said at once instead
      handshake: (interval = 41_250) =>
        Effect.suspend(() => {
          if (!isHeartbeatInterval(interval)) {
            return Effect.die(
              new RangeError(`handshake: the interval must be a whole number of milliseconds from 1 to ${maxHeartbeatInterval} (what a Hello carries), got ${interval}`)
            )
          }
          if (new URL(url).searchParams.get("encoding") === "etf") {
            return Effect.die(new Error("handshake: this session speaks ETF (encoding=etf); its Hello and payloads are the test's to encode and decode"))
          }
          // a second Hello is not answered: the test waited for an Identify for ever (on a connection
          // that ended, the ConnectionEnded below says more)
          if (shookHands && open) {
            return Effect.die(new Error("handshake: this connection was said Hello already, and a session answers the first Hello alone"))
          }
          shookHands = true
          return Effect.zipRight(
            peerSend(JSON.stringify({ op: 10, d: { heartbeat_interval: interval }, s: null, t: null })),
            Effect.mapError(receivedOpening, ({ closed }) => new ConnectionEnded({ closed, awaited: "its Identify or Resume (handshake)" }))
          )
        }),
      autoAck: (on) =>
        Effect.sync(() => {
          acking = on
        }),
      close: (code, reason = "") =>
        Effect.suspend(() => {
          if (CloseFrame.saysNoFrame(code)) return drop
          const refused = CloseFrame.problem(code, reason)
          return refused === undefined
            ? Effect.sync(() => end({ code, reason, by: "server" }))
            : Effect.die(new RangeError(refused))
        }),
      drop,
      answersClose: (on) =>
        Effect.sync(() => {
          answering = on
        }),
      answerClose: Effect.sync(() => {
        if (unanswered !== undefined) end(unanswered)
      }),
      closed: Deferred.await(ended),
      isOpen: Effect.map(isEnded, (done) => !done)
    }

    // a close still unanswered ends as the client closed it, as a socket disposed while closing does
    const release = Effect.sync(() => end(unanswered ?? { code: ResumableClose, reason: "", by: "client" }))
    // the gateway going away (the test's end): a close waiting for the test, and any after it, answered
    const goAway = (): void => {
      answering = true
      if (unanswered !== undefined) end(unanswered)
    }
    return { connection, peer, release, goAway }
  })

/**
 * Builds the in-memory transport and its gateway side, sharing one state.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const accepted = yield* Queue.unbounded<MemoryPeer>()
  // runs of scripted outcomes, in order: an outcome (a failure's answer, if any) and how many
  // attempts it still takes
  type Run = readonly [ConnectOutcome, number, RefusedUpgrade | undefined]
  const scripted = yield* Ref.make<ReadonlyArray<Run>>([])
  const log = yield* Ref.make<ReadonlyArray<ConnectAttempt>>([])
  // the open connections' `goAway`, and whether the gateway went away (new ones answer at once)
  const goAways = new Set<() => void>()
  let goneAway = false

  // a count that is no whole number was taken as the next one up (1.5 failed two attempts), and
  // NaN or a negative one as none, unsaid
  const script = (outcome: ConnectOutcome) => (times = 1, answer?: RefusedUpgrade) =>
    Number.isSafeInteger(times) && times >= 0 || times === Infinity
      ? Ref.update(scripted, (runs): ReadonlyArray<Run> => times > 0 ? [...runs, [outcome, times, answer]] : runs)
      : Effect.die(new RangeError(`${outcome}NextConnect: times must be a whole number of at least 0, or Infinity, got ${String(times)}`))

  const nextOutcome = Ref.modify(scripted, (runs): readonly [Run, ReadonlyArray<Run>] => {
    if (runs.length === 0) return [["accept", 1, undefined], runs]
    const run = runs[0]!
    const [outcome, left, answer] = run
    return [run, left > 1 ? [[outcome, left - 1, answer], ...runs.slice(1)] : runs.slice(1)]
  })

  const refused = (answer: RefusedUpgrade | undefined) =>
    answer === undefined
      ? new TransportError({ reason: "Connect", cause: new Error("connection refused (scripted)") })
      : refusedUpgrade(answer.status, answer.retryAfter)

  const connect = (url: string, options: ConnectOptions) =>
    Effect.gen(function*() {
      yield* checkConnectOptions("MemoryTransport", options)
      const [outcome, , answer] = yield* nextOutcome
      const at = yield* Clock.currentTimeMillis
      yield* Ref.update(log, (attempts) => [...attempts, { url, at, outcome }])
      if (outcome === "fail") return yield* Effect.fail(refused(answer))
      if (outcome === "hang") return yield* Effect.never
      const pair = yield* Effect.acquireRelease(
        Effect.tap(makePair(url, options), (pair) =>
          Effect.sync(() => {
            if (goneAway) pair.goAway()
            goAways.add(pair.goAway)
          })),
        (pair) => Effect.zipRight(Effect.sync(() => goAways.delete(pair.goAway)), pair.release)
      )
      yield* Queue.offer(accepted, pair.peer)
      return pair.connection
    })

  const transport: Context.Tag.Service<GatewayTransport> = { connect }
  const gateway: Context.Tag.Service<MemoryGateway> = {
    accept: Queue.take(accepted),
    failNextConnect: script("fail"),
    hangNextConnect: (times) => script("hang")(times),
    acceptConnects: Ref.set(scripted, []),
    attempts: Ref.get(log)
  }
  // every close left to the test answered, now and from now on
  const goAway = Effect.sync(() => {
    goneAway = true
    for (const goAway of goAways) goAway()
  })
  return { transport, gateway, goAway }
})

/**
 * The in-memory transport: provides `GatewayTransport` to the code under test and
 * `MemoryGateway` to the test. Each use of the layer starts with a fresh gateway. When the layer's
 * scope closes (where a test provides it, before the session's own scope), the gateway goes away:
 * every close left to the test (`answersClose(false)`) is answered, and those after it at once, so
 * a test that left one unanswered ends without time passing (the session's stop waited on the
 * TestClock, which nothing moved, and the test hung after its checks had passed).
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<GatewayTransport | MemoryGateway> = Layer.scopedContext(
  Effect.map(Effect.acquireRelease(make, ({ goAway }) => goAway), ({ gateway, transport }) =>
    Context.make(GatewayTransport, transport).pipe(Context.add(MemoryGateway, gateway)))
)

