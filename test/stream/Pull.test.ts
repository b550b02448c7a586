import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Pull from "../../src/stream/Pull.ts"

describe("Pull.forkEachChunk", () => {
  it.scoped("hands every chunk over in order, then ends", () =>
    Effect.gen(function*() {
      const chunks: Array<ReadonlyArray<number>> = []
      const ended = yield* Deferred.make<string>()
      const stream = Stream.concat(Stream.fromIterable([1, 2, 3]), Stream.fromIterable([4, 5]))
      yield* Pull.forkEachChunk(stream, {
        onChunk: (chunk) => Effect.sync(() => chunks.push(Chunk.toReadonlyArray(chunk))),
        onEnd: Deferred.succeed(ended, "end"),
        onFailure: () => Deferred.succeed(ended, "failure")
      })
      expect(yield* Deferred.await(ended)).toBe("end")
      expect(chunks.flat()).toEqual([1, 2, 3, 4, 5])
    }))

  it.scoped("hands over the chunks before a failure, then the failure", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const failed = yield* Deferred.make<string>()
      const stream = Stream.concat(Stream.fromIterable([1, 2]), Stream.fail("boom"))
      yield* Pull.forkEachChunk(stream, {
        onChunk: (chunk) => Effect.sync(() => seen.push(...chunk)),
        onEnd: Deferred.succeed(failed, "no failure"),
        onFailure: (error) => Deferred.succeed(failed, error)
      })
      expect(yield* Deferred.await(failed)).toBe("boom")
      expect(seen).toEqual([1, 2])
    }))

  it.effect("closing the scope interrupts the puller before the stream's finalizer runs", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const pulled = yield* Deferred.make<void>()
      const stream = Stream.scoped(Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => order.push("stream closed"))))
        .pipe(Stream.concat(Stream.never))
      const scope = yield* Scope.make()
      yield* Pull.forkEachChunk(stream, {
        onChunk: () =>
          Effect.zipRight(Deferred.succeed(pulled, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Effect.sync(() => order.push("puller interrupted")))
          ),
        onEnd: Effect.void,
        onFailure: () => Effect.void
      }).pipe(Scope.extend(scope))
      yield* Deferred.await(pulled)
      yield* Scope.close(scope, Exit.void)
      expect(order).toEqual(["puller interrupted", "stream closed"])
    }))
})
