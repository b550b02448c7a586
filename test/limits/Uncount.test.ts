/**
 * The in-memory limiter's give-back (`DailyBudget.uncount`).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { settle } from "../settle.ts"

const hour = 3600_000

describe("IdentifyLimiter: a start given back", () => {
  // README (IdentifyLimiterOptions.spreadLowBudget): "each identify then goes no sooner than the
  // time left divided by the starts left plus one after the one before, whatever its key".
  // README (unsent): "The in-memory limiter gives the start back, and the turn of its low-budget
  // spread the shard held". Giving A's start back must leave the spread as if A had not gone: B,
  // counted in the same millisecond, still went. `uncount` restores `lastCountedAt` whenever it
  // equals A's time, so B's count is forgotten and the next turn comes ~1.2 s after B instead of 11 s.
  it.scoped("a start given back forgets no other shard's count made in the same millisecond", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure({ maxConcurrency: 2, total: 100, remaining: 10, resetAfter: 110_000 })
      // shard 0 claims the spread's free turn; shard 1 the next one, 11 s on
      yield* limiter.budgetReady!(0)
      const second = yield* Effect.fork(limiter.budgetReady!(1))
      yield* TestClock.adjust("11 seconds")
      yield* settle
      expect(second.unsafePoll()).not.toBeNull()
      // both identify on their claims at 11 s; shard 0's Identify is then never written
      const gone = yield* Deferred.make<void>()
      const a = yield* Effect.fork(limiter.identify(0, (_answered, unsent) => Effect.zipRight(Deferred.await(gone), unsent ?? Effect.void)))
      yield* settle
      yield* limiter.identify(1, () => Effect.void)
      yield* Deferred.succeed(gone, undefined)
      yield* Fiber.join(a)
      const budget = (yield* limiter.snapshot).budget
      expect(budget?.remaining).toBe(9)
      // as if shard 0 had never gone: shard 1 counted at 11 s, shard 0 holds the turn it claimed
      // at 0, 9 left: the next turn is 11 s + 99 s / 9 = 22 s
      expect(budget?.nextTurnIn).toBe(11_000)
    }))

  // README (unsent): "The in-memory limiter gives the start back, and the turn of its low-budget
  // spread the shard held, so its retry goes at once." README (budgetReady): a shard let through at
  // a turn "holds the turn until it identifies, for up to a minute". The claim comes back with its
  // old time: a first connection that took 30 s to Hello (within the 15 s connect and 20 s Hello
  // timeouts) leaves the retry's connection 30 s, and a retry that takes 31 s finds the turn
  // handed to a shard waiting for it: it waits for the next turn, about an hour.
  it.scoped("a turn given back is held for the retry's connection (not what was left of the first's minute)", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure({ maxConcurrency: 2, total: 100, remaining: 10, resetAfter: 10 * hour })
      // one start spent: the next turn an hour on
      yield* limiter.identify(4, () => Effect.void)
      yield* TestClock.adjust(hour)
      // shard 0 takes the turn; shard 1 waits for the next
      yield* limiter.budgetReady!(0)
      const other = yield* Effect.fork(limiter.budgetReady!(1))
      // the first connection's Hello came 30 s on; its Identify was never written
      yield* TestClock.adjust("30 seconds")
      yield* limiter.identify(0, (_answered, unsent) => unsent ?? Effect.void)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(9)
      // the retry: backoff, connect, Hello, 31 s
      yield* TestClock.adjust("31 seconds")
      yield* settle
      const retry = yield* Effect.fork(limiter.identify(0, () => Effect.void))
      yield* settle
      expect(retry.unsafePoll()).not.toBeNull()
      yield* Fiber.interrupt(other)
    }))
})

// an identify whose `send` waits for `gone`, then finds its Identify never written and runs `unsent`
const unwritten = (limiter: Effect.Effect.Success<ReturnType<typeof IdentifyLimiter.make>>, shard: number, gone: Deferred.Deferred<void>) =>
  Effect.fork(limiter.identify(shard, (_answered, unsent) => Effect.zipRight(Deferred.await(gone), unsent ?? Effect.void)))

describe("IdentifyLimiter: starts given back among other counts and refreshed answers", () => {
  // README (IdentifyLimiterOptions.spreadLowBudget): "each identify then goes no sooner than the
  // time left divided by the starts left plus one after the one before, whatever its key".
  // README (unsent): "The in-memory limiter gives the start back". Two starts given back (A, then
  // B, two shards whose sockets went in one outage) must leave the spread going on from C, the one
  // start that did go in between. `uncount` tells "no other count came after it" by comparing the
  // running `counted`, which A's give-back lowered: C's count takes B's number,
  // so B's give-back restores the time before B (A's, itself given back) and C is forgotten; the
  // next identify goes at once after C instead of ~9 s on.
  it.scoped("two starts given back out of order forget no count made between them", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      yield* limiter.configure({ maxConcurrency: 4, total: 100, remaining: 10, resetAfter: 110_000 })
      const goneA = yield* Deferred.make<void>()
      const goneB = yield* Deferred.make<void>()
      // A at 0 (the spread's free turn), B at its next turn, 110 s / 10 = 11 s on
      const a = yield* unwritten(limiter, 0, goneA)
      yield* settle
      const b = yield* unwritten(limiter, 1, goneB)
      yield* settle
      yield* TestClock.adjust("11 seconds")
      yield* settle
      expect((yield* limiter.snapshot).budget?.remaining).toBe(8)
      // A's Identify was never written: its start comes back
      yield* Deferred.succeed(goneA, undefined)
      yield* Fiber.join(a)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(9)
      // C goes at the next turn: 11 s + 99 s / 10 = 20.9 s
      const c = yield* Effect.fork(limiter.identify(2, () => Effect.void))
      yield* settle
      yield* TestClock.adjust("9900 millis")
      yield* settle
      yield* Fiber.join(c)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(8)
      // B's Identify was never written either
      yield* Deferred.succeed(goneB, undefined)
      yield* Fiber.join(b)
      const budget = (yield* limiter.snapshot).budget
      expect(budget?.remaining).toBe(9)
      // as if A and B had never gone: C at 20.9 s, 9 left: the next turn is
      // 20.9 s + 89.1 s / 10 = 29.81 s, 8.91 s from now
      expect(budget?.nextTurnIn).toBe(8_910)
    }))

  // README (unsent): "when that Identify was never written ...: Discord spent no session start for
  // it. The in-memory limiter gives the start back". IdentifyLimiter.ts (`counted`): a refreshed
  // answer asked for while a start is being sent "may leave them out", so `configure` takes that
  // start off Discord's figure. If that Identify is then never written, Discord's figure was right
  // all along, yet `uncount` gives nothing back once any configure came
  // between: the start `configure` took off stays spent. On the last start, the retry fails with
  // IdentifyBudgetExhausted (or waits for the refill, a day) while Discord has one left.
  it.scoped("a start given back after a refreshed answer that took it off is given back", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      const limits = { maxConcurrency: 1, total: 1000, remaining: 1, resetAfter: 3_600_000 }
      yield* limiter.configure(limits)
      const gone = yield* Deferred.make<void>()
      const a = yield* unwritten(limiter, 0, gone)
      yield* settle
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      // GatewayCache asks GET /gateway/bot meanwhile (another shard's connection), with `counted`
      // as the limiter's snapshot says it: the start being sent left out
      const countedBefore = (yield* limiter.snapshot).counted
      // Discord's answer: one start left (it saw no Identify)
      yield* limiter.configure({ ...limits, countedBefore })
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      // the Identify is never written
      yield* Deferred.succeed(gone, undefined)
      yield* Fiber.join(a)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(1)
      // the retry goes, the key's spacing on
      const retry = yield* Effect.fork(Effect.either(limiter.identify(0, () => Effect.void)))
      yield* TestClock.adjust("6 seconds")
      expect((yield* Fiber.join(retry))._tag).toBe("Right")
    }))
})
