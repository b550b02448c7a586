/**
 * The in-memory `GET /gateway/bot`: a clock-driven fleet that leaves `gateway` and `shardCount`
 * out learns the shard count and `max_concurrency` from it, as a bot does from Discord.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as GatewayBot from "../../src/protocol/GatewayBot.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import { MemoryApi, MemoryTransport } from "../../src/testing/index.ts"
import { advance, serve } from "../fleet/harness.ts"

describe("MemoryApi", () => {
  it("answers with Discord's body, each field left out at its default, and one Discord's decoder takes", () => {
    expect(MemoryApi.body({ shards: 4, maxConcurrency: 2, remaining: 7 })).toEqual({
      url: "wss://gateway.test",
      shards: 4,
      session_start_limit: { total: 1000, remaining: 7, reset_after: 86_400_000, max_concurrency: 2 }
    })
    expect(GatewayBot.decode(MemoryApi.body())._tag).toBe("Right")
    // many shards: twice as many session starts, so a fleet's startup stays out of the day's last tenth
    expect(MemoryApi.body({ shards: 1024 }).session_start_limit).toMatchObject({ total: 2048, remaining: 2048 })
  })

  it.effect("answers GET .../gateway/bot; any other request is a 404", () =>
    Effect.gen(function*() {
      const client = MemoryApi.make({ shards: 3 })
      const asked = yield* client.get("https://discord.com/api/v10/gateway/bot")
      expect([asked.status, ((yield* asked.json) as { shards: number }).shards]).toEqual([200, 3])
      expect((yield* client.get("https://discord.com/api/v10/users/@me")).status).toBe(404)
      expect((yield* client.post("https://discord.com/api/v10/gateway/bot")).status).toBe(404)
    }))

  it.scoped("a fleet without gateway or shardCount starts the answer's 4 shards, two identify keys at a time, 5 s apart", () =>
    Effect.gen(function*() {
      const served = yield* serve()
      yield* Fleet.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, compression: "none" })
      yield* advance(6_000)
      expect(served.identifies.map(({ at, shard }) => [shard, at]).sort((a, b) => a[0]! - b[0]!)).toEqual([
        [0, 0],
        [1, 0],
        [2, 5_000],
        [3, 5_000]
      ])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 4, maxConcurrency: 2 })))))
})
