/**
 * Starting a fleet's shards: those that resume first, at once, then those that identify, one line
 * per rate-limit key. A shard that identifies waits for room in the startup window, and the permit
 * it waited for goes to its first connection. Until its turn a shard is a place in its line and
 * nothing else: no session, no fiber of its own, no buffers. Made all at once, the sessions would wait for the whole startup, and what
 * they hold while waiting, promoted next to the long-lived state of the shards already running,
 * would stay behind as holes in the old generation (bench/PROFILE.md).
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import type * as FifoSemaphore from "../limits/FifoSemaphore.ts"
import type * as Session from "../session/Session.ts"
import { RouteError } from "./Routing.ts"

/**
 * One shard of a fleet, started or waiting for its turn.
 *
 * @since 0.1.0
 */
export interface Shard {
  readonly id: number
  /** Its session, if it has started. */
  readonly current: () => Session.Session | undefined
  /** Its session, once it has started; fails with `NotRunning` if the fleet stopped before it did. */
  readonly session: Effect.Effect<Session.Session, RouteError>
}

/**
 * The fleet's shards and the fiber that starts them.
 *
 * @since 0.1.0
 */
export interface Starter {
  /** Every shard, in the order of the ids given. */
  readonly shards: ReadonlyArray<Shard>
  /**
   * Stops starting shards and gives up on those not started yet (each `onAbandon`). Waits for a
   * shard being started to be started: once this returns, `current` says which ones run.
   */
  readonly stop: Effect.Effect<void>
}

/**
 * What the starter needs from its fleet.
 *
 * @since 0.1.0
 */
export interface Options<R> {
  readonly ids: ReadonlyArray<number>
  /** Whether shard `id` resumes: it starts ahead of the others and does not wait for the window. */
  readonly resumes: (id: number) => boolean
  /**
   * The rate-limit keys and the window, once known (the first `GET /gateway/bot` answer may come
   * after the resumes started): the shards that identify wait for them.
   */
  readonly keys: Effect.Effect<Keys>
  /** Makes the session of `shard`, with these hooks, in the fleet's scope. */
  readonly start: (shard: Shard, hooks: Session.Hooks) => Effect.Effect<Session.Session, never, Scope.Scope | R>
  /**
   * Called in the same step as `current` starts giving `shard`'s session (nothing runs between),
   * and what it returns runs in the fleet's scope.
   */
  readonly onStarted: (shard: Shard, session: Session.Session) => Effect.Effect<void, never, Scope.Scope>
  /** Reports every session's end, with its shard. */
  readonly onEnd: (exit: Exit.Exit<void, Session.SessionError>, shard: Shard) => Effect.Effect<void>
  /** A shard that will never start: the fleet counts it as ended. */
  readonly onAbandon: (index: number) => Effect.Effect<void>
}

/**
 * How the shards that identify take their turns: by rate-limit key, within the startup window.
 *
 * @since 0.1.0
 */
export interface Keys {
  /**
   * The identify rate-limit key of shard `id`: the shards that identify start in one line per key,
   * the lines side by side, so that no key waits idle behind another's line in the window.
   */
  readonly rateLimitKey: (id: number) => number
  /** The startup window: its places, each key's share of them, taken by the shards that identify. */
  readonly window: FifoSemaphore.FifoSemaphore
}

// `indices` in lines by their keys, each line in the order given, the lines in the order of their
// first index
const linesByKey = (indices: ReadonlyArray<number>, keyOf: (index: number) => number): Array<Array<number>> => {
  const lines = new Map<number, Array<number>>()
  for (const index of indices) {
    const key = keyOf(index)
    const line = lines.get(key)
    if (line === undefined) lines.set(key, [index])
    else line.push(index)
  }
  return [...lines.values()]
}

/**
 * Starts the shards in the current scope, one after another within each rate-limit key, on fibers
 * of their own; closing the scope stops starting them, then stops the started ones, all at once.
 *
 * @since 0.1.0
 */
export const make = <R>(options: Options<R>): Effect.Effect<Starter, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    // the sessions' own scope: closing the fleet stops them all at once, not one after another
    const sessions = yield* Scope.fork(scope, ExecutionStrategy.parallel)
    // the scopes holding window places: closed after the starting stopped, so that a place given
    // back as the fleet closes starts no queued shard
    const places = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const started: Array<Session.Session | undefined> = options.ids.map(() => undefined)
    let abandoned = false
    // made only for a shard someone waits for before it started
    const turns = new Map<number, Deferred.Deferred<Session.Session, RouteError>>()
    const notRunning = (index: number) => new RouteError({ reason: "NotRunning", shard: options.ids[index]! })
    const sessionOf = (index: number): Effect.Effect<Session.Session, RouteError> =>
      Effect.suspend(() => {
        const session = started[index]
        if (session !== undefined) return Effect.succeed(session)
        if (abandoned) return Effect.fail(notRunning(index))
        let turn = turns.get(index)
        if (turn === undefined) turns.set(index, turn = Deferred.unsafeMake(FiberId.none))
        return Deferred.await(turn)
      })
    const shards: ReadonlyArray<Shard> = options.ids.map((id, index) => ({
      id,
      current: () => started[index],
      session: sessionOf(index)
    }))

    // a place in the window for the shard at `index`, within its rate-limit key's share
    const placeFor = (index: number) =>
      Effect.flatMap(options.keys, ({ rateLimitKey, window }) => window.permitFor(rateLimitKey(options.ids[index]!)))
    // The window's permit, held in `held` while the session is made, goes to the session's first
    // identifying connection (released once its Identify is sent, or the connection ended first),
    // or is given back when the session ends before it connected. Later connections wait in line.
    const hooksFor = (shard: Shard, place: Effect.Effect<void, never, Scope.Scope>, held: Scope.CloseableScope | undefined): Session.Hooks => {
      if (held === undefined) return { onEnd: (exit) => Effect.zipRight(endedFailed(exit), options.onEnd(exit, shard)), admission: place }
      const giveBack = Scope.close(held, Exit.void)
      let handedOver = false
      return {
        // the starting stopped before the place is given back: a shard failed for good before its
        // Identify let the next in its line start, a session made for a fleet that had failed
        onEnd: (exit) => Effect.zipRight(Effect.zipRight(endedFailed(exit), giveBack), options.onEnd(exit, shard)),
        admission: Effect.suspend(() => {
          if (handedOver) return place
          handedOver = true
          return Effect.flatMap(Effect.scope, (connection) => Scope.addFinalizer(connection, giveBack))
        })
      }
    }

    // whether the shard at `index` resumes
    const resumes = (index: number) => options.resumes(options.ids[index]!)
    // Only the wait for the window is given up when the starting stops: a session being made is
    // made and recorded, so `stop` knows exactly which shards run.
    const stopping = yield* Deferred.make<void>()
    // a session's failure ends its fleet: no shard starts after it, before the fleet's stop comes
    const endedFailed = (exit: Exit.Exit<void, Session.SessionError>): Effect.Effect<void> =>
      Exit.isFailure(exit) ? Effect.asVoid(Deferred.succeed(stopping, undefined)) : Effect.void
    const startOne = (index: number): Effect.Effect<boolean, never, R> =>
      Effect.gen(function*() {
        const shard = shards[index]!
        const place = placeFor(index)
        let held: Scope.CloseableScope | undefined
        if (!resumes(index)) {
          held = yield* Scope.fork(places, ExecutionStrategy.sequential)
          const admitted = yield* Effect.raceFirst(
            Effect.as(Scope.extend(place, held), true),
            Effect.as(Deferred.await(stopping), false)
          )
          // (a place given back as the starting stopped may win the race)
          if (!admitted || (yield* Deferred.isDone(stopping))) return yield* Effect.as(Scope.close(held, Exit.void), false)
        }
        const session = yield* Scope.extend(options.start(shard, hooksFor(shard, place, held)), sessions)
        started[index] = session
        // called before anything else runs: what it reads is what `current` started with
        yield* Scope.extend(options.onStarted(shard, session), sessions)
        const turn = turns.get(index)
        if (turn !== undefined) yield* Deferred.succeed(turn, session)
        return true
      })

    // the shards at `indices`, one after another, until the starting stops
    const startInOrder = (indices: ReadonlyArray<number>): Effect.Effect<void, never, R> =>
      Effect.gen(function*() {
        for (const index of indices) {
          if ((yield* Deferred.isDone(stopping)) || !(yield* startOne(index))) return
        }
      })
    const order = options.ids.map((_, index) => index)
    const identifying = order.filter((index) => !resumes(index))
    // the lines of the shards that identify, once the keys are known, unless the starting stops first
    const lines = identifying.length === 0 ? Effect.succeed([]) : Effect.raceFirst(
      Effect.map(options.keys, ({ rateLimitKey }) => linesByKey(identifying, (index) => rateLimitKey(options.ids[index]!))),
      Effect.as(Deferred.await(stopping), [])
    )
    // the shards that resume first, then one line per rate-limit key, side by side: a key whose
    // place stays taken (a connection that hangs before Hello) holds up no other key's shards.
    // Interruptible whatever the caller's code was (a fleet made in an acquireRelease's acquire):
    // its waits race the stop.
    const fiber = yield* Effect.forkIn(
      Effect.interruptible(Effect.zipRight(
        startInOrder(order.filter(resumes)),
        Effect.flatMap(lines, (keyed) => Effect.forEach(keyed, startInOrder, { concurrency: "unbounded", discard: true }))
      )),
      scope
    )

    // Stopping the starting, then giving up on the shards not started, runs once, however many
    // ask, on a fiber of its own: a caller that gives up waiting (interrupted) leaves it to finish,
    // and every caller, later ones too, waits until it has and gets its result, never another
    // caller's interruption.
    const stopped = yield* Deferred.make<void>()
    let stopBegun = false
    const stopStarting = Effect.zipRight(
      Effect.zipRight(Deferred.succeed(stopping, undefined), Fiber.await(fiber)),
      Effect.suspend(() => {
        abandoned = true
        return Effect.forEach(shards, (_, index) => {
          if (started[index] !== undefined) return Effect.void
          const turn = turns.get(index)
          return Effect.zipRight(turn === undefined ? Effect.void : Deferred.fail(turn, notRunning(index)), options.onAbandon(index))
        }, { discard: true })
      })
    )
    const begin = Effect.uninterruptible(Effect.suspend(() => {
      if (stopBegun) return Effect.void
      stopBegun = true
      return Effect.asVoid(Effect.forkDaemon(Effect.intoDeferred(stopStarting, stopped)))
    }))
    const stop = Effect.zipRight(begin, Deferred.await(stopped))
    yield* Scope.addFinalizer(scope, stop)

    return { shards, stop }
  })
