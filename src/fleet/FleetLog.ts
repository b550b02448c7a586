/**
 * The annotations of a fleet's own log lines, whichever fiber logs them.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"

/**
 * Runs `effect` with its log lines annotated as the fleet's: `component: "Fleet"`, and no `shard`.
 * A line about the shards together is often logged from the fiber of the shard that set it off, or
 * from the caller's: that shard's annotations on a line about sixteen misled.
 *
 * @since 0.1.0
 */
export const fleetWide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(effect, FiberRef.currentLogAnnotations, (annotations) =>
    HashMap.set(HashMap.remove(annotations, "shard"), "component", "Fleet"))
