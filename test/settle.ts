/**
 * Letting forked fibers run with no time passing: what a clock-driven test does between its steps.
 */
import * as Effect from "effect/Effect"

/** Lets the forked fibers run until they block, over `turns` turns of the scheduler. */
export const settleFor = (turns: number): Effect.Effect<void> => Effect.asVoid(Effect.repeatN(Effect.yieldNow(), turns))

/** Lets the forked fibers run until they block (50 turns of the scheduler: enough for one session). */
export const settle = settleFor(50)
