/**
 * The annotations of a fleet's own log lines, whichever fiber logs them.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { linesOf } from "../internal/told.ts"

/**
 * Runs `effect` with its log lines annotated as the fleet's: `component: "Fleet"`, and no `shard`.
 * A line about the shards together is often logged from the fiber of the shard that set it off, or
 * from the caller's: that shard's annotations on a line about sixteen misled.
 *
 * @since 0.1.0
 */
export const fleetWide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => linesOf("Fleet", effect)
