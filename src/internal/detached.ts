/**
 * Running a wait so that only its own caller's interruption ends it, and only where that caller can
 * be interrupted.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/**
 * Runs `effect` interruptibly on a fiber of its own and waits for it. A caller that can be
 * interrupted stops it by being interrupted; one that cannot (a finalizer, an acquire, a program's
 * uninterruptible stop) gets its result, whatever races and timeouts run inside. Effect passes a
 * fiber's interruption on to every fiber it forked at once, even where the fiber itself cannot be
 * interrupted, and a race's or timeout's sides are such fibers: run by that caller directly, they
 * would be cut short, or, not interruptible, a race would wait for its loser for ever.
 *
 * @since 0.1.0
 */
export const detached = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    // its exit kept as a value, handed on to the caller: a fiber that ends failed has Effect log
    // the cause (a command's `SessionClosed`, which its caller got, at Debug)
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(Effect.exit(effect))), (fiber) =>
      Effect.onInterrupt(Effect.flatten(restore(Fiber.join(fiber))), () => Fiber.interrupt(fiber)))
  )
