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
 * Tells `effect` once those told before it are done, without waiting for it.
 *
 * @since 0.1.0
 */
export type InTurn = (effect: Effect.Effect<void>) => Effect.Effect<void>

/**
 * Effects told in turn until `scope` closes, which interrupts those not done without waiting for
 * them (one that cannot be interrupted, a store written to in a transaction, held the scope's
 * close, and a session's `await` with it). They must not fail: tell each through its own error
 * handling.
 *
 * @since 0.1.0
 */
export const make = (scope: Scope.Scope): Effect.Effect<InTurn> =>
  Effect.gen(function*() {
    // the fibers of those not done
    const pending = new Set<Fiber.RuntimeFiber<void>>()
    let open = true
    yield* Scope.addFinalizer(
      scope,
      Effect.suspend(() => {
        open = false
        const left = [...pending]
        pending.clear()
        return Effect.forEach(left, Fiber.interruptFork, { discard: true })
      })
    )
    // the turn of the last told, taken as it is told: two told at once from two fibers keep their order
    let last: Deferred.Deferred<void> | undefined
    return (effect) =>
      Effect.suspend(() => {
        if (!open) return Effect.void
        const before = last
        const turn = Deferred.unsafeMake<void>(FiberId.none)
        last = turn
        const told = Effect.ensuring(
          before === undefined ? effect : Effect.zipRight(Deferred.await(before), effect),
          Effect.sync(() => {
            Deferred.unsafeDone(turn, Exit.void)
            // an idle session keeps no finished turn
            if (last === turn) last = undefined
          })
        )
        return Effect.map(Effect.forkDaemon(told), (fiber) => {
          pending.add(fiber)
          fiber.addObserver(() => pending.delete(fiber))
        })
      })
  })
