import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import { settle } from "../settle.ts"

describe("EventBuffer", () => {
  it.effect("takes events while it has room; a reader waits for room, taking nothing, until the program takes", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<number, never>(2)
      expect([1, 2, 3].map(buffer.sink.unsafeOffer)).toEqual([true, true, false])
      const room = yield* Effect.fork(buffer.sink.awaitRoom)
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(room))).toBe(true)
      const pull = yield* Stream.toPull(buffer.stream)
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([1, 2])
      expect(yield* Fiber.join(room)).toBe(true)
      // with room, at once
      expect(yield* buffer.sink.awaitRoom).toBe(true)
      expect(buffer.sink.unsafeOffer(3)).toBe(true)
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([3])
    }).pipe(Effect.scoped))

  it.effect("a reader that stops waiting leaves nothing behind; done wakes those waiting with false, and ends the stream after the events in it", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<number, string>(1)
      expect(buffer.sink.unsafeOffer(1)).toBe(true)
      const gaveUp = yield* Effect.fork(buffer.sink.awaitRoom)
      const waiting = yield* Effect.fork(buffer.sink.awaitRoom)
      yield* settle
      yield* Fiber.interrupt(gaveUp)
      yield* buffer.done(Exit.fail("fatal"))
      expect(yield* Fiber.join(waiting)).toBe(false)
      expect(yield* buffer.sink.awaitRoom).toBe(false)
      expect(buffer.sink.unsafeOffer(2)).toBe(false)
      const seen: Array<number> = []
      const exit = yield* Effect.exit(Stream.runForEach(buffer.stream, (n) => Effect.sync(() => seen.push(n))))
      expect([seen, exit]).toStrictEqual([[1], Exit.fail("fatal")])
    }))
})
