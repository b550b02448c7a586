/**
 * Shards refused together with a `Retry-After` (a proxy's 429 in front of the gateway) come back
 * spread, not in the same second: the wait each was asked for is made longer by up to a quarter,
 * from `Random`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Backoff from "../../src/session/Backoff.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"

/** The most of `times` within any window of `width` ms. */
const busiestWindow = (times: ReadonlyArray<number>, width: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  let from = 0
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= width) from++
    most = Math.max(most, to - from + 1)
  }
  return most
}

describe("a Retry-After wait, spread", () => {
  it.effect("is the wait asked for and up to a quarter more, from Random", () =>
    Effect.gen(function*() {
      const at = (spread: number) => Effect.withRandom(Backoff.askedWait(30), Random.fixed([spread]))
      expect(Duration.toMillis(yield* at(0))).toBe(30_000)
      expect(Duration.toMillis(yield* at(0.5))).toBe(33_750)
      expect(Duration.toMillis(yield* at(0.999))).toBeLessThan(37_500)
    }))

  // every shard waited exactly the 30 s, the backoff's first steps after it spreading them by a
  // second or two: 29 of the 32 came back within one second, to be refused together again
  it.scoped("32 shards whose reconnects were all answered 429 Retry-After: 30 come back spread, at most half of them in any one second", () =>
    Effect.gen(function*() {
      yield* configureLimiter(16)
      const served = yield* serve({ heartbeatInterval: 41_250 })
      const gateway = yield* MemoryTransport.MemoryGateway
      const fleet = yield* Fleet.make(options({ shardCount: 32 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(70_000, 1000)
      expect(served.identifies.length).toBe(32)
      yield* gateway.failNextConnect(32, { status: 429, retryAfter: 30 })
      const droppedAt = yield* Clock.currentTimeMillis
      for (const peer of served.peers.values()) yield* peer.drop
      yield* advance(90_000, 100)
      const attempts = (yield* gateway.attempts).filter((attempt) => attempt.at >= droppedAt)
      expect(attempts.filter((attempt) => attempt.outcome === "fail")).toHaveLength(32)
      const back = attempts.filter((attempt) => attempt.outcome === "accept").map((attempt) => attempt.at)
      expect(back.length).toBeGreaterThanOrEqual(32)
      expect(busiestWindow(back, 1000)).toBeLessThanOrEqual(16)
    }).pipe(Effect.withRandom(Random.make(77)), Effect.provide(TestLayer)), 60_000)

  // a fleet's first GET /gateway/bot waited exactly the Retry-After: the processes of one deploy,
  // refused together, asked again in the same second
  it.scoped("a fleet's first GET /gateway/bot answered 429 Retry-After: 60 is asked again after the wait spread as a session's is", () => {
    const asked: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        asked.push(at)
        return HttpClientResponse.fromWeb(request, new Response("{}", { status: 429, headers: { "retry-after": "60" } }))
      }))
    const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, client))
    return Effect.gen(function*() {
      const { gateway: _, ...withoutGateway } = options()
      const making = yield* Effect.fork(Fleet.make(withoutGateway))
      yield* advance(67_000, 1_000)
      yield* advance(400, 100)
      expect(asked).toEqual([0])
      // 60 s and a quarter of it times 0.5, then the backoff's first step (1 s, jittered)
      yield* advance(2_000, 100)
      expect(asked.length).toBe(2)
      expect(asked[1]).toBeGreaterThanOrEqual(67_500)
      yield* Fiber.interrupt(making)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(layer))
  })
})
