/**
 * A reshard as the README tells it: a fleet of the new shard count made beside the running one, in
 * one program (one identify limiter), then the old one ended.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { advance, configureLimiter, dispatch, guildOn, options, resumeUrl } from "./harness.ts"

interface Payload {
  readonly op: number
  readonly d: { readonly shard: [number, number] }
}

/** A scripted gateway that knows shard counts: it answers each Identify, keeping its peer by `id/count`. */
const serveCounts = () =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const identifies: Array<{ shard: number; count: number; at: number }> = []
    const peers = new Map<string, MemoryTransport.MemoryPeer>()
    const closes: Array<{ key: string; code: number | undefined }> = []
    let n = 0
    const handle = (peer: MemoryTransport.MemoryPeer) =>
      Effect.gen(function*() {
        yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 3_600_000 }, s: null, t: null })
        let key: string | undefined
        yield* Effect.forkScoped(Effect.flatMap(peer.closed, (info) => Effect.sync(() => key !== undefined && closes.push({ key, code: info.code }))))
        while (true) {
          const payload = (yield* peer.receivedJson) as Payload
          if (payload.op === 1) yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
          else if (payload.op === 2) {
            const [id, count] = payload.d.shard
            key = `${id}/${count}`
            identifies.push({ shard: id, count, at: yield* Clock.currentTimeMillis })
            peers.set(key, peer)
            yield* peer.sendJson(dispatch(1, "READY", {
              v: 10, session_id: `s-${id}-${count}-${n++}`, resume_gateway_url: resumeUrl,
              user: { id: "1", username: "bot" }, guilds: [], shard: [id, count], application: { id: "2", flags: 0 }
            }))
          }
        }
      }).pipe(Effect.catchAll(() => Effect.void))
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(gateway.accept, (peer) => Effect.forkScoped(handle(peer)))))
    return { identifies, peers, closes }
  })

const collect = (fleet: Fleet.Fleet) =>
  Effect.gen(function*() {
    const events: Array<GatewayEvent> = []
    const fiber = yield* Effect.forkScoped(Stream.runForEach(fleet.events, (e) => Effect.sync(() => events.push(e))))
    return { events, fiber }
  })

const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer)

describe("Resharding: two fleets of one bot side by side", () => {
  it.scoped("a new fleet of 4 starts beside an old fleet of 2, sharing the limiter's keys; the old one ends, the new one runs on", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const served = yield* serveCounts()
      const old = yield* Fleet.make(options({ shardCount: 2 }))
      const oldEvents = yield* collect(old)
      yield* advance(6000)
      expect(served.identifies).toEqual([{ shard: 0, count: 2, at: 0 }, { shard: 1, count: 2, at: 5000 }])
      const fresh = yield* Fleet.make(options({ shardCount: 4 }))
      const newEvents = yield* collect(fresh)
      yield* advance(30_000)
      // the shared limiter spaces both fleets' identifies on key 0: 5 s after the old fleet's last
      expect(served.identifies.slice(2)).toEqual([
        { shard: 0, count: 4, at: 10_000 }, { shard: 1, count: 4, at: 15_000 },
        { shard: 2, count: 4, at: 20_000 }, { shard: 3, count: 4, at: 25_000 }
      ])
      // routing of the new fleet uses its own count
      expect((yield* fresh.sessionFor(guildOn(3, 4))).shard).toEqual([3, 4])
      expect((yield* old.sessionFor(guildOn(3, 4))).shard).toEqual([1, 2])
      // a guild's event on both fleets: each delivers its own
      const guild = guildOn(3, 4)
      yield* served.peers.get("1/2")!.sendJson(dispatch(2, "GUILD_UPDATE", { id: guild }))
      yield* served.peers.get("3/4")!.sendJson(dispatch(2, "GUILD_UPDATE", { id: guild }))
      yield* advance(100, 100)
      expect(oldEvents.events.filter((e) => e.t === "GUILD_UPDATE").map((e) => e.shard)).toEqual([1])
      expect(newEvents.events.filter((e) => e.t === "GUILD_UPDATE").map((e) => e.shard)).toEqual([3])
      // retire the old fleet
      yield* old.end()
      yield* advance(1000, 100)
      yield* Fiber.join(oldEvents.fiber)
      expect(served.closes.filter((c) => c.key.endsWith("/2")).map((c) => c.code).sort()).toEqual([1000, 1000])
      expect(served.closes.filter((c) => c.key.endsWith("/4"))).toEqual([])
      const status = yield* fresh.status
      expect(status.map((s) => s.state._tag)).toEqual(["Connected", "Connected", "Connected", "Connected"])
      // the new fleet still delivers
      yield* served.peers.get("0/4")!.sendJson(dispatch(2, "MESSAGE_CREATE", { id: "5", channel_id: "6" }))
      yield* advance(100, 100)
      expect(newEvents.events.filter((e) => e.t === "MESSAGE_CREATE").map((e) => e.shard)).toEqual([0])
    }).pipe(Effect.provide(layer)))
})
