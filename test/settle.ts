/**
 * Letting forked fibers run with no time passing: what a clock-driven test does between its steps.
 */
import type * as Effect from "effect/Effect"
import * as VirtualTime from "../src/testing/VirtualTime.ts"

/** Lets the forked fibers run for `turns` turns of the scheduler. */
export const settleFor = (turns: number): Effect.Effect<void> => VirtualTime.settle(turns)

/** Lets the forked fibers run for 50 turns of the scheduler: enough for one session to do what a step started. */
export const settle = settleFor(50)
