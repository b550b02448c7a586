/**
 * A shard fleet: the shards of one bot run side by side in one process, started as fast as the
 * identify limits allow, their events merged into one `Stream`, commands routed to the shard of
 * their guild.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
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
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as OptionsConfig from "../internal/config.ts"
import { detached } from "../internal/detached.ts"
import { withDefectsMasked } from "../internal/defect.ts"
import { checkStopTimeout } from "../internal/duration.ts"
import { withoutToken } from "../internal/secret.ts"
import { isLoudAt } from "../internal/told.ts"
import * as FifoSemaphore from "../limits/FifoSemaphore.ts"
import { IdentifyLimiter } from "../limits/IdentifyLimiter.ts"
import * as Commands from "../protocol/Commands.ts"
import type { EventName, EventOf, GatewayEvent } from "../protocol/Event.ts"
import * as OtherCommand from "../protocol/OtherCommand.ts"
import * as Backoff from "../session/Backoff.ts"
import * as GatewayCache from "../session/GatewayCache.ts"
import * as MemberRequests from "../session/MemberRequests.ts"
import * as HeartbeatTimer from "../session/HeartbeatTimer.ts"
import { withPresence } from "../session/internal/identify.ts"
import { longWaitSeconds } from "../session/internal/outageThresholds.ts"
import * as Session from "../session/Session.ts"
import { type GatewayInfoError, type InvalidOptions, refusesToken, SessionClosed } from "../session/SessionError.ts"
import * as SessionOptions from "../session/SessionOptions.ts"
import { Reason } from "../session/SessionState.ts"
import * as EventBuffer from "../stream/EventBuffer.ts"
import * as Ending from "./Ending.ts"
import { fleetWide } from "./FleetLog.ts"
import * as FleetOutage from "./FleetOutage.ts"
import * as FleetPresence from "./FleetPresence.ts"
import * as FleetOptions from "./FleetOptions.ts"
import { isSnowflake, RouteError, shardOf } from "./Routing.ts"
import * as ShardStatus from "./ShardStatus.ts"
import * as Starter from "./Starter.ts"

/**
 * A running fleet, whose events are of type `E` (every dispatch unless the `events` option names
 * some).
 *
 * One fatal shard stops the fleet: every error that ends a session for good (a fatal close code
 * such as 4004 bad token, 4010 invalid shard, 4011 sharding required, 4012-4014 version and
 * intents; the daily identify budget; a token `GET /gateway/bot` refuses) is a property of the
 * bot, not of the shard, so the other shards would meet it too. The fleet then disconnects them
 * (resumable), `events` and `await` fail with that first error.
 *
 * @since 0.1.0
 */
export interface Fleet<E extends GatewayEvent = GatewayEvent> {
  /** The total shard count of the bot. */
  readonly shardCount: number
  /** The shards this fleet runs, ascending. */
  readonly shardIds: ReadonlyArray<number>
  /**
   * Every shard's events, merged (each event carries its `shard`; the order within a shard is
   * kept). A single-consumer stream (a run started while another runs dies with
   * `EventBuffer.EventsInUse`): it ends once every shard stopped, and fails with the first fatal
   * error. As a session's, a run that stops early drops the rest of its chunk, and a shard's READY
   * or RESUMED ends its chunk.
   */
  readonly events: Stream.Stream<E, Session.SessionError>
  /**
   * The session of shard `id`, once the shard has started (a shard waiting for its turn is waited
   * for); fails with `NotRunning` for a shard this fleet does not run or stopped before it started.
   */
  readonly shard: (id: number) => Effect.Effect<Session.Session, RouteError>
  /**
   * The session a guild lives on (as `shard`); `null`/`undefined` (DMs, guild-less) is shard 0's.
   * A guild id that is no snowflake fails with `InvalidGuildId`; the commands below check theirs
   * with their other fields (`InvalidCommand`, as a session does).
   */
  readonly sessionFor: (guildId: string | null | undefined) => Effect.Effect<Session.Session, RouteError>
  /**
   * Every shard's status, by shard id; a shard not started yet is `Disconnected`, reason `Queued`
   * (or `NotStarted`, once the fleet stopped before starting it).
   */
  readonly status: Effect.Effect<ReadonlyArray<ShardStatus.ShardStatus>>
  /**
   * Every shard's status at its latest transition, then at each later one, with the vital signs
   * (sequence, latency, reconnects, events per second) the shard had then, however late the stream
   * is read (`status` takes them all now). It ends once every shard ended (or, not started, was
   * given up on).
   */
  readonly statusChanges: Stream.Stream<ShardStatus.ShardStatus>
  /** Waits until every shard stopped; fails with the first fatal error of any shard. */
  readonly await: Effect.Effect<void, Session.SessionError>
  /**
   * Op 3 on every shard that has started and not ended (one stopped through `shard(id)`, or
   * ending meanwhile, is left out); those that start later identify with it (or, resuming, get it
   * as op 3 once their Resume is answered, unless their point says they show it already). Given
   * up on (the caller interrupted) before it went out to every shard, it is taken back: no newer
   * update made since, each shard it went out to is sent the presence then latest (Discord's
   * default where the fleet had none), unless that went out to it last or is on its way; one it
   * never went out to is sent nothing. Fails with `SessionClosed`, sending nothing, once no shard
   * will show it: the fleet was stopped (`end`, `disconnect`, a fatal error) or every shard ended.
   */
  readonly updatePresence: (presence: Commands.Presence) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed>
  /** Op 4 on the guild's shard. */
  readonly updateVoiceState: (
    voice: Omit<Commands.VoiceStateUpdate, "_tag">
  ) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed | RouteError>
  /**
   * Op 31, split by shard: each shard asks for its own guilds, in as many frames as its part
   * needs (up to `Commands.maxSoundboardGuildIds` ids in all). Nothing is sent if one cannot be
   * routed, one shard's part is refused (`InvalidCommand`: an id no frame holds, in an encoding
   * of the program's own), or a shard it needs ended (`SessionClosed`) or never started
   * (`RouteError`) before all of them ran: the parts go out once every shard they need runs. A
   * shard that ends while they go out fails the call with `SessionClosed` once the others' parts
   * went out (each waits for its shard's answered connection), naming the guilds whose frames did
   * not go out.
   */
  readonly requestSoundboardSounds: (
    guildIds: ReadonlyArray<string>
  ) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed | RouteError>
  /**
   * A command this version has no method for (`Session.send`), on the shard of `guildId`, the
   * guild it is about (which decides the shard, whatever `d` says): checked (its data copied once)
   * before it waits for that shard to start. One about no guild goes through `shard(id)`.
   */
  readonly send: (op: number, d: unknown, guildId: string) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed | RouteError>
  /** Op 43 on the guild's shard. */
  readonly requestChannelInfo: (
    request: Omit<Commands.RequestChannelInfo, "_tag">
  ) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed | RouteError>
  /**
   * Op 8 on the guild's shard; returns the members once every chunk arrived. A shard not started
   * yet is waited for up to the members timeout; the request then fails with `Timeout` once that
   * timeout passes without a chunk of its answer (counted from when it goes out, then from each
   * chunk, while a connection is answered, as a session's request counts it).
   */
  readonly requestGuildMembers: (
    request: Commands.MemberRequest
  ) => Effect.Effect<
    MemberRequests.GuildMembers,
    Commands.InvalidCommand | MemberRequests.MemberRequestError | SessionClosed | RouteError
  >
  /**
   * Stops every shard, keeping their sessions resumable, and returns where each left off (one
   * point per shard that had a session and can resume it, one stopped earlier through
   * `shard(id).disconnect()` included, and the point a shard was given if it had not started, but
   * after an `end`); pass them as `resume` to a new fleet. None once a shard's token was refused
   * (4004, or a 401 from `GET /gateway/bot`): no Resume with it can be taken. Each shard waits up
   * to `timeout` (default 5 seconds) for the gateway to answer its close.
   */
  readonly disconnect: (timeout?: Duration.DurationInput) => Effect.Effect<ReadonlyArray<SessionOptions.ResumePoint>>
  /**
   * Ends every shard's session for good (close 1000), each waiting up to `timeout` (default 5
   * seconds) for the gateway to answer its close.
   */
  readonly end: (timeout?: Duration.DurationInput) => Effect.Effect<void>
}

/**
 * The fleet of an app, as a service.
 *
 * @since 0.1.0
 */
export const Fleet: Context.Tag<Fleet, Fleet> = Context.GenericTag<Fleet>("discord-gateway/Fleet")

// one line of how many resume points `text` says of, naming their shards (`id/count`): none
// when there are none
const toldOfPoints = (
  log: (message: string) => Effect.Effect<void>,
  points: ReadonlyArray<SessionOptions.ResumePoint>,
  text: string
): Effect.Effect<void> =>
  points.length === 0
    ? Effect.void
    : log(`${points.length} resume point(s) ${text}`).pipe(Effect.annotateLogs({ shards: points.map((point) => point.shard.join("/")).join(",") }))

/**
 * Starts the fleet's shards in the background, scoped: closing the scope stops them, keeping
 * their sessions resumable. Once every shard ended, the fleet keeps nothing in the scope.
 *
 * `GET /gateway/bot` is fetched once for the fleet, unless both `gateway` and `shardCount` are
 * given: it gives the shard count (when not given), configures the shared `IdentifyLimiter`, and
 * (when `gateway` is not given) the URL every session identifies at; a fresh identify refetches
 * it once it is older than `gatewayInfoMaxAge`. Fails at once on invalid options; that first
 * fetch is tried again while it fails for a `passing` reason (with the sessions' backoff, each a
 * warning), and fails `make` for any other, or for the first where `make` cannot be interrupted.
 * Where shards resume (`resume` points taken) and the shard count is known, `make` does not wait
 * for it: the Resumes go at once, the shards that identify wait for it, and a failure that is not
 * passing ends the fleet (`events` and `await` fail with it) instead of failing `make`.
 *
 * The shards start one after another (src/fleet/Starter.ts): those with a resume point at once,
 * the others as the startup window admits them (default one per rate-limit key connected and
 * waiting to identify at a time; the next one starts when one of those has sent Identify). A
 * shard not started yet holds nothing: `shard(id)` waits for it, `status` shows it `Disconnected`
 * with the reason `Queued`, and it identifies with the latest `updatePresence`. The shared
 * limiter spaces the identifies (one per `shard_id % max_concurrency` key per 5 s), so N shards
 * are READY about `(ceil(N / max_concurrency) - 1) * 5 s` after the first identify. Its events
 * are typed by the `events` list when one is surely given, as `Session.make`'s.
 *
 * @since 0.1.0
 */
export function make<const N extends EventName>(
  options: FleetOptions.FleetOptions<N> & { readonly events: ReadonlyArray<N> }
): Effect.Effect<Fleet<EventOf<N>>, InvalidOptions | GatewayInfoError, Scope.Scope | Session.Requirements>
export function make(
  options: FleetOptions.FleetOptions
): Effect.Effect<Fleet, InvalidOptions | GatewayInfoError, Scope.Scope | Session.Requirements>
export function make(
  options: FleetOptions.FleetOptions
): Effect.Effect<Fleet, InvalidOptions | GatewayInfoError, Scope.Scope | Session.Requirements> {
  // the shards deliver only the types the `events` list names: the first signature's type, given
  // only where the list is surely there (as `Session.make`)
  return start(options)
}

// ascending ids as their runs, `0-15,32-47` (a thousand shards' ids made a line of 4 KB)
const runsOf = (ids: ReadonlyArray<number>): string => {
  const runs: Array<string> = []
  for (let i = 0; i < ids.length; i++) {
    const first = ids[i]!
    while (i + 1 < ids.length && ids[i + 1] === ids[i]! + 1) i++
    runs.push(first === ids[i] ? String(first) : `${first}-${ids[i]}`)
  }
  return runs.join(",")
}

// Says whether `caller` began to close, through a scope forked from it, which the fleet's own scope
// closes as it ends: a long-lived caller keeps nothing of a fleet that ended. Made apart from
// `make`'s state, which a closure made there would keep
const closeBegun = (caller: Scope.Scope, fleet: Scope.Scope): Effect.Effect<{ readonly begun: boolean }> =>
  Effect.gen(function*() {
    const close = { begun: false }
    const watch = yield* Scope.fork(caller, ExecutionStrategy.sequential)
    yield* Scope.addFinalizer(watch, Effect.sync(() => {
      close.begun = true
    }))
    yield* Scope.addFinalizer(fleet, Scope.close(watch, Exit.void))
    return close
  })

// `make`'s work, typed for every event
const start = (
  given: FleetOptions.FleetOptions
): Effect.Effect<Fleet, InvalidOptions | GatewayInfoError, Scope.Scope | Session.Requirements> =>
  Effect.gen(function*() {
    // each read once, inherited ones too, and the resume points
    const options = yield* FleetOptions.readOnce(given)
    yield* FleetOptions.checkSelection(options)
    // the options every shard shares, resolved and checked once, first: bad options cost no request,
    // and a shard that starts minutes later must not be the first to find them invalid
    const resolved = yield* SessionOptions.resolveShared(options)
    const clock = yield* Effect.clock
    const identifyLimiter = yield* IdentifyLimiter
    const shared = yield* GatewayCache.make({
      api: resolved.api,
      token: options.token,
      maxAge: resolved.gatewayInfoMaxAge,
      timeout: resolved.timeouts.connect
    })
    // the fleet's, whichever shard's attempt fetches it: its lines carried that shard's annotations
    const cache: GatewayCache.GatewayCache = { ...shared, info: fleetWide(shared.info), url: fleetWide(shared.url) }
    // the first answer, which the shard count and the sessions' URL wait for: a passing failure
    // (no answer, a 5xx, a 429) is tried again with the sessions' backoff (no sooner than the
    // answer asked), as a session retries its own; any other fails `make` (or ends the fleet, where
    // `make` did not wait: `keysNow` below). The failures in a row are told at Warning at the
    // first, the second, the fourth..., and one whose answer asks to wait a minute or more at once;
    // Debug otherwise (an hour's 503 was a warning a minute). A caller that cannot be interrupted
    // (an acquire) could never stop the retries: it gets the first failure.
    let failures = 0
    const retried = cache.info.pipe(
      Effect.tapError((error) => {
        if (!error.passing) return Effect.void
        failures++
        const told = isLoudAt(failures) || (error.retryAfter ?? 0) >= longWaitSeconds ? Effect.logWarning : Effect.logDebug
        const inARow = failures === 1 ? "" : ` (${failures} times in a row)`
        // the wait asked for, spread as a session spreads it: processes refused together (restarted
        // by one deploy) came back in the same second
        return Effect.zipRight(
          told(`${error.message}; trying again${inARow}`),
          error.retryAfter === undefined ? Effect.void : Effect.flatMap(Backoff.askedWait(error.retryAfter), Effect.sleep)
        )
      }),
      Effect.retry({ schedule: Backoff.schedule(resolved.backoff), while: (error) => error.passing })
    )
    const firstInfo = Effect.checkInterruptible((interruptible) => interruptible ? retried : cache.info)
    // with the shard count given, the shards and their resume points are checked before any request
    const shardCount = options.shardCount ?? (yield* firstInfo).shards
    const { elsewhere, ids, resume, stale, unmatched } = yield* FleetOptions.resolveShards(options, shardCount, resolved.encoding, resolved.intents)
    yield* toldOfPoints(Effect.logInfo, elsewhere, "are of shards this fleet does not run: left out")
    yield* toldOfPoints(
      Effect.logWarning,
      stale,
      `are of another shard count than ${options.shardCount === undefined ? "the recommended" : "the fleet's"} ${shardCount}: not resumed`
    )
    yield* toldOfPoints(
      Effect.logWarning,
      unmatched,
      `were saved over another encoding than ${resolved.encoding.name}, or with other intents than ${resolved.intents}: their shards identify anew`
    )
    // given back by a disconnect until their shards begin gateway sessions of their own
    const unresumed = new Map(unmatched.map((point) => [point.shard[0], point]))
    const presence = FleetPresence.make(resolved.presence, (id) => (resume.get(id) ?? unresumed.get(id))?.presence ?? undefined)
    const optionsOf = (base: SessionOptions.ResolvedOptions, id: number) =>
      SessionOptions.forShard({ ...base, presence: presence.latest() }, [id, shardCount], resume.get(id))
    for (const id of ids) yield* optionsOf(resolved, id)
    // the rate-limit keys and the startup window, from the max_concurrency the limiter knows after
    // the first answer configured it; a limiter of the program's own saying no count left every
    // shard queued for ever (keys of `id % 0`, a window of none)
    // (a limiter of the program's own may die quoting the token: its key)
    const keysKnown: Effect.Effect<Starter.Keys, GatewayInfoError> = Effect.gen(function*() {
      if (options.gateway === undefined) yield* firstInfo
      const { maxConcurrency } = yield* withDefectsMasked(resolved.token)(identifyLimiter.snapshot)
      if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < 1) {
        return yield* Effect.dieMessage(`the IdentifyLimiter's snapshot must say a positive integer maxConcurrency, got ${maxConcurrency}`)
      }
      const window = options.startupWindow ?? FleetOptions.startupWindowPerKey * maxConcurrency
      return { rateLimitKey: (id: number) => id % maxConcurrency, window: FifoSemaphore.make(window, Math.ceil(window / maxConcurrency)) }
    })
    // known before the fleet takes anything in the caller's scope (`make` fails as the answer
    // does), unless shards resume: a Resume needs neither the answer nor the keys, and the shards
    // that identify wait for them (a fleet restarted while GET /gateway/bot failed resumed nothing,
    // and its gateway sessions expired)
    const keysNow = resume.size === 0 ? yield* keysKnown : undefined

    yield* Effect.logInfo(`starting ${ids.length} of ${shardCount} shards`).pipe(
      Effect.annotateLogs({ shards: runsOf(ids), shardCount })
    )
    const createdAt = clock.unsafeCurrentTimeMillis()
    // when the fleet gave up on the shards it had not started, if it did
    let stoppedAt: number | undefined
    const running = (): ReadonlyArray<Session.Session> => Arr.filterMap(starter.shards, (shard) => Option.fromNullable(shard.current()))
    // the shards whose session ended (stopped one by one through `shard(id)`, or with the fleet)
    const ended = new Set<number>()
    const live = (): ReadonlyArray<Session.Session> => running().filter((session) => !ended.has(session.shard[0]))
    // The kind of the fleet's first stop, which decides every shard's close, whichever stop reaches
    // it first (a fatal close's stop and a program's `end` racing closed some shards with 1000 and
    // others resumably, and the end's line said either). No shard starts after a stop: those not
    // started yet are counted as ended. The shards' stops run on a fiber of their own, which the
    // caller's interruption does not reach: a caller that gives up (its own timeout) waits no more,
    // and leaves no shard running (those it had not reached yet ran on, and those queued took their
    // turns, connected and identified). Each shard's resume point, where it has one.
    let firstStop: "end" | "disconnect" | undefined
    // whether the token was refused (a shard's 4004, or GET /gateway/bot's 401)
    let tokenRefused = false
    const stopAll = (kind: "end" | "disconnect", timeout?: Duration.DurationInput) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          firstStop ??= kind
          // after an end, the point of a shard whose own first stop was a disconnect (`shard(id)`)
          const stop = firstStop === "end"
            ? (session: Session.Session) => Effect.zipRight(session.end(timeout), session.disconnect(timeout))
            : (session: Session.Session) => session.disconnect(timeout)
          // each shard running stops at once, on a fiber of its own, beside the starter's stop (after
          // it, one whose Hello came meanwhile sent its Identify: a session start spent on a session
          // closed before READY); then those the starter started as it stopped
          const runningNow = running()
          const stopEach = (sessions: ReadonlyArray<Session.Session>) => Effect.forEach(sessions, (session) => Effect.forkDaemon(stop(session)))
          const startedMeanwhile = Effect.suspend(() => stopEach(running().filter((session) => !runningNow.includes(session))))
          return Effect.flatMap(stopEach(runningNow), (now) =>
            Effect.flatMap(
              Effect.forkDaemon(Effect.flatMap(Effect.zipRight(starter.stop, startedMeanwhile), (later) => Fiber.joinAll([...now, ...later]))),
              (fiber) => restore(Fiber.join(fiber))
            ))
        })
      )

    // The fleet's own scope, in the caller's, closed once every shard ended: a fleet stopped in a
    // long-lived scope (a shard restarted by a new fleet beside the running one) leaves nothing of
    // it there. Closing the caller's scope first closes it too.
    const caller = yield* Effect.scope
    const scope = yield* Scope.fork(caller, ExecutionStrategy.sequential)
    // a defect's words are not ours: they may quote the token
    const ending = yield* Ending.make<Session.SessionError>(ids.length, stopAll("disconnect"), (text) => withoutToken(text, resolved.token))
    // Every session delivers into this one buffer (no buffer or merging fiber per shard): it ends
    // once every shard ended, and fails at the first fatal error.
    const merged = yield* EventBuffer.make<GatewayEvent, Session.SessionError>(options.bufferSize ?? SessionOptions.defaultBufferSize)
    // only the wait is interruptible, whatever the caller's code was (a fleet made in an
    // acquireRelease's acquire): the caller's scope, closing, interrupts this fiber before it
    // closes the fleet's scope, and must not wait for it; once begun, the closing is never cut short.
    // Interrupted so, it is a stop, not the fleet's end: the scope's close ends `events` cleanly
    yield* Effect.forkIn(
      Effect.flatMap(
        Effect.exit(Effect.interruptible(ending.await)),
        (exit) =>
          Effect.uninterruptible(Effect.zipRight(
            Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) ? Effect.void : merged.done(exit),
            Scope.close(scope, Exit.void)
          ))
      ),
      caller
    )
    // set first as the caller's scope closes (added last): the close reaches the sessions some
    // scheduler turns later, and none may identify in between
    const callerClose = yield* closeBegun(caller, scope)
    // closing the scope stops the sessions first (their finalizers come later), then ends `events`
    yield* Scope.addFinalizer(scope, merged.done(Exit.void))
    // one timer beats for every shard: an idle shard keeps no heartbeat fiber
    const heartbeats = yield* Scope.extend(HeartbeatTimer.make, scope)
    // an outage of many shards is told in a few lines for all of them
    const outage = FleetOutage.make()
    // a fatal error reaches `events` at once, before the shards are stopped; one refusing the token
    // leaves no resume point
    const fatal = (cause: Cause.Cause<Session.SessionError>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (Option.exists(Cause.failureOption(cause), refusesToken)) tokenRefused = true
        return merged.done(Exit.failCause(cause))
      })
    const keys = yield* Deferred.make<Starter.Keys>()
    if (keysNow !== undefined) yield* Deferred.succeed(keys, keysNow)
    const starter: Starter.Starter = yield* Scope.extend(Starter.make({
      ids,
      resumes: (id) => resume.has(id),
      keys: Deferred.await(keys),
      start: (shard, hooks) =>
        // checked above: the only option that changes since is a presence updatePresence checked
        Effect.flatMap(Effect.orDie(optionsOf(resolved, shard.id)), (shardOptions) => {
          presence.madeWith(shard.id, shardOptions.presence)
          return Session.makeWith(shardOptions, {
            ...hooks,
            // every session identifies at the URL that fetch gave, unless one was given
            gatewayInfo: cache,
            stopping: () => callerClose.begun || firstStop !== undefined,
            onEnd: (exit) => Effect.zipRight(Effect.sync(() => ended.add(shard.id)), hooks.onEnd?.(exit) ?? Effect.void),
            // the fleet tells it, once for each reason (`Ending`)
            tellsFatalEnd: true,
            // each shard a reader of its own: shards that wait for room get fair shares of it
            deliver: merged.reader(),
            unresumable: unresumed.get(shard.id),
            heartbeats,
            outage: outage.of(shard.id)
          })
        }),
      onStarted: (shard, session) => presence.started(shard.id, session),
      onEnd: (exit, shard) => Effect.zipRight(Exit.isFailure(exit) ? fatal(exit.cause) : Effect.void, ending.onEnd(exit, shard.id)),
      onAbandon: () =>
        Effect.suspend(() => {
          stoppedAt ??= clock.unsafeCurrentTimeMillis()
          return ending.onEnd(Exit.void)
        })
    }), scope)
    // the keys not known yet: their failure (but the stop's interruption) ends the fleet, as a
    // shard's fatal error does (asked once the starter is made, which the fleet's stop stops)
    if (keysNow === undefined) {
      yield* Effect.forkIn(
        Effect.matchCauseEffect(Effect.interruptible(keysKnown), {
          onSuccess: (known) => Deferred.succeed(keys, known),
          onFailure: (cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.zipRight(fatal(cause), ending.fail(cause))
        }),
        scope
      )
    }
    const byId = new Map(starter.shards.map((shard) => [shard.id, shard]))

    // the shard a guild's commands go to, known at once (its session may not be made yet)
    const shardFor = (guildId: string | null | undefined): Either.Either<Starter.Shard, RouteError> => {
      if (guildId !== null && guildId !== undefined && !isSnowflake(guildId)) {
        // the id is the program's value: one read from the wrong variable may be the token
        return Either.left(new RouteError({ reason: "InvalidGuildId", guildId: typeof guildId === "string" ? withoutToken(guildId, resolved.token) : guildId }))
      }
      const id = shardOf(guildId, shardCount)
      const shard = byId.get(id)
      if (shard !== undefined) return Either.right(shard)
      return Either.left(
        new RouteError({ reason: "NotRunning", shard: id, ...(guildId === null || guildId === undefined ? {} : { guildId }) })
      )
    }
    // a shard the fleet stopped before it started fails naming only itself: the guild is added
    const sessionFor = (guildId: string | null | undefined): Effect.Effect<Session.Session, RouteError> =>
      Effect.flatMap(Effect.suspend(() => shardFor(guildId)), (shard) =>
        guildId === null || guildId === undefined
          ? shard.session
          : Effect.mapError(shard.session, (error) => new RouteError({ reason: error.reason, shard: shard.id, guildId })))

    // a command's error, its run of the token masked (it quotes the program's values)
    const masked = Commands.maskingToken(resolved.token)
    // a command is checked before it waits for its shard to start (at its turn, maybe minutes
    // away): a mistake fails at once with InvalidCommand; its session checks it again. `send` is
    // given the command as checked (a copy read once: routed and sent as it was checked, whatever
    // a getter of the program's answers later)
    const checked = <C extends Commands.UserCommand, A, E>(command: C, send: (checked: C) => Effect.Effect<A, E>) =>
      Effect.flatMap(Commands.encodeChecked(command, resolved.encoding), ({ checked }) => send(checked))

    // a command split over `groups` refused whole before any part goes out: a shard it needs was
    // stopped on its own. Said as a session says it (the shards), naming every guild of the call:
    // none went out (naming only the stopped shard's, a caller asking again for those lost the rest)
    const allRunning = (groups: ReadonlyMap<Starter.Shard, ReadonlyArray<string>>, guildIds: ReadonlyArray<string>): Effect.Effect<void, SessionClosed> => {
      const stopped = [...groups].filter(([shard]) => ended.has(shard.id))
      if (stopped.length === 0) return Effect.void
      const told = stopped.map(([shard, group]) => `shard ${shard.id} was disconnected or ended before the command for guild ${group.join(", ")} went out`)
      return Effect.fail(new SessionClosed({
        detail: `${told.join("; ")}${groups.size > stopped.length ? "; no part went out" : ""}`,
        shards: stopped.map(([shard]) => shard.id),
        guildIds
      }))
    }
    // `send` on the session of the guild's shard (whose SessionClosed names its shard and guild)
    const onGuildShard = <A, E>(guildId: string, send: (session: Session.Session) => Effect.Effect<A, E>) =>
      Effect.flatMap(sessionFor(guildId), send)
    const requestSoundboardSounds: Fleet["requestSoundboardSounds"] = (guildIds) =>
      Effect.gen(function*() {
        // the whole list first (at least one id), then every shard's part
        const { guild_ids } = yield* Commands.validate(Commands.requestSoundboardSounds(guildIds))
        const groups = new Map<Starter.Shard, Array<string>>()
        for (const guildId of guild_ids) {
          const shard = yield* shardFor(guildId)
          const group = groups.get(shard)
          if (group === undefined) groups.set(shard, [guildId])
          else group.push(guildId)
        }
        // every shard's part is cut into frames before any is sent, and before any waits for its
        // shard to start (it waited, then failed): one no frame holds (an encoding of the
        // program's own), or one for a shard that ended, sends nothing
        for (const group of groups.values()) yield* Commands.soundboardParts(group, resolved.encoding)
        yield* allRunning(groups, guild_ids)
        // every shard is waited for first (one queued at startup may start minutes later): a part
        // went out while another shard was waited for, and stayed sent when that one never started
        // one the fleet stopped before it started names its part's first guild, as `sessionFor` does
        const parts = yield* Effect.forEach(groups, ([shard, group]) =>
          shard.session.pipe(
            Effect.mapError((error) => new RouteError({ reason: error.reason, shard: shard.id, guildId: group[0]! })),
            Effect.map((session) => [shard, session, group] as const)
          ), {
          concurrency: "unbounded"
        })
        yield* allRunning(groups, guild_ids)
        // each to its end: a shard that ends meanwhile fails the call once the others' parts are sent
        // (its failure interrupted them, and an interrupted command is withdrawn from its queue)
        const sent = yield* Effect.forEach(parts, ([, session, group]) => Effect.either(session.requestSoundboardSounds(group)), {
          concurrency: "unbounded"
        })
        const errors = sent.flatMap((result) => Either.isLeft(result) ? [result.left] : [])
        if (errors.length === 0) return
        const other = errors.find((error) => !(error instanceof SessionClosed))
        if (other !== undefined) return yield* Effect.fail(other)
        const closed = errors as ReadonlyArray<SessionClosed>
        // which parts did not go out, and which did: the caller asks again for those only
        const wentOut = parts.filter((_, index) => Either.isRight(sent[index]!)).map(([shard]) => shard.id)
        const notSent = closed.map((error) => error.detail).join("; ")
        return yield* new SessionClosed({
          detail: `${notSent}${wentOut.length === 0 ? "" : `; the part${wentOut.length === 1 ? "" : "s"} of shard${wentOut.length === 1 ? "" : "s"} ${wentOut.join(", ")} went out`}`,
          shards: closed.flatMap((error) => error.shards),
          guildIds: closed.flatMap((error) => error.guildIds)
        })
      })

    const changesOf = (session: Session.Session) => Stream.map(session.snapshots, ShardStatus.make)
    const notStarted = (shard: Starter.Shard): ShardStatus.ShardStatus =>
      stoppedAt === undefined
        ? ShardStatus.notStarted(shard.id, Reason.Queued(), createdAt)
        : ShardStatus.notStarted(shard.id, Reason.NotStarted(), stoppedAt)
    // a shard not started yet: queued, then its session's transitions once it starts, or not
    // started once the fleet stopped first. Its session is watched from its start whatever the
    // reader's pace (buffered: watched only once its queued line was read, a late reader began at
    // the session's latest transition, and lost those before)
    const statusChangesOf = (shard: Starter.Shard): Stream.Stream<ShardStatus.ShardStatus> =>
      Stream.suspend(() => {
        const session = shard.current()
        if (session !== undefined) return changesOf(session)
        if (stoppedAt !== undefined) return Stream.make(notStarted(shard))
        // (its queued line taken now: one taken as the fleet stopped said NotStarted twice)
        return Stream.concat(
          Stream.make(notStarted(shard)),
          Stream.unwrap(Effect.match(shard.session, {
            onFailure: () => Stream.sync(() => notStarted(shard)),
            onSuccess: changesOf
          }))
        ).pipe(Stream.buffer({ capacity: "unbounded" }))
      })

    return {
      shardCount,
      // frozen: the starter reads the list for each shard's turn (changed in place, its shards
      // took places under other keys)
      shardIds: Object.freeze([...ids]),
      events: merged.stream,
      shard: (id) =>
        Effect.suspend(() => byId.get(id)?.session ?? Effect.fail(new RouteError({ reason: "NotRunning", shard: id }))),
      sessionFor,
      status: Effect.forEach(starter.shards, (shard) => {
        const session = shard.current()
        return session === undefined
          ? Effect.sync(() => notStarted(shard))
          : Effect.map(session.snapshot, ShardStatus.make)
      }),
      // built when run: a stream per shard, built now, would be kept for as long as the fleet lives
      statusChanges: Stream.suspend(() => Stream.mergeAll(starter.shards.map(statusChangesOf), { concurrency: "unbounded" })),
      await: ending.await,
      updatePresence: (given) =>
        Effect.mapError(Effect.gen(function*() {
          // kept as checked: a copy, which the caller's later changes to its object do not reach
          const { presence: update } = yield* Commands.presenceChecked(given, resolved.encoding)
          // checked with the longest shard number: every shard's Identify can carry it
          yield* withPresence({ ...resolved, shard: [shardCount - 1, shardCount] }, update)
          // no shard starts after a stop: an update taken then would be shown by none, as one that
          // waited for its shards' connections while the fleet stopped, going out on none
          const noneShows = () => firstStop !== undefined || ending.running() === 0
          const closed = () =>
            new SessionClosed({
              detail: `the fleet ${firstStop === undefined ? "ended" : "was stopped"}: no shard shows the presence`,
              shards: [...ids],
              guildIds: []
            })
          if (noneShows()) return yield* closed()
          const wentOut = yield* presence.update(update, live)
          if (wentOut === 0 && noneShows()) return yield* closed()
        }), masked),
      updateVoiceState: (voice) =>
        Effect.flatMap(Commands.built("VoiceStateUpdate", () => Commands.voiceStateUpdate(voice)), (command) =>
          checked(command, (voice) => onGuildShard(voice.guild_id, (session) => session.updateVoiceState(voice)))).pipe(Effect.mapError(masked)),
      requestSoundboardSounds: (guildIds) => Effect.mapError(requestSoundboardSounds(guildIds), masked),
      send: (op, d, guildId) =>
        Effect.flatMap(OtherCommand.encodeChecked(op, d, resolved.encoding), (checked) =>
          // (a guild id that is none, from JavaScript, is no guild-less command's: refused as any)
          typeof guildId === "string"
            ? onGuildShard(guildId, (session) => session.send(op, checked.d, guildId))
            : Effect.fail(new RouteError({ reason: "InvalidGuildId", guildId }))).pipe(Effect.mapError(masked)),
      requestChannelInfo: (request) =>
        Effect.flatMap(Commands.built("RequestChannelInfo", () => Commands.requestChannelInfo(request)), (command) =>
          checked(command, (info) => onGuildShard(info.guild_id, (session) => session.requestChannelInfo(info)))).pipe(Effect.mapError(masked)),
      requestGuildMembers: (request) =>
        // with a nonce as wide as its session's will be: it counts in the 4096 bytes
        Effect.flatMap(Commands.memberRequest(request, MemberRequests.widestNonce), (command) =>
          checked(command, (asked) =>
            Effect.zipRight(
              MemberRequests.checkIntents(asked, resolved.intents),
              Effect.flatMap(
                // a shard not started yet is waited for up to the members timeout; the session's
                // request then counts its own, from when it goes out and from each chunk
                Effect.timeoutFail(sessionFor(asked.guild_id), {
                  duration: resolved.timeouts.members,
                  onTimeout: () =>
                    new MemberRequests.MemberRequestError({
                      reason: "Timeout",
                      guildId: asked.guild_id,
                      detail: `its shard ${shardOf(asked.guild_id, shardCount)} did not start within the members timeout`
                    })
                }),
                (session) => session.requestGuildMembers(Commands.requestOf(asked))
              )
            ))).pipe(
          Effect.mapError(masked),
          // the timeout holds for a caller that cannot be interrupted
          detached
        ),
      disconnect: (timeout) =>
        Effect.map(Effect.zipRight(checkStopTimeout("Fleet.disconnect", timeout), stopAll("disconnect", timeout)), (points) => {
          // none once a shard's token was refused, a property of the bot, as a session forgets its
          // own then: every shard's Resume with it would be refused (the other shards' points came
          // back, and the next process's Resumes were refused)
          if (tokenRefused) return []
          return [
            ...Arr.getSomes(points),
            // a shard given a point and stopped before it started: its gateway session is as
            // resumable as it was handed in (also over another encoding, by another process), but
            // for a fleet ended (`end`), as a session forgets its own then (they came back, and the
            // next process resumed shards ended for good)
            ...(firstStop === "end" ? [] : Arr.filterMap(starter.shards, (shard) =>
              shard.current() === undefined ? Option.fromNullable(resume.get(shard.id) ?? unresumed.get(shard.id)) : Option.none()))
          ]
        }),
      end: (timeout) =>
        Effect.zipRight(checkStopTimeout("Fleet.end", timeout), Effect.suspend(() => {
          // said where it closes sessions with 1000: the fleet's first stop, a shard running and not
          // stopped on its own (it said so after a disconnect, whose sessions stayed resumable, and
          // at each call)
          const closes = firstStop === undefined && live().length > 0
          return Effect.zipRight(
            closes ? fleetWide(Effect.logInfo(`ending every shard's session (close 1000)`)) : Effect.void,
            Effect.asVoid(stopAll("end", timeout))
          )
        }))
    } satisfies Fleet
  }).pipe(Effect.annotateLogs({ component: "Fleet" }))

/**
 * A Layer running a fleet for the lifetime of the Layer. Once built it cannot fail: a fatal close
 * later reaches `events` and `await`, so a program that reads no events waits on `await` (with
 * `Layer.launch` alone, nothing would see it).
 *
 * @since 0.1.0
 */
export const layer = (
  options: FleetOptions.FleetOptions
): Layer.Layer<Fleet, InvalidOptions | GatewayInfoError, Session.Requirements> => Layer.scoped(Fleet, make(options))

/**
 * {@link layer} with its options read from `Config` as the Layer is built, as
 * `Session.layerConfig` reads a session's (`shardCount: Config.integer("SHARD_COUNT")`, say).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: OptionsConfig.Wrap<FleetOptions.FleetOptions>
): Layer.Layer<Fleet, InvalidOptions | GatewayInfoError | ConfigError.ConfigError, Session.Requirements> =>
  Layer.scoped(Fleet, Effect.flatMap(OptionsConfig.read(options), make))
