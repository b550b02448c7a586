import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { annotated, captured } from "../logLines.ts"
import { settle } from "../settle.ts"

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)
const day = 24 * 60 * 60 * 1000
const limits = (overrides: Partial<IdentifyLimiter.SessionStartLimit> = {}): IdentifyLimiter.SessionStartLimit => ({
  maxConcurrency: 16,
  total: 1000,
  remaining: 1000,
  resetAfter: day,
  ...overrides
})

/**
 * `test` with the live Clock's limit on a sleep: one longer than a Node timer waits (2^31 - 1 ms)
 * never ends.
 */
const timerClock = (test: TestClock.TestClock): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => test.unsafeCurrentTimeMillis(),
  currentTimeMillis: test.currentTimeMillis,
  unsafeCurrentTimeNanos: () => test.unsafeCurrentTimeNanos(),
  currentTimeNanos: test.currentTimeNanos,
  sleep: (duration) => Duration.toMillis(duration) > 2 ** 31 - 1 ? Effect.never : test.sleep(duration)
})

/** The limiter's service, as `make` builds it. */
type Limiter = Effect.Effect.Success<ReturnType<typeof IdentifyLimiter.make>>

/** Identifies each shard concurrently and returns the time each one got its turn. */
const identifyAll = (limiter: Limiter, shards: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const times = new Map<number, number>()
    const fiber = yield* Effect.fork(Effect.forEach(shards, (shard) =>
      Effect.zipRight(limiter.identify(shard, () => Effect.void), Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => times.set(shard, at)))), { concurrency: "unbounded", discard: true }))
    return { times, fiber }
  })

/** Identifies `shardId` with an instant send, and returns the `answered` the limiter gave it. */
const identifyUnanswered = (limiter: Limiter, shardId: number) =>
  limiter.identify(shardId, (answered) => Effect.succeed(answered))

/** When the key of shard 0 may identify next, in the TestClock's ms. */
const nextFreeAt = (limiter: Limiter) =>
  Effect.zipWith(limiter.snapshot, Clock.currentTimeMillis, (snapshot, now) => now + snapshot.keys[0]!.nextFreeIn)

describe("IdentifyLimiter", () => {
  it.effect("options it cannot use die at once, saying which: a negative or NaN spacing was taken as none, one over 24 days never ended", () =>
    Effect.gen(function*() {
      const died = (options: IdentifyLimiter.IdentifyLimiterOptions) =>
        Effect.map(Effect.exit(IdentifyLimiter.make(options)), (exit) =>
          Exit.isFailure(exit) ? Cause.pretty(exit.cause).split("\n")[0] : "built")
      const finite = "must be a non-negative, finite duration of at most 24 days (a longer wait would never end)"
      expect(yield* died({ spacing: -5000 })).toBe(`RuntimeException: invalid IdentifyLimiter options: spacing ${finite}`)
      expect(yield* died({ spacing: NaN, margin: Infinity, onExhausted: "retry" as never })).toBe(
        `RuntimeException: invalid IdentifyLimiter options: spacing ${finite}; margin ${finite}; onExhausted must be "fail" or "wait"`
      )
      // past Node's longest timer, a key's next identify never went (it was built)
      expect(yield* died({ spacing: "30 days" })).toBe(`RuntimeException: invalid IdentifyLimiter options: spacing ${finite}`)
      expect(yield* died({ spacing: "24 days", margin: "1 day" })).toBe(
        "RuntimeException: invalid IdentifyLimiter options: spacing and margin together must be at most 24 days"
      )
      expect(yield* died({ spacing: "23 days", margin: "1 day" })).toBe("built")
      expect(yield* died({ spacing: "50 millis", margin: 0, onExhausted: "wait" })).toBe("built")
      // from plain JavaScript: a misspelt option kept its default, and "false" or 0 was taken as true
      expect(yield* died({ spaceing: "50 millis", onExhaused: "wait" } as IdentifyLimiter.IdentifyLimiterOptions)).toBe(
        "RuntimeException: invalid IdentifyLimiter options: unknown options spaceing, onExhaused (misspelt?)"
      )
      for (const spreadLowBudget of ["false", 0]) {
        expect(yield* died({ spreadLowBudget } as unknown as IdentifyLimiter.IdentifyLimiterOptions)).toBe(
          `RuntimeException: invalid IdentifyLimiter options: spreadLowBudget must be true or false, got a ${typeof spreadLowBudget}`
        )
      }
      expect(yield* died({ spreadLowBudget: false, spacing: undefined })).toBe("built")
      // from plain JavaScript, `null` died with a bare TypeError reading its spacing
      for (const [options, kind] of [[null, "null"], ["fast", "a string"], [new Map([["spacing", 0]]), "a Map"]] as const) {
        expect(yield* died(options as unknown as IdentifyLimiter.IdentifyLimiterOptions)).toBe(
          `RuntimeException: invalid IdentifyLimiter options: options must be an object, got ${kind}`
        )
      }
    }))

  it.effect("limits that are not counts die at configure, saying which: a NaN max_concurrency hung every identify, a NaN remaining lifted the budget", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      const configured = (limit: Partial<IdentifyLimiter.SessionStartLimit>) =>
        Effect.map(Effect.exit(limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1000, resetAfter: 60_000, ...limit })), (exit) =>
          Exit.isFailure(exit) ? Cause.pretty(exit.cause).split("\n")[0] : "configured")
      expect(yield* configured({ maxConcurrency: Number(undefined) })).toBe(
        "RuntimeException: invalid IdentifyLimiter limits: maxConcurrency must be a whole number from 1 to 65535, got NaN"
      )
      expect(yield* configured({ maxConcurrency: 0, remaining: Number.parseInt("unset"), resetAfter: Infinity })).toBe(
        "RuntimeException: invalid IdentifyLimiter limits: maxConcurrency must be a whole number from 1 to 65535, got 0; remaining must be a finite number of at least 0, got NaN; resetAfter must be a finite number of at least 0, got Infinity"
      )
      expect(yield* configured({ total: -1 })).toBe("RuntimeException: invalid IdentifyLimiter limits: total must be a finite number of at least 0, got -1")
      expect(yield* configured({ countedBefore: Number.NaN })).toBe(
        "RuntimeException: invalid IdentifyLimiter limits: countedBefore must be a whole number of at least 0, got NaN"
      )
      // 2^32 buckets killed the first snapshot with V8's "Invalid array length"
      expect(yield* configured({ maxConcurrency: 2 ** 32 })).toBe(
        "RuntimeException: invalid IdentifyLimiter limits: maxConcurrency must be a whole number from 1 to 65535, got 4294967296"
      )
      // refused, they changed nothing
      expect((yield* limiter.snapshot).budget).toBeUndefined()
      expect(yield* configured({ maxConcurrency: 65_535 })).toBe("configured")
      expect((yield* limiter.snapshot).maxConcurrency).toBe(65_535)
      expect(yield* configured({ maxConcurrency: 16 })).toBe("configured")
      expect((yield* limiter.snapshot).maxConcurrency).toBe(16)
    }))

  it.effect("starts counted since countedBefore are taken off an answer's remaining, never more than it has; the count goes on before the budget is known", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      expect((yield* limiter.snapshot).counted).toBe(0)
      // unknown budget: counted all the same, for an answer asked for before
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust("6 seconds")
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1000, resetAfter: 60_000, countedBefore: 0 })
      expect((yield* limiter.snapshot).budget?.remaining).toBe(999)
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust("6 seconds")
      yield* limiter.identify(0, () => Effect.void)
      // the last, sent just now and unanswered, counted once Discord has surely seen it: at the
      // end of the margin (an answer asked for now may leave it out)
      expect((yield* limiter.snapshot).counted).toBe(2)
      yield* TestClock.adjust("200 millis")
      expect((yield* limiter.snapshot).counted).toBe(3)
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1, resetAfter: 60_000, countedBefore: 1 })
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      // a mark from later than the count (another limiter's) takes nothing off
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 5, resetAfter: 60_000, countedBefore: 7 })
      expect((yield* limiter.snapshot).budget?.remaining).toBe(5)
    }))

  // a refreshed answer asked for 10 ms after an Identify still unanswered gave its start back: the
  // count it was asked against took that start as seen by Discord, and another shard identified
  // past the budget
  it.effect("an answer asked for 10 ms after an Identify still unanswered does not give its start back; an answered one counts at once", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ spreadLowBudget: false })
      yield* limiter.configure({ maxConcurrency: 2, total: 1000, remaining: 1, resetAfter: 3_600_000 })
      // shard 0 spends the last start; its READY is 500 ms away
      yield* limiter.identify(0, () => Effect.void)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      // another session's cache asks GET /gateway/bot 10 ms later, answered 50 ms after that,
      // before the gateway counted shard 0's Identify: remaining 1
      yield* TestClock.adjust(10)
      const countedBefore = (yield* limiter.snapshot).counted
      yield* TestClock.adjust(50)
      yield* limiter.configure({ maxConcurrency: 2, total: 1000, remaining: 1, resetAfter: 3_600_000 - 60, countedBefore })
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      expect(Either.isLeft(yield* Effect.either(limiter.identify(1, () => Effect.void)))).toBe(true)
      // answered as it is sent, a start is seen at once
      const other = yield* IdentifyLimiter.make()
      yield* other.identify(0, (answered) => answered)
      expect((yield* other.snapshot).counted).toBe(1)
    }))

  it.effect("with no answer, counts the spacing from the end of the send plus a 200 ms margin by default", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      const sentAt: Array<number> = []
      const slowSend = Effect.zipRight(Effect.sleep("300 millis"), Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => sentAt.push(at))))
      const first = yield* Effect.fork(limiter.identify(0, () => slowSend))
      const second = yield* Effect.fork(limiter.identify(0, () => slowSend))
      yield* TestClock.adjust("300 millis")
      yield* Fiber.join(first)
      // the second turn comes 5 s + 200 ms after the first send ended, at 5500; its send ends at 5800
      yield* TestClock.adjust("5499 millis")
      expect(yield* isDone(second)).toBe(false)
      yield* TestClock.adjust("301 millis")
      yield* Fiber.join(second)
      expect(sentAt).toEqual([300, 5800])
    }))

  it.effect("an answer within the margin starts the spacing: the next identify waits 5 s from it", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      const answered = yield* identifyUnanswered(limiter, 0)
      const second = yield* Effect.fork(limiter.identify(0, () => Effect.void))
      yield* settle
      expect(yield* nextFreeAt(limiter)).toBe(5200)
      yield* TestClock.adjust("80 millis")
      yield* answered
      // answered twice, the first answer counts
      yield* TestClock.adjust("10 millis")
      yield* answered
      expect(yield* nextFreeAt(limiter)).toBe(5080)
      yield* TestClock.adjust("4989 millis")
      expect(yield* isDone(second)).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* isDone(second)).toBe(true)
    }))

  it.effect("an answer that comes while the send is still running counts from when it came", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      yield* Effect.fork(limiter.identify(0, (answered) =>
        Effect.zipRight(Effect.sleep("30 millis"), Effect.zipRight(answered, Effect.sleep("300 millis")))))
      yield* settle
      yield* TestClock.adjust("330 millis")
      expect(yield* nextFreeAt(limiter)).toBe(5030)
    }))

  it.effect("an answer after the margin changes nothing", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      const answered = yield* identifyUnanswered(limiter, 0)
      yield* TestClock.adjust("300 millis")
      yield* answered
      expect(yield* nextFreeAt(limiter)).toBe(5200)
    }))

  it.effect("an earlier identify's answer, coming after the next identify of its key, says nothing of that one", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      const first = yield* identifyUnanswered(limiter, 0)
      yield* TestClock.adjust("5200 millis")
      const second = yield* identifyUnanswered(limiter, 0)
      yield* TestClock.adjust("50 millis")
      yield* first
      expect(yield* nextFreeAt(limiter)).toBe(5200 + 5200)
      yield* second
      expect(yield* nextFreeAt(limiter)).toBe(5200 + 5050)
    }))

  it.effect("starts keys together: 32 shards at max_concurrency 16 go at 0 s and exactly 5 s", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(limits())
      const { fiber, times } = yield* identifyAll(limiter, Array.from({ length: 32 }, (_, shard) => shard))
      yield* settle
      expect([...times.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, shard) => shard))
      yield* TestClock.adjust("4999 millis")
      expect(times.size).toBe(16)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      for (let shard = 0; shard < 32; shard++) expect(times.get(shard)).toBe(shard < 16 ? 0 : 5000)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(1000 - 32)
    }))

  it.effect("serves the waiters of one key first come, first served, 5 s apart", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(limits({ maxConcurrency: 2 }))
      const { fiber, times } = yield* identifyAll(limiter, [6, 0, 4, 2, 1])
      yield* TestClock.adjust("15 seconds")
      yield* Fiber.join(fiber)
      expect(Object.fromEntries(times)).toEqual({ 6: 0, 0: 5000, 4: 10000, 2: 15000, 1: 0 })
    }))

  it.effect("a new max_concurrency starts its keys where the old ones left off: no key identifies early", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(limits({ maxConcurrency: 1 }))
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust("2 seconds")
      // more keys now: each begins as if it had identified when shard 0 did, 2 s ago
      yield* limiter.configure(limits({ maxConcurrency: 2 }))
      const { fiber, times } = yield* identifyAll(limiter, [1, 2, 3])
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(Object.fromEntries(times)).toEqual({ 1: 5000, 2: 5000, 3: 10000 })
    }))

  it.effect("identifies waiting when max_concurrency changes line up again with the new keys", () =>
    Effect.gen(function*() {
      for (const [from, to, shards] of [[1, 2, [1, 3]], [2, 1, [2, 5]]] as const) {
        const start = yield* Clock.currentTimeMillis
        const limiter = yield* IdentifyLimiter.make({ margin: 0 })
        yield* limiter.configure(limits({ maxConcurrency: from }))
        yield* Effect.forEach(Array.from({ length: from }, (_, shard) => shard), (shard) => limiter.identify(shard, () => Effect.void))
        // waits on its old key for 5 s
        const first = yield* identifyAll(limiter, [shards[0]])
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* limiter.configure(limits({ maxConcurrency: to }))
        // of the same new key as the one waiting: the two go 5 s apart (in either order), not together
        const second = yield* identifyAll(limiter, [shards[1]])
        yield* TestClock.adjust("20 seconds")
        yield* Fiber.join(first.fiber)
        yield* Fiber.join(second.fiber)
        const times = [first.times.get(shards[0])!, second.times.get(shards[1])!].map((at) => at - start)
        expect(times.sort((a, b) => a - b)).toEqual([5000, 10_000])
      }
    }))

  it.effect("identifies waiting when max_concurrency changes line up again at once: the snapshot shows them, and they go before later ones", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(limits({ maxConcurrency: 1 }))
      yield* limiter.identify(0, () => Effect.void)
      // waits on key 0 for 5 s
      const first = yield* identifyAll(limiter, [1])
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* limiter.configure(limits({ maxConcurrency: 2 }))
      yield* settle
      expect((yield* limiter.snapshot).keys.map((key) => key.queued)).toEqual([0, 1])
      // of the same new key, asked for after the change
      const second = yield* identifyAll(limiter, [3])
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(first.fiber)
      yield* Fiber.join(second.fiber)
      expect([first.times.get(1)! - start, second.times.get(3)! - start]).toEqual([5000, 10_000])
    }))

  // In line behind an identify still being sent, they waited in the old key's line until that
  // send ended: hidden from the snapshot, and a later identify of their new key went first.
  it.effect("identifies in line behind one still being sent when max_concurrency changes line up again at once, before later ones", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(limits({ maxConcurrency: 1 }))
      const times = new Map<number, number>()
      // shard 0's Identify takes 3 s to go out; shard 1 waits in line behind it
      const sending = yield* Effect.fork(limiter.identify(0, () => Effect.sleep("3 seconds")))
      yield* settle
      const waiting = yield* identifyAll(limiter, [1])
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* limiter.configure(limits({ maxConcurrency: 2 }))
      yield* settle
      expect((yield* limiter.snapshot).keys.map((key) => key.queued)).toEqual([0, 1])
      const later = yield* identifyAll(limiter, [3])
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(sending)
      yield* Fiber.join(waiting.fiber)
      yield* Fiber.join(later.fiber)
      for (const [shard, at] of [...waiting.times, ...later.times]) times.set(shard, at - start)
      // shard 0's send ended at 3 s: Discord counts it there
      expect([times.get(1), times.get(3)]).toEqual([8000, 13_000])
    }))

  it.effect("onExhausted fail: an identify in line behind one still being sent fails as the last start is spent, not once that send ends", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const limiter = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* limiter.configure(limits({ maxConcurrency: 2, remaining: 2 }))
      const sending = yield* Effect.fork(limiter.identify(0, () => Effect.sleep("3 seconds")))
      yield* settle
      // shard 2 waits in line for key 0 behind shard 0's send
      const waiting = yield* Effect.fork(Effect.zip(Effect.flip(limiter.identify(2, () => Effect.void)), Clock.currentTimeMillis))
      yield* settle
      yield* TestClock.adjust("100 millis")
      // shard 1 spends the last start, on key 1
      yield* limiter.identify(1, () => Effect.void)
      yield* settle
      const [error, failedAt] = yield* Fiber.join(waiting)
      expect([error._tag, failedAt - start]).toEqual(["IdentifyBudgetExhausted", 100])
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(sending)
    }))

  it.effect("an identify of an old key still sending when max_concurrency changes holds every new key back, whatever its send lasts", () =>
    Effect.gen(function*() {
      // a send longer than the spacing let the new keys go 5 s after its turn, before it went out
      for (const sendFor of [1000, 6000]) {
        const start = yield* Clock.currentTimeMillis
        const limiter = yield* IdentifyLimiter.make({ margin: 0 })
        yield* limiter.configure(limits({ maxConcurrency: 1 }))
        const sending = yield* Effect.fork(limiter.identify(0, () => Effect.sleep(sendFor)))
        yield* settle
        yield* limiter.configure(limits({ maxConcurrency: 2 }))
        const { fiber, times } = yield* identifyAll(limiter, [1, 2])
        yield* TestClock.adjust("20 seconds")
        yield* Fiber.join(sending)
        yield* Fiber.join(fiber)
        // its send ended at `sendFor`: Discord counts it there, whichever new key it falls in
        expect([times.get(1)! - start, times.get(2)! - start]).toEqual([sendFor + 5000, sendFor + 5000])
      }
    }))

  it.effect("before configure: one key, no budget, spacing kept across later re-identifies", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.identify(3, () => Effect.void)
      expect((yield* limiter.snapshot).budget).toBeUndefined()
      yield* TestClock.adjust("3 seconds")
      const again = yield* Effect.fork(limiter.identify(7, () => Effect.void))
      yield* settle
      expect(yield* isDone(again)).toBe(false)
      // 3 s after the first identify, the key is free in 2 s
      expect((yield* limiter.snapshot).keys).toEqual([{ key: 0, nextFreeIn: 2000, queued: 1 }])
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(again)
      yield* TestClock.adjust("1 hour")
      yield* limiter.identify(1, () => Effect.void)
      expect((yield* limiter.snapshot).keys[0]?.nextFreeIn).toBe(5000)
    }))

  it.effect("while an identify is being sent, its key is free no sooner than margin and spacing from now", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      // the Identify waits 3 s for its socket's send slot
      yield* Effect.fork(limiter.identify(0, () => Effect.sleep("3 seconds")))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      expect((yield* limiter.snapshot).keys).toEqual([{ key: 0, nextFreeIn: 5200, queued: 1 }])
      // sent at 3 s: free at 3 s + 200 ms + 5 s
      yield* TestClock.adjust("1 second")
      expect((yield* limiter.snapshot).keys).toEqual([{ key: 0, nextFreeIn: 5200, queued: 0 }])
      yield* TestClock.adjust("5 seconds")
      expect((yield* limiter.snapshot).keys).toEqual([{ key: 0, nextFreeIn: 200, queued: 0 }])
    }))

  // the new keys counted from the old identify's turn: free in 3 s, where the next went at 8.2 s
  it.effect("while an identify of a key a new max_concurrency retired is being sent, every key is free no sooner than margin and spacing from now", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure(limits({ maxConcurrency: 1 }))
      yield* Effect.fork(limiter.identify(0, () => Effect.sleep("3 seconds")))
      yield* settle
      yield* limiter.configure(limits({ maxConcurrency: 2 }))
      yield* TestClock.adjust("2 seconds")
      expect((yield* limiter.snapshot).keys.map((key) => key.nextFreeIn)).toEqual([5200, 5200])
      const next = yield* Effect.fork(Effect.zipRight(limiter.identify(1, () => Effect.void), Clock.currentTimeMillis))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(next)).toBe(8200)
    }))

  it.effect("fails with IdentifyBudgetExhausted at 0 and refills when resetAfter elapses", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* limiter.configure(limits({ total: 1000, remaining: 2, resetAfter: 60_000 }))
      yield* limiter.identify(0, () => Effect.void)
      yield* limiter.identify(1, () => Effect.void)
      const refused = yield* Effect.either(limiter.identify(2, () => Effect.void))
      expect(Either.isLeft(refused)).toBe(true)
      if (Either.isLeft(refused)) {
        expect(refused.left._tag).toBe("IdentifyBudgetExhausted")
        expect([refused.left.shard, refused.left.resetAfter]).toEqual([2, 60_000])
        expect(refused.left.message).toMatch(/^shard 2: identify budget exhausted: all 1000 session starts/)
      }
      yield* TestClock.adjust("60 seconds")
      yield* limiter.identify(2, () => Effect.void)
      const budget = (yield* limiter.snapshot).budget
      expect(budget).toEqual({ total: 1000, remaining: 999, resetAfter: day })
    }))

  it.effect("identifies waiting in line when another key spends the last session start fail at once, not when their spacing ends", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* limiter.configure(limits({ maxConcurrency: 2, remaining: 2, resetAfter: 60_000 }))
      yield* limiter.identify(0, () => Effect.void)
      // key 0 is spaced for 5 s: shard 2 waits for the spacing, shard 4 for shard 2
      const spaced = yield* Effect.fork(Effect.either(limiter.identify(2, () => Effect.void)))
      const behind = yield* Effect.fork(Effect.either(limiter.identify(4, () => Effect.void)))
      yield* settle
      // key 1 spends the last start
      yield* limiter.identify(1, () => Effect.void)
      yield* settle
      for (const [fiber, shard] of [[spaced, 2], [behind, 4]] as const) {
        const result = yield* Fiber.poll(fiber)
        expect(Option.isSome(result)).toBe(true)
        if (Option.isSome(result)) {
          expect(Exit.isSuccess(result.value) && Either.isLeft(result.value.value) ? result.value.value.left : undefined)
            .toMatchObject({ _tag: "IdentifyBudgetExhausted", shard, resetAfter: 60_000 })
        }
      }
      expect((yield* limiter.snapshot).keys.map((key) => key.queued)).toEqual([0, 0])
    }))

  it.effect("budgetReady takes no session start: done while one is left, else it fails (fail) or waits for the refill or a refreshed answer with room (wait)", () =>
    Effect.gen(function*() {
      const failing = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* failing.configure(limits({ remaining: 1, resetAfter: 60_000 }))
      yield* failing.budgetReady!(0)
      yield* failing.budgetReady!(0)
      expect((yield* failing.snapshot).budget?.remaining).toBe(1)
      yield* failing.identify(0, () => Effect.void)
      expect(yield* Effect.flip(failing.budgetReady!(3))).toMatchObject({ _tag: "IdentifyBudgetExhausted", shard: 3, resetAfter: 60_000 })

      const waiting = yield* IdentifyLimiter.make({ margin: 0, onExhausted: "wait" })
      yield* waiting.configure(limits({ remaining: 0, resetAfter: 60_000 }))
      const byRefill = yield* Effect.fork(waiting.budgetReady!(0))
      yield* TestClock.adjust("59999 millis")
      expect(yield* isDone(byRefill)).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(byRefill)
      yield* waiting.configure(limits({ remaining: 0, resetAfter: 60_000 }))
      const byAnswer = yield* Effect.fork(waiting.budgetReady!(0))
      yield* settle
      yield* waiting.configure(limits({ remaining: 5, resetAfter: 60_000 }))
      yield* settle
      expect(yield* isDone(byAnswer)).toBe(true)
      expect((yield* waiting.snapshot).budget?.remaining).toBe(5)
    }))

  it.effect("an identify waiting for its key's spacing fails at once when a refreshed answer says no start is left (another process spent them)", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(limits({ maxConcurrency: 1, remaining: 5, resetAfter: 60_000 }))
      yield* limiter.identify(0, () => Effect.void)
      const waiting = yield* Effect.fork(Effect.either(limiter.identify(1, () => Effect.void)))
      yield* settle
      yield* limiter.configure(limits({ maxConcurrency: 1, remaining: 0, resetAfter: 60_000 }))
      yield* settle
      const result = yield* Fiber.poll(waiting)
      expect(Option.isSome(result) && Exit.isSuccess(result.value) && Either.isLeft(result.value.value) ? result.value.value.left._tag : "waiting")
        .toBe("IdentifyBudgetExhausted")
    }))

  it.effect("onExhausted: wait holds the identify until the budget refills", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, onExhausted: "wait" })
      yield* limiter.configure(limits({ remaining: 0, resetAfter: 30_000 }))
      const waiting = yield* Effect.fork(limiter.identify(0, () => Effect.void))
      yield* TestClock.adjust("29999 millis")
      expect(yield* isDone(waiting)).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(waiting)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(999)
    }))

  // Discord's answer says when the budget refills; one said 30 days (past what one timer waits)
  it.effect("onExhausted: wait holds the identify until a refill further than one timer waits, under a clock whose long sleeps never end (as the live one's)", () =>
    Effect.gen(function*() {
      const test = yield* TestClock.testClock()
      const month = 30 * day
      const limiter = yield* IdentifyLimiter.make({ margin: 0, onExhausted: "wait" })
      yield* limiter.configure(limits({ remaining: 0, resetAfter: month }))
      const waiting = yield* Effect.fork(Effect.withClock(limiter.identify(0, () => Effect.void), timerClock(test)))
      yield* TestClock.adjust(month - 1)
      expect(yield* isDone(waiting)).toBe(false)
      yield* TestClock.adjust(1)
      yield* Fiber.join(waiting)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(999)
    }))

  // once while it stays used up, as the bot's: each waiting shard said it at every refreshed
  // answer, annotated with its shard (a thousand shards, a thousand lines an hour)
  it.effect("onExhausted: wait says so at Warning once until the budget has starts again, as the limiter's line, whichever shards wait and however often it is configured", () =>
    Effect.gen(function*() {
      const told: Array<unknown> = []
      const logger = Logger.make(({ annotations, logLevel, message }) =>
        void told.push([logLevel.label, String(message), Object.fromEntries(HashMap.toEntries(annotations))]))
      const limiter = yield* IdentifyLimiter.make({ margin: 0, onExhausted: "wait" })
      yield* limiter.configure(limits({ remaining: 0, resetAfter: 30_000 }))
      const waiting = yield* Effect.forEach([3, 4, 5], (shard) =>
        Effect.fork(
          limiter.identify(shard, () => Effect.void).pipe(
            Effect.annotateLogs({ shard }),
            Effect.provide(Logger.replace(Logger.defaultLogger, logger))
          )
        ))
      yield* TestClock.adjust("10 seconds")
      // a refreshed answer still says none is left: the waits look again, and say nothing
      yield* limiter.configure(limits({ remaining: 0, resetAfter: 20_000 }))
      yield* TestClock.adjust("20 seconds")
      yield* Effect.forEach(waiting, Fiber.join)
      const line = ["WARN", "identify budget exhausted: identifies wait for it to refill in 30s", { component: "IdentifyLimiter", resetAfter: 30_000 }]
      expect(told).toEqual([line])
      // used up again after the refill: told again
      yield* limiter.configure(limits({ remaining: 0, resetAfter: 30_000 }))
      const again = yield* Effect.fork(limiter.identify(6, () => Effect.void).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))))
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(again)
      expect(told).toEqual([line, line])
    }))

  it.effect("onExhausted: wait lets the identify go as soon as a refreshed answer says the budget has room, not when the old count would refill", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, onExhausted: "wait" })
      yield* limiter.configure(limits({ remaining: 0, resetAfter: day }))
      const waiting = yield* Effect.fork(limiter.identify(0, () => Effect.void))
      yield* TestClock.adjust("1 hour")
      // an hourly refresh that still says none is left: it waits on
      yield* limiter.configure(limits({ remaining: 0, resetAfter: day - 3_600_000 }))
      yield* settle
      expect(yield* isDone(waiting)).toBe(false)
      yield* TestClock.adjust("1 hour")
      // Discord counted fewer: 990 left
      yield* limiter.configure(limits({ remaining: 990, resetAfter: day - 7_200_000 }))
      yield* Fiber.join(waiting)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(989)
    }))

  it.effect("a shard waiting in line for its key stops at once when interrupted, without holding up the others", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* limiter.configure(limits({ maxConcurrency: 1, remaining: 10 }))
      yield* limiter.identify(0, () => Effect.void)
      // shard 1 holds the key through its spacing; shards 2 and 3 wait in line behind it
      const holder = yield* Effect.fork(limiter.identify(1, () => Effect.void))
      const inLine = yield* Effect.fork(limiter.identify(2, () => Effect.void))
      const next = yield* Effect.fork(limiter.identify(3, () => Effect.void))
      yield* settle
      const stopping = yield* Effect.fork(Fiber.interrupt(inLine))
      yield* settle
      // no time passed: it left the line at once
      expect(yield* isDone(stopping)).toBe(true)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect(yield* isDone(holder)).toBe(true)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect(yield* isDone(next)).toBe(true)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(7)
    }))

  it.effect("an interrupted waiter frees its turn and takes nothing from the budget", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* limiter.configure(limits({ maxConcurrency: 1, remaining: 10 }))
      yield* limiter.identify(0, () => Effect.void)
      const gone = yield* Effect.fork(limiter.identify(1, () => Effect.void))
      const kept = yield* Effect.fork(limiter.identify(2, () => Effect.void))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.interrupt(gone)
      yield* TestClock.adjust("3 seconds")
      yield* settle
      expect(yield* isDone(kept)).toBe(true)
      const snapshot = yield* limiter.snapshot
      expect(snapshot.budget?.remaining).toBe(8)
      // the kept identify went at 5 s, the snapshot is taken at 5 s: free 5 s from now
      expect(snapshot.keys).toEqual([{ key: 0, nextFreeIn: 5000, queued: 0 }])
    }))

  it.effect("a turn due less than a nanosecond from now is taken, not waited for with a sleep of zero", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.identify(0, () => Effect.void)
      // 0.6 ns later the wait is 4999.9999994 ms, which Effect.sleep rounds to 4999.999999 ms:
      // when it ends, the turn is 0.4 ns away, a sleep of zero
      yield* TestClock.setTime(0.0000006)
      const second = yield* Effect.fork(limiter.identify(0, () => Effect.void))
      yield* TestClock.adjust("4999999999 nanos")
      yield* settle
      expect(yield* isDone(second)).toBe(true)
    }))

  it.effect("tells once, at Warning, that a tenth of the day's session starts is left", () =>
    Effect.gen(function*() {
      const { layer, lines } = annotated()
      const limiter = yield* IdentifyLimiter.make({ spreadLowBudget: false })
      yield* limiter.configure(limits({ maxConcurrency: 4, total: 20, remaining: 4, resetAfter: 3_600_000 }))
      // told from the fiber of the session whose identify spent the start: the bot's budget, not
      // its shard's (it carried `shard=2`)
      yield* Effect.flatMap(identifyAll(limiter, [0, 1, 2]), ({ fiber }) => Fiber.join(fiber)).pipe(
        Effect.annotateLogs({ component: "Session", shard: 2 }),
        Effect.provide(layer)
      )
      expect(lines).toEqual(["WARN identify budget low: 2 of 20 session starts left until it refills in 1h [component=IdentifyLimiter]"])
    }))

  it.effect("a budget already below a tenth when configured is told at the next identify, once, across refreshed answers", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      const limiter = yield* IdentifyLimiter.make({ spacing: "1 millis", margin: 0, spreadLowBudget: false })
      const refreshed = (remaining: number) => limits({ maxConcurrency: 1, total: 20, remaining, resetAfter: 3_600_000 })
      yield* Effect.gen(function*() {
        yield* limiter.configure(refreshed(2))
        yield* limiter.identify(0, () => Effect.void)
        yield* limiter.configure(refreshed(1))
        yield* TestClock.adjust("1 millis")
        yield* limiter.identify(0, () => Effect.void)
      }).pipe(Effect.provide(layer))
      expect(lines).toEqual(["WARN identify budget low: 1 of 20 session starts left until it refills in 1h"])
    }))
})

describe("IdentifyLimiter: the last tenth of the budget spread over the day", () => {
  // a refill 11 hours away: with 10 starts left, one an hour
  const eleventh = 60 * 60 * 1000
  const lowLimits = (remaining: number) => limits({ total: 100, remaining, resetAfter: 11 * eleventh })

  it.effect("from where the budget is low, identifies of every key go evenly spread, the refill the turn after the last start", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(lowLimits(12))
      // twelve shards of twelve keys: only the key spacing would let them all go at once
      const { fiber, times } = yield* identifyAll(limiter, Array.from({ length: 12 }, (_, shard) => shard)).pipe(Effect.provide(layer))
      for (let step = 0; step < 10; step++) {
        yield* settle
        yield* TestClock.adjust(eleventh)
      }
      yield* Fiber.join(fiber)
      // 12 -> 10 at once (10 is a tenth), then one each eleventh of the day
      expect([...times.values()].sort((a, b) => a - b).map((at) => at / eleventh)).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(lines).toEqual(["WARN identify budget low: 10 of 100 session starts left until it refills in 11h; the next identifies go at most one every 1h"])
      // spent: the next waits for the refill, its turn in the spread, rather than fail
      const next = yield* Effect.fork(limiter.identify(12, () => Effect.void))
      yield* settle
      yield* TestClock.adjust(eleventh - 1)
      yield* settle
      expect(yield* isDone(next)).toBe(false)
      yield* TestClock.adjust(1)
      yield* Fiber.join(next)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(99)
    }))

  it.effect("budgetReady waits for the spread's turn too, taking nothing; a refill lifts the spread at once", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(lowLimits(11))
      yield* limiter.identify(0, () => Effect.void)
      const ready = yield* Effect.fork(limiter.budgetReady!(1))
      yield* settle
      yield* TestClock.adjust(eleventh - 1)
      yield* settle
      expect(yield* isDone(ready)).toBe(false)
      yield* TestClock.adjust(1)
      yield* settle
      expect(yield* isDone(ready)).toBe(true)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(10)
      // its turn, which it did not take: the identify goes at once
      yield* limiter.identify(1, () => Effect.void)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(9)
      // a refreshed answer saying the budget refilled: the next goes at once
      const waiting = yield* Effect.fork(limiter.identify(2, () => Effect.void))
      yield* settle
      expect(yield* isDone(waiting)).toBe(false)
      yield* limiter.configure(limits({ total: 100, remaining: 100 }))
      yield* settle
      expect(yield* isDone(waiting)).toBe(true)
    }))

  it.effect("budgetReady gives each turn of the spread to one shard, the one that passed it: the others wait for later turns before opening a socket", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(lowLimits(11))
      yield* limiter.identify(0, () => Effect.void)
      // three shards of three keys reconnecting: each asks budgetReady, then opens its socket (200 ms to Hello)
      const readyAt = new Map<number, number>()
      const satOpen: Array<number> = []
      const reconnect = (shard: number) =>
        Effect.gen(function*() {
          yield* limiter.budgetReady!(shard)
          const opened = yield* Clock.currentTimeMillis
          readyAt.set(shard, opened)
          yield* Effect.sleep("200 millis")
          yield* limiter.identify(shard, () => Effect.void)
          satOpen.push((yield* Clock.currentTimeMillis) - opened)
        })
      const fiber = yield* Effect.fork(Effect.forEach([1, 2, 3], reconnect, { concurrency: "unbounded", discard: true }))
      for (let step = 0; step < 4; step++) {
        yield* settle
        yield* TestClock.adjust(eleventh)
      }
      yield* Fiber.join(fiber)
      // one an hour (each turn counted from the identify before, 200 ms after its budgetReady);
      // no socket sat open longer than its connection took (they sat for whole turns)
      expect([...readyAt.values()].map((at) => Math.floor(at / eleventh))).toEqual([1, 2, 3])
      expect(satOpen).toEqual([200, 200, 200])
    }))

  // a budgetReady asked later took the turn, and the identify waited for the refill, socket open
  // (also one that came to its key after the turn did: it had never waited for a turn)
  for (
    const { arrives, retired } of [
      { arrives: 0, retired: false },
      { arrives: 0, retired: true },
      { arrives: 4600, retired: false }
    ]
  ) {
    const when = retired
      ? ", also when a new max concurrency retires its key meanwhile"
      : arrives > 0
      ? ", also one arriving after the turn came"
      : ""
    it.effect(`an identify waiting for a turn with its socket open keeps it while it waits out its key's spacing${when}`, () =>
      Effect.gen(function*() {
        const limiter = yield* IdentifyLimiter.make()
        // a tenth of 10 left: the spread's turns; the next 4.5 s after shard 0's, key 0 free at 5.2 s
        yield* limiter.configure(limits({ maxConcurrency: 1, total: 10, remaining: 2, resetAfter: 9000 }))
        const order: Array<string> = []
        const told = (what: string) => Effect.map(Clock.currentTimeMillis, (at) => void order.push(`${what} at ${at}`))
        yield* limiter.identify(0, () => told("identify 0"))
        yield* TestClock.adjust(arrives)
        const socketOpen = yield* Effect.fork(limiter.identify(1, () => told("identify 1")))
        yield* settle
        yield* TestClock.adjust(100)
        const asking = yield* Effect.fork(Effect.tap(limiter.budgetReady!(2), () => told("ready 2")))
        yield* settle
        // past the turn, before key 0 is free: perhaps a refreshed answer, max concurrency 2
        yield* TestClock.adjust(Math.max(0, 4700 - arrives))
        yield* settle
        if (retired) yield* limiter.configure(limits({ maxConcurrency: 2, total: 10, remaining: 1, resetAfter: 4200 }))
        yield* settle
        yield* TestClock.adjust(4000)
        yield* settle
        expect(order).toEqual(["identify 0 at 0", "identify 1 at 5200"])
        yield* Fiber.interrupt(asking)
        yield* Fiber.join(socketOpen)
      }))
  }

  it.effect("with the budget already low when configured, one shard passes budgetReady at once, the next a turn later", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(lowLimits(3))
      const passed = yield* Effect.forEach([0, 1, 2], (shard) => Effect.fork(limiter.budgetReady!(shard)))
      yield* settle
      expect(yield* Effect.forEach(passed, isDone)).toEqual([true, false, false])
      // the first identifies, 2 left: the second's turn is a third of the 11 hours later
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust(11 * eleventh / 3)
      yield* settle
      // the first of the two waiting to ask (it was whichever woke first)
      expect(yield* Effect.forEach(passed, isDone)).toEqual([true, true, false])
    }))

  it.effect("a shard that passed budgetReady and never identified (its connection failed) holds its turn for a minute only", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(lowLimits(3))
      yield* limiter.budgetReady!(0)
      yield* TestClock.adjust("59999 millis")
      const held = yield* Effect.fork(limiter.budgetReady!(1))
      yield* settle
      expect(yield* isDone(held)).toBe(false)
      yield* Fiber.interrupt(held)
      // a minute on, its claim lapsed, and no start was counted: the next passes at once
      yield* TestClock.adjust("1 millis")
      yield* limiter.budgetReady!(2)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(3)
    }))

  it.effect("the warning says the spread's pace, to the second (the README's example)", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure(limits({ total: 1000, remaining: 101, resetAfter: (5 * 60 + 12) * 60 * 1000 }))
      yield* limiter.identify(0, () => Effect.void).pipe(Effect.provide(layer))
      expect(lines).toEqual([
        "WARN identify budget low: 100 of 1000 session starts left until it refills in 5h 12m; the next identifies go at most one every 3m 5s"
      ])
    }))

  // the turns went to whichever waiter's timer fired first (under TestClock the newest): the one
  // that had waited longest, socket open, got the last turn, hours after its own
  it.effect("identifies waiting for the spread with their socket open take its turns in the order they began to wait, whatever their key", () =>
    Effect.gen(function*() {
      const hour = 60 * 60 * 1000
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure(limits({ maxConcurrency: 4, total: 100, remaining: 5, resetAfter: 6 * hour }))
      const order: Array<[shard: number, minute: number]> = []
      const identify = (shard: number) =>
        Effect.forkDaemon(limiter.identify(shard, (answered) =>
          Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => order.push([shard, Math.round(at / 60_000)]))), answered)))
      // shard 0 at once; shards 1-3 (keys 1-3) a second apart, waiting for the spread's turns
      yield* identify(0)
      yield* settle
      for (const shard of [1, 2, 3]) {
        yield* TestClock.adjust("1 second")
        yield* identify(shard)
        yield* settle
      }
      for (let i = 0; i < 6 * 60; i++) {
        yield* TestClock.adjust("1 minute")
        yield* settle
      }
      expect(order.map(([shard]) => shard)).toEqual([0, 1, 2, 3])
      // and an identify of another key that waited first keeps its turn from a key's second one
      // coming off its spacing: shard 1 (key 1) waits from the start, shard 2 (key 0) after shard 0
      const second = yield* IdentifyLimiter.make()
      yield* second.configure(limits({ maxConcurrency: 2, total: 100, remaining: 6, resetAfter: 7 * hour }))
      const seen: Array<number> = []
      for (const shard of [0, 1, 2]) {
        yield* Effect.forkDaemon(second.identify(shard, (answered) => Effect.zipRight(Effect.sync(() => seen.push(shard)), answered)))
        yield* settle
      }
      for (let i = 0; i < 3 * 60; i++) {
        yield* TestClock.adjust("1 minute")
        yield* settle
      }
      // the first turn after shard 0's is shard 1's: it waited for it first
      expect(seen.slice(0, 2)).toEqual([0, 1])
    }))

  // shard 1 (key 1) waited first; shard 2 (key 0) behind it, or coming just as the answer did. A
  // new max concurrency of 1 retired both keys, shard 2 took the new key before shard 1 was back at
  // it and waited for shard 1 to go first, holding the key shard 1 waited for: neither ever went
  for (const variant of ["waiting before", "starting with the answer"] as const) {
    for (const onExhausted of ["fail", "wait"] as const) {
      it.effect(`the line of the spread under a new max concurrency (${variant}, ${onExhausted}): one holding the key goes before one ahead waiting for it`, () =>
        Effect.gen(function*() {
          const hour = 60 * 60 * 1000
          const limiter = yield* IdentifyLimiter.make({ onExhausted })
          yield* limiter.configure(limits({ maxConcurrency: 2, total: 100, remaining: 5, resetAfter: 6 * hour }))
          const order: Array<number> = []
          const identify = (shard: number) =>
            Effect.forkDaemon(limiter.identify(shard, (answered) => Effect.zipRight(Effect.sync(() => order.push(shard)), answered)))
          yield* identify(0)
          yield* settle
          yield* TestClock.adjust("1 second")
          yield* identify(1)
          yield* settle
          yield* TestClock.adjust("1 second")
          if (variant === "waiting before") yield* identify(2)
          yield* settle
          yield* TestClock.adjust("1 second")
          yield* limiter.configure(limits({ maxConcurrency: 1, total: 100, remaining: 4, resetAfter: 6 * hour - 3000, countedBefore: 1 }))
          if (variant === "starting with the answer") yield* identify(2)
          yield* settle
          for (let i = 0; i < 7 * 60; i++) {
            yield* TestClock.adjust("1 minute")
            yield* settle
          }
          expect([...order].sort()).toEqual([0, 1, 2])
        }))
    }
  }

  it.effect("spreadLowBudget: false spends the last tenth at the keys' pace", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0, spreadLowBudget: false })
      yield* limiter.configure(limits({ total: 100, remaining: 10 }))
      const { fiber } = yield* identifyAll(limiter, Array.from({ length: 10 }, (_, shard) => shard))
      yield* Fiber.join(fiber)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
    }))
})

/**
 * The shards `holders` reconnect while the budget is not low (budgetReady lets them through, their
 * sockets open); then a refreshed answer says 10 left and 10 hours to the refill, `claimant` claims
 * the turn due at budgetReady, and the Hellos come: `before`'s (shards waiting for the next turn),
 * the holders', then the claimant's. Returns when each identified, 40 s on.
 */
const claimedTurn = (run: {
  readonly maxConcurrency: number
  readonly holders: ReadonlyArray<number>
  readonly claimant: number
  readonly before?: ReadonlyArray<number>
}) =>
  Effect.gen(function*() {
    const hour = 60 * 60 * 1000
    const limits = (remaining: number, resetAfter: number): IdentifyLimiter.SessionStartLimit => ({ maxConcurrency: run.maxConcurrency, total: 100, remaining, resetAfter })
    const limiter = yield* IdentifyLimiter.make()
    yield* limiter.configure(limits(20, 11 * hour))
    yield* limiter.identify(0, () => Effect.void)
    const at = new Map<number, number>()
    const identify = (shard: number) =>
      Effect.fork(limiter.identify(shard, () => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => at.set(shard, now)))))
    yield* TestClock.adjust(hour)
    for (const shard of run.holders) yield* limiter.budgetReady!(shard)
    yield* TestClock.adjust(100)
    yield* limiter.configure(limits(10, 10 * hour))
    yield* TestClock.adjust(50)
    yield* limiter.budgetReady!(run.claimant)
    yield* TestClock.adjust(150)
    for (const shard of [...(run.before ?? []), ...run.holders, run.claimant]) {
      yield* identify(shard)
      yield* settle
      yield* TestClock.adjust(10)
    }
    for (let i = 0; i < 40; i++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
    return at
  })

// A shard passed budgetReady before the budget turned low and connected; its key-mate then took the
// spread's turn at budgetReady. Holding the key, the first waited for the turn after the claimed
// one, and the claimant waited for the key behind it: none went until the claim lapsed a minute
// on, and the claimant's socket then sat open for the next turn, an hour. Once it went on the
// claimed turn, the claim still stood: each shard of the key getting the key in turn went on it,
// 5 s apart, the spread's hour ignored
describe("IdentifyLimiter: a claimed turn and key-mates holding the key", () => {
  it.effect("one holder: both go a key's spacing apart, at the turn", () =>
    Effect.gen(function*() {
      const at = yield* claimedTurn({ maxConcurrency: 1, holders: [2], claimant: 1 })
      expect([...at.keys()].sort()).toEqual([1, 2])
      // a key's spacing, counted from the margin's end (no answer came)
      expect(at.get(1)! - at.get(2)!).toBe(5_200)
    }))

  // the borrower waited behind a shard of another key waiting for the next turn (the claimant
  // would not), the claimant for the key behind it, and the claim lapsed: the other key's shard
  // took the claimed turn, the claimant's socket open for hours
  it.effect("a holder takes the claimed turn though a shard of another key waits for the next turn", () =>
    Effect.gen(function*() {
      // shard 1 (key 1) waits for the next turn, socket open; shard 2 holds key 0, shard 4 claims
      const at = yield* claimedTurn({ maxConcurrency: 2, holders: [2], claimant: 4, before: [1] })
      expect([...at.keys()].sort()).toEqual([2, 4])
    }))

  it.effect("three holders before the claimant: the claim lends its turn once, not to all three", () =>
    Effect.gen(function*() {
      const at = yield* claimedTurn({ maxConcurrency: 1, holders: [2, 3, 4], claimant: 1 })
      // the next turn of the spread is some 55 minutes away: the claimed turn's two at most (the
      // first holder, on the loan; the claimant, behind the other holders, waits)
      expect(at.has(2)).toBe(true)
      expect(at.size).toBeLessThanOrEqual(2)
    }))

  // the holder spent the last start on the claimed turn: the claimant is one the last start left
  // out, and waits for the refill, the spread's next turn (with `fail` it failed, as if another
  // process had spent the budget)
  it.effect("the holder spends the last start on the claimed turn: the claimant waits for the refill", () =>
    Effect.gen(function*() {
      const hour = 60 * 60 * 1000
      const limits = (remaining: number, resetAfter: number): IdentifyLimiter.SessionStartLimit => ({ maxConcurrency: 1, total: 100, remaining, resetAfter })
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure(limits(20, 11 * hour))
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust(hour)
      yield* limiter.budgetReady!(2)
      yield* TestClock.adjust(100)
      // one start left: the claimant passes budgetReady at the spread's turn, claiming it
      yield* limiter.configure(limits(1, 10 * hour))
      const ready = yield* Effect.fork(limiter.budgetReady!(1))
      yield* settle
      yield* TestClock.adjust(Math.ceil((yield* limiter.snapshot).budget!.nextTurnIn!))
      yield* settle
      expect(yield* isDone(ready)).toBe(true)
      const identified = (shard: number) => Effect.fork(Effect.either(limiter.identify(shard, () => Effect.void)))
      const holder = yield* identified(2)
      yield* settle
      const claimant = yield* identified(1)
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* settle
      expect(yield* Fiber.join(holder)).toEqual(Either.right(undefined))
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      expect(yield* isDone(claimant)).toBe(false)
      // at the refill, it goes
      yield* TestClock.adjust(10 * hour)
      yield* settle
      expect(yield* Fiber.join(claimant)).toEqual(Either.right(undefined))
    }))
})

// The spread's wait raced the key's retirement outside `detached`: from code that cannot be
// interrupted (a wrapper limiter working in an acquire), the race waited at the turn for ever for
// its loser, and the identify never went, holding its key
describe("IdentifyLimiter: an identify from code that cannot be interrupted", () => {
  for (const onExhausted of ["fail", "wait"] as const) {
    it.effect(`waiting for a turn of the spread, goes at the turn (${onExhausted})`, () =>
      Effect.gen(function*() {
        const hour = 60 * 60 * 1000
        const limiter = yield* IdentifyLimiter.make({ onExhausted })
        yield* limiter.configure({ maxConcurrency: 1, total: 100, remaining: 11, resetAfter: 11 * hour })
        yield* limiter.identify(0, () => Effect.void)
        // 10 left: the next turn is an hour away
        const waiting = yield* Effect.forkDaemon(Effect.uninterruptible(limiter.identify(1, () => Effect.void)))
        yield* settle
        yield* TestClock.adjust(hour)
        yield* settle
        yield* TestClock.adjust("10 seconds")
        yield* settle
        expect(Option.isSome(yield* Fiber.poll(waiting))).toBe(true)
        expect((yield* limiter.snapshot).budget?.remaining).toBe(9)
      }))
  }
})

describe("IdentifyLimiter: the spread after a refreshed answer", () => {
  const hour = 60 * 60 * 1000
  const tenHours = (overrides: Partial<IdentifyLimiter.SessionStartLimit>) => limits({ maxConcurrency: 1, total: 100, resetAfter: 10 * hour, ...overrides })
  // what a forked `Effect.either` holds now: "waiting", "ok" or the error's tag
  const stateOf = <E extends { readonly _tag: string }>(fiber: Fiber.Fiber<Either.Either<unknown, E>>) =>
    Effect.map(Fiber.poll(fiber), (polled) =>
      Option.isNone(polled) ? "waiting" : Exit.isSuccess(polled.value) ? Either.isRight(polled.value.value) ? "ok" : polled.value.value.left._tag : "died")

  it.effect("after the last start, a refreshed answer putting the refill 50 ms later than reckoned: the next identify waits for it (it failed)", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(tenHours({ remaining: 1 }))
      // the last start: the spread says the next one waits for the refill (10 h)
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust(hour)
      // GET /gateway/bot refreshed (hourly): none left, as counted; Discord's refill 50 ms later than this limiter reckoned (answer latency)
      yield* limiter.configure(tenHours({ remaining: 0, resetAfter: 9 * hour + 50 }))
      const ready = yield* Effect.fork(Effect.either(limiter.budgetReady!(1)))
      const next = yield* Effect.fork(Effect.either(limiter.identify(1, () => Effect.void)))
      yield* settle
      yield* TestClock.adjust(9 * hour)
      yield* settle
      expect([yield* stateOf(ready), yield* stateOf(next)]).toEqual(["waiting", "waiting"])
      yield* TestClock.adjust(50)
      yield* settle
      expect([yield* stateOf(ready), yield* stateOf(next)]).toEqual(["ok", "ok"])
    }))

  it.effect("after the last start, a refreshed answer bringing the refill sooner: the next identify goes at the new refill (it waited for the old one)", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(tenHours({ remaining: 1 }))
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust(hour)
      // Discord says: none left, refilled in 1 h (at 2 h, not the 10 h this limiter reckoned)
      yield* limiter.configure(tenHours({ remaining: 0, resetAfter: hour }))
      const next = yield* Effect.fork(Effect.either(limiter.identify(1, () => Effect.void)))
      yield* settle
      yield* TestClock.adjust(hour)
      yield* settle
      // the budget refilled at 2 h: 100 starts, no spread
      expect(yield* stateOf(next)).toBe("ok")
    }))

  it.effect("after the last start, a refreshed answer saying 3 are left: the next goes at the new spread's turn (it waited for the old refill)", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure(tenHours({ remaining: 1 }))
      yield* limiter.identify(0, () => Effect.void)
      yield* TestClock.adjust(hour)
      // 3 left, the refill where it was (9 h away): spread, one every 9 h / 4
      yield* limiter.configure(tenHours({ remaining: 3, resetAfter: 9 * hour }))
      const next = yield* Effect.fork(Effect.either(limiter.identify(1, () => Effect.void)))
      yield* settle
      yield* TestClock.adjust(9 * hour / 4)
      yield* settle
      expect(yield* stateOf(next)).toBe("ok")
    }))
})
