/**
 * A shard session: Nostrum's `Shard.Session` as an Effect program. It connects in the
 * background, keeps the connection alive through every fault the gateway can throw at it,
 * and hands the events to the program as a `Stream`.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as OptionsConfig from "../internal/config.ts"
import { causeLine } from "../internal/causeLine.ts"
import { detached } from "../internal/detached.ts"
import { checkStopTimeout } from "../internal/duration.ts"
import { monotonicMillis } from "../internal/due.ts"
import { maskedCause } from "../internal/defect.ts"
import { clipped } from "../internal/printable.ts"
import { withoutToken } from "../internal/secret.ts"
import { makeSpan } from "../internal/span.ts"
import { sleepPastStalls } from "../internal/stall.ts"
import { type IdentifyBudgetExhausted, IdentifyLimiter } from "../limits/IdentifyLimiter.ts"
import * as SendLimiter from "../limits/SendLimiter.ts"
import * as CloseCode from "../protocol/CloseCode.ts"
import * as Commands from "../protocol/Commands.ts"
import type { EventName, EventOf, GatewayEvent } from "../protocol/Event.ts"
import { downgrades, isPlaintext } from "../protocol/internal/schema.ts"
import * as EventBuffer from "../stream/EventBuffer.ts"
import * as Latest from "../stream/Latest.ts"
import { GatewayTransport } from "../transport/GatewayTransport.ts"
import * as Backoff from "./Backoff.ts"
import * as Connection from "./Connection.ts"
import * as DeliveryRate from "./DeliveryRate.ts"
import * as GatewayCache from "./GatewayCache.ts"
import * as HeartbeatTimer from "./HeartbeatTimer.ts"
import * as AskedWaits from "./internal/askedWaits.ts"
import * as BudgetWait from "./internal/budgetWait.ts"
import { checkGatewayUrl, fromGatewayUrl } from "./internal/gatewaySource.ts"
import * as InTurn from "./InTurn.ts"
import * as MemberRequests from "./MemberRequests.ts"
import * as Outage from "./Outage.ts"
import * as Outbox from "./Outbox.ts"
import * as Protocol from "./Protocol.ts"
import * as Recovery from "./Recovery.ts"
import * as ResumePoint from "./ResumePoint.ts"
import * as SessionCommands from "./SessionCommands.ts"
import { type FatalClose, GatewayInfoError, InvalidOptions, MessageTooLarge, refusesToken } from "./SessionError.ts"
import * as SessionMetrics from "./SessionMetrics.ts"
import * as SessionOptions from "./SessionOptions.ts"
import { describeReason, type Reason, Reason as Reasons, SessionState, type Transition } from "./SessionState.ts"

/**
 * Why a session ended with an error: a fatal close code, the identify budget, a token that
 * `GET /gateway/bot` refused, or a message over `maxMessageBytes` sent on every try.
 *
 * @since 0.1.0
 */
export type SessionError = FatalClose | IdentifyBudgetExhausted | GatewayInfoError | MessageTooLarge

/**
 * A point-in-time view of a session, safe to log: it never holds the token.
 *
 * @since 0.1.0
 */
export interface SessionSnapshot {
  readonly shard: readonly [id: number, count: number]
  readonly state: SessionState
  /** Why the session got into `state`. */
  readonly reason: Reason
  /** When it got there (epoch ms, by the `Clock`). */
  readonly since: number
  /** The gateway session's id: READY's or the resume point's, `undefined` while there is none. */
  readonly sessionId: string | undefined
  /** The last sequence number taken, `null` before the first dispatch (as a heartbeat's `d`). */
  readonly sequence: number | null
  /**
   * The latest heartbeat round trip of the open connection, in ms (`undefined` between connections
   * and before the connection's first ACK).
   */
  readonly latency: number | undefined
  /**
   * Attempts to connect after the first (one that failed at `GET /gateway/bot` included), counted
   * as each begins: not during the pause before it, nor while it waits for a place in a fleet's
   * startup window (Queued), nor for one a stop during either prevented.
   */
  readonly reconnects: number
  /**
   * Events per second delivered through `events` (a fleet's shard: through the fleet's), averaged
   * over the last 10 complete seconds (or those since its first event, if fewer): in `snapshots`,
   * as it was at the transition.
   */
  readonly eventsPerSecond: number
}

/**
 * A running shard session, whose events are of type `E` (every dispatch unless the `events`
 * option names some).
 *
 * @since 0.1.0
 */
export interface Session<E extends GatewayEvent = GatewayEvent> extends SessionCommands.SessionCommands {
  /** The shard this session runs. */
  readonly shard: readonly [id: number, count: number]
  /**
   * The events, in order, each once, READY and RESUMED included (unless the `events` option leaves
   * them out). A single-consumer stream (a run started while another runs dies with
   * `EventBuffer.EventsInUse`), to be run once for the session's life (a consumer that stops early
   * drops the rest of the chunk it took, already counted as delivered; READY and RESUMED end their
   * chunk, so a run that stops at one leaves the events after it to the next run): it ends after
   * `disconnect`/`end` (once the buffered events are taken), and fails with the session's error if
   * the gateway ends the session for good. Each chunk is followed by an empty one, so that a quiet
   * shard does not keep its last events alive (src/stream/Released.ts). A session that delivers
   * elsewhere (`Hooks.deliver`, a fleet's) has none: this stream is empty.
   */
  readonly events: Stream.Stream<E, SessionError>
  /** The current state. */
  readonly state: Effect.Effect<SessionState>
  /**
   * The latest transition, then every later one, each with its reason; it ends after the last,
   * once the session ended.
   */
  readonly transitions: Stream.Stream<Transition>
  /** A snapshot for status views and logs, taken now. */
  readonly snapshot: Effect.Effect<SessionSnapshot>
  /**
   * The snapshot taken at the latest transition, then one taken at every later one: a reader that
   * lags behind sees each as it was (its sequence, latency, reconnects), not as it is when read. It
   * ends after the last, once the session ended.
   */
  readonly snapshots: Stream.Stream<SessionSnapshot>
  /**
   * Waits until the session ends: succeeds once `disconnect`/`end` stopped it (which can be just
   * before their own effect returns), fails with a fatal error.
   */
  readonly await: Effect.Effect<void, SessionError>
  /**
   * Stops the session, closing the connection with a resumable code, and returns where it left
   * off; pass it as `resume` to a new session (here or in another process) to go on with no
   * event lost. The events stream delivers what it buffered, then ends. It waits up to `timeout`
   * (default 5 s) for the gateway to answer the close; events that arrive meanwhile are delivered
   * and counted in the point.
   */
  readonly disconnect: (timeout?: Duration.DurationInput) => Effect.Effect<Option.Option<SessionOptions.ResumePoint>>
  /**
   * Ends the session for good: closes with 1000 (the bot goes offline on this shard), unless a
   * `disconnect` came first (the first stop decides the close). Between connections there is none
   * to close: Discord times the gateway session out. Like `disconnect`, it waits up to
   * `timeout` (default 5 s) for the close to go through.
   */
  readonly end: (timeout?: Duration.DurationInput) => Effect.Effect<void>
}

// a transition and the snapshot taken as it happened
interface Moment {
  readonly transition: Transition
  readonly snapshot: SessionSnapshot
}

/**
 * The dispatch types a session skips when the program asked for `events` only: all others, except
 * those the session itself needs (READY, RESUMED, and member chunks while a request waits).
 */
const skipsOf = (
  events: ReadonlySet<string> | undefined,
  members: MemberRequests.MemberRequests
): ((t: string) => boolean) | undefined =>
  events === undefined ? undefined : (t) =>
    !events.has(t) && t !== "READY" && t !== "RESUMED" &&
    !((t === "GUILD_MEMBERS_CHUNK" || t === "RATE_LIMITED") && members.waiting())

// what ended a session (or a step of it), in a line: the error's message, or the defect's, with
// every run of the token masked (a defect's words, a gatewayUrl source's, are not ours)
const fatalMessage = (cause: Cause.Cause<SessionError>, token: unknown): string => withoutToken(causeLine(cause), token)


// A `gatewayUrl` source asked, bounded as GET /gateway/bot is (one that never answered left the
// session ConnectingHttp for ever): past `timeout` it is interrupted without being waited for (one
// that cannot be interrupted finishes on its own), and the session's own stop interrupts it and
// waits for its cleanup, a second at most. Its exit is kept as a value: a fiber that fails has
// Effect log the cause, whole (a source's error may quote the token), at every attempt
const askedWithin = (source: Effect.Effect<string, GatewayInfoError>, timeout: Duration.DurationInput): Effect.Effect<string, GatewayInfoError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(Effect.exit(source))), (asking) =>
      restore(Effect.raceFirst(
        // interrupted by another than this session (a shared discovery's fiber): an answer not
        // given, tried again (it ended the session as if stopped)
        Effect.flatMap(Fiber.join(asking), (exit) =>
          Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
            ? Effect.fail(new GatewayInfoError({ reason: "Http", source: "gatewayUrl", detail: "it was interrupted" }))
            : exit),
        Effect.zipRight(
          sleepPastStalls(timeout),
          Effect.zipRight(
            Fiber.interruptFork(asking),
            Effect.fail(new GatewayInfoError({ reason: "Http", source: "gatewayUrl", detail: `no answer within ${Duration.format(timeout)}` }))
          )
        )
      )).pipe(
        Effect.onInterrupt(() =>
          Effect.zipRight(Fiber.interruptFork(asking), detached(Effect.ignore(Effect.timeout(Fiber.await(asking), "1 second"))))
        )
      )
    )
  )

// a hook of the program's own that fails is told, masked, and costs nothing else: as the session
// ends, it skips none of the steps after it (an `outage.ended` that died left `await` and `events`
// unended for ever), and while it runs (the outage hooks told in turn), it ends nothing
const told = (hook: string, effect: Effect.Effect<void>, token: unknown): Effect.Effect<void> =>
  Effect.catchAllCause(effect, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.void
      : Effect.logError(`the session's ${hook} hook failed: ${fatalMessage(cause, token)}`))

/**
 * The services a session runs on.
 *
 * @since 0.1.0
 */
export type Requirements = GatewayTransport | IdentifyLimiter | HttpClient.HttpClient

/**
 * Starts a session in the background, scoped: closing the scope stops it, keeping the Discord
 * session resumable (use `end` for a final close). Fails at once, before anything is sent, on
 * invalid options. Its events are typed by the `events` list when one is surely given (a list that
 * may be `undefined` types them all, as it may deliver them all).
 *
 * @since 0.1.0
 */
export function make<const N extends EventName>(
  options: SessionOptions.SessionOptions<N> & { readonly events: ReadonlyArray<N> }
): Effect.Effect<Session<EventOf<N>>, InvalidOptions, Scope.Scope | Requirements>
export function make(options: SessionOptions.SessionOptions): Effect.Effect<Session, InvalidOptions, Scope.Scope | Requirements>
export function make(options: SessionOptions.SessionOptions): Effect.Effect<Session, InvalidOptions, Scope.Scope | Requirements> {
  // the session delivers only the types its `events` list names: the first signature's type, given
  // only where the list is surely there (one that may be `undefined` delivers every type)
  return Effect.flatMap(Effect.suspend(() => SessionOptions.resolve(options)), (resolved) => makeWith(resolved, {}))
}

/**
 * What a fleet adds to a session it runs (see {@link makeWith}).
 *
 * @since 0.1.0
 */
export interface Hooks {
  /**
   * Runs once, with how the session ended, as its last step (after `await` completed). A fleet
   * counts its ended sessions this way rather than keeping a fiber per session waiting on `await`.
   * It runs on the session's own fiber: it must not wait for the session (fork anything that does).
   */
  readonly onEnd?: ((exit: Exit.Exit<void, SessionError>) => Effect.Effect<void>) | undefined
  /**
   * Whether the giver of these hooks tells an operator of the session's fatal end itself (a fleet,
   * once for each reason among its shards, through `onEnd`): the session then says it at Debug
   * only. By default it says it at Error.
   */
  readonly tellsFatalEnd?: boolean | undefined
  /**
   * Acquired, in a scope of its own, before an attempt that will identify begins (before the
   * gateway URL and the socket; the session is `Disconnected`, reason `Queued`, while it waits),
   * and released once its Identify was sent (or the attempt ended first): a fleet bounds this way
   * how many of its shards are connected and waiting to identify at once.
   */
  readonly admission?: Effect.Effect<void, never, Scope.Scope> | undefined
  /**
   * Whether the giver of these hooks began to stop the session: read right before an Identify goes
   * out, which then waits for that stop instead. A fleet's scope, closing, reaches its sessions some
   * scheduler turns after it began; an Identify sent in between spent a session start on a session
   * closed before READY.
   */
  readonly stopping?: (() => boolean) | undefined
  /**
   * Where the session delivers its events instead of a buffer of its own (its `events` is then
   * empty): a fleet passes the sink of its merged `EventBuffer`, so that a shard costs no buffer
   * and no fiber to merge it. A full buffer suspends the reader, as the session's own would; the
   * session never ends it. A sink that takes no more events (its `offer` says false: the fleet
   * stopped) stops the session, resumably, as `disconnect` does.
   */
  readonly deliver?: EventSink | undefined
  /**
   * The timer that runs the session's heartbeats instead of one of its own: a fleet shares one
   * among its shards, so that an idle shard keeps no heartbeat fiber.
   */
  readonly heartbeats?: HeartbeatTimer.HeartbeatTimer | undefined
  /**
   * Where the session counts the attempts that failed in a row instead of a count of its own: a
   * fleet tells an outage of many shards in a few lines for all of them (`FleetOutage`).
   */
  readonly outage?: Outage.Outage | undefined
  /**
   * The `GET /gateway/bot` answer a fresh identify takes its URL from (and tells when it could not
   * connect there) instead of one of its own, when neither `gateway` nor `gatewayUrl` is given: a
   * fleet shares one among its shards.
   */
  readonly gatewayInfo?: GatewayCache.GatewayCache | undefined
  /**
   * A point of another encoding the fleet was handed for this shard, and warned of: not resumed
   * (Discord resumes a session only over the encoding it began with), but given back by
   * `disconnect` for as long as the session has begun no gateway session of its own.
   */
  readonly unresumable?: SessionOptions.ResumePoint | undefined
}

/**
 * What a session delivers its events into (see `Hooks.deliver`).
 *
 * @since 0.1.0
 */
export type EventSink = EventBuffer.EventSink<GatewayEvent>

/**
 * {@link make}, from options already resolved (`SessionOptions.resolve`), with the {@link Hooks}
 * of a fleet.
 *
 * @since 0.1.0
 */
export const makeWith = (
  resolved: SessionOptions.ResolvedOptions,
  hooks: Hooks
): Effect.Effect<Session, never, Scope.Scope | Requirements> =>
  // made in one step (nothing in it waits): interrupted between forking its loop and adding its
  // stop to the scope, a session ran on for ever, unstoppable
  Effect.uninterruptible(Effect.gen(function*() {
    const [shardId] = resolved.shard
    const transport = yield* GatewayTransport
    const identifyLimiter = yield* IdentifyLimiter
    const clock = yield* Effect.clock

    // the session's own buffer, unless it delivers elsewhere
    const events = hooks.deliver === undefined ? yield* EventBuffer.make<GatewayEvent, SessionError>(resolved.bufferSize) : undefined
    // the events delivered, counted for the snapshot's events per second
    const delivery = DeliveryRate.make(hooks.deliver ?? events!.sink, clock)
    const deliver = delivery.sink
    // The session's finalizers (its own heartbeat timer's, its stop) live in a scope of its own,
    // which the loop's end closes: an ended session leaves nothing behind in the caller's scope,
    // which may live much longer (the timer's finalizer kept the runtime, and its services)
    const sessionScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const heartbeats = hooks.heartbeats ?? (yield* Scope.extend(HeartbeatTimer.make, sessionScope))
    const members = MemberRequests.make()
    const finished = yield* Deferred.make<void, SessionError>()
    // a point saved over another encoding, or with other intents, is not resumed (Discord resumes
    // over the encoding a session began with, and keeps the intents it identified with): the
    // session identifies anew
    const point = resolved.resume !== undefined && ResumePoint.resumesOver(resolved.resume, resolved.encoding, resolved.intents)
      ? resolved.resume
      : undefined
    if (point === undefined && resolved.resume !== undefined) {
      yield* Effect.logWarning(
        `the resume point was ${ResumePoint.whyNotResumed(resolved.resume, resolved.encoding, resolved.intents)}: it identifies anew`
      ).pipe(Effect.annotateLogs({ component: "Session", shard: shardId }))
    }
    // the point of another encoding, given back until this session has a gateway session of its
    // own (READY), its token is refused, or it is ended: the one there is as resumable as it was,
    // by a process of its encoding
    let unresumable = point === undefined ? resolved.resume ?? hooks.unresumable : undefined
    const memory: { current: Protocol.Memory } = {
      current: point === undefined ? Protocol.empty : {
        sessionId: point.sessionId,
        resumeGatewayUrl: point.resumeGatewayUrl,
        sequence: point.sequence
      }
    }
    const stats = { latency: undefined as number | undefined, reconnects: 0 }
    const snapshotAt = (transition: Transition): SessionSnapshot => ({
      // a copy, as every point and pair handed out is
      shard: [resolved.shard[0], resolved.shard[1]],
      state: transition.to,
      reason: transition.reason,
      since: transition.at,
      sessionId: memory.current.sessionId,
      sequence: memory.current.sequence,
      latency: stats.latency,
      reconnects: stats.reconnects,
      eventsPerSecond: delivery.perSecond()
    })
    // each transition with the snapshot taken as it happened, for `snapshots`
    const momentOf = (transition: Transition): Moment => ({ transition, snapshot: snapshotAt(transition) })
    const current = yield* Latest.make(momentOf({
      from: SessionState.Disconnected(),
      to: SessionState.Disconnected(),
      reason: Reasons.Start(),
      at: clock.unsafeCurrentTimeMillis()
    }))

    // attempts that fail in a row are told at Warning now and then; getting ready ends the count
    const outage = hooks.outage ?? Outage.make()
    // The outage hooks (but `ended`) are told in turn, each failure at Error: one of the program's
    // that took its time held the reader (the next heartbeat ACK went unread, a healthy connection
    // closed as a zombie) or the loop (no reconnect), and one that failed ended the session when
    // the loop told it and was logged when the reader did
    const inTurn = yield* InTurn.make(sessionScope, "outage hooks")
    // the hook's effect made inside the guard: a program's hook that throws as it is called, or is
    // missing (written before a member was added), is told at Error as one that fails
    const aside = (hook: string, effect: () => Effect.Effect<void>) => inTurn.tell(told(hook, Effect.suspend(effect), resolved.token))
    // the debug line is built only when debug lines are logged: a thousand shards starting run
    // five transitions each
    const transition = (to: SessionState, reason: Reason) =>
      current.update((last) => {
        // a latency belongs to its connection
        if (to._tag !== "Connected") stats.latency = undefined
        return momentOf({ from: last.transition.to, to, reason, at: clock.unsafeCurrentTimeMillis() })
      }).pipe(
        Effect.zipRight(reason._tag === "Ready" || reason._tag === "Resumed" ? aside("outage.ready", () => outage.ready) : Effect.void),
        Effect.zipRight(Effect.whenLogLevel(
          Effect.suspend(() =>
            Effect.logDebug(`${to._tag}: ${describeReason(reason)}`).pipe(Effect.annotateLogs({ shard: shardId, state: to._tag }))
          ),
          "Debug"
        )),
        Effect.asVoid
      )

    const encodeTrusted = (command: Commands.Command): string | Uint8Array =>
      Either.getOrThrowWith(Commands.encode(command, resolved.encoding), (error) => error)

    // made at the first reconnect and dropped when a stable connection starts the backoff over:
    // an idle session holds no schedule state
    let backoff: Schedule.ScheduleDriver<unknown, unknown> | undefined
    const backoffPause = Effect.suspend(() =>
      backoff === undefined
        ? Effect.flatMap(Schedule.driver(Backoff.schedule(resolved.backoff)), (driver) => (backoff = driver).next(undefined))
        : backoff.next(undefined)
    )

    const metrics = SessionMetrics.make(shardId)
    const outbox = yield* Outbox.make((depth) => metrics.queueDepth(depth))
    const { commands, identify, presenceOnResume, shown } = SessionCommands.make({
      options: resolved,
      outbox,
      members,
      metrics,
      // however it ended: a session that died of a defect had its commands' callers die of it too
      // (not `SessionClosed`), each on a fiber Effect then told of
      endedWith: Effect.map(Effect.exit(Deferred.await(finished)), (exit) =>
        // (clipped: a defect's words may be an object's whole inspection)
        Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? clipped(fatalMessage(exit.cause, resolved.token), 300) : undefined),
      resuming: point,
      replacing: unresumable
    })
    // (interruptible, though made where interruption is off: the session's scope ends the wait)
    if (presenceOnResume !== undefined) yield* Effect.forkIn(Effect.interruptible(yield* presenceOnResume), sessionScope)
    // the presence updates the resumed gateway session got before this session (its point says
    // when), on the Clock's monotonic ms: counted against the limit, which a process taking over
    // keeps (it sent a sixth within the 20 s); one stamped later than now (another machine's clock)
    // counts as now
    const inheritedUpdates = yield* Effect.clockWith((clock) =>
      Effect.sync(() => {
        const now = monotonicMillis(clock)
        return (point?.presenceUpdatesAt ?? []).map((at) => Math.min(now, now - (clock.unsafeCurrentTimeMillis() - at))).sort((a, b) => a - b)
      })
    )
    // made at the first presence update, which most sessions never send
    let presenceLimiter: SendLimiter.SendLimiter | undefined
    const presenceLimit = Effect.suspend(() =>
      presenceLimiter !== undefined
        ? Effect.succeed(presenceLimiter)
        : Effect.map(
          Effect.tap(Scope.extend(SendLimiter.make(resolved.presenceLimit), sessionScope), (made) => made.countSent(inheritedUpdates)),
          (made) => presenceLimiter = made
        )
    )
    // when the presence updates still in the window went out, as ms since 1970 (the limiter, made
    // for a point's updates none went out after, says which are)
    const presenceUpdatesAt = Effect.clockWith((clock) =>
      presenceLimiter === undefined && inheritedUpdates.length === 0
        ? Effect.succeed([])
        : Effect.map(
          Effect.flatMap(presenceLimit, (limiter) => limiter.sentAt),
          (times) => times.map((at) => clock.unsafeCurrentTimeMillis() - (monotonicMillis(clock) - at))
        )
    )
    const active = Connection.makeActive()
    const connectionContext: Connection.Context = {
      options: resolved,
      active,
      transport,
      heartbeats,
      identifyLimiter,
      // its own stop, or its fleet's begun: an Identify sent as either began spent a session start
      // on a session closed before READY (a stop 4 scheduler turns after Hello let it out)
      stopping: () => stopRequested || hooks.stopping?.() === true,
      sessionScope,
      memory,
      events: deliver,
      settleRate: delivery.settle,
      outbox,
      presenceLimit,
      members,
      transition,
      unanswered: aside("outage.unanswered", () => outage.unanswered),
      lasted: aside("outage.lasted", () => outage.lasted),
      latency: (ms) => {
        stats.latency = ms
        metrics.latency(ms)
      },
      metrics,
      skips: skipsOf(resolved.events, members),
      identify: () => {
        const { command, refused } = identify()
        return { payload: encodeTrusted(command), refused }
      },
      resume: (remembered) =>
        encodeTrusted(Commands.resume({ token: resolved.token, session_id: remembered.sessionId!, seq: remembered.sequence ?? 0 })),
      heartbeat: (sequence) => encodeTrusted(Commands.heartbeat(sequence))
    }

    // The URL to identify at: the given source, else the configured URL, else GET /gateway/bot
    // (the fleet's answer, or one of its own), asked again once its answer is older than
    // `gatewayInfoMaxAge`, or sooner once its URL could not be connected to
    const given = resolved.gatewayUrl !== undefined
      ? Effect.flatMap(
        askedWithin(
          Effect.mapError(resolved.gatewayUrl, (error) => fromGatewayUrl(error, resolved.token)),
          resolved.timeouts.connect
        ),
        checkGatewayUrl
      )
      : resolved.gateway === undefined
      ? undefined
      : Effect.succeed(resolved.gateway)
    const identifyAt: Pick<GatewayCache.GatewayCache, "url" | "unreachable"> = given !== undefined
      ? { url: given, unreachable: Effect.void }
      : hooks.gatewayInfo ?? (yield* GatewayCache.make({
        api: resolved.api,
        token: resolved.token,
        maxAge: resolved.gatewayInfoMaxAge,
        timeout: resolved.timeouts.connect
      }))

    // A handed resume point's plaintext URL under a `gatewayUrl` source that answers wss:// would
    // carry the token in the clear with the Resume (a point is held at `make` against a `gateway`
    // or an `api`; a source's scheme is known only once asked): the session resumes at the
    // source's URL instead, from then on, as it does after a READY whose resume URL is not
    // encrypted. Only a handed point, once: a READY's URL was held against the connection that
    // read it, and a plaintext source down meanwhile must not keep a Resume from its own node.
    const handed = given !== undefined && point !== undefined && isPlaintext(point.resumeGatewayUrl) ? point : undefined
    let handedChecked = false
    // its Resume: the handed session's, at the handed URL (a READY's of the same URL was held
    // against its connection's)
    const handedResume = (resumeAt: string): boolean =>
      handed !== undefined && !handedChecked && resumeAt === handed.resumeGatewayUrl && memory.current.sessionId === handed.sessionId
    // the gateway URL last given (where an attempt that identifies goes next), as it is dialled;
    // the `gateway` option's from the start, unless a source (which takes precedence) is given
    let lastGatewayUrl: string | undefined = resolved.gateway === undefined || resolved.gatewayUrl !== undefined
      ? undefined
      : SessionOptions.gatewayUrl(resolved.gateway, resolved)
    const gatewayUrlNow = Effect.tap(identifyAt.url, (url) =>
      Effect.sync(() => {
        lastGatewayUrl = SessionOptions.gatewayUrl(url, resolved)
      }))
    const encryptedResume = (resumeAt: string): Effect.Effect<string, GatewayInfoError> =>
      Effect.flatMap(gatewayUrlNow, (source) => {
        handedChecked = true
        if (!downgrades(source, resumeAt)) return Effect.succeed(resumeAt)
        memory.current = { ...memory.current, resumeGatewayUrl: source }
        return Effect.as(Effect.logWarning("the resume point's URL is not encrypted (ws://) where the gateway URL is: resuming at the gateway URL instead"), source)
      })

    // what a wait for the identify budget works with (its effects made only when one waits)
    const budget: BudgetWait.BudgetWaitOptions = {
      shardId,
      shardCount: resolved.shard[1],
      limiter: identifyLimiter,
      clock,
      token: resolved.token,
      gatewayInfoMaxAge: resolved.gatewayInfoMaxAge,
      gatewayUrl: given === undefined ? identifyAt.url : undefined,
      transition
    }

    let stopRequested = false
    // whether the stop asked for (the first) ends the session (close 1000) rather than keeping it
    // resumable
    let endRequested = false
    // a gateway session lost during a stop, told once the session ended (see `forgetSession`)
    let lostWhileStopping: (() => Effect.Effect<void>) | undefined
    const invalidSessionPause = [
      Duration.toMillis(resolved.backoff.afterInvalidSession[0]),
      Duration.toMillis(resolved.backoff.afterInvalidSession[1])
    ] as const
    // after connections lost their sessions early in a row, a wait past the backoff, spread as it
    // is, in whole ms: its transition (HeldBack) says when the next attempt begins, where the
    // session showed the op 9 for up to an hour. What ended the connection stays its reason: the
    // outage count and the reconnects' `reason` were told it, not this
    const maxBackoffMillis = Duration.toMillis(resolved.backoff.max)
    const heldBack = (recovery: Recovery.Recovery) => {
      const ms = Recovery.holdBack(recovery, maxBackoffMillis)
      return ms === 0 ? Effect.void : Effect.flatMap(Random.nextRange(0.5, 1), (spread) => {
        const wait = Math.round(ms * spread)
        const { invalidatedInARow } = recovery
        return transition(
          SessionState.Disconnected(),
          Reasons.HeldBack({ until: clock.unsafeCurrentTimeMillis() + wait, invalidatedInARow })
        ).pipe(
          // told through the outage count: a fleet tells its shards' hold-backs together
          Effect.zipRight(aside("outage.heldBack", () => outage.heldBack(invalidatedInARow, wait))),
          Effect.zipRight(Effect.sleep(wait))
        )
      })
    }
    // The hold-back only before an Identify, which it spares: a session left to resume (op 9 true
    // soon after READY or RESUMED) resumes a backoff apart, spending no session start; held back
    // minutes, it outlived Discord's window to resume, and the Identify after spent one
    const pauseBefore = (kind: Recovery.Pause, recovery: Recovery.Recovery) =>
      Effect.zipRight(
        kind === "Backoff" ? Effect.ignore(backoffPause) : Effect.flatMap(
          Random.nextRange(...invalidSessionPause),
          (ms) => Effect.zipRight(Effect.sleep(ms), kind === "InvalidSessionThenBackoff" ? Effect.ignore(backoffPause) : Effect.void)
        ),
        Effect.suspend(() =>
          Recovery.giveUp(recovery) === undefined && Protocol.modeOf(memory.current) === "resume" ? Effect.void : heldBack(recovery)
        )
      )
    // An attempt that will identify takes its admission first (a fleet's startup window place), in
    // a scope of its own, which the connection closes once its Identify is out, and the loop once
    // the attempt ended, at the latest (a child of the session's scope: a stop that interrupts the
    // loop between the two closes it with the session). A session that has to wait for it is
    // Queued meanwhile: it holds no socket and asks nothing (it showed ConnectingHttp, for minutes
    // behind a long line). Kept flat in the loop: an `Effect.scoped` around the attempt copied the
    // fiber's refs once more for every idle shard (about 6 KiB).
    const admission = hooks.admission
    const admit: Effect.Effect<Scope.CloseableScope | undefined> = admission === undefined
      ? Effect.succeed(undefined)
      : Effect.gen(function*() {
        const admitted = yield* Scope.fork(sessionScope, ExecutionStrategy.sequential)
        let taken = false
        // tells Queued only if the admission has to wait: one at hand is taken before this runs
        yield* Effect.fork(Effect.suspend(() => taken ? Effect.void : transition(SessionState.Disconnected(), Reasons.Queued())))
        yield* Scope.extend(admission, admitted)
        taken = true
        return admitted
      })
    const release = (admitted: Scope.CloseableScope | undefined) => admitted === undefined ? Effect.void : Scope.close(admitted, Exit.void)
    // a new gateway session will be identified: the old one's member requests get no answer
    // the session's own gateway session forgotten, and with it a point of another encoding it
    // replaced
    const forget = (): void => {
      if (memory.current.sessionId !== undefined) unresumable = undefined
      memory.current = Protocol.forget(memory.current)
    }
    // The gateway session given up, or ended by the gateway, forgotten: one there was (a connection
    // that never got READY lost none) is counted (`tag`: the metric's) and told (`why`: in words),
    // as its events since are not replayed; unless `lost` is false (a stop's own close). During a
    // stop it is told once the session ended, before `ended`, as `ended` is: in turn, the session's
    // end interrupted it and the line was lost; on the loop's fiber, a slow hook held the stop
    const forgetSession = (tag: SessionMetrics.LostReason, why: string, lost = true) =>
      Effect.suspend(() => {
        const { sequence, sessionId } = memory.current
        forget()
        if (sessionId === undefined || !lost) return members.lost
        const tell = () => outage.lost(why, sequence ?? undefined)
        if (stopRequested) lostWhileStopping = tell
        return metrics.sessionLost(tag).pipe(
          Effect.zipRight(stopRequested ? Effect.void : aside("outage.lost", tell)),
          Effect.zipRight(members.lost)
        )
      })
    const loop = Effect.gen(function*() {
      let recovery = Recovery.initial
      // why the previous attempt ended; none before the first
      let ended: Reason | undefined
      // ms waited for the identify budget by the attempts since an Identify last went out, and at
      // the limiter by Identifies not written (one that failed to connect, or whose socket went
      // before its Identify was written, waited for the next's Identify)
      let budgetWaited = 0
      // the waits answers asked for, by who asked
      const askedWaits = AskedWaits.make()
      while (!stopRequested) {
        // given up before its pause: a stop during it hands on no point of a gateway session the
        // next process would resume in vain (it was forgotten after the pause)
        const paused = recovery
        const gaveUp = Recovery.giveUp(recovery)
        if (gaveUp !== undefined) {
          yield* forgetSession("ResumesFailed", gaveUp.why)
          recovery = gaveUp.recovery
        }
        const mode = Protocol.modeOf(memory.current)
        const resumeAt = mode === "resume" && !Recovery.resumesAtGateway(recovery) ? memory.current.resumeGatewayUrl : undefined
        if (ended !== undefined) {
          // the wait an answer asked for comes before the backoff, for an attempt that asks it again
          // (the API, the URL it dials; a gateway URL not known yet may be any of them)
          const parties: AskedWaits.Parties = resumeAt === undefined
            ? lastGatewayUrl === undefined ? "every" : ["api", lastGatewayUrl]
            : [SessionOptions.gatewayUrl(resumeAt, resolved), handedResume(resumeAt) ? "api" : undefined]
          const left = yield* askedWaits.left(parties)
          if (left > 0) yield* Effect.sleep(left)
          yield* pauseBefore(Recovery.pause(paused, ended, mode), paused)
          if (stopRequested) break
        }
        const admitted = mode === "identify" ? yield* admit : undefined
        // counted as the attempt begins, not as its pause or its wait for a place in a fleet's
        // startup window does: a stop during either makes none
        if (ended !== undefined) {
          stats.reconnects++
          yield* metrics.reconnect(ended._tag)
        }
        yield* transition(SessionState.ConnectingHttp(), Reasons.Start())
        const url = resumeAt === undefined
          ? yield* Effect.either(gatewayUrlNow)
          : handedResume(resumeAt)
          ? yield* Effect.either(encryptedResume(resumeAt))
          : Either.right(resumeAt)
        if (Either.isLeft(url)) {
          yield* release(admitted)
          const failed = url.left
          if (!failed.passing) return yield* failed
          const infoFailed = Reasons.GatewayInfoFailed({
            message: failed.message,
            ...(failed.retryAfter === undefined ? {} : { retryAfter: failed.retryAfter })
          })
          ended = infoFailed
          if (failed.retryAfter !== undefined) yield* askedWaits.asked("api", failed.retryAfter)
          recovery = Recovery.unconnected(recovery, mode)
          yield* transition(SessionState.Disconnected(), infoFailed)
          yield* aside("outage.failed", () => outage.failed(infoFailed))
          continue
        }
        // the answer told the limiter the day's budget: an identify it cannot make yet opens no
        // socket, which would sit unidentified until the refill (a limiter without the check is
        // asked at the Identify); while it waits, the answer is asked for again as it ages, as it
        // may say there is room (the shards waited for the refill, hours, never asking)
        if (mode === "identify" && identifyLimiter.budgetReady !== undefined) budgetWaited += yield* BudgetWait.awaitBudget(budget, identifyLimiter.budgetReady)
        const outcome = yield* Connection.run(connectionContext, url.right, mode, admitted, mode === "identify" ? budgetWaited : 0)
        // no chunk of a member request's answer comes until the next connection is answered
        members.connected(false)
        if (outcome.authenticated || mode === "resume") budgetWaited = 0
        else budgetWaited += outcome.unwrittenWait
        yield* release(admitted)
        ended = outcome.reason
        if (ended._tag === "ConnectFailed" && ended.retryAfter !== undefined) {
          yield* askedWaits.asked(SessionOptions.gatewayUrl(url.right, resolved), ended.retryAfter)
        }
        // no socket, no Hello, or a node that closed before the Identify went out (a draining
        // node, a balancer closing at once: only timeouts counted, and such a node was dialled for
        // the rest of the hour); a stop is no node's doing
        if (resumeAt === undefined && !outcome.authenticated && outcome.reason._tag !== "Disconnect") yield* identifyAt.unreachable
        recovery = Recovery.after(recovery, mode, outcome, memory.current)
        if (recovery.tooLargeAgain) {
          const { sequence } = memory.current
          return yield* new MessageTooLarge({ shard: shardId, maxMessageBytes: resolved.maxMessageBytes, sequence })
        }
        // the gateway ended the gateway session (op 9, 4009...), also while a stop waited for its
        // close: the stop's resume point would send the next process into a refused Resume
        // (a session no Resume could carry, closed by the program's stop, was not the gateway's doing:
        // not told as lost, nor counted; an op 9 or a close that ends the session, during the stop, is)
        if (outcome.next === "identify") {
          const { reason } = outcome
          const byGateway = reason._tag === "InvalidSession" || (reason._tag === "Closed" && CloseCode.classify(reason.code) === "new-session")
          yield* forgetSession(reason._tag, describeReason(reason), !stopRequested || byGateway)
        }
        // a connection ends for a Disconnect only when asked to: by a stop, or by a sink that takes
        // no more events (its fleet stopped), which stops the session as `disconnect` would
        if (stopRequested || outcome.reason._tag === "Disconnect") return
        // a connection that stayed ready long enough starts the backoff over
        if (outcome.stable) backoff = undefined
        yield* transition(SessionState.Disconnected(), outcome.reason)
        // an answer the program held up (a slow program, a socket the gateway dropped meanwhile) is
        // no failed attempt: the next connection is answered again, at the program's pace
        if (!outcome.ready && !outcome.heldUp) yield* aside("outage.failed", () => outage.failed(outcome.reason))
        // once a connection: it was told at an ACK past `stableAfter`, or is now (it was told twice)
        else if (outcome.stable) yield* (outcome.lastedTold ? Effect.void : aside("outage.lasted", () => outage.lasted))
        else yield* aside("outage.dropped", () => outage.dropped(outcome.reason))
        // a READY that waited for room when its connection ended: the program gets it first, then
        // the next connection resumes its session, holding no socket meanwhile
        const held = outcome.heldReady
        if (held !== undefined && !(yield* deliver.offer(held.event, held.onIn))) return
      }
    })

    let loopEnded = false
    // the session's last transition made (its resume point final): what a stop waits for once its
    // timeout is over, not the steps after it, which may be a program's hooks that hang; the signal
    // is made by a stop that waits for it (an idle session keeps none)
    let lastMade = false
    let lastMadeSignal: Deferred.Deferred<void> | undefined
    const lastTransition = Effect.suspend(() => {
      if (lastMade) return Effect.void
      lastMadeSignal ??= Deferred.unsafeMake(FiberId.none)
      return Deferred.await(lastMadeSignal)
    })
    // the first stop's close, on a fiber of its own: cut off once the session ended
    let closing: Fiber.RuntimeFiber<boolean> | undefined

    // When the loop stops, the span ends, the events end (with the error, if any), `await`
    // completes and `onEnd` runs. The fiber inherits the shard's log annotation and the span from
    // the fork, so neither wraps the loop: a session waiting for days holds no frames for them.
    // The loop's parent is the span's reference, not the span: the span's children link to it all
    // the same, but the loop's log lines are not kept in it as events, for days, without a bound.
    const span = yield* makeSpan("Session.run", { shard: shardId })
    const spanReference = Tracer.externalSpan({ traceId: span.traceId, spanId: span.spanId, sampled: span.sampled })
    // Forked uninterruptible, the loop interruptible inside, whatever the caller's code was (an
    // `acquireRelease`'s acquire is uninterruptible): a stop that comes before the fiber first runs
    // interrupts the loop, not the fiber before its exit handler was installed. The fiber itself
    // never fails: its exit handler tells the failure (Effect's own line for a fiber that failed
    // unobserved would repeat a defect's words, which may quote the token)
    const fiber = yield* Effect.uninterruptible(Effect.forkDaemon(Effect.exit(Effect.onExit(Effect.interruptible(loop), (exit) => {
      loopEnded = true
      // an error or a defect ends the events with it, masked (a transport's or a limiter's defect
      // may quote the token); being stopped (interrupted) ends them cleanly
      const outcome: Exit.Exit<void, SessionError> = Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
        ? Exit.failCause(maskedCause(exit.cause, resolved.token))
        : Exit.void
      // a session a fatal close ended (a bad token, shard or intents) cannot be resumed: it leaves
      // no resume point, so a handoff does not carry it to a process that would be refused again;
      // nor can one that was ended (close 1000). One a message too large ended can, by a process
      // that takes larger messages.
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      // forgotten once the last transition is made: its snapshot says where the session ended (it
      // said no sequence and no session id)
      const forgets = Option.exists(failure, (error) => error._tag !== "MessageTooLarge") || endRequested
      // the point of another encoding was never this session's to end: only a token refused (by
      // the gateway, 4004, or by GET /gateway/bot) would refuse its Resume too; a shard, intents,
      // budget or URL refused says nothing of it
      if (Option.exists(failure, refusesToken) || endRequested) unresumable = undefined
      // being stopped ends the span as a success, whatever step the stop interrupted (it ended
      // interrupted where the stop found no connection open)
      span.end(clock.unsafeCurrentTimeNanos(), outcome)
      // the last transition says why: the failure, else the stop asked for (a fatal close that came
      // while a stop waited for its close wins); made here, not by the stop's caller, who may give
      // up waiting
      return Effect.gen(function*() {
        // a stop's close still going (its caller gave up, or a fatal close came first) is cut off
        if (closing !== undefined) yield* Fiber.interruptFork(closing)
        const fatal = Exit.isFailure(outcome) ? fatalMessage(outcome.cause, resolved.token) : undefined
        // an operator learns it even when the program reads neither `events` nor `await`; a
        // fleet's session leaves it to the fleet (`Hooks.tellsFatalEnd`), which tells each reason
        // once: a token reset closes every shard with 4004, and each told it at Error
        if (fatal !== undefined) {
          yield* (hooks.tellsFatalEnd === true ? Effect.logDebug : Effect.logError)(`the session ended for good: ${fatal}`)
        }
        yield* transition(SessionState.Disconnected(), fatal !== undefined ? Reasons.Fatal({ message: fatal }) : Reasons.Disconnect())
        yield* metrics.ended(outcome)
        if (forgets) forget()
        lastMade = true
        if (lastMadeSignal !== undefined) yield* Deferred.succeed(lastMadeSignal, undefined)
        yield* current.end
        if (events !== undefined) yield* events.done(outcome)
        // what the session held (an admission's place among them) is let go before `await` is done
        yield* Scope.close(sessionScope, Exit.void)
        yield* Deferred.done(finished, outcome)
        // the program's hooks last: one that hangs holds neither `events` nor `await`; `ended` after
        // the outage hooks told before it, those not done interrupted (it was told while they ran)
        yield* inTurn.stop
        if (lostWhileStopping !== undefined) yield* told("outage.lost", Effect.suspend(lostWhileStopping), resolved.token)
        yield* told("outage.ended", Effect.suspend(() => outage.ended), resolved.token)
        if (hooks.onEnd !== undefined) yield* told("onEnd", hooks.onEnd(outcome), resolved.token)
      })
    })))).pipe(Effect.withParentSpan(spanReference), Effect.annotateLogs({ component: "Session", shard: shardId }))

    // Stopping: the first stop closes the open connection (1000 to end the session, else
    // resumable); every stop then lets the loop see the close through, so events that arrive
    // meanwhile are still delivered and counted in the resume point, and after its `timeout`
    // interrupts the loop wherever it is. A stop returns once the loop has ended and made its last
    // transition. Only the wait can be interrupted: a caller that gives up has still sent the
    // close, and the session ends when it goes through (or at the next stop's timeout).
    // the loop still running, not its exit's steps: an `onEnd`'s or `outage.ended`'s interruptible
    // step was cut short (a stop after a fatal close interrupted them)
    const interruptLoop = Effect.suspend(() => loopEnded ? Effect.void : Fiber.interruptFork(fiber))
    const stop = (finalClose: boolean, timeout: Duration.DurationInput): Effect.Effect<void> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const first = !stopRequested
          stopRequested = true
          // a session that already ended (a fatal close) keeps the transition that says why
          if (fiber.unsafePoll() !== null) return Effect.void
          return Effect.gen(function*() {
            if (first) {
              endRequested = finalClose
              if (!active.open) {
                // nothing to close (queued, in a backoff, connecting): the loop is interrupted at
                // once, here where the caller cannot be (given up on at a later step, it connected
                // and identified after its stop)
                yield* interruptLoop
              } else {
                // a gateway session no Resume can carry (READY taken as unresumable, or one whose
                // READY waits for room: the stop gives no point of it) is ended too: closed
                // resumable, Discord kept it, and the bot shown online, until it timed out
                const { resumeGatewayUrl, sessionId } = memory.current
                const ends = finalClose || (sessionId !== undefined && resumeGatewayUrl === undefined) || active.readyHeld()
                if (ends) yield* Effect.logDebug("ending the session (close 1000)")
                // on a fiber of its own, which goes on whatever the caller does, and waited for
                // within the timeout: a program's transport whose close never ended held every stop
                // (interruptible: cut off once the session ended). Its defect is told, masked: it
                // reached the stop's caller whole, and the loop went on.
                closing = yield* Effect.forkDaemon(Effect.interruptible(active.close(ends ? 1000 : CloseCode.ResumableClose)).pipe(
                  Effect.catchAllDefect((defect) =>
                    Effect.as(Effect.logError(`the transport's close failed: ${fatalMessage(Cause.die(defect), resolved.token)}`), true))
                ))
              }
            }
            // the session's every step but `onEnd` (a program's own may take long over it): its
            // scope let go of, an admission's place among it, `await` done
            const ended = Effect.exit(Deferred.await(finished))
            // a session that ends meanwhile (a fatal close) ends the wait, its close done or not
            const closedThenEnded = !first || closing === undefined
              ? ended
              : Effect.raceFirst(
                Effect.flatMap(Fiber.join(closing), (wasOpen) => wasOpen ? ended : Effect.zipRight(interruptLoop, ended)),
                ended
              )
            // detached: its timeout holds for a caller that cannot be interrupted (a scope's
            // finalizer, a program's uninterruptible stop), and that caller's interruption does not
            // cut it short
            yield* restore(Effect.ignore(detached(Effect.timeout(closedThenEnded, timeout))))
            yield* interruptLoop
            // its last transition made, not the steps after it (a program's hook that hangs held
            // every stop, its caller's interruption too)
            yield* restore(lastTransition)
          }).pipe(Effect.asVoid, Effect.annotateLogs({ component: "Session", shard: shardId }))
        })
      )
    // added to the scope directly: `Effect.addFinalizer` would keep a copy of this fiber's
    // FiberRefs for as long as the session lives
    yield* Scope.addFinalizer(sessionScope, Effect.suspend(() => loopEnded ? Effect.void : stop(false, "1 second")))

    const resumePoint = Effect.suspend((): Effect.Effect<Option.Option<ResumePoint.ResumePoint>> => {
      const { resumeGatewayUrl, sequence, sessionId } = memory.current
      return sessionId === undefined || resumeGatewayUrl === undefined
        ? Effect.succeed(Option.map(Option.fromNullable(unresumable), ResumePoint.copyOf))
        : Effect.map(presenceUpdatesAt, (updatesAt) =>
          Option.some(ResumePoint.pointOf(resolved, sessionId, sequence ?? 0, resumeGatewayUrl, shown(), updatesAt)))
    })

    return {
      shard: [resolved.shard[0], resolved.shard[1]],
      events: events === undefined ? Stream.empty : events.stream,
      state: Effect.map(current.get, (moment) => moment.transition.to),
      // built when run: a stream's channels, built now, would be kept by every idle session
      transitions: Stream.suspend(() => Stream.map(current.changes, (moment) => moment.transition)),
      snapshot: Effect.map(current.get, (moment) => snapshotAt(moment.transition)),
      snapshots: Stream.suspend(() => Stream.map(current.changes, (moment) => moment.snapshot)),
      await: Deferred.await(finished),
      ...commands,
      disconnect: (timeout = "5 seconds") =>
        Effect.zipRight(checkStopTimeout("Session.disconnect", timeout), Effect.zipRight(stop(false, timeout), resumePoint)),
      end: (timeout = "5 seconds") => Effect.zipRight(checkStopTimeout("Session.end", timeout), stop(true, timeout))
    } satisfies Session
  }))

/**
 * The session of a single-shard program, as a service.
 *
 * @since 0.1.0
 */
export class GatewaySession extends Context.Tag("discord-gateway/Session")<GatewaySession, Session>() {}

/**
 * A Layer running one session for the lifetime of the Layer. Once built it cannot fail: a fatal
 * close later reaches `events` and `await`, so a program that reads no events waits on `await`.
 *
 * @since 0.1.0
 */
export const layer = (options: SessionOptions.SessionOptions): Layer.Layer<GatewaySession, InvalidOptions, Requirements> =>
  Layer.scoped(GatewaySession, make(options))

/**
 * {@link layer} with its options read from `Config` as the Layer is built: each option a `Config`
 * (`token: Config.redacted("DISCORD_TOKEN")`, `intents: Intents.config("DISCORD_INTENTS")`; a
 * fixed value through `Config.succeed`; one left out keeps its default). A value missing or of
 * the wrong type fails the Layer with a `ConfigError`, one the options refuse with `InvalidOptions`.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: OptionsConfig.Wrap<SessionOptions.SessionOptions>
): Layer.Layer<GatewaySession, InvalidOptions | ConfigError.ConfigError, Requirements> =>
  Layer.scoped(GatewaySession, Effect.flatMap(OptionsConfig.read(options), make))

/**
 * The token, redacted: a convenience for programs that build options from a plain string. It
 * drops what a token is often copied with: surrounding whitespace (a file's newline) and a leading
 * `Bot ` (the REST header's). A value that is no string (an unset variable, from JavaScript) makes
 * an empty token, which `make` refuses, naming the token.
 *
 * @since 0.1.0
 */
export const token = (value: string): Redacted.Redacted<string> =>
  Redacted.make(typeof value === "string" ? value.trim().replace(/^Bot(?:\s+|$)/i, "") : "")
