import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { sleepPastStalls, timeoutFailPastStalls } from "../../src/internal/stall.ts"
import { withPauses } from "../pauses.ts"

/** Whether `fiber` has ended. */
const isDone = (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.map(Fiber.poll(fiber), Option.isSome)

describe("sleepPastStalls", () => {
  it.scoped("wakes at its time when the process runs", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const sleeping = yield* Effect.fork(sleepPastStalls("20 seconds"))
        yield* p.advance(19_999)
        expect(yield* isDone(sleeping)).toBe(false)
        yield* p.advance(1)
        expect(yield* isDone(sleeping)).toBe(true)
      })
    ))

  it.scoped("woken at most a second late, it is done: a busy event loop's lag is no stall", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const sleeping = yield* Effect.fork(sleepPastStalls("20 seconds"))
        yield* p.pause(21_000)
        expect(yield* isDone(sleeping)).toBe(true)
      })
    ))

  it.scoped("woken more than a second late, it sleeps a second more", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const sleeping = yield* Effect.fork(sleepPastStalls("20 seconds"))
        yield* p.pause(25_000)
        expect(yield* isDone(sleeping), "just after the stall").toBe(false)
        yield* p.advance(999)
        expect(yield* isDone(sleeping)).toBe(false)
        yield* p.advance(1)
        expect(yield* isDone(sleeping)).toBe(true)
      })
    ))

  it.scoped("a second stall in that second gives another", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const sleeping = yield* Effect.fork(sleepPastStalls("20 seconds"))
        yield* p.pause(25_000)
        yield* p.pause(5_000)
        expect(yield* isDone(sleeping)).toBe(false)
        yield* p.advance(1_000)
        expect(yield* isDone(sleeping)).toBe(true)
      })
    ))
})

describe("timeoutFailPastStalls", () => {
  const timeout = <A>(answer: Deferred.Deferred<A>) =>
    Effect.either(timeoutFailPastStalls(Deferred.await(answer), { duration: "20 seconds", onTimeout: () => "timed out" as const }))

  it.scoped("an answer that came during a stall past the timeout, read after it, is the result", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const answer = yield* Deferred.make<string>()
        const waiting = yield* Effect.fork(timeout(answer))
        // the overdue timer runs first, then the socket is read
        yield* p.pause(30_000)
        yield* Deferred.succeed(answer, "answered")
        expect(yield* Fiber.join(waiting)).toEqual(Either.right("answered"))
      })
    ))

  it.scoped("with no answer, it fails a second after the stall, and stops waiting for one", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const answer = yield* Deferred.make<string>()
        const waiting = yield* Effect.fork(timeout(answer))
        yield* p.pause(30_000)
        yield* p.advance(1_000)
        expect(yield* Fiber.join(waiting)).toEqual(Either.left("timed out"))
      })
    ))

  it.scoped("on time, it fails at its duration", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const answer = yield* Deferred.make<string>()
        const waiting = yield* Effect.fork(timeout(answer))
        yield* p.advance(19_999)
        expect(yield* isDone(waiting)).toBe(false)
        yield* p.advance(1)
        expect(yield* isDone(waiting)).toBe(true)
        expect(yield* Fiber.join(waiting)).toEqual(Either.left("timed out"))
      })
    ))

  it.scoped("data-last, in a pipe, it is the same timeout", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const answer = yield* Deferred.make<string>()
        const waiting = yield* Deferred.await(answer).pipe(
          timeoutFailPastStalls({ duration: "20 seconds", onTimeout: () => "timed out" as const }),
          Effect.either,
          Effect.fork
        )
        yield* p.pause(30_000)
        expect(yield* isDone(waiting)).toBe(false)
        yield* p.advance(1_000)
        expect(yield* Fiber.join(waiting)).toEqual(Either.left("timed out"))
      })
    ))
})
