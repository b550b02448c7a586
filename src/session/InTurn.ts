/**
 * Effects told in turn: each on a fiber of its own, after the one before it. A session tells its
 * outage hooks so: neither the connection's reader nor the session's loop waits for a hook of the
 * program's own that takes its time, and the hooks still hear of each step in order.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
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
    // those not done, the last told at the end
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
    let last: Fiber.RuntimeFiber<void> | undefined
    return (effect) =>
      Effect.suspend(() => {
        if (!open) return Effect.void
        const before = last
        return Effect.map(Effect.forkDaemon(before === undefined ? effect : Effect.zipRight(Fiber.await(before), effect)), (fiber) => {
          last = fiber
          pending.add(fiber)
          // let go once done: an idle session keeps no finished fiber
          fiber.addObserver(() => {
            pending.delete(fiber)
            if (last === fiber) last = undefined
          })
        })
      })
  })
