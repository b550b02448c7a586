import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as InTurn from "../../src/session/InTurn.ts"
import { captured } from "../logLines.ts"
import { settle, settleFor } from "../settle.ts"

describe("InTurn", () => {
  it.scoped("tells each effect after the one before it, without waiting for any", () =>
    Effect.gen(function*() {
      const inTurn = yield* InTurn.make(yield* Effect.scope, "effects")
      const told: Array<string> = []
      const after = (ms: number, name: string) => Effect.zipRight(Effect.sleep(ms), Effect.sync(() => void told.push(name)))
      yield* inTurn.tell(after(1_000, "slow"))
      yield* inTurn.tell(after(0, "quick"))
      yield* inTurn.tell(after(10, "last"))
      yield* settle
      // none waited for: nothing is told before the slow one is done
      expect(told).toEqual([])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(told).toEqual(["slow", "quick"])
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(told).toEqual(["slow", "quick", "last"])
    }))

  it.effect("closing its scope interrupts those not done without waiting, one that cannot be interrupted too (it held the close)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const inTurn = yield* InTurn.make(scope, "effects")
      yield* inTurn.tell(Effect.uninterruptible(Effect.sleep("10 minutes")))
      yield* settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      expect(closing.unsafePoll()).toEqual(Exit.void)
      // told after the close: nothing
      const told: Array<string> = []
      yield* inTurn.tell(Effect.sync(() => void told.push("after")))
      yield* settle
      expect(told).toEqual([])
    }))

  it.effect("closing its scope interrupts those not told yet", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const inTurn = yield* InTurn.make(scope, "effects")
      const told: Array<string> = []
      yield* inTurn.tell(Effect.zipRight(Effect.sleep("1 minute"), Effect.sync(() => void told.push("late"))))
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect(told).toEqual([])
    }))

  // a hook that never ended kept a fiber waiting for every step after it, for as long as the
  // session ran
  it.scoped("behind one that never ends, at most maxWaiting wait: those told after are dropped with one warning, until the line moves", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      const inTurn = yield* InTurn.make(yield* Effect.scope, "effects")
      const gate = yield* Deferred.make<void>()
      let ran = 0
      const count = Effect.sync(() => void ran++)
      yield* inTurn.tell(Effect.zipRight(Deferred.await(gate), count))
      for (let i = 0; i < InTurn.maxWaiting + 50; i++) yield* Effect.provide(inTurn.tell(count), layer)
      yield* settle
      expect(lines).toEqual([`WARN ${InTurn.maxWaiting} effects wait behind one that has not ended: those after are dropped until it does`])
      yield* Deferred.succeed(gate, undefined)
      // each in turn: a turn of the scheduler or two for each
      yield* settleFor(4 * InTurn.maxWaiting)
      expect(ran).toBe(InTurn.maxWaiting + 1)
      // the line moved: told again
      yield* inTurn.tell(count)
      yield* settle
      expect(ran).toBe(InTurn.maxWaiting + 2)
    }))
})
