/**
 * The in-memory `GET /gateway/bot`: a clock-driven fleet that leaves `gateway` and `shardCount`
 * out learns the shard count and `max_concurrency` from it, as a bot does from Discord.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as GatewayBot from "../../src/protocol/GatewayBot.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import { MemoryApi, MemoryServer, MemoryTransport, VirtualTime } from "../../src/testing/index.ts"
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

  // it served one text for ever: each hourly refresh of a session waiting out a spent budget put
  // the refill a whole `resetAfter` further off, and a test of such a bot never saw it come back
  it.scoped("counts reset_after down from its first answer: a session waiting out a spent budget (refill in 3 h) identifies once it refilled", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const session = yield* Session.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, compression: "none" })
      yield* Effect.fork(Stream.runDrain(session.events))
      yield* VirtualTime.advance("2 seconds")
      expect((yield* session.snapshot).reason).toMatchObject({ _tag: "IdentifyBudget", next: { kind: "Refill", at: 10_800_000 } })
      yield* VirtualTime.advance("4 hours", { step: "5 minutes" })
      expect((yield* session.snapshot).reason._tag).not.toBe("IdentifyBudget")
      expect((yield* served.identifies).length).toBe(1)
    }).pipe(
      Effect.provide(Layer.mergeAll(
        MemoryTransport.layer,
        IdentifyLimiter.layerMemoryWith({ onExhausted: "wait" }),
        MemoryApi.layer({ shards: 1, maxConcurrency: 1, remaining: 0, resetAfter: 10_800_000 })
      )),
      Effect.withRandom(Random.fixed([0.5]))
    ))

  it.effect("past the refill, answers every start left and the next refill a day after", () =>
    Effect.gen(function*() {
      const client = MemoryApi.make({ total: 100, remaining: 3, resetAfter: 60_000 })
      const ask = Effect.flatMap(client.get("http://api.test/api/v10/gateway/bot"), (response) => response.json)
      expect(yield* ask).toMatchObject({ session_start_limit: { remaining: 3, reset_after: 60_000 } })
      yield* TestClock.adjust("20 seconds")
      expect(yield* ask).toMatchObject({ session_start_limit: { remaining: 3, reset_after: 40_000 } })
      yield* TestClock.adjust("1 minute")
      expect(yield* ask).toMatchObject({ session_start_limit: { remaining: 100, reset_after: 86_400_000 - 20_000 } })
    }))
})
