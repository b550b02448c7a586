import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as Live from "../../src/Live.ts"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { token } from "./harness.ts"

/** Discord's spacing between identifies of one key; the local gateway answers within the limiter's margin. */
const spacingMs = 5000

describe("Fleet on the local gateway", () => {
  it.scopedLive("starts 4 shards at max_concurrency 2 in one 5 s step, with no rule broken", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 4, sessionStartLimit: { maxConcurrency: 2 }, strictShardCount: true })
      const fleet = yield* Fleet.make({ token, intents: 513, api: gateway.apiUrl })
      expect(fleet.shardCount).toBe(4)
      const started = Date.now()
      const ready = yield* fleet.events.pipe(
        Stream.filter((event) => event.t === "READY"),
        Stream.take(4),
        Stream.map((event) => ({ shard: event.shard, after: Date.now() - started })),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      expect(ready.map((r) => r.shard).sort()).toEqual([0, 1, 2, 3])
      // keys 0 and 1 identify at once, then again one spacing later: all READY after one step
      const last = Math.max(...ready.map((r) => r.after))
      expect(last).toBeGreaterThanOrEqual(spacingMs)
      // (with up to 4.5 s for a loaded machine, one that stops the process for 2 s among them: the
      // fleet, the gateway and the test share one process; a second step would take another 5 s)
      expect(last).toBeLessThan(spacingMs + 4500)
      const log = yield* gateway.log
      expect(log.identifies.map((i) => [i.shard[0], i.outcome]).sort()).toEqual([[0, "ready"], [1, "ready"], [2, "ready"], [3, "ready"]])
      // as the gateway saw them: each key's second identify at least 5 s after its first, and at
      // most the 200 ms margin later (plus 2.8 s for a loaded machine's timers: a process stopped
      // for 2 s across the spacing's end; still well short of another spacing)
      for (const key of [0, 1]) {
        const [first, second] = log.identifies.filter((i) => i.rateLimitKey === key).map((i) => i.at)
        expect(second! - first!).toBeGreaterThanOrEqual(spacingMs)
        expect(second! - first!).toBeLessThan(spacingMs + 200 + 2800)
      }
      expect(yield* gateway.violations).toEqual([])
      const points = yield* fleet.disconnect()
      expect(points.map((p) => p.shard[0]).sort()).toEqual([0, 1, 2, 3])
    }).pipe(Effect.provide(Live.layer)), 20_000)
})
