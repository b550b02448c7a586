/**
 * The README's handoff of a stopped program ("Resume points and handoff"): its loop runs on a fiber
 * of the program's scope and is never interrupted; the finalizer stops the session and waits for
 * the loop to take what was buffered. Stopped at any turn, every event the point counts is handled
 * once. A loop of uninterruptible chunks, interrupted after it took a chunk and before its handler
 * began, dropped the chunk the point counted (interrupt1).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as SessionOptions from "../../src/session/SessionOptions.ts"
import { dispatch, readySession, settle, TestLayer } from "./harness.ts"

// one stop, `turns` scheduler turns after the program began, Effect looking for an interruption
// every `ops` operations (every 2048 by default)
const stoppedAt = (ops: number, turns: number) =>
  Effect.scoped(Effect.gen(function*() {
    const { peer, session } = yield* readySession({}, 3_600_000)
    for (let s = 2; s <= 12; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", { n: s }))
    yield* settle
    const handled: Array<number> = []
    let saved: SessionOptions.ResumePoint | undefined
    const scope = yield* Scope.make()
    // the program: the README's loop and finalizer, in a scope of its own closed by the stop
    const program = Effect.gen(function*() {
      const loop = yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => void handled.push(event.sequence))))
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const point = yield* session.disconnect("1 second")
          yield* Fiber.await(loop)
          saved = Option.getOrUndefined(point)
        })
      )
      yield* Fiber.join(loop)
    })
    const running = yield* Effect.fork(Scope.extend(program, scope).pipe(Effect.withMaxOpsBeforeYield(ops)))
    for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
    yield* Fiber.interrupt(running)
    const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
    yield* settle
    yield* TestClock.adjust("3 seconds")
    yield* Fiber.join(closing)
    return { ops, turns, handled, point: saved?.sequence }
  })).pipe(Effect.provide(TestLayer)) // a fresh identify limiter each round

describe("the handoff of a stopped program", () => {
  it.effect("handles every event the point counts once, in order, whatever turn the stop lands on", () =>
    Effect.gen(function*() {
      let handedOver = 0
      for (const ops of [16, 32]) {
        for (let turns = 0; turns < 20; turns++) {
          const { handled, point } = yield* stoppedAt(ops, turns)
          // stopped before its finalizer was added, the program hands nothing over (the next process
          // resumes the point before)
          if (point === undefined) continue
          handedOver++
          expect({ ops, turns, handled }).toEqual({ ops, turns, handled: Array.from({ length: point }, (_, i) => i + 1) })
          expect(point).toBe(12)
        }
      }
      expect(handedOver).toBeGreaterThan(30)
    }))
})
