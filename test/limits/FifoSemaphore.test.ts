import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as FifoSemaphore from "../../src/limits/FifoSemaphore.ts"
import { settle, settleFor } from "../settle.ts"

/** Takes a permit for `key` (by default one of its own) in a scope of its own; returns the scope and the fiber that waited for it. */
const enter = (semaphore: FifoSemaphore.FifoSemaphore, admitted: Array<string>, name: string, key = name.charCodeAt(0)) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const fiber = yield* Effect.fork(Effect.zipRight(
      Scope.extend(semaphore.permitFor(key), scope),
      Effect.sync(() => admitted.push(name))
    ))
    return { scope, fiber }
  })

/** A semaphore of one permit: "a" holds it, "b" and "c" wait in line. */
const oneAdmittedTwoInLine = Effect.gen(function*() {
  const semaphore = FifoSemaphore.make(1)
  const admitted: Array<string> = []
  const a = yield* enter(semaphore, admitted, "a")
  const b = yield* enter(semaphore, admitted, "b")
  const c = yield* enter(semaphore, admitted, "c")
  yield* settle
  return { semaphore, admitted, a, b, c }
})

describe("FifoSemaphore", () => {
  it.effect("withPermitUnless: a waiter whose giveUp completes leaves the line with None; one holding the permit runs to its end", () =>
    Effect.gen(function*() {
      const semaphore = FifoSemaphore.make(1)
      const giveUp = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(semaphore.withPermitUnless(Deferred.await(giveUp), Effect.as(Deferred.await(release), "held")))
      yield* settle
      const waiter = yield* Effect.fork(semaphore.withPermitUnless(Deferred.await(giveUp), Effect.succeed("waited")))
      const other = yield* Effect.fork(semaphore.withPermitUnless(Effect.never, Effect.succeed("stayed")))
      yield* settle
      expect(semaphore.waiting()).toBe(2)
      yield* Deferred.succeed(giveUp, undefined)
      expect(yield* Fiber.join(waiter)).toEqual(Option.none())
      expect([semaphore.waiting(), semaphore.free()]).toEqual([1, 0])
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(holder)).toEqual(Option.some("held"))
      expect(yield* Fiber.join(other)).toEqual(Option.some("stayed"))
      expect([semaphore.waiting(), semaphore.free()]).toEqual([0, 1])
    }))

  // Interrupted as it gave up, a waiter gave back a permit it never held: two callers then held
  // the one permit (two identifies of one rate-limit key at once).
  it.effect("withPermitUnless: a waiter interrupted as it gives up gives back no permit it never held", () =>
    Effect.gen(function*() {
      for (let turns = 0; turns <= 12; turns++) {
        const semaphore = FifoSemaphore.make(1)
        const release = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(semaphore.withPermitUnless(Effect.never, Deferred.await(release)))
        yield* settle
        const giveUp = yield* Deferred.make<void>()
        const waiter = yield* Effect.fork(semaphore.withPermitUnless(Deferred.await(giveUp), Effect.void))
        yield* settle
        yield* Deferred.succeed(giveUp, undefined)
        yield* settleFor(turns)
        yield* Fiber.interrupt(waiter)
        yield* settle
        const whileHeld = semaphore.free()
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        expect({ turns, whileHeld, free: semaphore.free(), waiting: semaphore.waiting() }).toEqual({ turns, whileHeld: 0, free: 1, waiting: 0 })
      }
    }))

  it.effect("grants up to its permits, then one per permit given back, first come first served", () =>
    Effect.gen(function*() {
      const semaphore = FifoSemaphore.make(2)
      const admitted: Array<string> = []
      const [a, b, c, d] = yield* Effect.forEach(["a", "b", "c", "d"], (name) => enter(semaphore, admitted, name))
      yield* settle
      expect(admitted).toEqual(["a", "b"])
      expect([semaphore.free(), semaphore.waiting()]).toEqual([0, 2])
      yield* Scope.close(b!.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "b", "c"])
      yield* Scope.close(a!.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "b", "c", "d"])
      yield* Scope.close(c!.scope, Exit.void)
      yield* Scope.close(d!.scope, Exit.void)
      expect([semaphore.free(), semaphore.waiting()]).toEqual([2, 0])
    }))

  it.effect("a waiter interrupted in line leaves it; the next one gets the permit", () =>
    Effect.gen(function*() {
      const { a, admitted, b, c, semaphore } = yield* oneAdmittedTwoInLine
      yield* Fiber.interrupt(b.fiber)
      expect([semaphore.free(), semaphore.waiting()]).toEqual([0, 1])
      yield* Scope.close(a.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "c"])
      yield* Scope.close(c.scope, Exit.void)
      expect([semaphore.free(), semaphore.waiting()]).toEqual([1, 0])
    }))

  it.effect("a permit handed to a waiter that is interrupted before it takes it is passed on", () =>
    Effect.gen(function*() {
      const { a, admitted, b, c, semaphore } = yield* oneAdmittedTwoInLine
      // the permit goes to b, and b is interrupted before its fiber runs again
      yield* Scope.close(a.scope, Exit.void)
      yield* Fiber.interrupt(b.fiber)
      yield* settle
      expect(admitted).toEqual(["a", "c"])
      expect(Option.isSome(yield* Fiber.poll(c.fiber))).toBe(true)
      yield* Scope.close(c.scope, Exit.void)
      expect([semaphore.free(), semaphore.waiting()]).toEqual([1, 0])
    }))

  it.effect("a key holds at most perKey permits: its waiters past that let later waiters of other keys go first, and go when one of their own is given back", () =>
    Effect.gen(function*() {
      const semaphore = FifoSemaphore.make(2, 1)
      const admitted: Array<string> = []
      const [a, b, c] = yield* Effect.forEach([["a", 0], ["b", 0], ["c", 1]] as const, ([name, key]) =>
        enter(semaphore, admitted, name, key))
      yield* settle
      // b waits for key 0's permit although one was free; c, of key 1, took it
      expect(admitted).toEqual(["a", "c"])
      const [d, e] = yield* Effect.forEach([["d", 1], ["e", 0]] as const, ([name, key]) => enter(semaphore, admitted, name, key))
      yield* settle
      expect([semaphore.free(), semaphore.waiting()]).toEqual([0, 3])
      // key 0's permit back: the first of key 0 in line, b, not d who came earlier than e
      yield* Scope.close(a!.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "c", "b"])
      yield* Scope.close(c!.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "c", "b", "d"])
      // a permit handed to a waiter interrupted before it took it is key 0's no more
      yield* Scope.close(b!.scope, Exit.void)
      yield* Fiber.interrupt(e!.fiber)
      const f = yield* enter(semaphore, admitted, "f", 0)
      yield* settle
      expect(admitted).toEqual(["a", "c", "b", "d", "f"])
      for (const holder of [d!, f]) yield* Scope.close(holder.scope, Exit.void)
      expect([semaphore.free(), semaphore.waiting()]).toEqual([2, 0])
    }))
})
