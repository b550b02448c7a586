/**
 * Effects told in turn: each on a fiber of its own, after the one before it. A session tells its
 * outage hooks so: neither the connection's reader nor the session's loop waits for a hook of the
 * program's own that takes its time, and the hooks still hear of each step in order.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"

/**
 * Effects told one after another.
 *
 * @since 0.1.0
 */
export interface InTurn {
  /** Tells `effect` once those told before it are done, without waiting for it. */
  tell(effect: Effect.Effect<void>): Effect.Effect<void>
  /**
   * Tells no more, and interrupts those not done, waiting for them: what comes after them (a
   * session's `outage.ended`) comes after their interruption (one that cannot be interrupted is
   * waited for).
   */
  readonly stop: Effect.Effect<void>
}

/**
 * How many told effects may wait behind one not done: one that never ends holds up all told after
 * it, and those told once so many wait are dropped (a hook of the program's that hung kept a fiber
 * for every reconnect after it, for as long as the session ran).
 *
 * @since 0.1.0
 */
export const maxWaiting = 1000

/**
 * Effects told in turn until `stop`, or until `scope` closes, which interrupts those not done
 * without waiting for them (one that cannot be interrupted, a store written to in a transaction,
 * held the scope's close, and a session's `await` with it). They must not fail: tell each through
 * its own error handling. Those told while {@link maxWaiting} wait are dropped, with a
 * warning naming `what` once until the line moves again.
 *
 * @since 0.1.0
 */
export const make = (scope: Scope.Scope, what: string): Effect.Effect<InTurn> =>
  Effect.suspend(() => {
    const line = new Line(what)
    return Effect.as(Scope.addFinalizer(scope, line.stopping(Fiber.interruptFork)), line)
  })

// A class, its methods shared by every session's line: a thousand idle shards should not each keep
// its closures.
class Line implements InTurn {
  // the fibers of those not done, made at the first told
  private pending: Set<Fiber.RuntimeFiber<void>> | undefined = undefined
  private open = true
  // whether those told are dropped, told once
  private full = false
  // the turn of the last told, taken as it is told: two told at once from two fibers keep their order
  private last: Deferred.Deferred<void> | undefined = undefined

  constructor(private readonly what: string) {}

  get stop(): Effect.Effect<void> {
    return this.stopping(Fiber.interrupt)
  }

  // those not done leave `pending` as they end: a `stop` after the scope's close still waits for them
  stopping(interrupt: (fiber: Fiber.RuntimeFiber<void>) => Effect.Effect<unknown>): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.open = false
      return Effect.forEach([...(this.pending ?? [])], interrupt, { discard: true })
    })
  }

  tell(effect: Effect.Effect<void>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!this.open) return Effect.void
      const pending = this.pending ??= new Set()
      // the first of them runs, the others wait
      if (pending.size > maxWaiting) {
        if (this.full) return Effect.void
        this.full = true
        return Effect.logWarning(`${maxWaiting} ${this.what} wait behind one that has not ended: those after are dropped until it does`)
      }
      this.full = false
      const before = this.last
      const turn = Deferred.unsafeMake<void>(FiberId.none)
      this.last = turn
      const told = Effect.ensuring(
        before === undefined ? effect : Effect.zipRight(Deferred.await(before), effect),
        Effect.sync(() => {
          Deferred.unsafeDone(turn, Exit.void)
          // an idle session keeps no finished turn
          if (this.last === turn) this.last = undefined
        })
      )
      return Effect.map(Effect.forkDaemon(told), (fiber) => {
        pending.add(fiber)
        fiber.addObserver(() => pending.delete(fiber))
      })
    })
  }
}
