/**
 * The identify limiter's key spacing under random identifies, answers, interruptions and new max
 * concurrencies: no two identifies of one key closer than the spacing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { settle } from "../settle.ts"

const lcg = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

interface Sent { shard: number; mc: number; epoch: number; start: number; end?: number; answer?: number }

const run = (seed: number) =>
  Effect.gen(function*() {
    const rnd = lcg(seed)
    const limiter = yield* IdentifyLimiter.make()
    let mc = 1 + Math.floor(rnd() * 4)
    let epoch = 0
    yield* limiter.configure({ maxConcurrency: mc, total: 1_000_000, remaining: 1_000_000, resetAfter: 86_400_000 })
    const sends: Array<Sent> = []
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    const now = Clock.currentTimeMillis
    for (let step = 0; step < 120; step++) {
      const r = rnd()
      if (r < 0.5) {
        const shard = Math.floor(rnd() * 8)
        const sendMs = Math.floor(rnd() * 4) * 100
        const answerMs = rnd() < 0.3 ? undefined : Math.floor(rnd() * 7) * 100
        const hangMs = Math.floor(rnd() * 3) * 3000
        fibers.push(yield* Effect.fork(limiter.identify(shard, (answered) =>
          Effect.gen(function*() {
            const record: Sent = { shard, mc, epoch, start: yield* now }
            sends.push(record)
            if (answerMs !== undefined) {
              yield* Effect.forkDaemon(Effect.zipRight(Effect.sleep(answerMs), (Effect.flatMap(now, (at) => Effect.zipRight(Effect.sync(() => { record.answer = at }), answered)))))
            }
            yield* Effect.ensuring(Effect.sleep(sendMs), Effect.flatMap(now, (at) => Effect.sync(() => { record.end = at })))
          })).pipe(Effect.zipRight(Effect.sleep(hangMs)))))
      } else if (r < 0.6 && fibers.length > 0) {
        const fiber = fibers[Math.floor(rnd() * fibers.length)]!
        yield* Fiber.interruptFork(fiber)
      } else if (r < 0.65) {
        const next = 1 + Math.floor(rnd() * 4)
        if (next !== mc) epoch++
        mc = next
        yield* limiter.configure({ maxConcurrency: mc, total: 1_000_000, remaining: 1_000_000, resetAfter: 86_400_000 })
      }
      yield* settle
      yield* TestClock.adjust(Math.floor(rnd() * 20) * 100)
      yield* settle
    }
    for (let i = 0; i < 200; i++) {
      yield* TestClock.adjust(1000)
      yield* settle
    }
    for (const fiber of fibers) yield* Fiber.interrupt(fiber)
    const problems: Array<string> = []
    for (let j = 0; j < sends.length; j++) {
      for (let i = 0; i < j; i++) {
        const a = sends[i]!, b = sends[j]!
        const seen = Math.min(a.answer ?? Infinity, (a.end ?? b.start) + 200)
        const sameKey = a.epoch === b.epoch ? a.shard % b.mc === b.shard % b.mc : true
        if (sameKey && b.start - seen < 5000 - 1e-6) problems.push(`seed ${seed}: shard ${a.shard} (mc ${a.mc}) sent ${a.start}-${a.end} answered ${a.answer}, shard ${b.shard} (mc ${b.mc}) at ${b.start}`)
      }
    }
    return problems
  })

describe("IdentifyLimiter: the key spacing under random traffic", () => {
  it.effect("no two identifies of one key closer than the spacing, with answers, interruptions and new max concurrencies", () =>
    Effect.gen(function*() {
      const problems: Array<string> = []
      for (let seed = 1; seed <= 3; seed++) problems.push(...(yield* run(seed)))
      expect(problems.slice(0, 5)).toEqual([])
    }), 60_000)
})
