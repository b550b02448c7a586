import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"

// Discord's 5 s between identifies of one key, plus the limiter's default 200 ms safety margin
const spacing = 5000 + 200

describe("Fleet startup", () => {
  // (shards, max_concurrency): every shard is READY (ceil(N / mc) - 1) * 5.2 s after the first identify
  for (const [shards, maxConcurrency] of [[1, 1], [4, 1], [16, 16], [32, 16], [64, 16], [10, 4]] as const) {
    const expected = (Math.ceil(shards / maxConcurrency) - 1) * spacing
    it.scoped(`${shards} shards at max_concurrency ${maxConcurrency} are all READY after ${expected} ms, no sooner`, () =>
      Effect.gen(function*() {
        yield* configureLimiter(maxConcurrency)
        const served = yield* serve()
        const fleet = yield* Fleet.make(options({ shardCount: shards }))
        const ready: Array<{ readonly shard: number; readonly at: number }> = []
        yield* Effect.forkScoped(Stream.runForEach(Stream.filter(fleet.events, (event) => event.t === "READY"), (event) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            ready.push({ shard: event.shard, at })
          })))
        yield* advance(expected + spacing)

        expect(ready.map((r) => r.shard).sort((a, b) => a - b)).toEqual(Array.from({ length: shards }, (_, i) => i))
        expect(Math.min(...ready.map((r) => r.at))).toBe(0)
        expect(Math.max(...ready.map((r) => r.at))).toBe(expected)
        // each identify was answered at once: READY at the identify's instant
        expect(served.identifies).toHaveLength(shards)
        // per rate-limit key, identifies exactly one spacing apart, starting at once: as fast as allowed, no faster
        for (let key = 0; key < maxConcurrency; key++) {
          const times = served.identifies.filter((i) => i.shard % maxConcurrency === key).map((i) => i.at).sort((a, b) => a - b)
          expect(times).toEqual(times.map((_, i) => i * spacing))
        }
        const readyAt = new Map(ready.map((r) => [r.shard, r.at]))
        for (const identify of served.identifies) expect(readyAt.get(identify.shard)).toBe(identify.at)
      }).pipe(Effect.provide(TestLayer)))
  }
})
