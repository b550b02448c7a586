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
