/**
 * One connection of a session, from opening the socket to its end. Everything it owns (the
 * socket, the decoder, the heartbeat, the timers, the command writer) lives in its `Scope`, so
 * nothing outlives the socket that made it.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import type { Mutable } from "effect/Types"
import * as FrameDecoder from "../codec/FrameDecoder.ts"
import { isDecodeError } from "../codec/DecodeError.ts"
import { monotonicMillis } from "../internal/due.ts"
import { maskedCause, maskedDefect, withDefectsMasked } from "../internal/defect.ts"
import { disconnected } from "../internal/detached.ts"
import { escaped, printable } from "../internal/printable.ts"
import { quotesToken, withoutToken } from "../internal/secret.ts"
import { withSpan } from "../internal/span.ts"
import { sleepPastStalls, timeoutFailPastStalls } from "../internal/stall.ts"
import type { IdentifyBudgetExhausted, IdentifyLimiter } from "../limits/IdentifyLimiter.ts"
import * as SendLimiter from "../limits/SendLimiter.ts"
import * as CloseCode from "../protocol/CloseCode.ts"
import * as Commands from "../protocol/Commands.ts"
import type { GatewayEvent } from "../protocol/Event.ts"
import { downgrades, show } from "../protocol/internal/schema.ts"
import type * as EventBuffer from "../stream/EventBuffer.ts"
import {
  type Connection as TransportConnection,
  ConnectionClosed,
  type Frame,
  type GatewayTransport,
  TransportError
} from "../transport/GatewayTransport.ts"
import * as Heartbeat from "./Heartbeat.ts"
import type { HeartbeatTimer } from "./HeartbeatTimer.ts"
import type { MemberRequests } from "./MemberRequests.ts"
import type { Outbox } from "./Outbox.ts"
import * as Protocol from "./Protocol.ts"
import { FatalClose } from "./SessionError.ts"
import type { SessionMetrics } from "./SessionMetrics.ts"
import { pointOf, rememberReady } from "./ResumePoint.ts"
import { gatewayUrl, type ResolvedOptions } from "./SessionOptions.ts"
import { Reason, SessionState } from "./SessionState.ts"

/** The least time between two heartbeats sent because the gateway asked (op 1), in ms. */
const minRequestedBeatGap = 1000

// how a connection ended that the reader, waiting for room in the events buffer, did not read
const lostWhileHeldBack = new ConnectionClosed({ code: undefined, reason: "a heartbeat could not be sent while the events were held back" })

/**
 * After delivering an event decoded from a message this large (bytes), the reader yields before it
 * decodes the next frame of the same read, so the program takes big events (a GUILD_CREATE, a
 * members chunk) one or two at a time rather than a whole read's worth at once: fewer big object
 * graphs are alive when the young generation is collected.
 */
const handOverSize = 32 * 1024

/**
 * What a connection delivers its events into: the sink of an `EventBuffer` (the session's own, or
 * the one a fleet gives it).
 *
 * @since 0.1.0
 */
export type EventSink = EventBuffer.EventSink<GatewayEvent>

/**
 * What a connection needs from its session.
 *
 * @since 0.1.0
 */
export interface Context {
  readonly options: ResolvedOptions
  /** The open connection, for a final close from outside. */
  readonly active: Active
  readonly transport: GatewayTransport["Type"]
  /** Runs the connection's heartbeat (shared by the shards of a fleet). */
  readonly heartbeats: HeartbeatTimer
  readonly identifyLimiter: IdentifyLimiter["Type"]
  /** Whether the session's fleet began to stop it (`Session.Hooks.stopping`): no Identify goes out then. */
  readonly stopping: () => boolean
  /** The session's scope, for work that may outlive a connection but not the session. */
  readonly sessionScope: Scope.Scope
  /** The session's memory; only the connection's reader writes it. */
  readonly memory: { current: Protocol.Memory }
  /** Where delivered events go. */
  readonly events: EventSink
  /** Called after each socket read's frames were handled: the session's event rate takes those delivered. */
  readonly settleRate: () => void
  readonly outbox: Outbox
  /**
   * The presence updates' window, the session's: it holds across connections (a resume in a burst
   * of updates let five more through at once).
   */
  readonly presenceLimit: Effect.Effect<SendLimiter.SendLimiter>
  readonly members: MemberRequests
  readonly transition: (to: SessionState, reason: Reason) => Effect.Effect<void>
  /**
   * Tells that an Identify went unanswered past the ready timeout (the connection waits on). It
   * returns at once: the session tells its hooks in turn, on fibers of their own.
   */
  readonly unanswered: Effect.Effect<void>
  /**
   * Tells that the connection has been ready for `backoff.stableAfter`: at its first heartbeat ACK
   * after that (a connection up for days is stable long before it ends). It returns at once, as
   * `unanswered` does.
   */
  readonly lasted: Effect.Effect<void>
  /** Called with each heartbeat round trip (ms). */
  readonly latency: (ms: number) => void
  /** Where event counts and identify waits go. */
  readonly metrics: SessionMetrics
  /**
   * Dispatch types nobody wants (the program did not ask for them and the session does not need
   * them): counted in the sequence, never delivered, and with JSON never even parsed.
   */
  readonly skips: ((t: string) => boolean) | undefined
  /**
   * The Identify payload, encoded (the token is only unwrapped inside), and what to call where it
   * is not known to have gone out and no READY answered it (the presence updates it carried are on
   * their way again).
   */
  readonly identify: () => { readonly payload: string | Uint8Array; readonly refused: () => void }
  /** The Resume payload for the remembered session, encoded. */
  readonly resume: (memory: Protocol.Memory) => string | Uint8Array
  /** The Heartbeat payload for a sequence, encoded. */
  readonly heartbeat: (sequence: number | null) => string | Uint8Array
}

/**
 * The session's handle on its open connection (if any), so that ending the session can close it
 * with 1000 before interrupting it.
 *
 * @since 0.1.0
 */
export interface Active {
  /** Whether a connection is open (its `close` can be sent). */
  open: boolean
  /** Closes the open connection with `code`; tells whether one was open. */
  close: (code: number) => Effect.Effect<boolean>
  /**
   * Whether the open connection read a READY that waits for room in the events buffer: a stop
   * ends its gateway session, which no resume point will carry (it goes no further than a stop).
   */
  readyHeld: () => boolean
}

/**
 * A handle with no open connection.
 *
 * @since 0.1.0
 */
export const makeActive = (): Active => ({ open: false, close: () => Effect.succeed(false), readyHeld: noReadyHeld })

const noReadyHeld = (): boolean => false

// a connect's error, its cause masked where it quotes the token
const maskedConnectError = (error: TransportError, token: ResolvedOptions["token"]): TransportError => {
  const cause = maskedDefect(error.cause, token)
  return cause === error.cause ? error : new TransportError({ reason: error.reason, cause, status: error.status, retryAfter: error.retryAfter })
}

// a payload refused for what it says (READY's resume_gateway_url, say) is told in words that may
// quote the token, which a hostile gateway may put in it
const withoutTokenIn = (reason: Reason, token: ResolvedOptions["token"]): Reason =>
  reason._tag === "DecodeFailed" ? Reason.DecodeFailed({ kind: reason.kind, message: withoutToken(reason.message, token) }) : reason

// the wait a refused connect asked for is the error's own (`wait`), whichever transport told it
// (its `retryAfter` of `Infinity` parked the session for ever), told as "connect failed: HTTP 429;
// retry after 3600 s" (it said "connect failed: transport connect failed: ...")
const connectFailed = (error: TransportError, token: ResolvedOptions["token"]): Reason => {
  const retryAfter = error.wait
  // the transport's words (a proxy's answer among them), which may quote the token, and may hold
  // control characters: written wherever the reason is (log lines, transitions' JSON)
  const message = error.detail === "" ? "no reason given" : printable(withoutToken(error.detail, token))
  return Reason.ConnectFailed({ message, ...(retryAfter === undefined ? {} : { retryAfter }) })
}

/**
 * How a connection ended: how the next one should authenticate, and why.
 *
 * @since 0.1.0
 */
export interface Outcome {
  readonly next: Protocol.Mode
  readonly reason: Reason
  /** Whether this connection reached READY or RESUMED. */
  readonly ready: boolean
  /** Whether it read READY or RESUMED: delivered, or still waiting for room in the events buffer. */
  readonly answered: boolean
  /** Whether it got as far as sending Identify or Resume. */
  readonly authenticated: boolean
  /** Whether a message over `maxMessageBytes` ended it. */
  readonly tooLarge: boolean
  /**
   * How many events a Resume's replay brought, those the `events` option leaves out and one still
   * waiting for room included (it may end before RESUMED, the program being slow); not those
   * delivered already (a replay from before the point brings nothing new).
   */
  readonly replayed: number
  /**
   * Whether it ended before it was ready with the gateway's answer (READY, RESUMED or a Resume's
   * replay) held up by the program: the reader waited for room since the ready timeout last
   * counted. An answered attempt, not a failed one.
   */
  readonly heldUp: boolean
  /**
   * Whether it stayed ready for `backoff.stableAfter` (the backoff starts over); a zombie, by its
   * last heartbeat ACK.
   */
  readonly stable: boolean
  /** Whether `lasted` was told for it already (at its first heartbeat ACK past `stableAfter`). */
  readonly lastedTold: boolean
  /**
   * The ms its Identify waited at the identify limiter, where the Identify could not be written
   * (the socket gone): the next attempt's carries that wait on, counted once its Identify is out.
   */
  readonly unwrittenWait: number
  /**
   * A READY it read that was still waiting for room in the events buffer when it ended, where its
   * session can be resumed: the session delivers it, calling `onIn` as it goes in, before the next
   * connection resumes that session (another Identify would spend a session start).
   */
  readonly heldReady: HeldReady | undefined
}

/**
 * A READY that outlived its connection, waiting for room in the events buffer.
 *
 * @since 0.1.0
 */
export interface HeldReady {
  readonly event: GatewayEvent
  /**
   * Records it in the session's memory, metrics and member requests, and ends its chunk, as it
   * goes in.
   */
  readonly onIn: () => void
}

type EventStep = Extract<Protocol.Step, { readonly event: GatewayEvent }>
type ReadyStep = Extract<Protocol.Step, { readonly _tag: "Ready" }>

// Why READY's resume_gateway_url is not where the session resumes, if it is not. One that cannot
// be dialled (no ws/wss URL) is no reason to throw away the session READY started (the session
// identified anew, a session start spent each time). Discord hands out wss:// ones: a ws:// one
// read over wss:// would carry the token in the clear with the next Resume, and one quoting the
// token would be in every stored resume point. In these cases the session resumes where this
// connection went instead. A session id no Resume with this token fits in the payload limit with
// is not resumed at all (a Resume would be refused at the encoder).
type ReadyRefusal = "Unusable" | "Unencrypted" | "QuotesToken" | "Unresumable"

const readyRefusal = (options: ResolvedOptions, at: string, step: ReadyStep): ReadyRefusal | undefined =>
  Either.isLeft(Commands.resumeFits(options.token, step.sessionId, options.encoding))
    ? "Unresumable"
    : step.resumeGatewayUrl === undefined
    ? "Unusable"
    : downgrades(at, step.resumeGatewayUrl)
    ? "Unencrypted"
    : quotesToken(step.resumeGatewayUrl, options.token)
    ? "QuotesToken"
    : undefined

// the session's memory once READY went in on the connection to `at` (its URL as given, not as
// dialled: with the gateway query, or written anew by `URL`, one near the length limit made a
// point the next process refused): the new session, resumed at READY's URL, or at `at`, or not at
// all, as `refusal` says
const afterReady = (memory: Protocol.Memory, step: ReadyStep, at: string, refusal: ReadyRefusal | undefined): Protocol.Memory => {
  const taken = Protocol.apply(memory, step)
  return refusal === undefined ? taken : { ...taken, resumeGatewayUrl: refusal === "Unresumable" ? undefined : at }
}

const warnRefused = (refusal: ReadyRefusal, step: ReadyStep, token: ResolvedOptions["token"]): Effect.Effect<void> => {
  switch (refusal) {
    case "Unresumable":
      return Effect.logWarning(
        `READY's session_id (${step.sessionId.length} characters) makes a Resume over ${Commands.maxPayloadBytes} bytes with this token: the session identifies anew, not resumes, after this connection`
      )
    // the problem quotes the URL as it came
    case "Unusable":
      return Effect.logWarning(`${withoutToken(step.urlProblem ?? "", token)}: resuming at the gateway URL instead`)
    default:
      return Effect.logWarning(
        refusal === "Unencrypted"
          ? "READY's resume_gateway_url is not encrypted: resuming at the gateway URL instead"
          : "READY's resume_gateway_url quotes the token: resuming at the gateway URL instead"
      ).pipe(Effect.annotateLogs({ resumeGatewayUrl: withoutToken(show(step.resumeGatewayUrl), token) }))
  }
}

/**
 * Why a connection ended the whole session.
 *
 * @since 0.1.0
 */
export type Failure = FatalClose | IdentifyBudgetExhausted

/**
 * Runs one connection to `at` (a gateway or resume URL as given, the gateway query added to it as
 * it is dialled), authenticating with `mode`, until it ends; returns how it ended,
 * or fails when the session must stop. Interrupting it closes the socket with a resumable code.
 * `admission`, the scope holding an identifying connection's place (`Session.Hooks.admission`), is
 * closed once its Identify is sent (its owner closes it at the latest). `budgetWaited`, the
 * milliseconds the session waited for the identify budget before it (`budgetReady`), counts with
 * the limiter's own wait in the Identify's `identify_wait_ms`.
 *
 * @since 0.1.0
 */
export const run = (
  ctx: Context,
  at: string,
  mode: Protocol.Mode,
  admission?: Scope.CloseableScope | undefined,
  budgetWaited = 0
): Effect.Effect<Outcome, Failure> =>
  Effect.scoped(Effect.gen(function*() {
    const { options } = ctx
    const url = gatewayUrl(at, options)
    const shard = options.shard[0]
    const clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const ended = yield* Deferred.make<Pick<Outcome, "next" | "reason">, Failure>()
    let done = false
    // when it was ended (the monotonic clock's ms): its socket may take a while more to close
    let endedAt: number | undefined
    let ready = false
    // the connection as `Protocol.step` reads it: the Identify or Resume handed to the transport
    // (READY or RESUMED answers it, and only it), and while a Resume's replay lasts, the sequence
    // the Resume carried
    const handshake: Mutable<Protocol.Handshake> = {
      mode,
      stage: "Unasked",
      replayAfter: mode === "resume" ? ctx.memory.current.sequence : null
    }
    let authenticated = false
    let unwrittenWait = 0
    // when this connection's Identify began to wait at the limiter, and when its turn came, until it
    // is known to be written: one whose socket went meanwhile (while it waited, or as it was
    // written) carries its wait at the limiter on, as one whose write failed does (it was lost)
    let identifyWaitFrom: number | undefined
    let identifyTurnAt: number | undefined
    // whether it was carried on so: a write that still went through after (a limiter that runs
    // `send` on a fiber of its own) counts it no more (it was counted twice)
    let identifyWaitCarried = false
    let readyAt: number | undefined
    // a READY read and waiting for room in the events buffer: the session to resume should the
    // connection end meanwhile
    let heldReady: ReadyStep | undefined
    const remembered = () =>
      heldReady === undefined ? ctx.memory.current : afterReady(ctx.memory.current, heldReady, at, readyRefusal(options, at, heldReady))
    // whether `lasted` was told for this connection
    let toldLasted = false
    // when a heartbeat ACK last came: a connection found dead (a zombie) was alive until then
    let lastAckAt = Number.NEGATIVE_INFINITY
    // ready for `stableAfter` by `until` (now)
    const stable = (until = monotonicMillis(clock)) =>
      readyAt !== undefined && until - readyAt >= Duration.toMillis(options.backoff.stableAfter)

    // The socket lives in a scope of its own, which ending the connection closes (with 4900,
    // resumable, unless a close was sent): its frames end at once, so the reader, which runs on
    // this fiber, returns from a read that waits, whoever ended the connection.
    // It is closed on a fiber of its own: a transport's release registered with
    // `Effect.addFinalizer` (as `Effect.acquireRelease` does) leaves the FiberRefs of the fiber that
    // runs it holding the opening fiber's, and the fibers that end connections (the session's
    // loop, a fleet's heartbeat timer) would pile up one set per connection, for good.
    const socketScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    let closing: Fiber.RuntimeFiber<void> | undefined
    const startClose: Effect.Effect<Fiber.RuntimeFiber<void>> = Effect.suspend(() => {
      if (closing !== undefined) return Effect.succeed(closing)
      return Effect.tap(Effect.forkDaemon(Scope.close(socketScope, Exit.void)), (fiber) => {
        closing = fiber
      })
    })
    const closeSocket = Effect.flatMap(startClose, Fiber.await)
    // Ends the connection and closes its socket, waiting for the close unless `wait` is false: the
    // heartbeat timer's fiber, which a fleet's shards share, must not wait (a transport that waits
    // for the peer's close frame held every shard's beats); the connection waits for it at its end
    const end = (exit: Exit.Exit<Pick<Outcome, "next" | "reason">, Failure>, wait = true) =>
      Effect.suspend(() => {
        if (done) return Effect.void
        done = true
        endedAt = monotonicMillis(clock)
        if (identifyWaitFrom !== undefined) {
          unwrittenWait = (identifyTurnAt ?? monotonicMillis(clock)) - identifyWaitFrom
          identifyWaitCarried = true
        }
        return Effect.zipRight(Deferred.done(ended, exit), wait ? closeSocket : Effect.asVoid(startClose))
      })
    const finish = (next: Protocol.Mode, reason: Reason) => end(Exit.succeed({ next, reason }))

    // the URL as it is shown (spans, the ConnectingWs state): one a gateway gave (READY's
    // resume_gateway_url) may quote the token
    const shownUrl = withoutToken(url, options.token)
    const opened = yield* ctx.transport.connect(url, { maxFrameBytes: options.maxMessageBytes }).pipe(
      Scope.extend(socketScope),
      timeoutFailPastStalls({ duration: options.timeouts.connect, onTimeout: () => new Cause.TimeoutException() }),
      // the transport's words (a proxy's answer among them) may quote the token: masked before the
      // span ends with them
      Effect.mapError((error) => error._tag === "TransportError" ? maskedConnectError(error, options.token) : error),
      withDefectsMasked(options.token),
      withSpan("Session.connect", { shard, url: shownUrl, mode }),
      Effect.either
    )
    if (opened._tag === "Left") {
      const reason = opened.left._tag === "TimeoutException"
        ? Reason.ConnectTimeout()
        : connectFailed(opened.left, options.token)
      return {
        next: mode,
        reason,
        ready,
        answered: false,
        authenticated,
        tooLarge: false,
        replayed: 0,
        heldUp: false,
        stable: false,
        lastedTold: false,
        unwrittenWait: 0,
        heldReady: undefined
      }
    }
    // a transport's `send` or `close` that throws (a plain-JS one calling `ws.send` before it
    // returns its Effect) dies where its Effect would: the masking and the end that follow see it
    // (a close that threw killed the stop, token and all; a beat's, its fiber, unobserved)
    const connection: TransportConnection = {
      receive: opened.right.receive,
      send: (frame) => Effect.suspend(() => opened.right.send(frame)),
      close: (code) => Effect.suspend(() => opened.right.close(code))
    }
    // a reader waiting for room in the events buffer would see the close only once the program
    // took an event: closing ends the connection for it, at once or when it starts to wait (the
    // event it holds stays uncommitted)
    let closeSent = false
    // made before the close below can be called (a stop while the transition to ConnectingWs runs
    // read it uninitialized: a defect)
    const tracker = new Heartbeat.Tracker()
    const endWaitForRoom = Effect.suspend(() => finish(Protocol.modeOf(remembered()), Reason.Disconnect()))
    ctx.active.open = true
    ctx.active.close = (code) =>
      Effect.zipRight(
        connection.close(code),
        Effect.suspend(() => {
          closeSent = true
          return tracker.paused ? endWaitForRoom : Effect.void
        })
      ).pipe(Effect.as(true))
    ctx.active.readyHeld = () => heldReady !== undefined
    yield* Scope.addFinalizer(scope, Effect.sync(() => {
      ctx.active.open = false
      ctx.active.close = () => Effect.succeed(false)
      ctx.active.readyHeld = noReadyHeld
    }))
    yield* ctx.transition(SessionState.ConnectingWs({ url: shownUrl }), Reason.Opened())

    const decoder = FrameDecoder.make({
      compression: options.compression,
      encoding: options.encoding,
      maxMessageBytes: options.maxMessageBytes,
      skip: ctx.skips
    })
    // its native inflate context (tens of KiB outside the JS heap, which a garbage collection hardly
    // counts) goes with the connection
    yield* Scope.addFinalizer(scope, Effect.sync(() => decoder.close()))
    const sendLimiter = yield* SendLimiter.make(options.sendLimit)
    // A presence update waits for room under its own limit, then for a send slot, and only then
    // takes its presence place, at once: the place is counted from when the update goes out, not
    // from before a wait for the send limit. The outbox writes presence updates one at a time, so
    // the room waited for is still there.
    const presenceSlots = Effect.flatMap(ctx.presenceLimit, (presence) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(restore(presence.awaitRoom("command")), Effect.zipRight(restore(sendLimiter.take("command")), presence.take("command")))
      ))
    // whether the payload was written (a socket gone meanwhile refuses it: the connection's end,
    // read next, tells what became of it). An Identify or Resume is not written on a connection
    // being ended, as a command is not: one whose turn came while a slow close ran spent a session
    // start on it, and the next connection identified again
    const sendControl = (payload: string | Uint8Array): Effect.Effect<boolean> =>
      Effect.zipRight(
        sendLimiter.take("control"),
        Effect.suspend(() => done ? Effect.succeed(false) : Effect.isSuccess(connection.send(payload)))
      )
    // sends a heartbeat, after `slot`, on a fiber of its own, apart from the reader, which goes on
    // reading while it waits for the send limit or the write: interruptible, so that the
    // connection's end stops a wait (the heartbeat timer's fiber is uninterruptible, and a wait
    // would hold the connection's scope open for ever). A reader waiting for room in the events
    // buffer reads no close: a beat that cannot be sent then tells it the connection is gone, and
    // how, when the transport knows (it stayed Ready on a dead socket for as long as the program
    // took no event; a fatal close must stay fatal). The beat counts as sent once it has its place:
    // one held back by a full window is no unanswered beat (the next tick took it for a zombie),
    // and while it waits no other scheduled beat is added behind it. The payload is made at once,
    // so that a custom encoding's defect reaches the heartbeat timer, and again for a beat held
    // back while events came, which carries the last sequence as it goes out.
    let beatHeld = false
    // the beats gone out on this connection
    let beatsSent = 0
    const sendBeat = (slot: Effect.Effect<void>, scheduled: boolean) =>
      Effect.suspend(() => {
        if (scheduled && beatHeld) return Effect.void
        const sequence = ctx.memory.current.sequence
        const payload = ctx.heartbeat(sequence)
        const send = Effect.suspend(() => {
          if (scheduled) beatHeld = false
          beatsSent++
          tracker.sent(monotonicMillis(clock), scheduled)
          const latest = ctx.memory.current.sequence
          return Effect.suspend(() => connection.send(latest === sequence ? payload : ctx.heartbeat(latest))).pipe(
            Effect.catchAll((error) =>
              tracker.paused ? onClosed(error.cause instanceof ConnectionClosed ? error.cause : lostWhileHeldBack) : Effect.void
            ),
            // a transport's defect, or an encoding's re-encoding the beat, ends the connection with
            // it, masked (it may quote the token), as one of the Identify's does: unobserved, Effect
            // logged it whole, and a zombie followed
            Effect.catchAllDefect((defect) => end(Exit.die(maskedDefect(defect, options.token))))
          )
        })
        if (scheduled) beatHeld = true
        return Effect.asVoid(Effect.forkIn(Effect.interruptible(Effect.zipRight(slot, send)), scope))
      })
    // the scheduled beats' priority, and whether their places hold them all: those of Discord's
    // interval until Hello says how often they go
    let beatPriority = SendLimiter.scheduledBeatPriority(Infinity, options.sendLimit)
    let beatsHaveTheirPlaces = SendLimiter.beatsHaveTheirPlaces(Infinity, options.sendLimit)
    const beat = sendBeat(Effect.suspend(() => sendLimiter.take(beatPriority)), true)
    // answers op 1 at once, or not at all when that would take a place the scheduled beats need
    // (answers a second apart once took them all: the scheduled beat then waited for the window,
    // unanswered, and the connection was closed as a zombie); the next scheduled beat answers it.
    // Counted as commands but one, answers leave those places free by themselves (keeping them
    // besides, op 1 went unanswered beside 116 commands and both beats of the window), where the
    // places kept hold every beat: beats under about 2.18 s apart need more, and an op 1 flood held
    // them back, so op 1 is left to the next beat, under 2.18 s away
    const requestedBeat = Effect.suspend(() =>
      !beatsHaveTheirPlaces
        ? Effect.logDebug("op 1 not answered: the next scheduled heartbeat, under 2.2 s away, answers it")
        : Effect.flatMap(sendLimiter.tryTake(0), (taken) =>
          taken
            ? sendBeat(Effect.void, false)
            : Effect.logDebug("op 1 not answered: the send window keeps its last places for the scheduled heartbeats"))
    )

    // fibers that end early are dropped once ended: a handle kept would keep the ended fiber alive
    let helloTimer: Fiber.RuntimeFiber<unknown> | undefined = yield* Effect.forkScoped(
      Effect.zipRight(sleepPastStalls(options.timeouts.hello), finish(mode, Reason.HelloTimeout()))
    )
    let authenticating: Fiber.RuntimeFiber<void> | undefined
    // whether the identify limiter is still at its work after `send` ran: READY does not cut it
    // short (a limiter holding a key's lock for the spacing released it at READY, and the key's
    // next identify went out at once); the connection's end does (an op 9 ends it)
    let limiterAfterSend = false
    // tells the identify limiter that the gateway answered this connection's Identify (READY or op 9);
    // dropped once run, so a connection does not keep it
    let identifyAnswered: Effect.Effect<void> | undefined
    // run on a fiber of its own: a limiter of the program's own that waits (a store slow to answer)
    // held the reader, and the connection read nothing more. Its defect ends the connection with it,
    // or, the connection gone, is logged: it was lost. The session's end interrupts it (a daemon
    // outlived the session)
    const tellAnswered = Effect.suspend(() => {
      const told = identifyAnswered
      identifyAnswered = undefined
      // disconnected: the session's end interrupts it without waiting for it (one whose interruption
      // took 30 s, a lock let go over the network, held the scope's close and the stop as long)
      return told === undefined ? Effect.void : Effect.asVoid(Effect.forkIn(ctx.sessionScope)(disconnected(Effect.catchAllCause(told, (cause) => {
        // the limiter's words may quote the token (the key it keeps its lock under), a failure's
        // too (a limiter of plain JavaScript may fail with anything)
        const masked = maskedCause(cause, options.token)
        return Effect.zipRight(
          Effect.logError("the identify limiter's answered failed", masked),
          end(Exit.failCause(masked))
        )
      }))))
    })
    const releaseAdmission = admission === undefined ? Effect.void : Scope.close(admission, Exit.void)

    // made at Hello, once: kept as an effect, it stayed in memory for the connection's life (about
    // 0.9 KiB a shard)
    const authenticate = () => Effect.gen(function*() {
      if (mode === "identify") {
        const waitFrom = monotonicMillis(clock)
        identifyWaitFrom = waitFrom
        let sent = false
        // withheld at the turn: a fleet began to stop the session (its stop is on the way)
        let withheld = false
        yield* ctx.identifyLimiter.identify(shard, (answered, unsent) =>
          Effect.suspend(() => {
            // a second Identify on one connection draws 4005 and costs a session start
            if (sent || withheld) return Effect.dieMessage("the identify limiter ran send twice for one Identify: a limiter runs it once")
            // returned at once, so that the limiter lets its key go (one that runs this on a fiber
            // of its own held it for as long as it waited)
            // (the start the limiter took is given back: none was spent)
            if (ctx.stopping()) {
              withheld = true
              return unsent === undefined ? Effect.void : Effect.uninterruptible(unsent)
            }
            sent = true
            handshake.stage = "Asked"
            limiterAfterSend = true
            identifyAnswered = answered
            identifyTurnAt = monotonicMillis(clock)
            const limiterWait = identifyTurnAt - waitFrom
            const identify = ctx.identify()
            return sendControl(identify.payload).pipe(
              // one not known written (the socket refused it, or the connection's end cut its write
              // short) and not answered carried no presence: a session the gateway may have begun
              // for it is never resumed (no READY came to name it), and the next Identify carries the
              // latest (an update given up on meanwhile showed after it). One READY answered went out,
              // whatever became of its write
              Effect.onExit((exit) =>
                (Exit.isSuccess(exit) && exit.value) || handshake.stage === "Answered" ? Effect.void : Effect.sync(identify.refused)
              ),
              // one not written (the socket gone) never reached the gateway: no session start
              // spent, and the node counts as not reached
              Effect.tap((written) => {
                authenticated = written
                identifyWaitFrom = undefined
                if (!written) unwrittenWait = limiterWait
              }),
              // and the limiter gives back the start it took, and the spread's turn: run to its end
              // (the connection's end, which follows, interrupts the limiter), and not for one
              // answered (READY or op 9 came: it went out, whatever became of its write)
              Effect.tap((written) =>
                written || unsent === undefined || handshake.stage === "Answered" ? Effect.void : Effect.uninterruptible(unsent)
              ),
              // the wait counted once its Identify is out: the next attempt's carries this one's on
              // (counted at each, it was counted twice)
              Effect.tap((written) => written && !identifyWaitCarried ? ctx.metrics.identifyWait(budgetWaited + limiterWait) : Effect.void),
              // the presence updates it carried are done, once it was written: their callers wait no
              // longer (a session that then ended failed them with SessionClosed, hiding why it ended)
              Effect.tap((written) => written ? ctx.outbox.settleSuperseded : Effect.void),
              // the admission goes once Identify is out, not once the limiter's work after it ended
              Effect.ensuring(releaseAdmission)
            )
          }), options.shard[1]).pipe(
          // a limiter's or a transport's defect may quote the token: masked before the span ends with it
          withDefectsMasked(options.token),
          withSpan("Session.identify", { shard }),
          // an identify that never got its turn gives the admission back too
          Effect.ensuring(releaseAdmission)
        )
        limiterAfterSend = false
        // nothing went out: the stop ends this wait
        if (withheld) return yield* Effect.interruptible(Effect.never)
        if (!sent) return yield* Effect.dieMessage("the identify limiter returned without running send: a limiter runs it once")
        // answered while the limiter was at its work after `send`: no ready timeout to wait out
        if (handshake.stage === "Answered") return
      } else {
        // what the Resume carries: its replay repeats what is at or below it
        handshake.replayAfter = ctx.memory.current.sequence
        handshake.stage = "Asked"
        // (suspended: a program's own Encoding that throws making the frame is a defect masked too)
        // One not written (the socket gone after Hello) is no Resume the gateway refused: it says
        // nothing against the session (three such gave it up, and a session start was spent)
        authenticated = yield* Effect.suspend(() => sendControl(ctx.resume(ctx.memory.current))).pipe(
          // a transport's defect may quote the frame, the token in it: masked before the span ends with it
          withDefectsMasked(options.token),
          withSpan("Session.resume", { shard, sequence: ctx.memory.current.sequence ?? 0 })
        )
      }
      yield* sleepPastStalls(options.timeouts.ready)
      if (mode === "identify") {
        // Discord, on outages: a client that stays connected keeps beating, and the gateway issues
        // the session once it can. Another Identify would spend one of the day's session starts, so
        // this connection waits on for as long as its heartbeats are acknowledged (the zombie check
        // ends it when they are not)
        yield* ctx.unanswered
        return yield* Effect.never
      }
      // A Resume's replay waiting for room in the events buffer (a slow program) is its answer
      // held up: the ready timeout counts again for as long as the reader waited for room since it
      // last counted, and ends the connection at the first one through which the reader was free.
      // (It ended it at the first: the next Resume had the whole replay sent again, once a ready
      // timeout for as long as the program took no event. Events that keep coming are no sign:
      // Discord sends the replay at once, and a node that forwards live events and never RESUMED
      // would hold the session in Resuming for ever.)
      while (replayed > 0 && (heldSinceCounted || tracker.paused)) {
        heldSinceCounted = false
        yield* sleepPastStalls(options.timeouts.ready)
      }
      yield* finish(mode, Reason.ReadyTimeout())
    }).pipe(
      // a defect too (a custom limiter's, say) ends the connection with it: none is left waiting
      Effect.catchAllCause((cause) => end(Exit.failCause(cause))),
      Effect.asVoid
    )

    const onHello = (interval: number) =>
      Effect.gen(function*() {
        if (helloTimer === undefined) return
        yield* Fiber.interrupt(helloTimer)
        helloTimer = undefined
        yield* ctx.transition(
          SessionState.Connected({ phase: mode === "resume" ? "Resuming" : "Identifying" }),
          Reason.Hello({ interval })
        )
        // room for the beats a window holds at this interval, one requested by op 1, and the
        // identify or resume (a gateway asking for beats every 10 s had them held back by commands);
        // beats too frequent to leave commands a place line up with them instead
        beatPriority = SendLimiter.scheduledBeatPriority(interval, options.sendLimit)
        beatsHaveTheirPlaces = SendLimiter.beatsHaveTheirPlaces(interval, options.sendLimit)
        yield* sendLimiter.reserve(SendLimiter.scheduledBeatPlaces(interval, options.sendLimit) + SendLimiter.unscheduledControlPlaces)
        yield* Scope.extend(
          ctx.heartbeats.add(Heartbeat.beating({
            interval,
            jitter: yield* Random.next,
            tracker,
            beat,
            onZombie: Effect.suspend(() => end(Exit.succeed({ next: Protocol.modeOf(remembered()), reason: Reason.Zombie() }), false)),
            // a beat that cannot be sent (a custom encoding's defect) ends the connection with it
            onDefect: (cause) => end(Exit.failCause(cause), false)
          })),
          scope
        )
        authenticating = yield* Effect.forkIn(authenticate(), scope)
      })

    // The program's commands go out on this connection from now on (once), and member requests'
    // answers can come on it.
    let commandsOpen = false
    const openCommands = Effect.suspend(() => {
      if (commandsOpen) return Effect.void
      commandsOpen = true
      ctx.members.connected(true)
      return Scope.extend(
        ctx.outbox.attach({
          slot: sendLimiter.take("command"),
          presenceSlots,
          // a connection being ended takes no more (its socket may close slowly): the gateway may
          // drop what comes on it with the close, or give it to a session ended by op 9; the
          // command is carried over to the next one
          write: (payload) =>
            Effect.suspend(() =>
              done ? Effect.succeed(false) : connection.send(payload).pipe(
                Effect.match({ onFailure: () => false, onSuccess: () => true }),
                // a transport's defect ends the connection with it, masked, the command carried
                // over: it killed the lane's writer unobserved, and that lane's commands waited for ever
                Effect.catchAllDefect((defect) => Effect.as(end(Exit.die(maskedDefect(defect, options.token))), false))
              )
            )
        }),
        scope
      )
    })

    // READY or RESUMED was read: the identify limiter learns the Identify was answered, the ready
    // timeout no longer applies, and the program's commands go out. The answer may still wait for
    // room in the events buffer: a program that waits on a command before it takes more events
    // would otherwise wait for ever.
    const answered = Effect.suspend(() => {
      if (handshake.stage === "Answered") return Effect.void
      handshake.stage = "Answered"
      return Effect.gen(function*() {
        yield* tellAnswered
        if (authenticating !== undefined && !limiterAfterSend) yield* Fiber.interrupt(authenticating)
        authenticating = undefined
        yield* openCommands
      })
    })

    const onReady = (reason: Reason) =>
      Effect.gen(function*() {
        ready = true
        handshake.replayAfter = null
        readyAt ??= monotonicMillis(clock)
        yield* answered
        yield* ctx.transition(SessionState.Connected({ phase: "Ready" }), reason)
      })

    // events a Resume's replay brought, delivered or left out by the `events` option
    let replayed = 0
    // whether the reader waited for room since the ready timeout last counted
    let heldSinceCounted = false
    // whether it ended while the reader waited for room
    let endedWaitingForRoom = false
    let tooLarge = false
    let lastRequestedBeat = Number.NEGATIVE_INFINITY
    // an op 1 asked within a second of the last answer waits for the end of that second
    let requestedLater = false
    let sentBeforeAsked = 0
    // an event went in: metrics and member requests learn of it
    const observe = (step: EventStep): void => {
      ctx.metrics.event(step.event.t)
      ctx.members.observe(step.event)
    }
    // READY went in: the session's memory takes its session, resumed where `refusal` lets it
    const recordReady = (step: ReadyStep, refusal: ReadyRefusal | undefined): void => {
      ctx.memory.current = afterReady(ctx.memory.current, step, at, refusal)
      observe(step)
    }
    // the point READY begins, as `recordReady` will take it, known to `pointAfter` before the
    // program can take READY
    const rememberReadyPoint = (step: ReadyStep): void => {
      const { resumeGatewayUrl } = afterReady(ctx.memory.current, step, at, readyRefusal(options, at, step))
      if (resumeGatewayUrl !== undefined) rememberReady(step.event, pointOf(options, step.sessionId, step.event.sequence, resumeGatewayUrl))
    }
    // the point RESUMED resumed, as this session would give it: `pointAfter` fills in what a point
    // saved before the encoding and intents were recorded does not say
    const rememberResumedPoint = (step: EventStep): void => {
      const { resumeGatewayUrl, sessionId } = ctx.memory.current
      if (sessionId !== undefined && resumeGatewayUrl !== undefined) rememberReady(step.event, pointOf(options, sessionId, step.event.sequence, resumeGatewayUrl))
    }
    const commit = (step: EventStep): Effect.Effect<void> | undefined => {
      if (step._tag === "Ready") {
        const refusal = readyRefusal(options, at, step)
        recordReady(step, refusal)
        const readied = onReady(Reason.Ready({ sessionId: step.sessionId }))
        return refusal === undefined ? readied : Effect.zipRight(warnRefused(refusal, step, options.token), readied)
      }
      ctx.memory.current = Protocol.apply(ctx.memory.current, step)
      observe(step)
      if (step._tag === "Resumed") return onReady(Reason.Resumed({ replayed }))
      return undefined
    }

    // The reader: decode, step, deliver. Events go into the events sink synchronously while it has
    // room; a full sink suspends the reader (and with it the socket) until the program takes
    // events, and the sequence is committed only once an event is in, so an interruption never
    // skips an event on the next resume.
    const handle = (frames: ReadonlyArray<Frame>, from: number): Effect.Effect<void> => {
      for (let i = from; i < frames.length && !done; i++) {
        const envelope = decoder.push(frames[i]!)
        if (envelope === undefined) continue
        if (isDecodeError(envelope)) {
          tooLarge = envelope.reason === "TooLarge"
          // the parser's words quote the frame, which may quote the token
          return finish(Protocol.modeOf(remembered()), Reason.DecodeFailed({ kind: envelope.reason, message: withoutToken(envelope.message, options.token) }))
        }
        const step = Protocol.step(ctx.memory.current, envelope, options.shard, handshake)
        switch (step._tag) {
          case "Emit":
          case "Ready":
          case "Resumed": {
            const wanted = ctx.options.events === undefined || ctx.options.events.has(step.event.t)
            if (step._tag === "Ready") {
              // a session whose id quotes the token is not taken, nor its READY delivered or held
              // for room: a new one is asked for
              if (quotesToken(step.sessionId, options.token)) {
                return finish("identify", Reason.DecodeFailed({ kind: "Protocol", message: "READY's session_id quotes the token: not taken" }))
              }
              if (wanted) rememberReadyPoint(step)
            } else if (step._tag === "Emit") {
              // a dispatch before RESUMED is the Resume's replay, counted as it arrives: one held
              // back by a full buffer past the ready timeout still says the gateway answered the Resume
              if (!ready && mode === "resume") replayed++
            } else if (wanted) {
              rememberResumedPoint(step)
            }
            // an unwanted event (decoded all the same: no readable header, or an encoding without
            // one, or one the session needs) is counted and observed, never delivered
            if (wanted) {
              if (!ctx.events.unsafeOffer(step.event)) return deliverSuspended(step, frames, i)
              // a run that takes READY or RESUMED alone leaves the events after it to the next
              if (step._tag !== "Emit") ctx.events.endChunk?.()
            }
            const after = commit(step)
            if (after !== undefined) return Effect.zipRight(after, Effect.suspend(() => handle(frames, i + 1)))
            if (wanted && decoder.lastMessageSize >= handOverSize && i + 1 < frames.length) {
              return Effect.zipRight(Effect.yieldNow(), Effect.suspend(() => handle(frames, i + 1)))
            }
            break
          }
          case "Skip": {
            if (!ready && mode === "resume") replayed++
            ctx.memory.current = Protocol.apply(ctx.memory.current, step)
            ctx.metrics.event(step.t)
            break
          }
          case "Duplicate":
          case "Ignore":
            break
          case "HeartbeatAck":
            lastAckAt = monotonicMillis(clock)
            // in whole ms, as status views show it: monotonic readings have fractions
            if (tracker.acked(lastAckAt)) ctx.latency(Math.round(tracker.latency!))
            if (!toldLasted && stable()) {
              toldLasted = true
              return Effect.zipRight(ctx.lasted, Effect.suspend(() => handle(frames, i + 1)))
            }
            break
          case "HeartbeatNow": {
            // answered at once, but at most once a second: a gateway asking in a loop must not
            // spend the connection's send budget on heartbeats. One asked sooner is answered as
            // that second ends, by one beat for all asked meanwhile, unless a beat went out after
            // the last of them (dropped, it waited for the next scheduled beat, up to an interval)
            const now = monotonicMillis(clock)
            const wait = lastRequestedBeat + minRequestedBeatGap - now
            if (wait <= 0) {
              lastRequestedBeat = now
              return Effect.zipRight(requestedBeat, Effect.suspend(() => handle(frames, i + 1)))
            }
            // the beats gone out before the latest op 1 asked: one gone after answers it
            sentBeforeAsked = beatsSent
            if (requestedLater) break
            requestedLater = true
            const later = Effect.zipRight(
              Effect.sleep(wait),
              Effect.suspend(() => {
                requestedLater = false
                if (beatsSent > sentBeforeAsked) return Effect.void
                lastRequestedBeat = monotonicMillis(clock)
                return requestedBeat
              })
            ).pipe(
              // off the reader's fiber: an encoding's defect writing the beat ends the connection
              // with it, masked, as it does the reader's
              Effect.catchAllDefect((defect) => end(Exit.die(maskedDefect(defect, options.token))))
            )
            return Effect.zipRight(Effect.forkIn(Effect.interruptible(later), scope), Effect.suspend(() => handle(frames, i + 1)))
          }
          case "Hello":
            return Effect.zipRight(onHello(step.interval), Effect.suspend(() => handle(frames, i + 1)))
          case "Reconnect":
            return step.reason._tag === "InvalidSession"
              ? Effect.zipRight(tellAnswered, finish(step.mode, step.reason))
              : finish(step.mode, withoutTokenIn(step.reason, options.token))
        }
      }
      return Effect.void
    }

    // Waits for room, unless the connection ends meanwhile, and says whether the event went in:
    // the sink says so at the moment it does, so a wait cut short by the end is never in doubt.
    const offerWhenRoom = (step: EventStep): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        let accepted = false
        const offered = ctx.events.offer(step.event, () => {
          accepted = true
          if (step._tag !== "Emit") ctx.events.endChunk?.()
        })
        return Effect.map(Effect.raceFirst(offered, Effect.exit(Deferred.await(ended))), () => accepted)
      })

    // The reader waits for room with `step`. Held back, READY or RESUMED is an answer all the same;
    // a replayed event says the gateway took the Resume, and the commands go out: RESUMED may wait
    // unread behind the replay, and a program that waits on a command before it takes more events
    // would otherwise wait for ever. (The ready timeout still waits for RESUMED.)
    const deliverSuspended = (
      step: EventStep,
      frames: ReadonlyArray<Frame>,
      i: number
    ): Effect.Effect<void> =>
      Effect.zipRight(step._tag !== "Emit" ? answered : !ready && mode === "resume" ? openCommands : Effect.void, Effect.suspend(() => {
        tracker.pause(monotonicMillis(clock))
        heldSinceCounted = true
        // a stop sent its close: the program is not taking events, and the close is not waited for
        if (closeSent) return Effect.succeed(false)
        if (step._tag === "Ready") heldReady = step
        return offerWhenRoom(step)
      })).pipe(
        Effect.flatMap((accepted) => {
          tracker.resume(monotonicMillis(clock))
          if (!accepted) {
            endedWaitingForRoom = true
            return endWaitForRoom
          }
          ctx.members.backlogMoved()
          heldReady = undefined
          return commit(step) ?? Effect.void
        }),
        Effect.zipRight(Effect.suspend(() => handle(frames, i + 1)))
      )

    const onClosed = (closed: ConnectionClosed) => {
      // 1009 from this side: the transport refused a message over `maxMessageBytes` (a gateway's
      // 1009 says it refused one of ours, and the session resumes as after any other close); a
      // transport that does not say which side closed is taken to have refused it
      if (closed.code === 1009 && closed.byClient !== false && !done) tooLarge = true
      const after = Protocol.afterClose(remembered(), closed.code)
      const reason = withoutToken(closed.reason, options.token)
      return after === "fatal"
        ? end(Exit.fail(new FatalClose({ code: closed.code!, shard, reason })))
        : finish(after, Reason.Closed({ code: closed.code, description: CloseCode.describe(closed.code), detail: escaped(reason) }))
    }

    // the reader, on this fiber: the frames of one socket read at a time, until the connection ends
    const read: Effect.Effect<void> = Effect.matchEffect(connection.receive, {
      onFailure: onClosed,
      onSuccess: (frames) =>
        Effect.zipRight(
          handle(frames, 0),
          Effect.suspend(() => {
            // back to the socket: what is left of this reader's share of the events buffer is lent
            // to the others until it puts in again
            ctx.events.idle?.()
            ctx.settleRate()
            return done ? Effect.void : read
          })
        )
    })
    yield* read

    // a close started without waiting (by the heartbeat timer) is waited for here, whatever the end
    const ending = yield* Effect.exit(Deferred.await(ended))
    yield* closeSocket
    const outcome = yield* ending
    // a READY the program has not taken outlives the connection where its session goes on, and
    // not past a stop
    const carried = heldReady !== undefined && outcome.next === "resume" && !closeSent ? heldReady : undefined
    const carriedRefusal = carried && readyRefusal(options, at, carried)
    if (carried !== undefined && carriedRefusal !== undefined) yield* warnRefused(carriedRefusal, carried, options.token)
    // a connection lasted until it was ended, not until its socket let go (a close the gateway
    // took a second to answer made one ended just under a minute stable); a zombie only until its
    // last ACK: one that stops answering every minute or so is not stable, its backoff does not
    // start over, and it counts toward the unstable warning
    return {
      ...outcome,
      ready,
      answered: handshake.stage === "Answered",
      authenticated,
      tooLarge,
      replayed,
      heldUp: !ready && (handshake.stage === "Answered" || replayed > 0) && (endedWaitingForRoom || heldSinceCounted),
      stable: stable(outcome.reason._tag === "Zombie" ? lastAckAt : endedAt),
      lastedTold: toldLasted,
      unwrittenWait,
      heldReady: carried && {
        event: carried.event,
        onIn: () => {
          recordReady(carried, carriedRefusal)
          ctx.events.endChunk?.()
        }
      }
    }
  }))
