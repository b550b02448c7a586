/**
 * A fleet and the day's identify budget, over virtual hours: the last tenth spread over the time to
 * the refill serves every rate-limit key, its shards in the order they asked, a shard waiting for it
 * says so and holds no socket, and
 * a `GET /gateway/bot` answer that says there is room is asked for while the shards wait.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { settleFor } from "../settle.ts"
import { gatewayUrl, TestLayer, token } from "./harness.ts"

const minute = 60_000
const hour = 60 * minute
const settle = settleFor(100)

/** One connection as the gateway saw it. */
interface Served {
  readonly openedAt: number
  identifiedAt: number | undefined
  closedAt: number | undefined
}

/**
 * A gateway that refuses every Identify with op 9 (`refusing`), or answers it with READY; it keeps
 * when each connection opened, identified and closed.
 */
const serve = Effect.gen(function*() {
  const gateway = yield* MemoryTransport.MemoryGateway
  const served = { refusing: true, identifies: [] as Array<{ readonly shard: number; readonly at: number }>, connections: [] as Array<Served> }
  const handle = (peer: MemoryTransport.MemoryPeer) =>
    Effect.gen(function*() {
      const connection: Served = { openedAt: yield* Clock.currentTimeMillis, identifiedAt: undefined, closedAt: undefined }
      served.connections.push(connection)
      yield* Effect.forkScoped(Effect.zipRight(peer.closed, Effect.map(Clock.currentTimeMillis, (at) => void (connection.closedAt ??= at))))
      yield* peer.autoAck(true)
      yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 45 * minute }, s: null, t: null })
      while (true) {
        const payload = (yield* peer.receivedJson) as { readonly op: number; readonly d: { readonly shard: readonly [number, number] } }
        if (payload.op !== 2) continue
        const at = yield* Clock.currentTimeMillis
        connection.identifiedAt = at
        served.identifies.push({ shard: payload.d.shard[0], at })
        if (served.refusing) yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
        else {
          yield* peer.sendJson({
            op: 0,
            s: 1,
            t: "READY",
            d: { v: 10, session_id: `s-${at}`, resume_gateway_url: "ws://resume.test/", user: { id: "1" }, guilds: [], shard: payload.d.shard, application: { id: "2", flags: 0 } }
          })
        }
      }
    }).pipe(Effect.ignore)
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(gateway.accept, (peer) => Effect.forkScoped(handle(peer)))))
  return served
})

/** Moves the clock `millis` ahead in steps of `step`, the fibers running between them. */
const advance = (millis: number, step: number) =>
  Effect.gen(function*() {
    yield* settle
    for (let done = 0; done < millis; done += step) {
      yield* TestClock.adjust(Math.min(step, millis - done))
      yield* settle
    }
  })

const configure = (maxConcurrency: number, remaining: number, resetAfter: number) =>
  Effect.flatMap(IdentifyLimiter.IdentifyLimiter, (limiter) => limiter.configure({ maxConcurrency, total: 1000, remaining, resetAfter }))

describe("Fleet: the day's identify budget", () => {
  it.scoped("16 shards at max_concurrency 4 refused every Identify as the budget turns low: every key gets turns of the spread, no socket waits for one", () =>
    Effect.gen(function*() {
      // 110 left, the refill 5 h away: the last 100 one every 3 minutes
      yield* configure(4, 110, 5 * hour)
      const served = yield* serve
      yield* Fleet.make({ token, intents: 513, gateway: gatewayUrl, compression: "none", shardCount: 16 })
      yield* advance(5 * hour - minute, 5 * minute)
      expect(served.identifies.length).toBeLessThanOrEqual(110)
      const lowFrom = served.identifies[10]!.at
      const perKey = [0, 1, 2, 3].map((key) => served.identifies.filter((identify) => identify.at >= lowFrom && identify.shard % 4 === key).length)
      // two keys got every turn, two none: their shards sat with sockets open until the refill
      expect(perKey.every((turns) => turns >= 20)).toBe(true)
      const now = yield* Clock.currentTimeMillis
      const longestUnidentified = Math.max(...served.connections.map((c) => (c.identifiedAt ?? c.closedAt ?? now) - c.openedAt))
      expect(longestUnidentified).toBeLessThanOrEqual(10 * minute)
    }).pipe(Effect.provide(TestLayer)), 60_000)

  it.scoped("16 shards at max_concurrency 4 started with 9 starts left: the spread's turns go to the shards in the order they asked, so every key's line moves (key 1 waited for the refill while keys 0 and 3 took every turn)", () =>
    Effect.gen(function*() {
      // 9 left, the refill 10 h away: one start now, then one each hour
      yield* configure(4, 9, 10 * hour)
      const served = yield* serve
      served.refusing = false
      yield* Fleet.make({ token, intents: 513, gateway: gatewayUrl, compression: "none", shardCount: 16 })
      yield* advance(10 * hour - minute, 10 * minute)
      const order = served.identifies.map((identify) => identify.shard)
      // the first shard of each key's line asked at the start; each next one once its key's was ready
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    }).pipe(Effect.provide(TestLayer)), 60_000)

  it.scoped("a shard waiting hours for a turn of the spread is Disconnected, reason IdentifyBudget (it showed ConnectingHttp, Start)", () =>
    Effect.gen(function*() {
      // 3 left, the refill 20 h away: one start now, the next 6 h 40 m later
      yield* configure(1, 3, 20 * hour)
      const served = yield* serve
      served.refusing = false
      const fleet = yield* Fleet.make({ token, intents: 513, gateway: gatewayUrl, compression: "none", shardCount: 4 })
      yield* advance(2 * hour, 10 * minute)
      const rows = (yield* fleet.status).map((row) => `${row.shard}:${row.state._tag}/${row.reason._tag}`)
      expect(rows).toEqual(["0:Connected/Ready", "1:Disconnected/IdentifyBudget", "2:Disconnected/Queued", "3:Disconnected/Queued"])
      expect(served.connections).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)), 60_000)

  for (const limiter of [{}, { spreadLowBudget: false, onExhausted: "wait" }] as const) {
    const waitingFor = "spreadLowBudget" in limiter ? "the refill (onExhausted: wait)" : "a turn of the spread"
    it.scoped(`shards waiting for ${waitingFor} ask GET /gateway/bot again as its answer ages: one that says there is room lets them all go`, () => {
      const asked = { requests: 0, identified: 0, left: 2 }
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          asked.requests++
          const body = {
            url: "wss://gateway.test/",
            shards: 8,
            session_start_limit: { total: 1000, remaining: Math.max(0, asked.left - asked.identified), reset_after: 20 * hour, max_concurrency: 1 }
          }
          return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
        })
      )
      const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemoryWith(limiter), Layer.succeed(HttpClient.HttpClient, client))
      return Effect.gen(function*() {
        const served = yield* serve
        served.refusing = false
        yield* Fleet.make({ token, intents: 513, compression: "none", shardCount: 8 })
        yield* advance(hour, 5 * minute)
        asked.identified = served.identifies.length
        expect(asked.identified).toBeLessThan(8)
        // Discord now counts 600 left (a raised limit)
        asked.left = 600 + asked.identified
        yield* advance(2 * hour, 5 * minute)
        // asked once, at the start: the shards waited for the refill, 20 h away
        expect(asked.requests).toBeGreaterThanOrEqual(2)
        expect(served.identifies).toHaveLength(8)
      }).pipe(Effect.provide(layer))
    }, 60_000)
  }
})
