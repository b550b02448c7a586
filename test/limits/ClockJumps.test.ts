/**
 * The limiters under a wall clock that NTP or an admin steps either way: their windows, spacings
 * and budgets are measured on the monotonic clock, so a step neither stalls them nor lets more
 * through than Discord allows.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as SendLimiter from "../../src/limits/SendLimiter.ts"
import { hour, withJumps } from "../clockJumps.ts"
import { settle } from "../settle.ts"

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)
type Limiter = Effect.Effect.Success<ReturnType<typeof IdentifyLimiter.make>>
/** Identifies `shard`, answered as soon as sent. */
const identifyNow = (limiter: Limiter, shard: number) => limiter.identify(shard, (answered) => answered)

describe("SendLimiter under wall-clock steps", () => {
  it.scoped("after a step back of an hour, commands at 1 per second (half the limit) keep going", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const limiter = yield* SendLimiter.make()
        yield* limiter.take("control") // a heartbeat just before the step
        yield* j.jump(-hour)
        for (let i = 0; i < 180; i++) {
          const send = yield* Effect.fork(limiter.take("command"))
          yield* settle
          expect(yield* isDone(send), `command ${i}, ${i} s after the step`).toBe(true)
          yield* j.adjust("1 second")
        }
      })
    ))

  it.scoped("a step forward of 90 s lets no more than 120 sends through in one real minute", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const limiter = yield* SendLimiter.make()
        let sent = 0
        const send = Effect.zipRight(limiter.take("command"), Effect.sync(() => { sent++ }))
        const burst = (count: number) => Effect.forEach(Array.from({ length: count }), () => send, { discard: true })
        // a bot chunking its guilds at startup fills the window at once
        yield* burst(116)
        yield* j.adjust("1 second")
        yield* j.jump(90_000) // chrony's makestep, a VM resumed: no real time passed
        const more = yield* Effect.fork(burst(116))
        yield* settle
        // Discord counts all of them in its 60 s window: over 120 is close 4008
        expect(sent).toBeLessThanOrEqual(120)
        yield* Fiber.interrupt(more)
      })
    ))
})

describe("IdentifyLimiter under wall-clock steps", () => {
  it.effect("after a step back of an hour, the key's next identify waits 5 s, not an hour", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.make()
        yield* identifyNow(limiter, 0)
        yield* j.jump(-hour)
        const next = yield* Effect.fork(identifyNow(limiter, 1))
        yield* j.adjust("5 seconds")
        expect(yield* isDone(next)).toBe(true)
      })
    ))

  it.effect("a step forward does not let two identifies of one key through within 5 s", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.make()
        yield* identifyNow(limiter, 0)
        yield* j.adjust("1 second")
        yield* j.jump(10_000)
        const next = yield* Effect.fork(identifyNow(limiter, 1))
        yield* settle
        // Discord would answer it with op 9, and count a session start all the same
        expect(yield* isDone(next)).toBe(false)
        yield* j.adjust("4 seconds")
        expect(yield* isDone(next)).toBe(true)
      })
    ))

  it.effect("a step forward does not refill a used-up budget early (identifying then would reset the token)", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.make()
        yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 0, resetAfter: 20 * 60_000 })
        yield* j.adjust("1 minute")
        yield* j.jump(30 * 60_000)
        // Discord's budget refills 19 real minutes from now
        const result = yield* Effect.either(identifyNow(limiter, 0))
        expect(Either.isLeft(result), "an identify went through with the budget at 0").toBe(true)
      })
    ))

  it.effect("after a step back of an hour, a used-up budget refills when Discord's does, not an hour later", () =>
    withJumps((j) =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.make({ onExhausted: "wait" })
        yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 0, resetAfter: 10 * 60_000 })
        const waiting = yield* Effect.fork(identifyNow(limiter, 0))
        yield* settle
        yield* j.jump(-hour)
        yield* j.adjust("10 minutes")
        yield* j.adjust("1 second")
        expect(yield* isDone(waiting), "still waiting for a budget Discord refilled").toBe(true)
      })
    ))
})
