import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Encoding } from "../../src/codec/Encoding.ts"
import * as Json from "../../src/codec/Json.ts"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as FleetOptions from "../../src/fleet/FleetOptions.ts"
import * as MemberRequests from "../../src/session/MemberRequests.ts"
import type { ShardStatus } from "../../src/fleet/ShardStatus.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Commands from "../../src/protocol/Commands.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { annotated, captured } from "../logLines.ts"
import {
  advance,
  configureLimiter,
  dispatch,
  gatewayBotClient,
  gatewayUrl,
  guildOn,
  options,
  resumeUrl,
  secret,
  serve,
  type Served,
  settle,
  TestLayer,
  TestLayerWith
} from "./harness.ts"

/** The presence the tests update to. */
const idle = { since: null, activities: [], status: "idle", afk: false } as const

// an encoding of the program's own whose op 31 frames are over 4096 bytes (each padded to 5000)
const wide: Encoding = {
  ...Json.encoding,
  encode: (payload) => {
    const text = Json.encoding.encode(payload)
    return (payload as { readonly op: number }).op === 31 && typeof text === "string" ? text.padEnd(5000) : text
  }
}

/** The presence updates (op 3) shard `shard` sent, their data. */
const presencesSent = (served: Served, shard: number) =>
  (served.commands.get(shard) ?? []).filter((payload) => payload.op === 3).map((payload) => payload.d)

/** The types of the events the next pulls give, until two READYs came (each ends its chunk). */
const readies = <E>(pull: Effect.Effect<Chunk.Chunk<GatewayEvent>, E>, shards = 2) =>
  Effect.gen(function*() {
    const types: Array<string> = []
    while (types.filter((t) => t === "READY").length < shards) types.push(...Chunk.toReadonlyArray(yield* pull).map((event) => event.t))
    return types
  })

/** The guild of a member request (its error flipped) that failed with Timeout, if it has. */
const timedOut = <A, E>(request: Fiber.Fiber<A, E>) =>
  Effect.map(Fiber.poll(request), (exit) => {
    const error: unknown = Option.isSome(exit) && Exit.isSuccess(exit.value) ? exit.value.value : undefined
    return error instanceof MemberRequests.MemberRequestError && error.reason === "Timeout" ? error.guildId : undefined
  })

/**
 * A fleet of `count` shards at max_concurrency 1 and a startup window of one, 500 ms in: shard 0
 * READY, shard 1 connected and waiting for its turn to identify (at 5 s), the others queued.
 */
const startingFleet = (count: number, overrides: Parameters<typeof options>[0] = {}) =>
  Effect.gen(function*() {
    yield* configureLimiter(1)
    const served = yield* serve()
    const fleet = yield* Fleet.make(options({ shardCount: count, startupWindow: 1, ...overrides }))
    yield* advance(500)
    return { fleet, served }
  })

/** A fleet of `count` shards, all READY (max_concurrency = count, so all at once). */
const readyFleet = (count: number, overrides: Parameters<typeof options>[0] = {}) =>
  Effect.gen(function*() {
    yield* configureLimiter(count)
    const served = yield* serve()
    const fleet = yield* Fleet.make(options({ shardCount: count, ...overrides }))
    yield* advance(500)
    expect(served.identifies).toHaveLength(count)
    return { fleet, served }
  })

describe("Fleet", () => {
  it.scoped("merges every shard's events into one stream, each shard in order", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(fleet.events, 3 + 3 * 2)))
      for (const [shard, peer] of served.peers) {
        yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { content: `${shard}-a` }))
        yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", { content: `${shard}-b` }))
      }
      const events = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      for (const shard of [0, 1, 2]) {
        const mine = events.filter((event) => event.shard === shard)
        expect(mine.map((event) => [event.t, event.sequence])).toEqual([["READY", 1], ["MESSAGE_CREATE", 2], ["MESSAGE_CREATE", 3]])
        expect(mine.slice(1).map((event) => (event.d as { content: string }).content)).toEqual([`${shard}-a`, `${shard}-b`])
      }
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a run of the events started while another runs dies with EventsInUse, and the first still gets every event", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(2)
      const first = yield* Effect.fork(Stream.runCollect(Stream.take(fleet.events, 4)))
      yield* settle
      const second = yield* Effect.exit(Stream.runCollect(fleet.events))
      expect(Exit.isFailure(second) && Cause.dieOption(second.cause).pipe(Option.getOrUndefined)).toBeInstanceOf(EventBuffer.EventsInUse)
      for (const peer of served.peers.values()) yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      const events = Chunk.toReadonlyArray(yield* Fiber.join(first))
      expect(events.map((event) => `${event.shard}:${event.t}`).sort()).toEqual([
        "0:MESSAGE_CREATE",
        "0:READY",
        "1:MESSAGE_CREATE",
        "1:READY"
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("disconnect returns one resume point per shard, and a new fleet resumes them all", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      const drained = yield* Effect.fork(Stream.runCollect(fleet.events))
      yield* served.peers.get(1)!.sendJson(dispatch(2, "GUILD_CREATE", { id: "1" }))
      yield* advance(100)
      const points = yield* fleet.disconnect()
      expect([...points].sort((a, b) => a.shard[0] - b.shard[0])).toEqual([0, 1, 2].map((id) => ({
        sessionId: `session-${id}`,
        sequence: id === 1 ? 2 : 1,
        resumeGatewayUrl: resumeUrl,
        shard: [id, 3],
        encoding: "json",
        intents: 513,
        // identified with no presence: Discord's default
        presence: null
      })))
      // the events end, the fleet ends without an error, and the sessions stay resumable
      expect(Chunk.size(yield* Fiber.join(drained))).toBe(4)
      yield* fleet.await
      for (const peer of served.peers.values()) expect((yield* peer.closed).code).not.toBe(1000)

      const next = yield* Fleet.make(options({ shardCount: 3, resume: points }))
      const resumed = yield* Effect.fork(Stream.runCollect(Stream.take(next.events, 3)))
      yield* advance(500)
      expect(served.identifies).toHaveLength(3)
      expect([...served.resumes].sort((a, b) => a.sessionId.localeCompare(b.sessionId))).toEqual([
        { sessionId: "session-0", seq: 1 },
        { sessionId: "session-1", seq: 2 },
        { sessionId: "session-2", seq: 1 }
      ])
      expect(Chunk.toReadonlyArray(yield* Fiber.join(resumed)).map((event) => event.t)).toEqual(["RESUMED", "RESUMED", "RESUMED"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a shard stopped and resumed in a fleet beside its own: both fleets' points start the next one, which resumes the later of the two", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      // the README's restart of one shard: stopped, then resumed in a fleet of its own
      const point = Option.getOrThrow(yield* (yield* fleet.shard(1)).disconnect())
      const restarted = yield* Fleet.make(options({ shardCount: 3, shards: [1], resume: [point] }))
      yield* Effect.forkScoped(Stream.runDrain(restarted.events))
      yield* advance(500)
      yield* served.peers.get(1)!.sendJson(dispatch(3, "MESSAGE_CREATE", {}))
      yield* advance(100)
      // the old fleet still returns the point it handed out (sequence 1), the new one its own (3)
      const points = [...(yield* restarted.disconnect()), ...(yield* fleet.disconnect())]
      expect(points.filter((p) => p.shard[0] === 1).map((p) => p.sequence)).toEqual([3, 1])
      // in either order
      for (const given of [points, [...points].reverse()]) {
        const resolved = Either.getOrThrow(FleetOptions.resolveShards(options({ shardCount: 3, resume: given }), 3, Json.encoding, 513))
        expect(resolved.resume.get(1)?.sequence).toBe(3)
      }
      // the next process started from them was refused: "two resume points for shard 1"
      yield* Fleet.make(options({ shardCount: 3, resume: points }))
      yield* advance(500)
      expect(served.resumes.filter((resume) => resume.sessionId === "session-1").map((resume) => resume.seq)).toEqual([1, 3])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a fatal close on one shard stops the whole fleet with the typed error", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      const streamed = yield* Effect.fork(Effect.either(Stream.runDrain(fleet.events)))
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* served.peers.get(1)!.close(4004, "Authentication failed.")
      const error = yield* Effect.flip(fleet.await)
      expect(error).toMatchObject({ _tag: "FatalClose", code: 4004, shard: 1 })
      expect(error.message).toContain("4004")
      expect(error.message).not.toContain(secret)
      const stream = yield* Fiber.join(streamed)
      expect(stream._tag === "Left" && stream.left).toMatchObject({ _tag: "FatalClose", code: 4004 })
      // the other shards were stopped, resumably, and nobody reconnects
      for (const shard of [0, 2]) {
        const closed = yield* served.peers.get(shard)!.closed
        expect(closed.by).toBe("client")
        expect(closed.code).not.toBe(1000)
      }
      yield* advance(60_000, 10_000)
      expect(yield* gateway.attempts).toHaveLength(3)
      for (const shard of [0, 1, 2]) expect((yield* (yield* fleet.shard(shard)).state)._tag).toBe("Disconnected")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a shard waiting for room when another shard's fatal close ends the fleet is stopped, not reconnected: no reconnect counted, no new attempt", () =>
    Effect.gen(function*() {
      // room for two events: the two READYs fill it, and nobody reads
      const { fleet, served } = yield* readyFleet(2, { bufferSize: 2 })
      const shard0 = yield* fleet.shard(0)
      const transitions = yield* Effect.fork(Stream.runCollect(shard0.transitions))
      yield* served.peers.get(0)!.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* advance(100)
      // shard 0's reader holds its event, waiting for room, when shard 1's token is refused
      // a fatal close that refuses no token (4004 leaves no point resumable: no Resume with the token can be taken)
      yield* served.peers.get(1)!.close(4014, "Disallowed intent(s).")
      expect(yield* Effect.flip(fleet.await)).toMatchObject({ _tag: "FatalClose", code: 4014, shard: 1 })
      yield* advance(60_000, 10_000)
      const gateway = yield* MemoryTransport.MemoryGateway
      expect(yield* gateway.attempts).toHaveLength(2)
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(transitions))
      // one stop: Ready, then Disconnected for the stop, nothing in between
      expect(seen.map((transition) => [transition.to._tag, transition.reason._tag])).toEqual([
        ["Connected", "Ready"],
        ["Disconnected", "Disconnect"]
      ])
      expect((yield* shard0.snapshot).reconnects).toBe(0)
      // it stopped resumably, at the last event it delivered
      expect((yield* fleet.disconnect()).map((point) => [point.shard[0], point.sequence])).toEqual([[0, 1]])
    }).pipe(Effect.provide(TestLayer)))

  // a scheduled beat runs on the fleet's heartbeat timer: its lines carried the fleet's annotations,
  // and its transport's defect went unobserved (Effect's own Debug line, the token in it)
  it.scoped("a shard whose transport dies sending a heartbeat: its lines name the shard, the fleet's stop line is the fleet's, the token is in none; a transport's line as it sends a beat names its shard", () => {
    const { layer, lines } = annotated()
    const dyingBeats = TestLayerWith((connection) => {
      let shard: number | undefined
      let beats = 0
      return {
        ...connection,
        send: (frame) => {
          if (typeof frame === "string" && frame.startsWith(`{"op":2`)) shard = (JSON.parse(frame) as { d: { shard: [number, number] } }).d.shard[0]
          if (typeof frame !== "string" || !frame.startsWith(`{"op":1,`)) return connection.send(frame)
          // shard 1's second beat: shard 0's first went before it, whatever the jitter
          return shard === 1 && ++beats === 2
            ? Effect.die(new Error(`proxy session for Bot ${secret} is gone`))
            : Effect.zipRight(Effect.logDebug(`proxy passed shard ${shard}'s heartbeat`), connection.send(frame))
        }
      }
    })
    return Effect.gen(function*() {
      yield* configureLimiter(2)
      yield* serve({ heartbeatInterval: 10_000 })
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(25_000)
      expect(Exit.isFailure(yield* Effect.exit(fleet.await))).toBe(true)
      // each line's annotations, the fleet's stop line apart
      const about = lines.filter((line) => line.includes("proxy session for Bot"))
      const annotationsOf = (line: string) => line.match(/\[[^[\]]*\]$/)?.[0]
      const isStop = (line: string) => line.includes("stopping the fleet")
      expect(about.filter((line) => !isStop(line)).map(annotationsOf)).toEqual([
        "[component=Session shard=1]",
        "[component=Session shard=1 state=Disconnected]"
      ])
      expect(about.filter(isStop).map(annotationsOf)).toEqual(["[component=Fleet shard=1]"])
      // a line of the transport's own, as it sends a beat
      const passed = lines.filter((line) => line.includes("proxy passed shard"))
      expect(passed.length).toBeGreaterThan(1)
      expect(passed.map(annotationsOf)).toEqual(passed.map((line) => `[component=Session shard=${line.match(/shard (\d)'s/)![1]}]`))
      expect(lines.filter((line) => line.includes(secret.slice(0, 24)))).toEqual([])
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.All), Effect.provide(dyingBeats))
  })

  it.scoped("end closes every shard with 1000 and ends the fleet, in one Info line for all of them", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      yield* fleet.end()
      yield* fleet.await
      for (const peer of served.peers.values()) expect((yield* peer.closed).code).toBe(1000)
      expect(yield* fleet.disconnect()).toEqual([])
      expect(lines.filter((line) => line.includes("close 1000"))).toEqual(["INFO ending every shard's session (close 1000)"])
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info), Effect.provide(TestLayer))
  })

  it.scoped("reports each shard's status, transitions and event rate", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(2)
      const changes = yield* Effect.fork(Stream.runCollect(Stream.take(fleet.statusChanges, 3)))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      for (let s = 2; s <= 20; s++) yield* served.peers.get(0)!.sendJson(dispatch(s, "TYPING_START", {}))
      yield* advance(1000)
      const status = yield* fleet.status
      expect(status.map((line) => [line.shard, line.state, line.reason._tag, line.sequence, line.reconnects])).toEqual([
        [0, { _tag: "Connected", phase: "Ready" }, "Ready", 20, 0],
        [1, { _tag: "Connected", phase: "Ready" }, "Ready", 1, 0]
      ])
      // 20 events (and 1) in the one complete second since the shards' first events: not averaged
      // with the 9 seconds before they ran
      expect(status.map((line) => line.eventsPerSecond)).toEqual([20, 1])
      expect(status[0]!.sessionId).toBe("session-0")
      // the current status of each shard first, then the change
      yield* served.peers.get(1)!.drop
      yield* advance(100)
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(changes))
      expect(seen.slice(0, 2).map((line) => line.shard).sort()).toEqual([0, 1])
      expect(seen[2]).toMatchObject({ shard: 1, state: { _tag: "Disconnected" }, reason: { _tag: "Closed", code: undefined } })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("statusChanges read late shows each status as it was at its transition, not the vital signs of the moment it is read", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(1)
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      const fast: Array<ShardStatus> = []
      yield* Effect.forkScoped(Stream.runForEach(fleet.statusChanges, (line) => Effect.sync(() => void fast.push(line))))
      // a reader that takes nothing more until the end: its statuses wait, far more than a stream buffers
      const pull = yield* Stream.toPull(fleet.statusChanges)
      const late = Chunk.toArray(yield* pull)
      yield* advance(100)
      let sequence = 1
      for (let drop = 0; drop < 5; drop++) {
        // a busy second and a half before each drop: its statuses are made while events flow
        for (let n = 0; n < 30; n++) yield* served.peers.get(0)!.sendJson(dispatch(++sequence, "TYPING_START", {}))
        yield* advance(1_500, 100)
        yield* served.peers.get(0)!.drop
        // the backoff doubles from 1 s: 16 s at the fifth drop
        yield* advance(20_000, 1_000)
        // the RESUMED counts in the sequence
        sequence++
      }
      // five transitions a drop: Disconnected, ConnectingHttp, ConnectingWs, Connected (Hello), Connected (Resumed)
      // a minute later the shard has long been quiet
      yield* advance(60_000, 1_000)
      expect((yield* fleet.status)[0]!.eventsPerSecond).toBe(0)
      while (late.length < 1 + 5 * 5) late.push(...(yield* pull))
      const signs = (line: ShardStatus) => [line.state._tag, line.reason._tag, line.since, line.sequence, line.reconnects, line.eventsPerSecond]
      expect(late.map(signs)).toEqual(fast.slice(0, late.length).map(signs))
      // the first drop's status says what the shard had then: READY and 30 events over its two complete seconds
      expect(late[1]).toMatchObject({ state: { _tag: "Disconnected" }, reason: { _tag: "Closed" }, sequence: 31, reconnects: 0, eventsPerSecond: 15.5 })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("at most startupWindow shards are connected before their identify; the next connects once one has identified", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* configureLimiter(1)
      const served = yield* serve()
      yield* Fleet.make(options({ shardCount: 5, startupWindow: 2 }))
      yield* advance(500)
      // two shards connected; the first identified at once, which let a third connect
      expect(served.identifies).toHaveLength(1)
      expect((yield* gateway.attempts).map((attempt) => attempt.at)).toEqual([0, 0, 0])
      yield* advance(5_000 * 3)
      expect(served.identifies.map((identify) => identify.at)).toEqual([0, 5_000, 10_000, 15_000])
      // each later shard connected when the one two places ahead of it identified
      expect((yield* gateway.attempts).map((attempt) => attempt.at)).toEqual([0, 0, 0, 5_000, 10_000])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("by default one shard per rate-limit key waits connected; resumes do not wait at all", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* configureLimiter(2)
      yield* serve()
      yield* Fleet.make(options({ shardCount: 8 }))
      yield* advance(500)
      // two places (two keys): shards 0 and 1 identified at once, which started shards 2 and 3
      expect((yield* gateway.attempts).map((attempt) => attempt.at)).toEqual([0, 0, 0, 0])

      const resuming = yield* Fleet.make(options({
        shardCount: 3,
        startupWindow: 1,
        resume: [{ sessionId: "session-2", sequence: 1, resumeGatewayUrl: resumeUrl, shard: [2, 3] }]
      }))
      yield* advance(500)
      // the resume connected at once, though the only place was taken by an identifying shard
      expect((yield* gateway.attempts).slice(4).filter((attempt) => attempt.url.startsWith(resumeUrl))).toHaveLength(1)
      expect(resuming.shardIds).toEqual([0, 1, 2])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("starts a shard only at its turn: until then it is queued, `shard` waits for it, and it identifies with the latest presence", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* startingFleet(3)
      // shard 0 is READY, shard 1 took its place in the window, shard 2 waits for its turn
      expect((yield* fleet.status).map((line) => [line.shard, line.state._tag, line.reason._tag])).toEqual([
        [0, "Connected", "Ready"],
        [1, "Connected", "Hello"],
        [2, "Disconnected", "Queued"]
      ])
      const third = yield* Effect.fork(fleet.shard(2))
      // sent to the shards that run (shard 1, not READY yet, identifies with it: its op 3 would
      // only repeat it), kept for those that start later
      const presence = yield* Effect.fork(fleet.updatePresence(idle))
      yield* advance(100)
      expect(yield* Fiber.poll(third)).toStrictEqual(Option.none())
      yield* advance(5_000 * 2)
      yield* Fiber.join(presence)
      expect(served.identifies.map(({ presence, shard }) => [shard, presence])).toEqual([[0, undefined], [1, idle], [2, idle]])
      expect([presencesSent(served, 0), presencesSent(served, 1), presencesSent(served, 2)]).toEqual([[idle], [], []])
      expect(yield* Fiber.join(third)).toBe(yield* fleet.shard(2))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("updatePresence given up on is forgotten where it had not gone out: the shards still to identify identify without it", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* startingFleet(3)
      // shard 0 READY, shard 1 connected and waiting to identify, shard 2 queued
      const gaveUp = yield* Effect.fork(Effect.timeout(fleet.updatePresence(idle), "100 millis"))
      yield* advance(100)
      expect((yield* Effect.flip(Fiber.join(gaveUp)))._tag).toBe("TimeoutException")
      yield* advance(5_000 * 2)
      // shard 1, running, waited to identify: its send, given up on, was withdrawn unsent, so
      // nothing is sent back to it and its Identify carries no presence (it was sent the default
      // back, the send taken for one that may have gone out, which its Identify then carried)
      expect(served.identifies.map(({ presence, shard }) => [shard, presence])).toEqual([[0, undefined], [1, undefined], [2, undefined]])
      // shard 0's went out before the caller gave up: it is taken back to Discord's default, as the
      // fleet had no presence before (it stayed)
      expect([presencesSent(served, 0), presencesSent(served, 1), presencesSent(served, 2)]).toEqual([[idle, Commands.defaultPresence], [], []])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("updatePresence reaches every shard that resumes exactly once, made before it, while it is made, or after it, whatever the moment", () =>
    Effect.gen(function*() {
      // the shards that did not get the presence once (none, or twice: an update made as the
      // shard became reachable went to it, and again as the shard started), by the scheduler
      // turns between make and the update
      const missedAt: Array<[turns: number, shards: Array<number>]> = []
      for (let turns = 0; turns < 30; turns++) {
        yield* Effect.scoped(Effect.gen(function*() {
          yield* configureLimiter(1)
          const served = yield* serve()
          const count = 3
          const resume = Array.from({ length: count }, (_, id) => ({ sessionId: `session-${id}`, sequence: 1, resumeGatewayUrl: resumeUrl, shard: [id, count] as const }))
          // the starting fiber yields every few steps, so the update comes at every point of a shard's start
          yield* Effect.gen(function*() {
            const fleet = yield* Fleet.make(options({ shardCount: count, resume }))
            for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
            yield* Effect.fork(fleet.updatePresence(idle))
          }).pipe(Effect.withMaxOpsBeforeYield(16))
          yield* advance(2_000)
          const missed = Array.from({ length: count }, (_, shard) => shard)
            .filter((shard) => presencesSent(served, shard).length !== 1)
          if (missed.length > 0) missedAt.push([turns, missed])
        }).pipe(Effect.provide(TestLayer)))
      }
      expect(missedAt).toEqual([])
    }), 60_000)

  it.scoped("updatePresence given up on after a shard was made with it is taken back: the shards made later identify without it, the one that identified with it is sent the default", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* startingFleet(4)
      // shard 0 READY spends its five presence updates per 20 s: the next one waits there
      const shard0 = yield* fleet.shard(0)
      for (let i = 0; i < 5; i++) yield* shard0.updatePresence({ since: null, activities: [], status: "online", afk: false })
      const gaveUp = yield* Effect.fork(Effect.timeout(fleet.updatePresence(idle), "6 seconds"))
      // shard 1 identifies at 5 s, which makes shard 2, with the update; then the caller gives up
      yield* advance(6_000, 100)
      expect((yield* Effect.flip(Fiber.join(gaveUp)))._tag).toBe("TimeoutException")
      yield* advance(10_000)
      // shard 1's Identify carried it before the give-up; shard 2, made with it, identifies with the
      // default it was sent meanwhile (it was kept, and every shard made later identified with it)
      expect(served.identifies.map(({ presence, shard }) => [shard, presence])).toEqual([
        [0, undefined],
        [1, idle],
        [2, Commands.defaultPresence],
        [3, undefined]
      ])
      expect(presencesSent(served, 1).at(-1)).toEqual(Commands.defaultPresence)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("updatePresence refuses a presence the Identify of a shard still to start could not carry, and keeps nothing of it", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* startingFleet(3)
      // fits a Presence Update, not an Identify
      const long = { since: null, activities: [{ name: "x".repeat(3950), type: 0 }], status: "online", afk: false } as const
      const refused = yield* Effect.flip(fleet.updatePresence(long))
      expect([refused._tag, refused._tag === "InvalidCommand" && refused.reason]).toEqual(["InvalidCommand", "TooLarge"])
      yield* advance(5_000 * 2)
      expect(served.identifies.map(({ presence, shard }) => [shard, presence])).toEqual([[0, undefined], [1, undefined], [2, undefined]])
      expect([0, 1, 2].flatMap((shard) => presencesSent(served, shard))).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("stopped before every shard started: the queued ones never start, and the fleet ends", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const { fleet } = yield* startingFleet(3)
      // a program waiting for a shard that will now never start is told so
      const waiting = yield* Effect.fork(fleet.shard(2))
      yield* advance(100)
      expect(yield* Fiber.poll(waiting)).toStrictEqual(Option.none())
      const points = yield* fleet.disconnect()
      expect(points.map((point) => point.shard[0])).toEqual([0])
      expect(yield* Effect.flip(Fiber.join(waiting))).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 2 })
      yield* fleet.await
      const events = yield* Stream.runCollect(fleet.events)
      expect(Chunk.toReadonlyArray(events).map((event) => [event.shard, event.t])).toEqual([[0, "READY"]])
      expect(yield* Effect.flip(fleet.shard(2))).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 2 })
      expect((yield* fleet.shard(1)).shard).toEqual([1, 3])
      // watched from now on, the shard never started says so once
      const statuses = Chunk.toReadonlyArray(yield* Stream.runCollect(fleet.statusChanges))
      expect(statuses.filter((line) => line.shard === 2).map((line) => line.reason._tag)).toEqual(["NotStarted"])
      yield* advance(60_000)
      expect(yield* gateway.attempts).toHaveLength(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("closing the fleet's scope ends its events, for a consumer in another scope too", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      yield* serve()
      const scope = yield* Scope.make()
      const fleet = yield* Scope.extend(Fleet.make(options({ shardCount: 2 })), scope)
      yield* advance(500)
      const collected = yield* Effect.fork(Stream.runCollect(fleet.events))
      yield* advance(100)
      yield* Scope.close(scope, Exit.void)
      const events = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      // the two keys start side by side: either READY may come first
      expect(events.map((event) => [event.shard, event.t]).sort()).toEqual([[0, "READY"], [1, "READY"]])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("statusChanges and each session's transitions end once the fleet ended", () =>
    Effect.gen(function*() {
      const { fleet } = yield* readyFleet(2)
      const changes = yield* Effect.fork(Stream.runCollect(fleet.statusChanges))
      const transitions = yield* Effect.fork(Stream.runCollect((yield* fleet.shard(0)).transitions))
      yield* advance(100)
      yield* fleet.disconnect()
      yield* advance(100)
      const last = Chunk.toReadonlyArray(yield* Fiber.join(changes)).slice(-2)
      expect(last.map((status) => [status.state._tag, status.reason._tag]).sort()).toEqual([
        ["Disconnected", "Disconnect"],
        ["Disconnected", "Disconnect"]
      ])
      expect(Chunk.toReadonlyArray(yield* Fiber.join(transitions)).at(-1)?.reason._tag).toBe("Disconnect")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("closing the fleet's scope stops its shards all at once, not one after another", () =>
    Effect.gen(function*() {
      yield* configureLimiter(8)
      yield* serve()
      const scope = yield* Scope.make()
      yield* Scope.extend(Fleet.make(options({ shardCount: 8 })), scope)
      yield* advance(500)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      // each close handshake takes 100 ms: all eight are done after one of them
      yield* advance(100, 100)
      expect(Option.isSome(yield* Fiber.poll(closing))).toBe(true)
    }).pipe(Effect.provide(TestLayerWith((connection) => ({
      ...connection,
      close: (code, reason) => Effect.asVoid(Effect.forkDaemon(Effect.delay(connection.close(code, reason), "100 millis")))
    })))))

  it.scoped("shards with as many events waiting share the room the program makes: the one let in first does not take it all", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2, bufferSize: 10 }))
      yield* advance(500)
      const pull = yield* Stream.toPull(fleet.events)
      expect(yield* readies(pull)).toEqual(["READY", "READY"])
      // the program stops taking while both shards receive 100 events each, at the same pace
      for (let s = 2; s < 102; s++) {
        for (const peer of served.peers.values()) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
        yield* settle
      }
      yield* advance(10)
      const taken: Array<GatewayEvent> = []
      while (taken.length < 100) {
        taken.push(...Chunk.toReadonlyArray(yield* pull))
        yield* advance(0)
      }
      for (const shard of [0, 1]) {
        const mine = taken.filter((event) => event.shard === shard).map((event) => event.sequence)
        expect(mine).toEqual(mine.map((_, i) => i + 2))
      }
      // shard 1 got one event a take (0101010101 0000000001 0000000001 ...) when shard 0, let in
      // first, refilled all the room each take left
      const fromShard1 = taken.slice(0, 100).filter((event) => event.shard === 1).length
      expect(fromShard1).toBeGreaterThanOrEqual(40)
      expect(fromShard1).toBeLessThanOrEqual(60)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("three busy shards and room for five: the places that do not divide evenly go to each shard in turn", () =>
    Effect.gen(function*() {
      yield* configureLimiter(3)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 3, bufferSize: 5 }))
      const pull = yield* Stream.toPull(fleet.events)
      yield* advance(10_000)
      expect(yield* readies(pull, 3)).toEqual(["READY", "READY", "READY"])
      for (const peer of served.peers.values()) {
        for (let s = 2; s < 302; s++) yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
      }
      yield* settle
      for (let k = 0; k < 10; k++) {
        yield* pull
        yield* settle
      }
      const counts = [0, 0, 0]
      for (let k = 0; k < 60; k++) {
        for (const event of yield* pull) counts[event.shard]!++
        yield* settle
      }
      // it was 30, 90 and 30: the shard let in first took the places left over at every turn
      expect(counts).toEqual([50, 50, 50])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a full event buffer holds the shards back until the program reads: every event arrives once, in order, and is counted", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const gateway = yield* MemoryTransport.MemoryGateway
      const served = yield* serve()
      // room for two events: the two READYs fill it
      const fleet = yield* Fleet.make(options({ shardCount: 2, bufferSize: 2 }))
      yield* advance(500)
      const perShard = 5
      for (const [shard, peer] of served.peers) {
        for (let s = 2; s < 2 + perShard; s++) {
          yield* peer.sendJson(dispatch(s, "MESSAGE_CREATE", { content: `${shard}-${s}` }))
        }
      }
      yield* advance(100)
      // nobody read: each shard's reader waits for room with its first MESSAGE_CREATE (not yet
      // counted in its sequence), the rest behind it; the shards stay connected
      expect((yield* fleet.status).map((line) => [line.shard, line.state, line.sequence])).toEqual([
        [0, { _tag: "Connected", phase: "Ready" }, 1],
        [1, { _tag: "Connected", phase: "Ready" }, 1]
      ])

      // the program reads everything
      const total = 2 * (1 + perShard)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(fleet.events, total)))
      expect(events).toHaveLength(total)
      for (const shard of [0, 1]) {
        const mine = events.filter((event) => event.shard === shard)
        expect(mine.map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5, 6])
        expect(mine.slice(1).map((event) => (event.d as { content: string }).content)).toEqual(
          [2, 3, 4, 5, 6].map((s) => `${shard}-${s}`)
        )
      }
      // nothing more is buffered: the next read waits for a new event
      const more = yield* Effect.fork(Stream.runCollect(Stream.take(fleet.events, 2)))
      yield* advance(100)
      expect(yield* Fiber.poll(more)).toStrictEqual(Option.none())

      // the shards kept running on their first connection, and go on delivering
      for (const [shard, peer] of served.peers) yield* peer.sendJson(dispatch(7, "TYPING_START", { n: shard }))
      const after = Chunk.toReadonlyArray(yield* Fiber.join(more))
      expect(after.map((event) => [event.shard, event.t, event.sequence]).sort()).toEqual([[0, "TYPING_START", 7], [1, "TYPING_START", 7]])
      expect(yield* gateway.attempts).toHaveLength(2)
      for (const peer of served.peers.values()) expect(yield* peer.isOpen).toBe(true)
      yield* advance(1000)
      const status = yield* fleet.status
      expect(status.map((line) => [line.shard, line.state._tag, line.sequence, line.reconnects])).toEqual([
        [0, "Connected", 7, 0],
        [1, "Connected", 7, 0]
      ])
      // every delivered event counted in the rate, those that waited for room too: 7 in the one complete second
      expect(status.map((line) => line.eventsPerSecond)).toEqual([7, 7])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("statusChanges of a shard waiting for its turn: Queued first, then its session's transitions once it starts", () =>
    Effect.gen(function*() {
      const { fleet } = yield* startingFleet(3)
      expect((yield* fleet.shard(0)).shard).toEqual([0, 3])
      const seen: Array<ShardStatus> = []
      yield* Effect.forkScoped(Stream.runForEach(
        Stream.filter(fleet.statusChanges, (line) => line.shard === 2),
        (line) => Effect.sync(() => void seen.push(line))
      ))
      yield* advance(1000)
      // shard 2 has no session yet: only its place in line
      expect(seen).toEqual([{
        shard: 2,
        state: { _tag: "Disconnected" },
        reason: { _tag: "Queued" },
        since: 0,
        sessionId: undefined,
        sequence: null,
        latency: undefined,
        reconnects: 0,
        eventsPerSecond: 0
      }])
      // READY answers at once: shard 1 identifies at 5 s, which starts shard 2; shard 2 identifies at its turn, 10 s
      yield* advance(5_000 * 2)
      expect(seen.map((line) => [line.state, line.reason._tag, line.since, line.sessionId ?? null, line.sequence])).toEqual([
        [{ _tag: "Disconnected" }, "Queued", 0, null, null],
        [{ _tag: "ConnectingHttp" }, "Start", 5_000, null, null],
        [{ _tag: "ConnectingWs", url: `${gatewayUrl}?v=10&encoding=json` }, "Opened", 5_000, null, null],
        [{ _tag: "Connected", phase: "Identifying" }, "Hello", 5_000, null, null],
        [{ _tag: "Connected", phase: "Ready" }, "Ready", 10_000, "session-2", 1]
      ])
      expect(seen.every((line) => line.shard === 2)).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // it showed ConnectingHttp while it waited in line, opening nothing: 20 s for the sixth shard
  it.scoped("a started shard whose next Identify waits for a place in the window is Queued, not ConnectingHttp, until its turn", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* startingFleet(3)
      yield* advance(10_000)
      expect(served.identifies.map((identify) => identify.shard)).toEqual([0, 1, 2])
      // op 9 to every shard at once: they identify again one per 5 s (after the 1-5 s pause)
      for (const id of [0, 1, 2]) yield* served.peers.get(id)!.sendJson({ op: 9, d: false, s: null, t: null })
      const seen: Array<[string, string]> = []
      yield* Effect.forkScoped(Stream.runForEach(
        Stream.filter(fleet.statusChanges, (line) => line.shard === 2),
        (line) => Effect.sync(() => void seen.push([line.state._tag, line.reason._tag]))
      ))
      yield* advance(20_000)
      expect(served.identifies).toHaveLength(6)
      expect(seen).toEqual([
        ["Disconnected", "InvalidSession"],
        ["Disconnected", "Queued"],
        ["ConnectingHttp", "Start"],
        ["ConnectingWs", "Opened"],
        ["Connected", "Hello"],
        ["Connected", "Ready"]
      ])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a shard waiting for a place in the window has not begun its reconnect: a stop then leaves it uncounted (it was counted before the wait)", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* startingFleet(3)
      yield* advance(10_000)
      for (const id of [0, 1, 2]) yield* served.peers.get(id)!.sendJson({ op: 9, d: false, s: null, t: null })
      // after the pause and the backoff, one takes the place, the others wait in line
      yield* advance(4_000, 100)
      const queued = (yield* fleet.status).filter((line) => line.reason._tag === "Queued")
      expect(queued.map((line) => line.reconnects)).toEqual([0, 0])
      const stopping = yield* Effect.fork(fleet.disconnect("1 second"))
      yield* advance(2_000, 100)
      yield* Fiber.join(stopping)
      const last = (yield* fleet.status).filter((line) => queued.some((was) => was.shard === line.shard))
      expect(last.map((line) => [line.reason._tag, line.reconnects])).toEqual([["Disconnect", 0], ["Disconnect", 0]])
      // the one that took the place began its reconnect
      expect((yield* fleet.status).map((line) => line.reconnects).sort()).toEqual([0, 0, 1])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a shard stopped through shard(id), or ending meanwhile, is left out of updatePresence, and a soundboard request that needs it sends nothing", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      const sent = (shard: number, op: number) => (served.commands.get(shard) ?? []).filter((payload) => payload.op === op)
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      // an operator takes shard 1 out; the fleet goes on with 0 and 2
      yield* (yield* fleet.shard(1)).disconnect()
      yield* advance(100)
      yield* fleet.updatePresence(idle)
      yield* advance(100)
      expect([sent(0, 3), sent(1, 3), sent(2, 3)].map((list) => list.length)).toEqual([1, 0, 1])
      // a shard ending while the update waits for it is left out too
      const stopping = yield* Effect.fork((yield* fleet.shard(2)).end())
      yield* fleet.updatePresence({ ...idle, status: "dnd" })
      yield* Fiber.join(stopping)
      const refused = yield* Effect.flip(fleet.requestSoundboardSounds([guildOn(0, 3), guildOn(1, 3)]))
      // every guild of the call is named, none having gone out: a caller asking again for them all
      expect(refused).toMatchObject({
        _tag: "SessionClosed",
        detail: `shard 1 was disconnected or ended before the command for guild ${guildOn(1, 3)} went out; no part went out`,
        shards: [1],
        guildIds: [guildOn(0, 3), guildOn(1, 3)]
      })
      yield* advance(100)
      expect(sent(0, 31)).toEqual([])
      // the fleet's handoff still carries shard 1's point (shard 2 was ended: it has none)
      expect((yield* fleet.disconnect()).map((point) => [point.shard[0], point.sessionId])).toEqual([[0, "session-0"], [1, "session-1"]])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request for a shard still waiting to start waits for it, then times out the members timeout after the shard's session took it", () =>
    Effect.gen(function*() {
      const { fleet } = yield* startingFleet(3, { intents: 513 | 2 })
      expect((yield* fleet.status).map((line) => line.reason._tag)).toEqual(["Ready", "Hello", "Queued"])
      // shard 2 starts about 10 s from now; the gateway never answers the request
      const request = yield* Effect.fork(Effect.flip(fleet.requestGuildMembers({ guild_id: guildOn(2, 3), query: "", limit: 0 })))
      yield* advance(30_500)
      expect(yield* Fiber.poll(request)).toStrictEqual(Option.none())
      yield* advance(10_000)
      expect(yield* timedOut(request)).toBe(guildOn(2, 3))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request for a shard that does not start within the members timeout fails with Timeout then", () =>
    Effect.gen(function*() {
      // one identify every 5 s: shard 9's session is made about 40 s from now, when its turn nears
      const { fleet } = yield* startingFleet(10, { intents: 513 | 2 })
      const request = yield* Effect.fork(Effect.flip(fleet.requestGuildMembers({ guild_id: guildOn(9, 10), query: "", limit: 0 })))
      yield* advance(29_900)
      expect(yield* Fiber.poll(request)).toStrictEqual(Option.none())
      yield* advance(200)
      expect(yield* timedOut(request)).toBe(guildOn(9, 10))
      expect((yield* fleet.status)[9]!.reason._tag).toBe("Queued")
      // never sent: it said the gateway gave no answer in time
      const error = Option.getOrThrow(yield* Fiber.poll(request))
      expect(Exit.isSuccess(error) && error.value.message).toBe(
        `request guild members for ${guildOn(9, 10)} was not sent in time: its shard 9 did not start within the members timeout`
      )
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a command that breaks a rule fails at once with InvalidCommand, also for a shard still waiting to start", () =>
    Effect.gen(function*() {
      // intents 513: no GuildMembers; shard 2 starts about 10 s from now
      const { fleet } = yield* startingFleet(3, { intents: 513 })
      const guild = guildOn(2, 3)
      const refused = yield* Effect.fork(Effect.all([
        fleet.updateVoiceState({ guild_id: guild, channel_id: "not-a-channel", self_mute: false, self_deaf: false }),
        // the whole member list without the GuildMembers intent: no answer would ever come
        fleet.requestGuildMembers({ guild_id: guild, query: "", limit: 0 }),
        fleet.requestChannelInfo({ guild_id: guild, fields: [] }),
        fleet.requestSoundboardSounds([])
      ].map(Effect.flip)))
      yield* advance(100)
      const errors = Option.map(yield* Fiber.poll(refused), (exit) => Exit.isSuccess(exit) && exit.value.map((error) => error._tag))
      expect(errors).toEqual(Option.some(["InvalidCommand", "InvalidCommand", "InvalidCommand", "InvalidCommand"]))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("requestSoundboardSounds checks every part before it waits for a shard to start: a bad id, or a shard not run, fails at once (it waited for the queued shard)", () =>
    Effect.gen(function*() {
      // shards 0-2 of 4: shard 2 queued (it starts about 10 s from now), shard 3 run by no one
      const { fleet } = yield* startingFleet(4, { shards: [0, 1, 2] })
      expect((yield* fleet.status).map((line) => line.reason._tag)).toEqual(["Ready", "Hello", "Queued"])
      const badId = yield* Effect.fork(Effect.flip(fleet.requestSoundboardSounds([guildOn(2, 4), "not-a-guild"])))
      const notRun = yield* Effect.fork(Effect.flip(fleet.requestSoundboardSounds([guildOn(2, 4), guildOn(3, 4)])))
      yield* advance(100)
      const tags = (fiber: Fiber.Fiber<{ readonly _tag: string }, unknown>) =>
        Effect.map(Fiber.poll(fiber), Option.map((exit) => Exit.isSuccess(exit) ? exit.value._tag : "died"))
      expect([yield* tags(badId), yield* tags(notRun)]).toEqual([Option.some("InvalidCommand"), Option.some("RouteError")])
    }).pipe(Effect.provide(TestLayer)))

  // a part over 4096 bytes was refused (InvalidCommand), and a call of more than 4096 ids in all
  // too: a bot asked for its sounds a frame's worth of guilds (about 180) at a time
  it.scoped("requestSoundboardSounds of 5000 guilds over two shards: each shard's part goes out in as many frames as it needs, in order", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(2)
      const guilds = Array.from({ length: 5000 }, (_, i) => guildOn(i % 2, 2, i))
      yield* fleet.requestSoundboardSounds(guilds)
      yield* advance(100)
      for (const shard of [0, 1]) {
        const frames = (served.commands.get(shard) ?? []).filter((payload) => payload.op === 31)
        expect(frames.length).toBeGreaterThan(5)
        expect(frames.every((payload) => JSON.stringify(payload).length <= Commands.maxPayloadBytes)).toBe(true)
        expect(frames.flatMap((payload) => (payload.d as { guild_ids: Array<string> }).guild_ids)).toEqual(guilds.filter((_, i) => i % 2 === shard))
      }
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("requestSoundboardSounds sends no part before every shard it needs runs: the fleet stopped before one started sends nothing", () =>
    Effect.gen(function*() {
      // shard 0 READY, shard 1 waiting for its turn, shard 2 queued
      const { fleet, served } = yield* startingFleet(3)
      const request = yield* Effect.fork(Effect.flip(fleet.requestSoundboardSounds([guildOn(0, 3), guildOn(2, 3)])))
      yield* advance(100)
      expect(Option.isNone(yield* Fiber.poll(request))).toBe(true)
      yield* fleet.disconnect()
      yield* advance(100)
      expect(yield* Fiber.join(request)).toMatchObject({ _tag: "RouteError", reason: "NotRunning" })
      // shard 0's part went out while shard 2 was waited for, and stayed sent with the call failed
      expect((served.commands.get(0) ?? []).filter((payload) => payload.op === 31)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  // the parts were cut into frames only by their sessions, once started: a part no frame holds
  // failed the call only once its queued shard started (here ~10 s; in a large fleet, minutes)
  it.scoped("a part no frame can hold (an encoding of the program's own) fails at once, before waiting for its queued shard", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 4, startupWindow: 1, shards: [0, 1, 2], encoding: wide }))
      yield* advance(500)
      expect((yield* fleet.status).map((line) => line.reason._tag)).toEqual(["Ready", "Hello", "Queued"])
      const request = yield* Effect.fork(Effect.flip(fleet.requestSoundboardSounds([guildOn(2, 4)])))
      yield* advance(100)
      const tag = Effect.map(Fiber.poll(request), Option.map((exit) => Exit.isSuccess(exit) ? exit.value._tag : "died"))
      const atOnce = yield* tag
      yield* advance(20_000)
      const later = yield* tag
      expect([atOnce, later]).toEqual([Option.some("InvalidCommand"), Option.some("InvalidCommand")])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("requestSoundboardSounds: a shard that ends while the parts wait for their connections fails the call, the other's part still sent", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      // connections 2 and 3 (both shards' reconnects) get no Hello: the parts wait for ready ones
      const served = yield* serve({ silent: (n) => n === 2 || n === 3 })
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(500)
      yield* served.peers.get(0)!.close(4000, "")
      yield* served.peers.get(1)!.close(4000, "")
      yield* advance(6_000)
      const request = yield* Effect.fork(Effect.either(fleet.requestSoundboardSounds([guildOn(0, 2), guildOn(1, 2)])))
      yield* advance(100)
      yield* (yield* fleet.shard(1)).end()
      // shard 0 comes back (its hello timeout, then a connection that resumes); the call fails once
      // its part went out there
      yield* advance(40_000)
      expect(served.resumes.map((resume) => resume.sessionId)).toContain("session-0")
      expect(yield* Fiber.join(request)).toMatchObject({ _tag: "Left", left: { _tag: "SessionClosed" } })
      // it was withdrawn from its queue when shard 1's failure interrupted it
      expect((served.commands.get(0) ?? []).filter((payload) => payload.op === 31)).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a member request over 4096 bytes once its nonce is in fails at once, also for a shard still waiting to start", () =>
    Effect.gen(function*() {
      const { fleet } = yield* startingFleet(3, { intents: Intents.Guilds | Intents.GuildMembers })
      const guild_id = guildOn(2, 3)
      // 4096 bytes without a nonce: the check passed it, and its session refused it once started
      const bare = JSON.stringify({ op: 8, d: { guild_id, query: "", limit: 1 } }).length
      const query = "a".repeat(4096 - bare)
      const refused = yield* Effect.fork(Effect.flip(fleet.requestGuildMembers({ guild_id, query, limit: 1 })))
      yield* advance(100)
      expect(Option.map(yield* Fiber.poll(refused), (exit) => Exit.isSuccess(exit) && exit.value._tag)).toEqual(Option.some("InvalidCommand"))
      // a session's nonces are all as wide, whatever its draw and count
      expect([MemberRequests.nonce(0, 1), MemberRequests.nonce(2 ** 31 - 1, 36 ** 7 - 1)].map((nonce) => nonce.length)).toEqual([
        MemberRequests.widestNonce.length,
        MemberRequests.widestNonce.length
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("requestGuildMembers goes out on the guild's shard and returns the members its connection answers with", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      const sent = (shard: number) => (served.commands.get(shard) ?? []).filter((payload) => payload.op === 8)
      const guild = guildOn(2, 3)
      const request = yield* Effect.fork(fleet.requestGuildMembers({ guild_id: guild, query: "ab", limit: 10 }))
      yield* advance(100)
      expect([sent(0), sent(1)]).toEqual([[], []])
      expect(sent(2)).toHaveLength(1)
      const { nonce, ...asked } = sent(2)[0]!.d as { readonly nonce: string }
      expect(asked).toEqual({ guild_id: guild, query: "ab", limit: 10 })
      expect(nonce).toEqual(expect.any(String))

      const member = (id: string) => ({
        user: { id, username: `user-${id}` },
        roles: [],
        joined_at: "2020-01-01T00:00:00.000Z",
        deaf: false,
        mute: false
      })
      const chunk = (index: number, ids: ReadonlyArray<string>) => ({
        guild_id: guild,
        members: ids.map(member),
        chunk_index: index,
        chunk_count: 2,
        nonce
      })
      // the same nonce answered on another shard's connection is not this request's answer
      yield* served.peers.get(0)!.sendJson(dispatch(2, "GUILD_MEMBERS_CHUNK", { ...chunk(0, ["9"]), chunk_count: 1 }))
      yield* served.peers.get(2)!.sendJson(dispatch(2, "GUILD_MEMBERS_CHUNK", chunk(0, ["10", "11"])))
      yield* advance(100)
      expect(yield* Fiber.poll(request)).toStrictEqual(Option.none())
      yield* served.peers.get(2)!.sendJson(dispatch(3, "GUILD_MEMBERS_CHUNK", chunk(1, ["12"])))
      const members = yield* Fiber.join(request)
      expect(members.guildId).toBe(guild)
      expect(members.members.map((m) => m.user.id)).toEqual(["10", "11", "12"])
      expect(members.notFound).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Fleet.layer runs a fleet for the program that uses it, and stops its shards resumably when the program is done", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const program = Effect.gen(function*() {
        const fleet = yield* Fleet.Fleet
        expect(fleet.shardIds).toEqual([0, 1])
        return Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(fleet.events, 3)))
      })
      const running = yield* Effect.fork(Effect.provide(program, Fleet.layer(options({ shardCount: 2 }))))
      yield* advance(500)
      expect(served.identifies.map((identify) => identify.shard).sort()).toEqual([0, 1])
      yield* served.peers.get(1)!.sendJson(dispatch(2, "GUILD_CREATE", { id: "1" }))
      const events = yield* Fiber.join(running)
      expect(events.map((event) => [event.shard, event.t, event.sequence]).sort()).toEqual([
        [0, "READY", 1],
        [1, "GUILD_CREATE", 2],
        [1, "READY", 1]
      ])
      // the Layer's scope closed with the program: both shards were disconnected, not ended
      for (const peer of served.peers.values()) {
        const closed = yield* peer.closed
        expect(closed.by).toBe("client")
        expect(closed.code).not.toBe(1000)
      }
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Fleet.layerConfig reads its options from Config as the Layer is built", () =>
    Effect.gen(function*() {
      yield* configureLimiter(3)
      const served = yield* serve()
      const layer = Fleet.layerConfig({
        intents: Config.succeed(513),
        gateway: Config.succeed(gatewayUrl),
        compression: Config.succeed("none" as const),
        token: Config.redacted("DISCORD_TOKEN"),
        shardCount: Config.integer("SHARD_COUNT"),
        // left out, as given as undefined (the type refused it where optional properties are exact)
        shards: undefined,
        timeouts: { connect: undefined }
      }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", "a.b.c"], ["SHARD_COUNT", "3"]])))))
      const ids = yield* Effect.provide(Effect.zipLeft(Effect.map(Fleet.Fleet, (fleet) => fleet.shardIds), advance(500)), layer)
      expect(ids).toEqual([0, 1, 2])
      expect(served.identifies.map((identify) => identify.shard).sort()).toEqual([0, 1, 2])
      const missing = yield* Effect.flip(Effect.provide(Fleet.Fleet, Fleet.layerConfig({ token: Config.redacted("NOWHERE"), intents: Config.succeed(1) })))
      expect(missing._tag).toBe("ConfigError")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Fleet.layerConfig runs the shards FleetOptions.shardsConfig reads; a repeated id is InvalidOptions", () =>
    Effect.gen(function*() {
      yield* configureLimiter(4)
      const served = yield* serve()
      const layerWith = (shards: string) =>
        Fleet.layerConfig({
          intents: Config.succeed(513),
          gateway: Config.succeed(gatewayUrl),
          compression: Config.succeed("none" as const),
          token: Config.redacted("DISCORD_TOKEN"),
          shardCount: Config.succeed(8),
          shards: FleetOptions.shardsConfig("SHARDS")
        }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", "a.b.c"], ["SHARDS", shards]])))))
      const ids = yield* Effect.provide(Effect.zipLeft(Effect.map(Fleet.Fleet, (fleet) => fleet.shardIds), advance(500)), layerWith("1,6-7"))
      expect(ids).toEqual([1, 6, 7])
      expect(served.identifies.map((identify) => identify.shard).sort()).toEqual([1, 6, 7])
      expect(yield* Effect.flip(Effect.provide(Fleet.Fleet, layerWith("0-2,2")))).toMatchObject({ _tag: "InvalidOptions", detail: expect.stringContaining("shard ids must not repeat") })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("rejects bad options before starting anything", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const point = { sessionId: "s", sequence: 1, resumeGatewayUrl: resumeUrl, shard: [3, 4] as const }
      for (const bad of [
        options({ shards: [], shardCount: 4 }),
        options({ shards: [0, 4], shardCount: 4 }),
        options({ shards: [1, 1], shardCount: 4 }),
        options({ shardCount: 0 }),
        options({ shardCount: 4, resume: [point, { ...point, sessionId: "t" }] }),
        options({ shardCount: 4, startupWindow: 0 }),
        options({ shardCount: 4, startupWindow: 1.5 })
      ]) {
        expect((yield* Effect.flip(Fleet.make(bad)))._tag).toBe("InvalidOptions")
      }
      // from JavaScript: it died reading a field of null
      for (const whole of [null, undefined]) {
        expect(yield* Effect.flip(Fleet.make(whole as never))).toMatchObject({ _tag: "InvalidOptions", detail: `options must be an object, got ${whole}` })
      }
      // a Map holds no options as properties: each was read as left out
      expect(yield* Effect.flip(Fleet.make(new Map([["shardCount", 4]]) as never))).toMatchObject({ _tag: "InvalidOptions", detail: "options must be an object, got a Map" })
      for (const [bad, detail] of [
        [options({ shards: [-1, 0.5], shardCount: 4 }), "shard ids must be non-negative integers, got -1, 0.5"],
        // a list's holes (from JavaScript) were skipped by `filter`, and refused late as repeats
        [options({ shards: new Array<number>(2), shardCount: 4 }), "shard ids must be non-negative integers, got undefined, undefined"],
        [options({ shards: [3], shardCount: 4, resume: [point, { ...point, sessionId: "t" }] }), "two resume points for shard 3, of different gateway sessions"],
        // more than an Identify carries: refused, not a RangeError defect from making 2^32 shard ids
        [options({ shardCount: 2 ** 32 }), "shardCount must be at most 65535 (the most an Identify carries), got 4294967296"],
        [options({ shardCount: 65_536 }), "shardCount must be at most 65535"],
        [options({ shards: [0, 65_535, 2 ** 40] }), "shard ids must be at most 65534, got 65535, 1099511627776"],
        // however many: the whole list made a message of 29 KB
        [options({ shards: FleetOptions.range(-5000, 0) }), "shard ids must be non-negative integers, got -5000, -4999, -4998, -4997, -4996, ... (5000 in all)"],
        [options({ shardCount: 4, shards: FleetOptions.range(0, 5000) }), "shard ids must be below the shard count 4, got 4, 5, 6, 7, 8, ... (4996 in all)"],
        // a defect from Duration.decode before it was checked
        [options({ shardCount: 4, gatewayInfoMaxAge: "hourly" as never }), `gatewayInfoMaxAge must be a duration of at least 1 second, got "hourly"`],
        // a Resume carries the token: not to a ws:// point where the gateway (without one, the API) is encrypted
        [options({ shardCount: 4, gateway: undefined, resume: [point] }), "resume.resumeGatewayUrl is not encrypted (ws://) where the gateway is"],
        // a point stored before READYs quoting the token were refused
        [options({ shardCount: 4, resume: [{ ...point, sessionId: `s-${secret}` }] }), "resume.sessionId holds the token: identify anew (leave the point out) (shard 3)"],
        // the token given as another option by mistake is not quoted (57 characters of it were)
        [options({ shardCount: 4, compression: secret as "none" }), `compression must be "zlib-stream", "zstd-stream" or "none", got a value of ${secret.length} characters (not shown)`],
        [options({ shards: secret as never }), `shards must be "all" or a list of shard ids, got a value of ${secret.length} characters (not shown)`]
      ] as const) {
        expect(yield* Effect.flip(Fleet.make(bad))).toMatchObject({ _tag: "InvalidOptions", detail: expect.stringContaining(detail) })
      }
      yield* advance(1000)
      expect(yield* gateway.attempts).toEqual([])
      // the largest an Identify carries pass
      expect(Either.isRight(FleetOptions.checkSelection(options({ shards: [65_534], shardCount: 65_535 })))).toBe(true)
      // a resume point's own fields need no shard count: they are checked before GET /gateway/bot
      const malformed = { sessionId: "", sequence: -1, resumeGatewayUrl: "https://resume.test", shard: [3, 4] as const }
      const refused = FleetOptions.checkSelection(options({ resume: [malformed] }))
      expect(Either.isLeft(refused) && refused.left.detail).toBe(
        "resume.resumeGatewayUrl must be a ws:// or wss:// URL without a fragment or credentials (shard 3); resume.sequence must be a non-negative integer (shard 3); resume.sessionId must be a non-empty string of at most 256 characters (shard 3)"
      )
      // shapes the types forbid (from JavaScript or a parsed file) are refused too; they threw a TypeError
      const shaped = (overrides: Record<string, unknown>) =>
        Either.match(FleetOptions.checkSelection({ ...options(), ...overrides } as FleetOptions.FleetOptions), {
          onLeft: (error) => error.detail,
          onRight: () => "valid"
        })
      expect(shaped({ shards: "some" })).toBe(`shards must be "all" or a list of shard ids, got "some"`)
      expect(shaped({ resume: {} })).toBe("resume must be a list of resume points, got an object")
      // taken as left out, where a session refuses a null option
      expect(shaped({ resume: null })).toBe("resume must be a list of resume points, got null")
      expect(shaped({ shards: null })).toBe(`shards must be "all" or a list of shard ids, got null`)
      expect(shaped({ resume: [null, { ...malformed, shard: "3" }] })).toBe(
        `resume must be an object, got null; resume.shard must be an [id, count] pair, got "3"`
      )
      // a session's options in a variable given to a fleet: its `shard` was ignored, every shard run
      const sessionOptions = { ...options({ shardCount: 4 }), shard: [1, 4] as const }
      const oneShard = yield* Effect.flip(Fleet.make(sessionOptions))
      expect(oneShard.detail).toBe(
        "shard is a session's option, not a fleet's: a fleet runs the shards `shards` and `shardCount` say, each identifying where GET /gateway/bot or `gateway` says"
      )
      // a misspelt option, refused by the sessions' checks
      const misspelt = yield* Effect.flip(Fleet.make({ ...options({ shardCount: 1 }), ...{ startupWindw: 2 } }))
      expect(misspelt.detail).toBe("unknown option startupWindw (misspelt?)")
      expect(yield* gateway.attempts).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a shard with a steady backlog does not starve a quiet shard of the merged buffer: waiting events go in in turn", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(2, { bufferSize: 4 })
      const pull = yield* Stream.toPull(fleet.events)
      expect(yield* readies(pull)).toEqual(["READY", "READY"])
      // shard 0 keeps 50 events queued, more arriving as the program reads; shard 1 has one
      let sequence = 2
      const busy = (n: number) =>
        Effect.forEach(Array.from({ length: n }, () => sequence++), (s) => served.peers.get(0)!.sendJson(dispatch(s, "MESSAGE_CREATE", {})), { discard: true })
      yield* busy(50)
      yield* advance(100)
      yield* served.peers.get(1)!.sendJson(dispatch(2, "MESSAGE_CREATE", { quiet: true }))
      yield* advance(100)
      let read = 0
      let quietAt: number | undefined
      while (read < 200 && quietAt === undefined) {
        const chunk = Chunk.toReadonlyArray(yield* pull)
        for (const event of chunk) {
          if (event.shard === 1) quietAt = read
          read++
        }
        yield* busy(chunk.filter((event) => event.shard === 0).length)
        yield* advance(0)
      }
      // four places, two shards: the quiet shard's event waits a few takes at most
      expect(quietAt).toBeLessThan(20)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("after a fatal close, the status still says why the fatal shard stopped; the others were disconnected, and only they can be resumed", () =>
    Effect.gen(function*() {
      const { fleet, served } = yield* readyFleet(3)
      yield* Effect.forkScoped(Effect.either(Stream.runDrain(fleet.events)))
      yield* served.peers.get(1)!.close(4014, "Disallowed intent(s).")
      expect(yield* Effect.flip(fleet.await)).toMatchObject({ _tag: "FatalClose", code: 4014 })
      const status = yield* fleet.status
      expect(status.map((line) => [line.shard, line.reason._tag])).toEqual([[0, "Disconnect"], [1, "Fatal"], [2, "Disconnect"]])
      // a session a fatal close ended would be refused again: no resume point carries it on
      expect((yield* fleet.disconnect()).map((point) => point.shard[0])).toEqual([0, 2])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("closing the fleet's scope during startup starts no queued shard", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* configureLimiter(1)
      const served = yield* serve()
      const scope = yield* Scope.make()
      const fleet = yield* Scope.extend(Fleet.make(options({ shardCount: 5 })), scope)
      // shard 0 identified at 0, shard 1 at 5 s; shard 2 is connected and waits for its turn; 3 and 4 are queued
      yield* advance(5_100, 100)
      expect((yield* gateway.attempts).map((attempt) => attempt.at)).toEqual([0, 0, 5_000])
      yield* Scope.close(scope, Exit.void)
      yield* fleet.await
      yield* advance(60_000, 5_000)
      expect(served.identifies.map((identify) => identify.shard)).toEqual([0, 1])
      expect(yield* gateway.attempts).toHaveLength(3)
      expect((yield* Effect.flip(fleet.shard(3)))._tag).toBe("RouteError")
      // not queued for ever: the status says the fleet stopped before starting them, and since when
      const notStarted = (yield* fleet.status).filter((line) => line.shard >= 3)
      expect(notStarted.map((line) => [line.shard, line.reason._tag, line.since])).toEqual([[3, "NotStarted", 5_100], [4, "NotStarted", 5_100]])
      const changes = yield* Stream.runCollect(Stream.take(Stream.filter(fleet.statusChanges, (line) => line.shard >= 3), 2))
      expect(Chunk.toReadonlyArray(changes).map((line) => line.reason._tag)).toEqual(["NotStarted", "NotStarted"])
    }).pipe(Effect.provide(TestLayer)))
})

describe("Fleet gateway info", () => {
  const answer = {
    url: gatewayUrl,
    shards: 4,
    session_start_limit: { total: 1000, remaining: 990, reset_after: 3_600_000, max_concurrency: 2 }
  }

  // fetched by whichever shard's attempt found the answer stale, its lines carried that shard
  it.scoped("its lines about the shared answer (fetched, a refresh failed) are the fleet's: component Fleet, no shard", () => {
    const { layer, lines } = annotated()
    let requests = 0
    const client = HttpClient.make((request) =>
      Effect.sync(() => {
        requests++
        return HttpClientResponse.fromWeb(request, requests === 1 ? new Response(JSON.stringify(answer), { status: 200 }) : new Response("unavailable", { status: 503 }))
      })
    )
    return Effect.gen(function*() {
      const served = yield* serve()
      const { gateway: _, ...withoutUrl } = options()
      yield* Fleet.make({ ...withoutUrl, api: "http://127.0.0.1:1/api/v10", shardCount: 2, gatewayInfoMaxAge: "1 minute" })
      yield* advance(126_000, 6_000)
      // shard 1 identifies anew: the answer is stale, and its refresh fails
      yield* served.peers.get(1)!.close(4009)
      yield* advance(10_000)
      const about = lines.filter((line) => line.includes("gateway info"))
      expect(about.map((line) => line.replace(/ \[.*\]$/, ""))).toEqual([
        "DEBUG gateway info fetched",
        "WARN gateway info could not be refreshed (1 time(s) in a row); using the cached answer"
      ])
      expect(about.every((line) => line.includes("component=Fleet") && !line.includes(" shard="))).toBe(true)
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, client)))
    )
  })

  it.scoped("checks its options before asking GET /gateway/bot", () => {
    const http = gatewayBotClient(answer)
    return Effect.gen(function*() {
      const { gateway: _, ...withoutUrl } = options()
      for (const [bad, detail] of [
        [{ intents: 1 << 30 }, "intents must be a combination of known intent bits"],
        [{ token: Redacted.make(`Bot ${secret}`) }, "without the \"Bot \" prefix"],
        [{ api: "ftp://example.test" }, "api must be an http(s) URL"],
        // with the shard count given, the shards and resume points too
        [{ shardCount: 4, shards: [5] }, "shard ids must be below the shard count 4, got 5"],
        // a stored point whose shard came back from a store as strings, or cut to a null: it was
        // "shard count 4, not 4", and without shardCount taken for another count's (its shard identifying anew)
        ...[["1", "4"], ["1", 4], [1, null]].flatMap((shard) =>
          [{}, { shardCount: 4 }].map((count) =>
            [{ ...count, resume: [{ sessionId: "s", sequence: 1, resumeGatewayUrl: "wss://resume.test", shard: shard as unknown as readonly [number, number] }] }, "resume.shard "] as const
          )
        )
      ] as const) {
        const error = yield* Effect.flip(Fleet.make({ ...withoutUrl, ...bad }))
        expect(error).toMatchObject({ _tag: "InvalidOptions", detail: expect.stringContaining(detail) })
        expect(error.message).not.toContain(secret)
      }
      expect(http.requests).toEqual([])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, http.layer)))
  })

  // Refused (InvalidOptions) before: a bot whose stored points predate Discord's new recommended
  // count could not start until someone deleted them.
  it.scoped("without shardCount, resume points of another count than the recommended one are not resumable: their shards identify anew, with a warning", () => {
    const http = gatewayBotClient(answer)
    const { layer: logs, lines } = captured()
    return Effect.gen(function*() {
      const served = yield* serve()
      const { gateway: _, ...withoutUrl } = options()
      const stale = { sessionId: "old", sequence: 9, resumeGatewayUrl: "wss://resume.test", shard: [0, 2] as const }
      const current = { sessionId: "kept", sequence: 3, resumeGatewayUrl: gatewayUrl, shard: [1, 4] as const }
      const fleet = yield* Fleet.make({ ...withoutUrl, api: "http://127.0.0.1:1/api/v10", resume: [stale, current] })
      expect(fleet.shardCount).toBe(4)
      yield* advance(6000)
      expect(served.identifies.map((i) => i.shard).sort()).toEqual([0, 2, 3])
      expect(served.resumes).toEqual([{ sessionId: "kept", seq: 3 }])
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        "WARN 1 resume point(s) are of another shard count than the recommended 4: not resumed"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, http.layer, logs)))
  })

  // Refused (InvalidOptions) before: a deploy that raised SHARD_COUNT, handed the store's points of
  // before, failed to start in every process, those running none of the points' shards too, until
  // someone emptied the store (newuser14)
  it.scoped("with shardCount given, resume points of another count are not resumed either: the fleet starts, with a warning", () => {
    const { layer: logs, lines } = captured()
    return Effect.gen(function*() {
      yield* configureLimiter(4)
      const served = yield* serve()
      const old = [0, 1, 2, 3].map((id) => ({ sessionId: `old-${id}`, sequence: 9, resumeGatewayUrl: gatewayUrl, shard: [id, 4] as const }))
      // the process running shards 4-7 of 8, handed every point of the store
      const fleet = yield* Fleet.make(options({ shardCount: 8, shards: FleetOptions.range(4, 8), resume: old }))
      yield* advance(6000)
      expect(fleet.shardIds).toEqual([4, 5, 6, 7])
      expect(served.identifies.map((i) => i.shard).sort()).toEqual([4, 5, 6, 7])
      expect(served.resumes).toEqual([])
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        "WARN 4 resume point(s) are of another shard count than the fleet's 8: not resumed"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(TestLayer, logs)))
  })

  it.scoped("resume points saved with other intents are not resumed: their shards identify anew, with a warning", () => {
    const { layer: logs, lines } = captured()
    return Effect.gen(function*() {
      const served = yield* serve()
      const narrower = { sessionId: "narrow", sequence: 9, resumeGatewayUrl: gatewayUrl, shard: [0, 2] as const, encoding: "json" as const, intents: 1 }
      const same = { sessionId: "same", sequence: 3, resumeGatewayUrl: gatewayUrl, shard: [1, 2] as const, encoding: "json" as const, intents: 513 }
      yield* Fleet.make(options({ shardCount: 2, resume: [narrower, same] }))
      yield* advance(6000)
      expect(served.identifies.map((i) => i.shard)).toEqual([0])
      expect(served.resumes).toEqual([{ sessionId: "same", seq: 3 }])
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        "WARN 1 resume point(s) were saved over another encoding than json, or with other intents than 513: their shards identify anew"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer, logs)))
  })

  it.scoped("resume points saved over another encoding are not resumed: their shards identify anew, with a warning", () => {
    const { layer: logs, lines } = captured()
    return Effect.gen(function*() {
      const served = yield* serve()
      const overEtf = { sessionId: "etf", sequence: 9, resumeGatewayUrl: gatewayUrl, shard: [0, 2] as const, encoding: "etf" as const }
      const overJson = { sessionId: "json", sequence: 3, resumeGatewayUrl: gatewayUrl, shard: [1, 2] as const, encoding: "json" as const }
      // stopped before its shards started, a fleet gives the points back as they came: the ETF
      // session stays resumable, by a process that speaks ETF
      const stopped = yield* Fleet.make(options({ shardCount: 2, shards: [0], resume: [overEtf] }))
      expect(yield* stopped.disconnect()).toEqual([overEtf])
      yield* Fleet.make(options({ shardCount: 2, resume: [overEtf, overJson] }))
      yield* advance(6000)
      expect(served.identifies.map((i) => i.shard)).toEqual([0])
      expect(served.resumes).toEqual([{ sessionId: "json", seq: 3 }])
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        "WARN 1 resume point(s) were saved over another encoding than json, or with other intents than 513: their shards identify anew",
        "WARN 1 resume point(s) were saved over another encoding than json, or with other intents than 513: their shards identify anew"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer, logs)))
  })

  // Only shards not started gave theirs back: one whose session waited for its identify turn
  // returned none, and the ETF session, still resumable there, was lost.
  it.scoped("disconnect gives back a point of another encoding of a shard whose session has not identified yet", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const served = yield* serve()
      const points = [0, 1].map((id) => ({ sessionId: `etf-${id}`, sequence: 7, resumeGatewayUrl: gatewayUrl, shard: [id, 2] as const, encoding: "etf" as const }))
      const fleet = yield* Fleet.make(options({ shardCount: 2, resume: points }))
      // shard 0 identified anew; shard 1 waits for its key's turn, 5 s after
      yield* advance(1000, 100)
      expect(served.identifies.map((i) => i.shard)).toEqual([0])
      const byShard = new Map((yield* fleet.disconnect()).map((point) => [point.shard[0], point]))
      expect(byShard.get(0)).toMatchObject({ sessionId: "session-0", encoding: "json" })
      expect(byShard.get(1)).toEqual(points[1])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

  // The fallback was the fleet's, whenever a session gave back none: also after the shard began a
  // session of its own that the gateway then ended, handing the next process a session this one
  // had replaced, replayed from before the events it handled.
  it.scoped("a shard whose own gateway session the gateway ended, or a fatal close, gives back no point of another encoding", () =>
    Effect.gen(function*() {
      yield* configureLimiter(3)
      const served = yield* serve()
      const etf = [1, 2].map((id) => ({ sessionId: `etf-${id}`, sequence: 7, resumeGatewayUrl: gatewayUrl, shard: [id, 3] as const, encoding: "etf" as const }))
      const fleet = yield* Fleet.make(options({ shardCount: 3, resume: etf }))
      yield* advance(500)
      yield* Effect.forkScoped(Effect.either(Stream.runDrain(fleet.events)))
      expect(served.identifies.map((i) => i.shard).sort()).toEqual([0, 1, 2])
      yield* served.peers.get(1)!.sendJson({ op: 9, d: false, s: null, t: null })
      yield* advance(100, 100)
      expect(Option.isNone(yield* (yield* fleet.shard(1)).disconnect("1 second"))).toBe(true)
      // a fatal close of a shard that had its own session (intents refused, 4014)
      yield* served.peers.get(2)!.close(4014, "Disallowed intent(s).")
      yield* advance(100, 100)
      const points = yield* fleet.disconnect("1 second")
      expect(points.map((point) => [point.shard[0], point.sessionId])).toEqual([[0, "session-0"]])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

  // Refused with InvalidOptions: a process could not start from a store holding every process's
  // points, nor after shards moved between processes, until someone edited the store.
  it.scoped("resume points of shards this fleet does not run are left out, said once at Info", () => {
    const { layer: logs, lines } = captured()
    return Effect.gen(function*() {
      const served = yield* serve()
      const points = [0, 1, 2, 3].map((id) => ({ sessionId: `s-${id}`, sequence: 3, resumeGatewayUrl: gatewayUrl, shard: [id, 4] as const }))
      const fleet = yield* Fleet.make(options({ shardCount: 4, shards: [0, 1], resume: points }))
      yield* advance(1000)
      expect([...served.resumes].sort((a, b) => a.sessionId.localeCompare(b.sessionId))).toEqual([{ sessionId: "s-0", seq: 3 }, { sessionId: "s-1", seq: 3 }])
      expect(served.identifies).toEqual([])
      expect(lines.filter((line) => line.includes("does not run"))).toEqual(["INFO 2 resume point(s) are of shards this fleet does not run: left out"])
      expect((yield* fleet.disconnect("1 second")).map((point) => point.shard[0]).sort()).toEqual([0, 1])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer, logs)))
  })

  it.scoped("fetches GET /gateway/bot once, takes its shard count and limits, and refreshes it when stale", () => {
    const http = gatewayBotClient(answer)
    return Effect.gen(function*() {
      const served = yield* serve()
      const { gateway: _, ...withoutUrl } = options()
      const fleet = yield* Fleet.make({ ...withoutUrl, api: "http://127.0.0.1:1/api/v10" })
      expect(fleet.shardCount).toBe(4)
      expect(fleet.shardIds).toEqual([0, 1, 2, 3])
      const limiter = yield* (yield* IdentifyLimiter.IdentifyLimiter).snapshot
      expect(limiter.maxConcurrency).toBe(2)
      yield* advance(6000)
      expect(http.requests).toEqual([{ url: "http://127.0.0.1:1/api/v10/gateway/bot", authorization: `Bot ${secret}` }])
      expect(served.identifies.map((i) => i.at).sort((a, b) => a - b)).toEqual([0, 0, 5000, 5000])
      for (const peer of served.peers.values()) expect(peer.url.startsWith(gatewayUrl)).toBe(true)

      // within the hour a new identify uses the cached answer...
      yield* served.peers.get(1)!.close(4009)
      yield* advance(10_000)
      expect(served.identifies).toHaveLength(5)
      expect(http.requests).toHaveLength(1)
      // ...after it, the next new identify fetches it again (once)
      yield* advance(3_600_000, 600_000)
      yield* served.peers.get(2)!.close(4009)
      yield* served.peers.get(3)!.close(4009)
      yield* advance(10_000)
      expect(served.identifies).toHaveLength(7)
      expect(http.requests).toHaveLength(2)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, http.layer)))
  })
})
