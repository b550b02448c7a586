/**
 * A key's line across a used-up budget: after the refill, the shards that waited go first come,
 * first served.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { settle } from "../settle.ts"

describe("IdentifyLimiter: a key's line across the refill", () => {
  for (const onExhausted of ["fail", "wait"] as const) {
    it.effect(`the last start spent while shards wait in a key's line (${onExhausted}): after the refill they go first come, first served`, () =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.make({ onExhausted, margin: 0 })
        yield* limiter.configure({ maxConcurrency: 1, total: 10, remaining: 2, resetAfter: 60_000 })
        const order: Array<[number, number]> = []
        const identify = (shard: number) =>
          Effect.fork(limiter.identify(shard, () => Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => order.push([shard, at])))))
        yield* limiter.identify(0, () => Effect.void)
        const fibers = []
        for (const shard of [1, 2, 3, 4, 5]) {
          fibers.push(yield* identify(shard))
          yield* settle
          yield* TestClock.adjust(100)
        }
        for (let i = 0; i < 200; i++) {
          yield* TestClock.adjust("1 second")
          yield* settle
        }
        expect(order.map(([shard]) => shard)).toEqual([1, 2, 3, 4, 5])
        for (const fiber of fibers) yield* Fiber.interrupt(fiber)
      }))
  }
})
