/**
 * A reshard on a busy bot, as the README's "Resharding" tells it: the new fleet's events taken into
 * a queue of the program's own from the start, so that its last shards' READYs do not wait behind
 * a full buffer and the switch comes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import { MemoryApi, MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { advance, everyShardReady, guildOn } from "./harness.ts"

const token = Redacted.make("test-token")
const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 2, maxConcurrency: 1 }))

// the number the test gives each event it dispatches
const numberOf = (event: GatewayEvent): number => (event.d as unknown as { readonly n: number }).n

describe("a reshard on a busy bot", () => {
  it.scoped("from 2 to 4 shards with 32 events of room: the new fleet's events taken into the program's queue, every new shard gets ready, the old fleet ends, no event is lost", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const common = { token, intents: Intents.Guilds, compression: "none", bufferSize: 32 } as const
      const old = yield* Fleet.make(common)
      const handled: Array<GatewayEvent> = []
      const handle = (event: GatewayEvent) => Effect.sync(() => void handled.push(event))
      const onOld = yield* Effect.fork(Stream.runForEach(old.events, handle))
      yield* advance(6_000)

      // an event every 100 ms, round the guilds of the 4 new shards
      let n = 0
      const traffic = yield* Effect.fork(Effect.forever(Effect.zipRight(
        Effect.suspend(() => served.dispatch("all", "GUILD_UPDATE", { id: guildOn(n % 4, 4), n: n++ })),
        Effect.sleep("100 millis")
      )))

      const next = yield* Fleet.make({ ...common, shardCount: 4 })
      const queue = yield* Queue.unbounded<GatewayEvent>()
      yield* Effect.fork(Stream.runForEach(next.events, (event) => Queue.offer(queue, event)))
      const ready = yield* Effect.fork(everyShardReady(next))
      // four shards at max_concurrency 1: 15 s after the first identify, with 150 events sent meanwhile
      yield* advance(20_000, 100)
      expect(yield* Fiber.join(ready)).toBe(true)
      yield* Effect.fork(old.end())
      yield* advance(2_000, 100)
      yield* Fiber.join(onOld)
      yield* Effect.fork(Stream.runForEach(Stream.fromQueue(queue), handle))
      yield* advance(2_000, 100)
      yield* Fiber.interrupt(traffic)
      yield* advance(1_000, 100)

      const seen = new Set(handled.filter((event) => event.t === "GUILD_UPDATE").map(numberOf))
      expect(n).toBeGreaterThan(200)
      expect(Array.from({ length: n }, (_, index) => index).filter((index) => !seen.has(index))).toEqual([])
    }).pipe(Effect.provide(Services)))
})
