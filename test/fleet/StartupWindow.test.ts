import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as StartupWindow from "../../src/fleet/StartupWindow.ts"

const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** Takes a place in a scope of its own; returns the scope and the fiber that waited for it. */
const enter = (window: StartupWindow.StartupWindow, admitted: Array<string>, name: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const fiber = yield* Effect.fork(Effect.zipRight(
      Scope.extend(window.admission, scope),
      Effect.sync(() => admitted.push(name))
    ))
    return { scope, fiber }
  })

/** A window of one place: "a" admitted, "b" and "c" waiting in line. */
const oneAdmittedTwoInLine = Effect.gen(function*() {
  const window = StartupWindow.make(1)
  const admitted: Array<string> = []
  const a = yield* enter(window, admitted, "a")
  const b = yield* enter(window, admitted, "b")
  const c = yield* enter(window, admitted, "c")
  yield* settle
  return { window, admitted, a, b, c }
})

describe("StartupWindow", () => {
  it.effect("admits up to its size, then one per place given back, first come first served", () =>
    Effect.gen(function*() {
      const window = StartupWindow.make(2)
      const admitted: Array<string> = []
      const [a, b, c, d] = yield* Effect.forEach(["a", "b", "c", "d"], (name) => enter(window, admitted, name))
      yield* settle
      expect(admitted).toEqual(["a", "b"])
      expect(yield* window.snapshot).toEqual({ free: 0, waiting: 2 })
      yield* Scope.close(b!.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "b", "c"])
      yield* Scope.close(a!.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "b", "c", "d"])
      yield* Scope.close(c!.scope, Exit.void)
      yield* Scope.close(d!.scope, Exit.void)
      expect(yield* window.snapshot).toEqual({ free: 2, waiting: 0 })
    }))

  it.effect("a waiter interrupted in line leaves it; the next one gets the place", () =>
    Effect.gen(function*() {
      const { a, admitted, b, c, window } = yield* oneAdmittedTwoInLine
      yield* Fiber.interrupt(b.fiber)
      expect(yield* window.snapshot).toEqual({ free: 0, waiting: 1 })
      yield* Scope.close(a.scope, Exit.void)
      yield* settle
      expect(admitted).toEqual(["a", "c"])
      yield* Scope.close(c.scope, Exit.void)
      expect(yield* window.snapshot).toEqual({ free: 1, waiting: 0 })
    }))

  it.effect("a place given to a waiter that is interrupted before it takes it is passed on", () =>
    Effect.gen(function*() {
      const { a, admitted, b, c, window } = yield* oneAdmittedTwoInLine
      // the place goes to b, and b is interrupted before its fiber runs again
      yield* Scope.close(a.scope, Exit.void)
      yield* Fiber.interrupt(b.fiber)
      yield* settle
      expect(admitted).toEqual(["a", "c"])
      expect(Option.isSome(yield* Fiber.poll(c.fiber))).toBe(true)
      yield* Scope.close(c.scope, Exit.void)
      expect(yield* window.snapshot).toEqual({ free: 1, waiting: 0 })
    }))
})
