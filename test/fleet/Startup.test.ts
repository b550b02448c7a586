import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import { advance, configureLimiter, dispatch, everyShardReady, options, serve, startup, TestLayer, TestLayerWith } from "./harness.ts"

const spacing = 5000

describe("Fleet startup", () => {
  // (shards, max_concurrency): READY at once on every Identify, so the limiter's margin never
  // applies: every shard is READY (ceil(N / mc) - 1) * 5 s after the first identify
  for (const [shards, maxConcurrency] of [[1, 1], [4, 1], [16, 16], [32, 16], [64, 16], [10, 4]] as const) {
    const expected = (Math.ceil(shards / maxConcurrency) - 1) * spacing
    it.scoped(`${shards} shards at max_concurrency ${maxConcurrency} are all READY after ${expected} ms, no sooner`, () =>
      Effect.gen(function*() {
        const { identifiesOf, ready, served } = yield* startup({ shards, maxConcurrency, until: expected + spacing })

        expect(ready.map((r) => r.shard).sort((a, b) => a - b)).toEqual(Array.from({ length: shards }, (_, i) => i))
        expect(Math.min(...ready.map((r) => r.at))).toBe(0)
        expect(Math.max(...ready.map((r) => r.at))).toBe(expected)
        // each identify was answered at once: READY at the identify's instant
        expect(served.identifies).toHaveLength(shards)
        // per rate-limit key, identifies exactly one spacing apart, starting at once: as fast as allowed, no faster
        for (let key = 0; key < maxConcurrency; key++) {
          const times = identifiesOf(key)
          expect(times).toEqual(times.map((_, i) => i * spacing))
        }
        const readyAt = new Map(ready.map((r) => [r.shard, r.at]))
        for (const identify of served.identifies) expect(readyAt.get(identify.shard)).toBe(identify.at)
      }).pipe(Effect.provide(TestLayer)))
  }

  // the limiter's default margin is 200 ms: an answer within it starts the next spacing, one
  // later than it does not hold the key any longer than the margin does
  for (const [readyAfter, gap] of [[50, 5050], [150, 5150], [200, 5200], [350, 5200]] as const) {
    it.scoped(`READY ${readyAfter} ms after each Identify: identifies of one key ${gap} ms apart`, () =>
      Effect.gen(function*() {
        const { identifiesOf, ready } = yield* startup({ shards: 4, maxConcurrency: 2, readyAfter, until: gap + 500, step: 50 })
        expect(ready).toHaveLength(4)
        for (let key = 0; key < 2; key++) expect(identifiesOf(key)).toEqual([0, gap])
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a selection uneven across rate-limit keys starts in turn across keys: as fast as its busiest key allows", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      // key 0: 0, 2, 4, 6, 8 (five shards, 4 spacings); key 1: 9, 11, 13, 15
      yield* Fleet.make(options({ shardCount: 16, shards: [0, 2, 4, 6, 8, 9, 11, 13, 15] }))
      yield* advance(20_000, 100)
      const identifies = served.identifies.map((identify) => [identify.at, identify.shard])
      expect(identifies.sort(([a, x], [b, y]) => a! - b! || x! - y!)).toEqual([
        [0, 0], [0, 9], [5000, 2], [5000, 11], [10_000, 4], [10_000, 13], [15_000, 6], [15_000, 15], [20_000, 8]
      ])
    }).pipe(Effect.provide(TestLayer)))

  // a transport whose send completes after the answer is read (a proxy's acknowledgement): the
  // startup window's place must still go once Identify is out
  const identifySendsLate = TestLayerWith((connection) => ({
    ...connection,
    send: (frame) =>
      Effect.zipRight(connection.send(frame), typeof frame === "string" && frame.startsWith(`{"op":2,`) ? Effect.sleep("50 millis") : Effect.void)
  }))
  it.scoped("a connection that hangs before Hello holds up its own rate-limit key's line only: the other key's shards identify one spacing apart", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      // the third connection gets no Hello: the hello timeout (20 s) ends it
      const served = yield* serve({ silent: (connection) => connection === 2 })
      const fleet = yield* Fleet.make(options({ shardCount: 8 }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(60_000)
      const firstIdentify = (shard: number) => served.identifies.find((identify) => identify.shard === shard)?.at
      const keys = [[0, 2, 4, 6], [1, 3, 5, 7]].map((shards) => shards.map(firstIdentify))
      const [held, free] = keys[0]!.some((at) => at! >= 20_000) ? [keys[0]!, keys[1]!] : [keys[1]!, keys[0]!]
      expect(held.some((at) => at! >= 20_000)).toBe(true)
      expect(free).toEqual([0, spacing, 2 * spacing, 3 * spacing])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a shard READY before its Identify's send completed gives its startup place to the next shard", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const served = yield* serve()
      yield* Fleet.make(options({ shardCount: 3 }))
      yield* advance(12_000, 100)
      expect(served.identifies.map((identify) => [identify.shard, identify.at])).toEqual([[0, 0], [1, 5000], [2, 10_000]])
    }).pipe(Effect.provide(identifySendsLate)))

  it.scoped("shards that identify anew after startup share the window out among the keys: 16 shards at max_concurrency 4, invalidated one key after another, identify again in 4 rounds (15 s)", () =>
    Effect.gen(function*() {
      yield* configureLimiter(4)
      const served = yield* serve({ heartbeatInterval: 41_250 })
      // no pause after op 9: the shards line up in the order op 9 came in
      const fleet = yield* Fleet.make(options({ shardCount: 16, backoff: { afterInvalidSession: [0, 0] } }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(20_000, 100)
      expect(served.identifies).toHaveLength(16)
      yield* advance(120_000, 1_000)
      const invalidatedAt = yield* Clock.currentTimeMillis
      // key 0's shards first, then key 1's...: with one window for all, key 0's four would fill it
      for (const id of [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]) {
        yield* served.peers.get(id)!.sendJson({ op: 9, d: false, s: null, t: null })
        yield* advance(0)
      }
      yield* advance(60_000, 100)
      const again = served.identifies.slice(16)
      expect(again).toHaveLength(16)
      // each key identifies its four shards 5 s apart, side by side with the other keys
      for (let key = 0; key < 4; key++) {
        expect(again.filter((identify) => identify.shard % 4 === key).map((identify) => identify.at - invalidatedAt))
          .toEqual([0, 5_000, 10_000, 15_000])
      }
    }).pipe(Effect.provide(TestLayer)), 30_000)

  // A program moving from @discordjs/ws awaits the README's wait as it awaited `connect()`, before
  // it takes any event (migrate1): once the first shards' events fill the buffer, the last READY
  // waits for room and the wait never ends. The README says to run it beside the consumer.
  for (const consumed of [true, false]) {
    it.scoped(`the README's wait for every shard ${consumed ? "ends, run beside the events' consumer" : "never ends before anything takes the events, once they fill the buffer"}`, () =>
      Effect.gen(function*() {
        yield* configureLimiter(1)
        const served = yield* serve()
        const fleet = yield* Fleet.make(options({ shardCount: 2, bufferSize: 8 }))
        if (consumed) yield* Effect.forkScoped(Stream.runDrain(fleet.events))
        const wait = yield* Effect.fork(everyShardReady(fleet))
        yield* advance(500)
        // shard 0's guilds, more than the buffer holds, before shard 1 identifies
        for (let s = 2; s < 20; s++) yield* served.peers.get(0)!.sendJson(dispatch(s, "GUILD_CREATE", { id: String(s) }))
        yield* advance(10_000)
        expect(served.identifies.map((identify) => identify.shard)).toEqual([0, 1])
        expect(wait.unsafePoll()).toEqual(consumed ? Exit.succeed(true) : null)
      }).pipe(Effect.provide(TestLayer)))
  }
})
