/**
 * The daily budget under a reconnect loop (GATEWAY.md: a client "must never burn through it"): a
 * gateway that refuses every Identify, or ends every session once it is ready, all day long.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options, ready, Session, settle, TestLayer } from "./harness.ts"

const hour = 3_600_000

describe("the daily budget under a reconnect loop", () => {
  for (const [name, answer] of [["refuses every Identify with op 9 d=false", "op 9"], ["closes every session with 4009 once it is ready", "4009"]] as const) {
    it.scoped(`a gateway that ${name} all day: the session keeps trying all day, its last start an eleventh of the day before the refill, which its next identify waits for`, () =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.IdentifyLimiter
        yield* limiter.configure({ maxConcurrency: 1, total: 100, remaining: 100, resetAfter: 24 * hour })
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Session.make(options())
        const identifiedAt: Array<number> = []
        yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
          const peer = yield* gateway.accept
          const first = yield* peer.handshake(hour)
          if (first.op === 2) identifiedAt.push(yield* TestClock.currentTimeMillis)
          if (answer === "op 9") return yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
          yield* peer.sendJson(ready(1, `s${identifiedAt.length}`))
          yield* settle
          yield* peer.close(4009)
        })))
        const ended = yield* Effect.fork(session.await)
        // to five minutes before the refill
        for (let step = 0; step < 24 * 12 - 1; step++) {
          yield* TestClock.adjust("5 minutes")
          yield* settle
        }
        expect(ended.unsafePoll()).toBeNull()
        // the last tenth spread over the rest of the day, the last start spent an eleventh of it
        // before the refill, which the next identify waits for
        expect((yield* limiter.snapshot).budget!.remaining).toBe(0)
        expect(identifiedAt.length).toBe(100)
        expect(identifiedAt.at(-1)!).toBeGreaterThan(21 * hour)
        yield* TestClock.adjust("10 minutes")
        yield* settle
        // the first at the refill itself
        expect(identifiedAt[100]).toBeCloseTo(24 * hour, 0)
        yield* Fiber.interrupt(ended)
      }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)), 60_000)
  }
})
