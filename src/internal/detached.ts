/**
 * Running an effect on a fiber of its own: a wait that only its own caller's interruption ends,
 * and only where that caller can be interrupted; or work whose interruption is not waited for.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"

// Effect logs the cause of a fiber that ends failed (at Debug: "Fiber terminated with an unhandled
// error"), also one interrupted whose cleanup then died. A fiber of these hands its exit over as a
// value; a defect of its interruption, once nobody waits for it, is nobody's to tell, and its words
// may quote the token (an HttpClient's abort quoting the Authorization header, a limiter's lock key)
const unlogged = <A, E, R>(forking: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withUnhandledErrorLogLevel(forking, Option.none())

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
    Effect.flatMap(unlogged(Effect.forkDaemon(Effect.interruptible(Effect.exit(effect)))), (fiber) =>
      Effect.onInterrupt(Effect.flatten(restore(Fiber.join(fiber))), () => Fiber.interrupt(fiber)))
  )

/**
 * Runs `effect` on a fiber of its own and waits for it; interrupted, it interrupts that fiber and
 * returns at once, leaving it to let go in its own time (`Effect.disconnect`): a program's
 * `HttpClient` or limiter whose work cannot be interrupted, or takes long to be, holds no stop.
 *
 * @since 0.1.0
 */
export const disconnected = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatten(unlogged(Effect.disconnect(Effect.exit(effect))))
