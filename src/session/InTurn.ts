/**
 * Effects told in turn: each on a fiber of its own, after the one before it, in a scope. A
 * session tells its outage hooks so: neither the connection's reader nor the session's loop waits
 * for a hook of the program's own that takes its time, and the hooks still hear of each step in
 * order.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"

/**
 * Tells `effect` once those told before it are done, without waiting for it.
 *
 * @since 0.1.0
 */
export type InTurn = (effect: Effect.Effect<void>) => Effect.Effect<void>

/**
 * Effects told in turn on fibers forked in `scope` (closing it interrupts those not done). They
 * must not fail: tell each through its own error handling.
 *
 * @since 0.1.0
 */
export const make = (scope: Scope.Scope): InTurn => {
  let last: Fiber.RuntimeFiber<void> | undefined
  return (effect) =>
    Effect.suspend(() => {
      const before = last
      return Effect.map(Effect.forkIn(before === undefined ? effect : Effect.zipRight(Fiber.await(before), effect), scope), (fiber) => {
        last = fiber
        // let go once done: an idle session keeps no finished fiber
        fiber.addObserver(() => {
          if (last === fiber) last = undefined
        })
      })
    })
}
