/**
 * The IdentifyBudget reason's `next` while the wait lasts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { IdentifySnapshot } from "../../src/limits/IdentifyLimiter.ts"
import { options, programLimiter, Session, settle } from "./harness.ts"

describe("the identify budget wait's reason", () => {
  // a limiter that said a refill in 2 minutes, then no time (the refill gone, the shard still
  // waiting), left the session telling the old refill time for as long as it waited
  it.scoped("a wait whose limiter stops saying a time no longer tells a refill time that has passed", () => {
    let budget: IdentifySnapshot["budget"] = { total: 1000, remaining: 0, resetAfter: 120_000 }
    return Effect.gen(function*() {
      const session = yield* Session.make(options())
      yield* settle
      const first = yield* session.snapshot
      expect(first.reason).toMatchObject({ _tag: "IdentifyBudget", next: { kind: "Refill", at: 120_000 } })
      // the refill came and went; the program's limiter no longer says when the shard may go
      budget = undefined
      for (let minute = 0; minute < 5; minute++) {
        yield* TestClock.adjust("1 minute")
        yield* settle
      }
      const now = yield* TestClock.currentTimeMillis
      const later = yield* session.snapshot
      expect(later.state._tag).toBe("Disconnected")
      // no `next` told that says a time already past
      expect(later.reason._tag === "IdentifyBudget" && later.reason.next !== undefined && later.reason.next.at < now
        ? `still tells ${later.reason.next.kind} at ${later.reason.next.at}, now ${now}`
        : "ok").toBe("ok")
    }).pipe(Effect.provide(programLimiter({
      budgetReady: () => Effect.never,
      snapshot: Effect.sync(() => ({ maxConcurrency: 1, budget, keys: [] }))
    })))
  })
})
