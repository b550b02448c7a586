import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Session from "../../../src/session/Session.ts"
import type { Reason } from "../../../src/session/SessionState.ts"
import type * as LocalGateway from "../../../src/testing/LocalGateway.ts"
import * as Log from "../../../src/testing/Log.ts"
import {
  aGuild,
  awaitLog,
  awaitTransition,
  ClientLayer,
  consume,
  heartbeatMs,
  heartbeatSlackMs,
  recorded,
  recordTransitions,
  sequenced,
  sessionOptions,
  startGateway
} from "./support.ts"

const readySession = Effect.gen(function*() {
  const gateway = yield* startGateway()
  const session = yield* Session.make(sessionOptions(gateway))
  const received = yield* consume(session)
  const log = yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
  const sessionId = Log.sessionIds(log)[0]!
  yield* received.until("READY and the guilds", (events) => events.length === 3)
  return { gateway, session, sessionId, received }
})

/**
 * What a program does when it holds Node's event loop: a long synchronous handler, or an Effect
 * loop that never gives Node a turn (README, "Leave the event loop a turn"). No timer fires and no
 * socket is read meanwhile, the session's as little as the gateway's.
 */
const holdEventLoop = (millis: number) =>
  Effect.sync(() => {
    const until = Date.now() + millis
    while (Date.now() < until) {
      // busy
    }
  })

/** Twice the local gateway's limit for a missing heartbeat (1.5 intervals and the slack). */
const held = 2 * (1.5 * heartbeatMs + heartbeatSlackMs)

const resumes: ReadonlyArray<{
  readonly fault: string
  readonly inject: (gateway: LocalGateway.LocalGateway) => Effect.Effect<void>
  readonly reason: Reason["_tag"]
}> = [
  { fault: "op 7 (reconnect)", inject: (gateway) => gateway.reconnect("all"), reason: "Reconnect" },
  { fault: "op 9 d=true", inject: (gateway) => gateway.invalidateSession("all", true), reason: "InvalidSession" },
  { fault: "a dropped TCP connection", inject: (gateway) => gateway.drop("all"), reason: "Closed" },
  { fault: "a frame it cannot decode", inject: (gateway) => gateway.sendMalformed("all"), reason: "DecodeFailed" },
  { fault: "a zombie connection (no ACK)", inject: (gateway) => gateway.setAcks("all", false), reason: "Zombie" }
]

describe("Session against the local gateway: faults", () => {
  for (const { fault, inject, reason } of resumes) {
    it.scopedLive(`${fault}: closes with a resumable code (or finds the socket gone) and resumes`, () =>
      Effect.gen(function*() {
        const { gateway, received, session, sessionId } = yield* readySession
        const transitions = yield* recordTransitions(session)
        yield* inject(gateway)
        const log = yield* awaitLog(gateway, "a resume", (log) => log.resumes.length === 1)
        expect(log.resumes[0]).toMatchObject({ sessionId, outcome: "resumed" })
        expect(log.identifies).toHaveLength(1)
        expect(log.connections.map((c) => c.path)).toEqual(["/", "/resume"])
        const first = log.connections[0]!
        if (fault.startsWith("a dropped")) {
          expect(first.closedBy).toBe("server-drop")
        } else {
          expect(first.closedBy).toBe("client")
          expect(first.closeCode).toBeDefined()
          expect([1000, 1001]).not.toContain(first.closeCode)
          // a zombie is closed with the resumable 4900 (README, "Rules and tests")
          if (reason === "Zombie") expect(first.closeCode).toBe(4900)
        }
        const history = yield* Effect.forkScoped(
          awaitTransition(session, "back to ready", (t) => t.reason._tag === "Resumed")
        )
        yield* gateway.dispatch("all", "MESSAGE_CREATE", { id: "9", guild_id: aGuild, content: "after" })
        yield* received.until("the event after the resume", (events) => events.some((e) => e.t === "MESSAGE_CREATE"))
        yield* history
        expect(sequenced(received.events)).toEqual(recorded(Log.dispatchedTo(yield* gateway.log, sessionId)))
        expect(received.events.map((e) => e.t)).toEqual(["READY", "GUILD_CREATE", "GUILD_CREATE", "RESUMED", "MESSAGE_CREATE"])
        expect((yield* gateway.log).violations).toEqual([])
        const ended = transitions.filter((t) => t.to._tag === "Disconnected").map((t) => t.reason)
        expect(ended).toHaveLength(1)
        expect(ended[0]?._tag).toBe(reason)
        if (ended[0]?._tag === "Closed") expect(ended[0].code).toBeUndefined()
        if (ended[0]?._tag === "InvalidSession") expect(ended[0].resumable).toBe(true)
      }).pipe(Effect.provide(ClientLayer)))
  }

  it.scopedLive("op 9 d=false: identifies anew on the gateway URL", () =>
    Effect.gen(function*() {
      const { gateway, received, session, sessionId } = yield* readySession
      yield* gateway.invalidateSession("all", false)
      const log = yield* awaitLog(gateway, "a second READY", (log) => Log.sessionIds(log).length === 2)
      expect(log.resumes).toEqual([])
      expect(log.connections.map((c) => c.path)).toEqual(["/", "/"])
      expect(log.connections[0]!.closedBy).toBe("client")
      const second = Log.sessionIds(log)[1]!
      expect(second).not.toBe(sessionId)
      yield* received.until("the second READY and its guilds", (events) => events.length === 6)
      expect(received.events.map((e) => [e.t, e.sequence])).toEqual([
        ["READY", 1],
        ["GUILD_CREATE", 2],
        ["GUILD_CREATE", 3],
        ["READY", 1],
        ["GUILD_CREATE", 2],
        ["GUILD_CREATE", 3]
      ])
      expect((yield* session.snapshot).sessionId).toBe(second)
      expect((yield* gateway.log).violations).toEqual([])
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("a resume the gateway no longer accepts (op 9 false) falls back to identify on the gateway URL", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ resumeWindow: "1 millis" })
      const session = yield* Session.make(sessionOptions(gateway, { backoff: { initial: "50 millis", max: "100 millis", afterInvalidSession: ["50 millis", "100 millis"] } }))
      const received = yield* consume(session)
      yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
      yield* gateway.drop("all")
      const log = yield* awaitLog(gateway, "a second READY", (log) => Log.sessionIds(log).length === 2)
      expect(log.resumes.map((r) => r.outcome)).toEqual(["invalid-session"])
      expect(log.connections.map((c) => c.path)).toEqual(["/", "/resume", "/"])
      yield* received.until("the second READY and its guilds", (events) => events.length === 6)
      expect(received.events.map((e) => e.t)).toEqual(["READY", "GUILD_CREATE", "GUILD_CREATE", "READY", "GUILD_CREATE", "GUILD_CREATE"])
      expect((yield* session.snapshot).sessionId).toBe(Log.sessionIds(log)[1])
      expect(log.violations).toEqual([])
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("an event loop held past the missed-heartbeat limit: no burst of beats, nothing lost, one session", () =>
    Effect.gen(function*() {
      const { gateway, received, session, sessionId } = yield* readySession
      yield* holdEventLoop(held)
      const freed = Date.now()
      // the beat that was due goes out late, then the beats keep their interval: none far too early
      yield* awaitLog(gateway, "three beats after the hold", (log) => log.heartbeats.filter((h) => h.at >= freed).length >= 3)
      yield* gateway.dispatch("all", "MESSAGE_CREATE", { id: "9", guild_id: aGuild, content: "after" })
      yield* received.until("the event after the hold", (events) => events.some((e) => e.t === "MESSAGE_CREATE"))
      const log = yield* gateway.log
      expect(log.violations.map((v) => v.kind)).toEqual(["HeartbeatMissed"])
      // the same session: carried on, or resumed if the hold caught a beat before its ACK was read
      // and let go within a second of the next beat's due time (later, that beat goes out instead)
      expect(log.identifies).toHaveLength(1)
      expect(log.resumes.every((r) => r.outcome === "resumed")).toBe(true)
      expect(sequenced(received.events)).toEqual(recorded(Log.dispatchedTo(log, sessionId)))
      expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("an event loop held past the limit of a gateway that then closes (4009): a new session", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ closeOnMissedHeartbeat: 4009 })
      const session = yield* Session.make(sessionOptions(gateway))
      const received = yield* consume(session)
      yield* received.until("READY and the guilds", (events) => events.length === 3)
      yield* holdEventLoop(held)
      const log = yield* awaitLog(gateway, "a second READY", (log) => Log.sessionIds(log).length === 2)
      expect(log.violations.map((v) => [v.kind, v.closeCode])).toEqual([["HeartbeatMissed", 4009]])
      yield* received.until("the second READY and its guilds", (events) => events.length === 6)
      expect(received.events.map((e) => e.t)).toEqual(["READY", "GUILD_CREATE", "GUILD_CREATE", "READY", "GUILD_CREATE", "GUILD_CREATE"])
      expect((yield* session.snapshot).sessionId).toBe(Log.sessionIds(log)[1])
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("op 1: beats at once, with the last sequence", () =>
    Effect.gen(function*() {
      const { gateway } = yield* readySession
      yield* gateway.requestHeartbeat("all")
      const log = yield* awaitLog(gateway, "the requested beat", (log) => log.heartbeats.some((h) => h.requested))
      expect(log.heartbeats.find((h) => h.requested)?.d).toBe(3)
      expect(log.connections).toHaveLength(1)
      expect(log.violations).toEqual([])
    }).pipe(Effect.provide(ClientLayer)))
})
