import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { MemoryApi } from "../../src/testing/index.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { settleFor } from "../settle.ts"
import {
  acceptAndHello,
  dispatch,
  memberAnswer,
  options,
  ready,
  readySession,
  receiveOp,
  Session,
  settle,
  TestLayer
} from "./harness.ts"

// Shard 5 of 6: no other test in this file uses it. The registry is the process's: other files run
// in the same process may have counted for shard 5 too, so counts are taken as differences.
const shard = MetricLabel.make("shard", "5")
const type = (name: string) => MetricLabel.make("type", name)
const counterOf = (metric: typeof SessionMetrics.events, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Effect.map(Metric.value(Metric.taggedWithLabels(metric, labels)), (state) => state.count)

describe("SessionMetrics", () => {
  it.effect("the send queue gauge adds up the sessions of one shard number (two bots in one process), each moving it by its own changes", () =>
    Effect.gen(function*() {
      // a shard number no other test uses: its series starts empty
      const depth = Effect.map(
        Metric.value(Metric.taggedWithLabels(SessionMetrics.sendQueueDepth, [MetricLabel.make("shard", "4093")])),
        (state) => state.value
      )
      const [botA, botB] = [SessionMetrics.make(4093), SessionMetrics.make(4093)]
      yield* botA.queueDepth(2)
      yield* botB.queueDepth(1)
      expect(yield* depth).toBe(3)
      // bot A's commands went out: bot B's one still waits
      yield* botA.queueDepth(0)
      expect(yield* depth).toBe(1)
      yield* botB.queueDepth(0)
      expect(yield* depth).toBe(0)
    }))

  // its buckets stopped at 5.5 minutes: every wait for the budget's refill (hours) fell in the last
  it.effect("identify waits of an hour and of twenty hours fall in buckets of their own", () =>
    Effect.gen(function*() {
      const countAt = (buckets: ReadonlyArray<readonly [number, number]>, ms: number) => buckets.find(([bound]) => bound >= ms)?.[1] ?? -1
      const before = (yield* Metric.value(SessionMetrics.identifyWait)).buckets
      yield* Metric.update(SessionMetrics.identifyWait, 3_600_000)
      yield* Metric.update(SessionMetrics.identifyWait, 72_000_000)
      const after = (yield* Metric.value(SessionMetrics.identifyWait)).buckets
      // (cumulative counts) the hour's bucket took one, the twenty hours' bucket both
      expect([countAt(after, 3_600_000) - countAt(before, 3_600_000), countAt(after, 72_000_000) - countAt(before, 72_000_000)]).toEqual([1, 2])
      expect(countAt(after, 3_600_000)).not.toBe(-1)
      expect(countAt(after, 72_000_000)).not.toBe(-1)
      // a finite bound each (the last finite one was about 11.7 h: twenty hours fell in +Inf's bucket)
      const boundOf = (ms: number) => after.find(([bound]) => bound >= ms)?.[0]
      expect(boundOf(72_000_000)).toBe(83_886_080)
      expect(boundOf(3_600_000)).toBe(5_242_880)
    }))

  it.scoped("counts events by type, heartbeat latency, reconnects by reason and identify waits", () =>
    Effect.gen(function*() {
      // the counters without a shard tag are shared by every session of the process
      const messagesBefore = yield* counterOf(SessionMetrics.events, [type("MESSAGE_CREATE")])
      const readyBefore = yield* counterOf(SessionMetrics.events, [type("READY")])
      const waitsBefore = (yield* Metric.value(SessionMetrics.identifyWait)).count
      const reconnects = [shard, MetricLabel.make("reason", "Reconnect")]
      const reconnectsBefore = yield* counterOf(SessionMetrics.reconnects, reconnects)
      const latencyOfShard = Metric.taggedWithLabels(SessionMetrics.heartbeatLatency, [shard])
      const beatsBefore = (yield* Metric.value(latencyOfShard)).count
      yield* Session.make(options({ shard: [5, 6] }))
      const { peer } = yield* acceptAndHello(1000)
      yield* peer.sendJson(ready(1, "s", [5, 6]))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", {}))
      yield* settle
      yield* TestClock.adjust("1 second") // the first beat (jitter < 1) and the next flush
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      yield* settle
      yield* peer.sendJson({ op: 7, d: null, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("1 second")

      expect((yield* counterOf(SessionMetrics.events, [type("MESSAGE_CREATE")])) - messagesBefore).toBe(2)
      expect((yield* counterOf(SessionMetrics.events, [type("READY")])) - readyBefore).toBe(1)
      expect((yield* counterOf(SessionMetrics.reconnects, reconnects)) - reconnectsBefore).toBe(1)
      expect((yield* Metric.value(latencyOfShard)).count - beatsBefore).toBe(1)
      expect((yield* Metric.value(SessionMetrics.identifyWait)).count - waitsBefore).toBe(1)
      const depth = yield* Metric.value(Metric.taggedWithLabels(SessionMetrics.sendQueueDepth, [shard]))
      expect(depth.value).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("counts a gateway session lost by shard and reason, each reason a series of its own", () =>
    Effect.gen(function*() {
      const lost = (reason: string) => counterOf(SessionMetrics.sessionsLost, [shard, MetricLabel.make("reason", reason)])
      const givenUpBefore = yield* lost("ResumesFailed")
      const invalidBefore = yield* lost("InvalidSession")
      const metrics = SessionMetrics.make(5)
      yield* metrics.sessionLost("ResumesFailed")
      yield* metrics.sessionLost("InvalidSession")
      yield* metrics.sessionLost("InvalidSession")
      expect([(yield* lost("ResumesFailed")) - givenUpBefore, (yield* lost("InvalidSession")) - invalidBefore]).toEqual([1, 2])
    }))

  it.effect("counts a type no Discord event has (a megabyte of name, lower case, spaces) as other, never as a label of its own", () =>
    Effect.gen(function*() {
      const metrics = SessionMetrics.make(0)
      const names = ["X".repeat(1_000_000), "made_up", "TWO WORDS", ""]
      const otherBefore = yield* counterOf(SessionMetrics.events, [type("other")])
      for (const name of names) metrics.event(name)
      expect((yield* counterOf(SessionMetrics.events, [type("other")])) - otherBefore).toBe(names.length)
      const labels = (yield* Metric.snapshot).flatMap((pair) => pair.metricKey.tags).filter((tag) => tag.key === "type")
      expect(labels.filter((tag) => names.includes(tag.value))).toEqual([])
    }))

  it.effect("counts event types beyond the first maxEventTypes as other", () =>
    Effect.gen(function*() {
      const metrics = SessionMetrics.make(0)
      const names = Array.from({ length: SessionMetrics.maxEventTypes + 44 }, (_, i) => `MADE_UP_${i}`)
      const otherBefore = yield* counterOf(SessionMetrics.events, [type("other")])
      for (const name of names) metrics.event(name)
      const own = yield* Effect.forEach(names, (name) => counterOf(SessionMetrics.events, [type(name)]))
      const other = (yield* counterOf(SessionMetrics.events, [type("other")])) - otherBefore
      // each counted once, the first ones apart, the last ones (past the limit, whatever came before) as other
      expect(own.every((count) => count === 0 || count === 1)).toBe(true)
      expect(own.reduce((sum, count) => sum + count, 0) + other).toBe(names.length)
      expect(own[0]).toBe(1)
      expect(own.slice(-44)).toEqual(Array.from({ length: 44 }, () => 0))
    }))

  // 256 made-up types took every place, and Discord's own types not seen yet counted as other in
  // every session of the process until it restarted (chaos2)
  it.effect("counts the types the typings know apart, however many made-up ones came first", () =>
    Effect.gen(function*() {
      const metrics = SessionMetrics.make(0)
      for (let i = 0; i < SessionMetrics.maxEventTypes + 10; i++) metrics.event(`FLOODED_${i}`)
      const before = yield* counterOf(SessionMetrics.events, [type("MESSAGE_REACTION_REMOVE_EMOJI")])
      metrics.event("MESSAGE_REACTION_REMOVE_EMOJI")
      expect((yield* counterOf(SessionMetrics.events, [type("MESSAGE_REACTION_REMOVE_EMOJI")])) - before).toBe(1)
      const otherBefore = yield* counterOf(SessionMetrics.events, [type("other")])
      metrics.event("FLOODED_AGAIN")
      expect((yield* counterOf(SessionMetrics.events, [type("other")])) - otherBefore).toBe(1)
    }))

  // each test below has a shard number of its own (60+), so its per-shard series start empty here
  const shardLabel = (id: number) => MetricLabel.make("shard", String(id))

  it.scoped("a reconnect is counted as its attempt begins, in the snapshot and the metric alike: none during the pause before it, none for a stop during that pause", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const closed = [MetricLabel.make("shard", "62"), MetricLabel.make("reason", "Closed")]
      const before = yield* counterOf(SessionMetrics.reconnects, closed)
      const { peer, session } = yield* readySession({ shard: [62, 64] }, 3_600_000)
      const recorded = yield* Effect.fork(Stream.runCollect(session.snapshots))
      yield* settle
      yield* peer.drop
      yield* settle
      // the backoff before the next attempt (1 s) runs: the session is still at its first attempt
      yield* TestClock.adjust("100 millis")
      expect([(yield* session.snapshot).reconnects, (yield* counterOf(SessionMetrics.reconnects, closed)) - before]).toEqual([0, 0])
      // stopped before the pause ends: it never reconnected (one was counted as the pause began,
      // and the stop's snapshot showed it)
      yield* session.disconnect()
      expect((yield* gateway.attempts).length).toBe(1)
      const snapshots = Chunk.toReadonlyArray(yield* Fiber.join(recorded))
      expect(snapshots.map((s) => [s.state._tag, s.reason._tag, s.reconnects])).toEqual([
        ["Connected", "Ready", 0],
        ["Disconnected", "Closed", 0],
        ["Disconnected", "Disconnect", 0]
      ])
      expect((yield* counterOf(SessionMetrics.reconnects, closed)) - before).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("counts a failed GET /gateway/bot as a reconnect, as snapshot.reconnects does", () => {
    const down = Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) => Effect.sync(() => HttpClientResponse.fromWeb(request, new Response("down", { status: 503 }))))
    )
    return Effect.gen(function*() {
      const id = 61
      const counted = Effect.map(
        Metric.value(Metric.taggedWithLabels(SessionMetrics.reconnects, [shardLabel(id), MetricLabel.make("reason", "GatewayInfoFailed")])),
        (state) => state.count
      )
      const before = yield* counted
      const { gateway: _, ...withoutGateway } = options({ shard: [id, 64] })
      const session = yield* Session.make({ ...withoutGateway, api: "https://api.test/api/v10" })
      yield* TestClock.adjust("10 minutes")
      const attempts = (yield* session.snapshot).reconnects
      expect(attempts).toBeGreaterThan(5)
      expect((yield* counted) - before).toBe(attempts)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, down)))
  })

  it.scoped("heartbeat latency: an ACK a slow program left unread measures nothing; the next beat measures the round trip", () =>
    Effect.gen(function*() {
      const id = 64
      const latency = Metric.taggedWithLabels(SessionMetrics.heartbeatLatency, [shardLabel(id)])
      const before = yield* Metric.value(latency)
      // a one-event buffer nobody reads: READY fills it, the next event holds the reader
      const session = yield* Session.make(options({ shard: [id, 65], bufferSize: 1 }))
      const { peer } = yield* acceptAndHello(10_000) // the first beat at 10 s × 0.1 = 1 s
      yield* peer.autoAck(true) // every beat answered at once: the round trip is 0
      yield* peer.sendJson(ready(1, "s", [id, 65]))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      yield* TestClock.adjust("9 seconds") // the beat goes out and is answered; the ACK waits unread
      yield* Effect.fork(Stream.runDrain(Stream.take(session.events, 2)))
      yield* settleFor(200)
      expect((yield* Metric.value(latency)).count - before.count).toBe(0)
      expect((yield* session.snapshot).latency).toBeUndefined()
      yield* TestClock.adjust("10 seconds") // the next beat, read at once
      const after = yield* Metric.value(latency)
      expect([after.count - before.count, after.sum - before.sum, (yield* session.snapshot).latency]).toEqual([1, 0, 0])
    }).pipe(Effect.withRandom(Random.fixed([0.1])), Effect.provide(TestLayer)))

  it.scoped("send queue depth is 0 again once the session ended with a presence update waiting", () =>
    Effect.gen(function*() {
      const id = 66
      const depth = Metric.value(Metric.taggedWithLabels(SessionMetrics.sendQueueDepth, [shardLabel(id)]))
      const session = yield* Session.make(options({ shard: [id, 67] }))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1, "s", [id, 67]))
      yield* settle
      const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
      // five go out, the sixth waits for the presence limit (5 per 20 s), taken by the writer
      const updates = yield* Effect.fork(Effect.forEach(["1", "2", "3", "4", "5", "6"], (name) => Effect.either(session.updatePresence(presence(name)))))
      yield* settleFor(500)
      expect((yield* depth).value).toBe(1)
      const ending = yield* Effect.fork(session.end("1 second"))
      yield* settle
      yield* peer.close(1000)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(ending)
      const results = yield* Fiber.join(updates)
      expect(results.filter((result) => result._tag === "Left").map((result) => result.left._tag)).toEqual(["SessionClosed"])
      expect((yield* depth).value).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  const commandCount = (command: string, outcome: string) =>
    counterOf(SessionMetrics.commands, [MetricLabel.make("command", command), MetricLabel.make("outcome", outcome)])
  const endCount = (labels: ReadonlyArray<MetricLabel.MetricLabel>) => counterOf(SessionMetrics.sessionEnds, labels)

  it.scoped("counts the program's commands by how each call ended: done, refused, answered, rate limited, given up, closed", () =>
    Effect.gen(function*() {
      const outcomes = [
        ["PresenceUpdate", "done"],
        ["VoiceStateUpdate", "InvalidCommand"],
        ["RequestGuildMembers", "done"],
        ["RequestGuildMembers", "RateLimited"],
        ["RequestSoundboardSounds", "interrupted"],
        ["RequestChannelInfo", "SessionClosed"]
      ] as const
      const before = yield* Effect.forEach(outcomes, ([command, outcome]) => commandCount(command, outcome))
      const guild = "81384788765712384" // on shard 0 of 1
      const { peer, session } = yield* readySession({ intents: Intents.Guilds | Intents.GuildMembers })
      yield* session.updatePresence({ since: null, activities: [], status: "idle", afk: false })
      // an empty channel id is refused before it is queued
      yield* Effect.flip(session.updateVoiceState({ guild_id: guild, channel_id: "", self_mute: false, self_deaf: false }))
      const answered = yield* Effect.fork(session.requestGuildMembers({ guild_id: guild, query: "", limit: 0 }))
      const sent = (yield* receiveOp(peer, 8)) as { d: { nonce: string } }
      yield* peer.sendJson(memberAnswer(2, guild, sent.d.nonce, []))
      yield* Fiber.join(answered)
      // (a prefix: the whole list again within 30 s is refused before it goes out)
      const limited = yield* Effect.fork(Effect.flip(session.requestGuildMembers({ guild_id: guild, query: "a", limit: 10 })))
      const again = (yield* receiveOp(peer, 8)) as { d: { nonce: string } }
      yield* peer.sendJson(dispatch(3, "RATE_LIMITED", { opcode: 8, retry_after: 10, meta: { guild_id: guild, nonce: again.d.nonce } }))
      expect((yield* Fiber.join(limited))._tag).toBe("MemberRequestError")
      // the connection drops: a command waits for the next one, and its caller gives up
      yield* peer.drop
      yield* settle
      const givenUp = yield* Effect.fork(session.requestSoundboardSounds([guild]))
      yield* settle
      yield* Fiber.interrupt(givenUp)
      const closed = yield* Effect.fork(Effect.flip(session.requestChannelInfo({ guild_id: guild, fields: ["status"] })))
      yield* settle
      yield* session.disconnect()
      expect((yield* Fiber.join(closed))._tag).toBe("SessionClosed")
      const after = yield* Effect.forEach(outcomes, ([command, outcome]) => commandCount(command, outcome))
      expect(after.map((count, i) => count - before[i]!)).toEqual([1, 1, 1, 1, 1, 1])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("counts how sessions ended: a fatal close by its code, a stop as Disconnect", () =>
    Effect.gen(function*() {
      const fatal = [MetricLabel.make("reason", "FatalClose"), MetricLabel.make("code", "4004")]
      const stopped = [MetricLabel.make("reason", "Disconnect")]
      const [fatalBefore, stoppedBefore] = [yield* endCount(fatal), yield* endCount(stopped)]
      const first = yield* readySession()
      yield* first.peer.close(4004, "Authentication failed.")
      expect((yield* Effect.flip(first.session.await))._tag).toBe("FatalClose")
      // the in-memory identify limiter spaces the two sessions' Identifies 5 s apart
      const starting = yield* Effect.fork(readySession({}, 3_600_000))
      yield* TestClock.adjust("5 seconds")
      const second = yield* Fiber.join(starting)
      yield* second.session.disconnect()
      expect([(yield* endCount(fatal)) - fatalBefore, (yield* endCount(stopped)) - stoppedBefore]).toEqual([1, 1])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a session's end is counted once however often a stop is asked: disconnect, end, then the scope's close", () =>
    Effect.gen(function*() {
      const stopped = [MetricLabel.make("reason", "Disconnect")]
      const before = yield* endCount(stopped)
      const scope = yield* Scope.make()
      const { session } = yield* Scope.extend(readySession({ shard: [74, 75] }), scope)
      yield* session.disconnect()
      yield* session.end()
      yield* Scope.close(scope, Exit.void)
      expect((yield* endCount(stopped)) - before).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a day's session starts used up (GET /gateway/bot's remaining 0) counts IdentifyBudgetExhausted once", () =>
    Effect.gen(function*() {
      const exhausted = [MetricLabel.make("reason", "IdentifyBudgetExhausted")]
      const before = yield* endCount(exhausted)
      const { gateway: _, ...viaGatewayBot } = options({ shard: [80, 81] })
      const session = yield* Session.make(viaGatewayBot)
      expect((yield* Effect.flip(session.await))._tag).toBe("IdentifyBudgetExhausted")
      expect((yield* endCount(exhausted)) - before).toBe(1)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ remaining: 0 })))))
})
