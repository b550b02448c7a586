/**
 * A reshard during the low budget's spread: the two fleets share one in-memory limiter, and their
 * shard ids overlap (shard 1 of 2 and shard 1 of 4). A turn of the spread is one shard's: the
 * limiter tells the claims apart by shard id and count (by id alone, the old fleet's shard 1's
 * turn let the new fleet's shard 1 through with it).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import { MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { advance } from "./harness.ts"

const token = Redacted.make("test-token")
const common = { token, intents: Intents.Guilds, compression: "none" } as const

// GET /gateway/bot as Discord answers it: `remaining` less the identifies the gateway has seen
const countingApi = (limits: { shards: number; total: number; remaining: number; resetAfter: number; maxConcurrency: number }) => {
  const state: { spent: Effect.Effect<number> } = { spent: Effect.succeed(0) }
  const client = HttpClient.make((request) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Effect.suspend(() => state.spent), (spent) => {
        const body = {
          url: "wss://gateway.test",
          shards: limits.shards,
          session_start_limit: {
            total: limits.total,
            remaining: Math.max(0, limits.remaining - spent),
            reset_after: Math.max(0, limits.resetAfter - now),
            max_concurrency: limits.maxConcurrency
          }
        }
        return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } }))
      })))
  return { state, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

describe("the low budget's spread across the two fleets of a reshard", () => {
  // the turn at 10.33 s goes to the old fleet's shard 1 (it asked first); the new fleet's shard 1
  // took that claim for its own, opened its socket and sat Identifying for the spread's interval
  // (hours in a real spread), then took the next turn ahead of the new shard 0, which asked first
  it.scoped("a spread turn claimed by the old fleet's shard 1 lets no other shard through: the new fleet's shard 1 waits without a socket", () => {
    // 30 starts left of 1000 (the last tenth: spread), refill in 310 s: a turn every ~10.3 s
    const api = countingApi({ shards: 2, total: 1000, remaining: 30, resetAfter: 310_000, maxConcurrency: 2 })
    return Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      api.state.spent = Effect.map(served.identifies, (identifies) => identifies.length)
      const old = yield* Fleet.make(common)
      yield* Effect.fork(Stream.runDrain(old.events))
      yield* advance(5_000, 100)
      // old shard 0 identified at once; old shard 1 waits for the spread's next turn, no socket
      const oldAt5 = yield* old.status
      expect(oldAt5[1]!.state._tag).toBe("Disconnected")
      expect(oldAt5[1]!.reason._tag).toBe("IdentifyBudget")

      const next = yield* Fleet.make({ ...common, shardCount: 4 })
      yield* Effect.fork(Stream.runDrain(next.events))
      yield* advance(1_000, 100)
      // the new fleet's shards 0 and 1 (keys 0 and 1) wait for turns too, no socket
      const nextAt6 = yield* next.status
      expect(nextAt6.slice(0, 2).map((status) => [status.state._tag, status.reason._tag])).toEqual([
        ["Disconnected", "IdentifyBudget"],
        ["Disconnected", "IdentifyBudget"]
      ])

      // the turn at ~10.33 s: old shard 1, which asked first, takes it
      yield* advance(5_000, 100)
      const identifies = (yield* served.identifies).map((identify) => identify.d.shard)
      expect(identifies).toEqual([[0, 2], [1, 2]])
      // every other shard still waits for a later turn, without a socket
      const nextAt11 = yield* next.status
      expect(nextAt11.slice(0, 2).map((status) => [status.shard, status.state._tag, status.reason._tag])).toEqual([
        [0, "Disconnected", "IdentifyBudget"],
        [1, "Disconnected", "IdentifyBudget"]
      ])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, api.layer)))
  })
})
