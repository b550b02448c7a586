import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as MemberRequests from "../../src/session/MemberRequests.ts"

describe("MemberRequests: the members timeout", () => {
  // it counted while no connection could carry a chunk: a request sent just before an outage
  // failed 30 s later, and the answer the resume replayed was dropped
  it.effect("counts only while a connection is answered, from each answer anew; callers that give up leave nothing waiting", () =>
    Effect.gen(function*() {
      const registry = MemberRequests.make()
      const nonces = Array.from({ length: 200 }, (_, i) => `n${i}`)
      for (const nonce of nonces) yield* registry.register(nonce, "1")
      const fibers = yield* Effect.forEach(nonces, (nonce) => Effect.fork(Effect.either(registry.stalled(nonce, "30 seconds"))))
      const waiting = (from: number) => fibers.slice(from).every((fiber) => fiber.unsafePoll() === null)
      yield* TestClock.adjust("10 minutes")
      expect(waiting(0)).toBe(true)
      yield* Effect.forEach(fibers.slice(0, 100), Fiber.interrupt)
      registry.connected(true)
      yield* TestClock.adjust("29 seconds")
      expect(waiting(100)).toBe(true)
      // the connection ends at 29 s: the count stops, and starts over at the next answer
      registry.connected(false)
      yield* TestClock.adjust("5 minutes")
      expect(waiting(100)).toBe(true)
      registry.connected(true)
      yield* TestClock.adjust("29 seconds")
      expect(waiting(100)).toBe(true)
      yield* TestClock.adjust("1 second")
      const outcomes = yield* Effect.forEach(fibers.slice(100), Fiber.join)
      expect(outcomes.map((outcome) => outcome._tag === "Left" && outcome.left.reason)).toEqual(Array(100).fill("Timeout"))
    }))
})
