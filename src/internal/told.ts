/**
 * How the library tells an operator: whose a line is, and how loudly a trouble that repeats is told.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"

/**
 * Runs `effect` with its log lines annotated as `component`'s, and no `shard`: a line about many
 * shards, or about the bot, is often logged from the fiber of the shard that set it off, whose
 * annotations misled.
 *
 * @since 0.1.0
 */
export const linesOf = <A, E, R>(component: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(effect, FiberRef.currentLogAnnotations, (annotations) =>
    HashMap.set(HashMap.remove(annotations, "shard"), "component", component))

/**
 * Whether the `count`-th failure in a row is told at Warning: the first, the second, the fourth,
 * the eighth... (the others at Debug), so that an outage of hours takes a dozen lines.
 *
 * @since 0.1.0
 */
export const isLoudAt = (count: number): boolean => count >= 1 && (count & (count - 1)) === 0
