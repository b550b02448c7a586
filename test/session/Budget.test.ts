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
  // a gateway that answers every Identify, or ends every session once it is ready, so: `answer`
  const loop = (answer: "op 9" | "4009", identifiedAt: Array<number>) =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const peer = yield* gateway.accept
        const first = yield* peer.handshake(hour)
        if (first.op === 2) identifiedAt.push(yield* TestClock.currentTimeMillis)
        if (answer === "op 9") return yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
        yield* peer.sendJson(ready(1, `s${identifiedAt.length}`))
        yield* settle
        yield* peer.close(4009)
      })))
    })

  // The backoff alone (at most a minute) let such a gateway have one start a minute all day: one
  // shard of a fleet spent 966 of the bot's 1000 in 20 hours, and its healthy shards then waited for
  // the limiter's last tenth (chaos3). After three in a row the session holds back, 2, 4, 8 minutes...
  // up to an hour. A close with 4009 once each session is ready was not held back: a start a
  // backoff apart, the day's budget left to the limiter's spread (protofuzz1).
  for (const [answer, what] of [["op 9", "refuses every Identify with op 9 d=false"], ["4009", "closes every session with 4009 once it is ready"]] as const) {
    it.scoped(`a gateway that ${what} all day: the session keeps trying all day, held back to about forty starts, and spares the budget`, () =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.IdentifyLimiter
        yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1000, resetAfter: 24 * hour })
        const session = yield* Session.make(options())
        const identifiedAt: Array<number> = []
        yield* loop(answer, identifiedAt)
        const ended = yield* Effect.fork(session.await)
        for (let step = 0; step < 24 * 12 - 1; step++) {
          yield* TestClock.adjust("5 minutes")
          yield* settle
        }
        expect(ended.unsafePoll()).toBeNull()
        expect(identifiedAt.length).toBeGreaterThan(30)
        expect(identifiedAt.length).toBeLessThan(50)
        expect((yield* limiter.snapshot).budget!.remaining).toBeGreaterThan(950)
        // still trying in the last hours, about an hour apart
        expect(identifiedAt.at(-1)!).toBeGreaterThan(22 * hour)
        const gaps = identifiedAt.slice(1).map((at, i) => at - identifiedAt[i]!)
        expect(Math.min(...gaps.slice(-5))).toBeGreaterThan(hour / 2)
        yield* Fiber.interrupt(ended)
      }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)), 60_000)
  }
})
