import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Merge from "../../src/fleet/Merge.ts"

const settle = Effect.repeatN(Effect.yieldNow(), 50)

/** A merge of `streams`, all added at once, in the current scope. */
const mergeAll = <A, E>(
  streams: ReadonlyArray<Stream.Stream<A, E>>,
  capacity: number,
  observe?: (index: number, chunk: Chunk.Chunk<A>) => void
): Effect.Effect<Stream.Stream<A, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const merge = yield* Merge.make<A, E>(streams.length, capacity, observe)
    for (let index = 0; index < streams.length; index++) yield* merge.add(index, streams[index]!)
    return merge.stream
  })

describe("Merge", () => {
  it.scoped("shows each pulled chunk to the observer with its stream's index", () =>
    Effect.gen(function*() {
      const counts = [0, 0, 0]
      const streams = [10, 20, 30].map((n) => Stream.range(1, n).pipe(Stream.rechunk(4)))
      const got = yield* Stream.runCollect(yield* mergeAll(streams, 8, (index, chunk) => {
        expect(Chunk.isNonEmpty(chunk)).toBe(true)
        counts[index] = (counts[index] ?? 0) + chunk.length
      }))
      expect(Chunk.size(got)).toBe(60)
      expect(counts).toEqual([10, 20, 30])
    }))

  it.scoped("delivers every element, each stream's in order, and ends when all ended", () =>
    Effect.gen(function*() {
      const streams = [0, 1, 2].map((k) => Stream.range(1, 300).pipe(Stream.rechunk(7), Stream.map((n) => [k, n] as const)))
      const got = Chunk.toReadonlyArray(yield* Stream.runCollect(yield* mergeAll(streams, 16)))
      expect(got).toHaveLength(900)
      for (const k of [0, 1, 2]) {
        expect(got.filter(([from]) => from === k).map(([, n]) => n)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
      }
    }))

  it.scoped("of no streams is empty", () =>
    Effect.gen(function*() {
      expect(Chunk.size(yield* Stream.runCollect(yield* mergeAll([], 4)))).toBe(0)
    }))

  it.scoped("takes sources that join after it started, and ends once the last one ended or was skipped", () =>
    Effect.gen(function*() {
      const merge = yield* Merge.make<number, never>(3, 16)
      const collecting = yield* Effect.fork(Stream.runCollect(merge.stream))
      yield* merge.add(0, Stream.make(1, 2))
      yield* settle
      yield* merge.add(2, Stream.make(3))
      yield* settle
      // source 1 has neither joined nor been skipped: the merge goes on
      expect(yield* Fiber.poll(collecting)).toStrictEqual(Option.none())
      yield* merge.skip
      expect(Chunk.toReadonlyArray(yield* Fiber.join(collecting))).toEqual([1, 2, 3])
    }))

  it.scoped("fails with a stream's failure", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Stream.runDrain(yield* mergeAll([Stream.never, Stream.fail("boom")], 4)))
      expect(exit).toStrictEqual(Exit.fail("boom"))
    }))

  it.scoped("a full buffer holds the streams back", () =>
    Effect.gen(function*() {
      let produced = 0
      const source = Stream.range(1, 1000).pipe(Stream.rechunk(1), Stream.tap(() => Effect.sync(() => produced++)))
      const pull = yield* Stream.toPull(yield* mergeAll([source], 4))
      yield* pull
      yield* settle
      expect(produced).toBeGreaterThan(0)
      expect(produced).toBeLessThanOrEqual(8)
    }))

  it.scoped("after a failure the other streams are no longer pulled", () =>
    Effect.gen(function*() {
      let pulled = 0
      const endless = Stream.repeatEffect(Effect.sync(() => ++pulled))
      const pull = yield* Stream.toPull(yield* mergeAll([endless, Stream.fail("boom")], 4))
      const exit = yield* Effect.exit(Effect.forever(pull))
      expect(exit).toStrictEqual(Exit.fail(Option.some("boom")))
      yield* settle
      const after = pulled
      yield* settle
      expect(pulled).toBe(after)
    }))
})
