import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Latest from "../../src/stream/Latest.ts"

/** Runs `take` values of `latest.changes` on a fiber; returns once it has subscribed (its first value came). */
const watch = <A>(latest: Latest.Latest<A>, take: number) =>
  Effect.gen(function*() {
    const subscribed = yield* Deferred.make<void>()
    const watcher = yield* Effect.fork(
      Stream.runCollect(Stream.take(Stream.tap(latest.changes, () => Deferred.succeed(subscribed, undefined)), take))
    )
    return { watcher, subscribed: Deferred.await(subscribed) }
  })

describe("Latest", () => {
  it.effect("reads the value as updated", () =>
    Effect.gen(function*() {
      const latest = yield* Latest.make(1)
      yield* latest.update((n) => n + 1)
      yield* latest.update((n) => n * 10)
      expect(yield* latest.get).toBe(20)
    }))

  it.effect("gives the value at subscription, then every later one in order", () =>
    Effect.gen(function*() {
      const latest = yield* Latest.make("a")
      yield* latest.update(() => "b")
      const { subscribed, watcher } = yield* watch(latest, 4)
      yield* subscribed
      for (const next of ["c", "d", "e", "f"]) yield* latest.update(() => next)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(watcher))).toEqual(["b", "c", "d", "e"])
    }))

  it.effect("each subscriber, whenever it came, sees consecutive values: none missed, none twice", () =>
    Effect.gen(function*() {
      const latest = yield* Latest.make(0)
      const watchers: Array<Effect.Effect.Success<ReturnType<typeof watch<number>>>> = []
      // subscriptions land between updates wherever the scheduler puts them
      for (let round = 0; round < 50; round++) {
        watchers.push(yield* watch(latest, 20))
        yield* latest.update((n) => n + 1)
        if (round % 3 === 0) yield* Effect.yieldNow()
      }
      yield* Effect.forEach(watchers, ({ subscribed }) => subscribed)
      for (let round = 0; round < 20; round++) yield* latest.update((n) => n + 1)
      for (const { watcher } of watchers) {
        const seen = Chunk.toReadonlyArray(yield* Fiber.join(watcher))
        expect(seen).toHaveLength(20)
        expect(seen).toEqual(seen.map((_, i) => seen[0]! + i))
      }
    }))

  it.effect("once ended, every subscription ends after the last value, one made later too", () =>
    Effect.gen(function*() {
      const latest = yield* Latest.make("a")
      const { subscribed, watcher } = yield* watch(latest, 10)
      yield* subscribed
      yield* latest.update(() => "b")
      yield* latest.end
      expect(Chunk.toReadonlyArray(yield* Fiber.join(watcher))).toEqual(["a", "b"])
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(latest.changes))).toEqual(["b"])
    }))

  it.effect("a subscription that ended leaves the others be", () =>
    Effect.gen(function*() {
      const latest = yield* Latest.make(0)
      expect(Option.getOrThrow(yield* Stream.runHead(latest.changes))).toBe(0)
      const { subscribed, watcher } = yield* watch(latest, 3)
      yield* subscribed
      yield* latest.update((n) => n + 1)
      yield* latest.update((n) => n + 1)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(watcher))).toEqual([0, 1, 2])
    }))
})
