/**
 * `SessionOptions.pointAfter`: a resume point kept as the program handles events, for a process
 * that may end without its finalizers.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Event from "../../src/protocol/Event.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as Validated from "../../src/stream/Validated.ts"
import { MemoryApi, MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { advance } from "../fleet/harness.ts"
import { settle } from "../settle.ts"

const token = Redacted.make("test-token")
// long enough for the session's checks to find it quoted
const secret = "test-token-0123456789abcdef"
const secretToken = Redacted.make(secret)
const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 2, maxConcurrency: 2 }))
const sessionOptions = { token, intents: Intents.Guilds, gateway: "ws://gateway.test", compression: "none" } as const

const guildCreate = (shard: number, sequence: number) => Event.make(shard, sequence, "GUILD_CREATE", { id: String(sequence) })

describe("SessionOptions.pointAfter", () => {
  // a point saved before the intents were recorded kept resuming without them: pointAfter only
  // moved its sequence, and a later deploy that added an intent resumed it
  it.scoped("a RESUMED fills in the encoding and intents a point saved before they were recorded does not say", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ sessions: [{ sessionId: "older", shard: [0, 1], sequence: 4, intents: Intents.Guilds }] })
      const older: SessionOptions.ResumePoint = { sessionId: "older", sequence: 4, resumeGatewayUrl: "ws://gateway.test", shard: [0, 1] }
      const session = yield* Session.make({ ...sessionOptions, resume: older })
      const taken = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 2)))
      yield* advance(1_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
      const events = Chunk.toReadonlyArray(yield* Fiber.join(taken))
      expect(events.map((event) => event.t)).toEqual(["RESUMED", "GUILD_CREATE"])
      const stored = events.reduce<SessionOptions.ResumePoint | undefined>(SessionOptions.pointAfter, older)
      expect(stored).toEqual({ ...older, sequence: 6, encoding: "json", intents: Intents.Guilds })
      // the next deploy asks for more: it identifies anew
      yield* Session.make({ ...sessionOptions, intents: Intents.Guilds | Intents.GuildMessages, resume: stored })
      yield* advance(1_000)
      expect((yield* served.identifies).map((identify) => identify.d.intents)).toEqual([Intents.Guilds | Intents.GuildMessages])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it("each event of the point's shard moves its sequence on, never back; another shard's leaves it; a READY no session delivered begins none", () => {
    const point: SessionOptions.ResumePoint = { sessionId: "abc", resumeGatewayUrl: "wss://resume.test", sequence: 1, shard: [1, 2], encoding: "json" }
    expect(SessionOptions.pointAfter(undefined, guildCreate(1, 4))).toBeUndefined()
    expect(SessionOptions.pointAfter(point, guildCreate(1, 7))).toEqual({ ...point, sequence: 7 })
    expect(SessionOptions.pointAfter(point, guildCreate(0, 9))).toBe(point)
    // a sequence below the point's (a gateway's slip) leaves it at the highest, as the session's own
    expect(SessionOptions.pointAfter({ ...point, sequence: 5 }, guildCreate(1, 3))).toEqual({ ...point, sequence: 5 })
    const made = Event.make(1, 1, "READY", { v: 10, session_id: "made", resume_gateway_url: "wss://resume.test", user: { id: "1" }, application: { id: "2" }, guilds: [] })
    expect(SessionOptions.pointAfter(point, made)).toBeUndefined()
  })

  for (
    const [why, resumeUrl, gateway, resumedAt] of [
      ["READY's own URL", "wss://resume.test", "wss://gateway.test", "wss://resume.test"],
      ["the gateway, where READY's URL is not encrypted", "ws://resume.test", "wss://gateway.test", "wss://gateway.test"],
      ["the gateway, where READY's URL quotes the token", `wss://resume.test/?t=${secret}`, "wss://gateway.test", "wss://gateway.test"],
      ["the gateway, where READY's URL is no websocket URL", "https://resume.test", "ws://gateway.test", "ws://gateway.test"]
    ] as const
  ) {
    it.scoped(`a READY's point resumes where its session resumes it: at ${why}`, () =>
      Effect.gen(function*() {
        yield* MemoryServer.serve({ heartbeatInterval: 10_000, resumeUrl })
        const options = { ...sessionOptions, token: secretToken, gateway }
        const session = yield* Session.make(options)
        const events = yield* Effect.fork(Stream.runCollect(Stream.take(session.events, 1)))
        yield* advance(1_000)
        const [ready] = Chunk.toReadonlyArray(yield* Fiber.join(events))
        const point = SessionOptions.pointAfter(undefined, ready!)
        expect(point).toEqual({ sessionId: "session-1", resumeGatewayUrl: resumedAt, sequence: 1, shard: [0, 1], encoding: "json", intents: Intents.Guilds })
        expect(JSON.stringify(point)).not.toContain(secret)
        // a point a new session takes
        yield* Session.make({ ...options, resume: point })
      }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))
  }

  it.scoped("events checked by Validated.events, READY among them, are copies: the point READY began goes on with its copy", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      const checked = session.events.pipe(
        Validated.events({ READY: Schema.Struct({ session_id: Schema.String }), GUILD_CREATE: Schema.Struct({ id: Schema.NumberFromString }) }),
        Stream.take(2)
      )
      const events = yield* Effect.fork(Stream.runCollect(checked))
      yield* advance(1_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "7" })
      const point = Chunk.reduce(yield* Fiber.join(events), undefined, SessionOptions.pointAfter)
      expect(point).toEqual({ sessionId: "session-1", resumeGatewayUrl: "wss://resume.gateway.test", sequence: 2, shard: [0, 1], encoding: "json", intents: Intents.Guilds })
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a session killed between chunks is resumed from the point stored after the last chunk it handled: nothing it handled comes again, nothing after it is lost", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      let stored: SessionOptions.ResumePoint | undefined
      const handled: Array<string> = []
      // the README's loop: handle a chunk, then store the point after it
      const run = (session: Session.Session, from: SessionOptions.ResumePoint | undefined) => {
        let point = from
        return Stream.runForEachChunk(session.events, (chunk) =>
          Effect.sync(() => {
            for (const event of chunk) handled.push(`${event.t}:${event.sequence}`)
            point = Chunk.reduce(chunk, point, (last, event) => SessionOptions.pointAfter(last, event))
            stored = point
          }))
      }

      const firstScope = yield* Scope.make()
      const first = yield* Scope.extend(Session.make(sessionOptions), firstScope)
      const firstRun = yield* Effect.fork(run(first, undefined))
      yield* advance(1_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
      yield* settle
      expect(stored).toEqual({ sessionId: "session-1", resumeGatewayUrl: "wss://resume.gateway.test", sequence: 2, shard: [0, 1], encoding: "json", intents: Intents.Guilds })

      // killed: the program stops handling, the connection drops with no close
      yield* Fiber.interrupt(firstRun)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "2" }) // received by the killed process, never handled
      yield* settle
      const peer = (yield* served.peers).get(0)!
      yield* peer.drop
      yield* Scope.close(firstScope, Exit.void)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "3" })

      // the next process starts from the stored point, and keeps it moving from there (no READY comes)
      const second = yield* Session.make({ ...sessionOptions, resume: stored })
      yield* Effect.fork(run(second, stored))
      yield* advance(10_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "4" })
      yield* settle

      expect(handled).toEqual(["READY:1", "GUILD_CREATE:2", "GUILD_CREATE:3", "GUILD_CREATE:4", "RESUMED:5", "GUILD_CREATE:6"])
      expect(stored).toEqual({ sessionId: "session-1", resumeGatewayUrl: "wss://resume.gateway.test", sequence: 6, shard: [0, 1], encoding: "json", intents: Intents.Guilds })
      expect((yield* served.identifies)).toHaveLength(1)
      expect((yield* served.resumes).map(({ d, resumed }) => [d.seq, resumed])).toEqual([[2, true]])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a fleet keeps one point per shard from its merged events, and a new fleet resumes every shard from them", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const points = new Map<number, SessionOptions.ResumePoint>()
      const firstScope = yield* Scope.make()
      const first = yield* Scope.extend(Fleet.make({ token, intents: Intents.Guilds, compression: "none" }), firstScope)
      const firstRun = yield* Effect.fork(Stream.runForEach(first.events, (event) =>
        Effect.sync(() => {
          const point = SessionOptions.pointAfter(points.get(event.shard), event)
          if (point !== undefined) points.set(event.shard, point)
        })))
      yield* advance(1_000)
      yield* served.dispatch(1, "GUILD_CREATE", { id: "11" })
      yield* settle
      expect([...points.values()].map(({ sequence, sessionId, shard }) => [shard, sessionId, sequence]).sort()).toEqual([
        [[0, 2], "session-1", 1],
        [[1, 2], "session-2", 2]
      ])

      yield* Fiber.interrupt(firstRun)
      for (const peer of (yield* served.peers).values()) yield* peer.drop
      yield* Scope.close(firstScope, Exit.void)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "10" })

      const second = yield* Fleet.make({ token, intents: Intents.Guilds, compression: "none", resume: [...points.values()] })
      const missed = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(second.events, (event) => event.t === "GUILD_CREATE"), 1)))
      yield* advance(10_000)
      expect(Chunk.toReadonlyArray(yield* Fiber.join(missed)).map((event) => [event.shard, event.sequence])).toEqual([[0, 2]])
      expect(yield* served.identifies).toHaveLength(2)
      expect((yield* served.resumes).map(({ d, resumed }) => [d.session_id, d.seq, resumed]).sort()).toEqual([
        ["session-1", 1, true],
        ["session-2", 2, true]
      ])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))
})
