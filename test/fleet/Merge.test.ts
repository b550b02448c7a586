import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Merge from "../../src/fleet/Merge.ts"

const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("Merge", () => {
  it.effect("shows each pulled chunk to the observer with its stream's index", () =>
    Effect.gen(function*() {
      const counts = [0, 0, 0]
      const streams = [10, 20, 30].map((n) => Stream.range(1, n).pipe(Stream.rechunk(4)))
      const got = yield* Stream.runCollect(Merge.merge(streams, 8, (index, chunk) => {
        expect(Chunk.isNonEmpty(chunk)).toBe(true)
        counts[index] = (counts[index] ?? 0) + chunk.length
      }))
      expect(Chunk.size(got)).toBe(60)
      expect(counts).toEqual([10, 20, 30])
    }))

  it.effect("delivers every element, each stream's in order, and ends when all ended", () =>
    Effect.gen(function*() {
      const streams = [0, 1, 2].map((k) => Stream.range(1, 300).pipe(Stream.rechunk(7), Stream.map((n) => [k, n] as const)))
      const got = Chunk.toReadonlyArray(yield* Stream.runCollect(Merge.merge(streams, 16)))
      expect(got).toHaveLength(900)
      for (const k of [0, 1, 2]) {
        expect(got.filter(([from]) => from === k).map(([, n]) => n)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
      }
    }))

  it.effect("of no streams is empty", () =>
    Effect.gen(function*() {
      expect(Chunk.size(yield* Stream.runCollect(Merge.merge([], 4)))).toBe(0)
    }))

  it.effect("fails with a stream's failure", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Stream.runDrain(Merge.merge([Stream.never, Stream.fail("boom")], 4)))
      expect(exit).toStrictEqual(Exit.fail("boom"))
    }))

  it.scoped("a full buffer holds the streams back", () =>
    Effect.gen(function*() {
      let produced = 0
      const source = Stream.range(1, 1000).pipe(Stream.rechunk(1), Stream.tap(() => Effect.sync(() => produced++)))
      const pull = yield* Stream.toPull(Merge.merge([source], 4))
      yield* pull
      yield* settle
      expect(produced).toBeGreaterThan(0)
      expect(produced).toBeLessThanOrEqual(8)
    }))

  it.scoped("after a failure the other streams are no longer pulled", () =>
    Effect.gen(function*() {
      let pulled = 0
      const endless = Stream.repeatEffect(Effect.sync(() => ++pulled))
      // pulled by hand, so the merged stream's scope stays open after its failure
      const pull = yield* Stream.toPull(Merge.merge([endless, Stream.fail("boom")], 4))
      const exit = yield* Effect.exit(Effect.forever(pull))
      expect(exit).toStrictEqual(Exit.fail(Option.some("boom")))
      yield* settle
      const after = pulled
      yield* settle
      expect(pulled).toBe(after)
    }))
})
