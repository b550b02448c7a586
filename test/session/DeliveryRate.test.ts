import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as DeliveryRate from "../../src/session/DeliveryRate.ts"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import { settle } from "../settle.ts"

describe("DeliveryRate", () => {
  it.effect("counts what went in at once as it is settled or an event begins to wait, and one that waited as it goes in", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const buffer = yield* EventBuffer.make<number, never>(2)
      const delivery = DeliveryRate.make(buffer.sink, clock)
      expect(delivery.sink.unsafeOffer(1)).toBe(true)
      expect(delivery.sink.unsafeOffer(2)).toBe(true)
      // full: refused, and not counted
      expect(delivery.sink.unsafeOffer(3)).toBe(false)
      let inAt: number | undefined
      const waiting = yield* Effect.fork(delivery.sink.offer(3, () => inAt = clock.unsafeCurrentTimeMillis()))
      yield* settle
      yield* TestClock.adjust("1 second")
      // the two before it were told as it began to wait, in the second just complete
      expect(delivery.perSecond()).toBe(2)
      // the program takes: it goes in now, in the second after
      expect(yield* Stream.runCollect(Stream.take(buffer.stream, 2)).pipe(Effect.map((chunk) => [...chunk]))).toEqual([1, 2])
      yield* Fiber.join(waiting)
      expect(inAt).toBe(1_000)
      yield* TestClock.adjust("1 second")
      expect(delivery.perSecond()).toBe(1.5)
      // settled with nothing new: no change
      delivery.settle()
      expect(delivery.perSecond()).toBe(1.5)
    }))
})
