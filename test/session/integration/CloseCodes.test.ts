import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as CloseCode from "../../../src/protocol/CloseCode.ts"
import * as Intents from "../../../src/protocol/Intents.ts"
import * as Session from "../../../src/session/Session.ts"
import * as Log from "../../../src/testing/Log.ts"
import {
  aGuild,
  awaitLog,
  awaitTransition,
  ClientLayer,
  consume,
  recorded,
  sequenced,
  sessionOptions,
  startGateway
} from "./support.ts"

/** A local gateway and a session on it that received READY and its GUILD_CREATEs. */
const readySession = Effect.gen(function*() {
  const gateway = yield* startGateway()
  const session = yield* Session.make(sessionOptions(gateway))
  const log = yield* awaitLog(gateway, "READY and the guilds", (log) => log.dispatches.filter((d) => d.t === "GUILD_CREATE").length === 2)
  const sessionId = Log.sessionIds(log)[0]!
  yield* awaitTransition(session, "ready", (t) => t.to._tag === "Connected" && t.to.phase === "Ready")
  return { gateway, session, sessionId }
})

// 4006 is not a Discord close code: an unknown code is treated as a lost connection (resume).
const resumable = [4000, 4001, 4002, 4006, 4008]
const newSession = [4003, 4005, 4007, 4009]
const fatal = [4004, 4010, 4011, 4012, 4013, 4014]

describe("Session against the local gateway: close codes", () => {
  it("the three lists cover 4000-4014 and agree with CloseCode.classify", () => {
    expect([...resumable, ...newSession, ...fatal].sort()).toEqual(Array.from({ length: 15 }, (_, i) => 4000 + i))
    expect(resumable.map(CloseCode.classify)).toEqual(resumable.map(() => "resume"))
    expect(newSession.map(CloseCode.classify)).toEqual(newSession.map(() => "new-session"))
    expect(fatal.map(CloseCode.classify)).toEqual(fatal.map(() => "fatal"))
  })

  for (const code of resumable) {
    it.scopedLive(`close ${code}: resumes on the resume URL, no new identify, no event lost`, () =>
      Effect.gen(function*() {
        const { gateway, session, sessionId } = yield* readySession
        const received = yield* consume(session)
        yield* gateway.close("all", code, "test")
        yield* gateway.dispatch("all", "MESSAGE_CREATE", { id: "1", guild_id: aGuild, content: "while away" })
        const log = yield* awaitLog(gateway, "a resume", (log) => log.resumes.length === 1)
        expect(log.resumes[0]).toMatchObject({ sessionId, outcome: "resumed", replayed: 1 })
        expect(log.connections.map((c) => c.path)).toEqual(["/", "/resume"])
        expect(log.connections[0]).toMatchObject({ closedBy: "server", closeCode: code })
        const expected = Log.dispatchedTo(log, sessionId)
        yield* received.until("RESUMED", (events) => events.some((e) => e.t === "RESUMED"))
        expect(sequenced(received.events)).toEqual(recorded(expected))
        const transition = yield* awaitTransition(session, "ready again", (t) => t.reason._tag === "Resumed")
        expect(transition.reason).toEqual({ _tag: "Resumed", replayed: 1 })
        const after = yield* gateway.log
        expect(after.identifies).toHaveLength(1)
        expect(after.violations).toEqual([])
      }).pipe(Effect.provide(ClientLayer)))
  }

  for (const code of newSession) {
    it.scopedLive(`close ${code}: identifies anew on the gateway URL`, () =>
      Effect.gen(function*() {
        const { gateway, session, sessionId } = yield* readySession
        yield* gateway.close("all", code, "test")
        const log = yield* awaitLog(gateway, "a second READY", (log) => Log.sessionIds(log).length === 2)
        expect(log.resumes).toEqual([])
        expect(log.connections.map((c) => c.path)).toEqual(["/", "/"])
        const second = Log.sessionIds(log)[1]!
        expect(second).not.toBe(sessionId)
        const transition = yield* awaitTransition(session, "ready again", (t) => t.reason._tag === "Ready")
        expect(transition.reason).toEqual({ _tag: "Ready", sessionId: second })
        expect((yield* session.snapshot).sessionId).toBe(second)
        expect((yield* gateway.log).violations).toEqual([])
      }).pipe(Effect.provide(ClientLayer)))
  }

  for (const code of fatal) {
    it.scopedLive(`close ${code}: ends the session with FatalClose ${code} and never reconnects`, () =>
      Effect.gen(function*() {
        const { gateway, session } = yield* readySession
        yield* gateway.close("all", code, "test")
        const failure = yield* Effect.flip(session.await)
        expect(failure._tag).toBe("FatalClose")
        expect(failure._tag === "FatalClose" && failure.code).toBe(code)
        expect(failure._tag === "FatalClose" && failure.reason).toBe("test")
        expect(failure.message).toContain(`${code}`)
        expect(failure.message).toContain(`saying "test"`)
        const last = yield* awaitTransition(session, "the fatal transition", (t) => t.reason._tag === "Fatal")
        expect(last.to._tag).toBe("Disconnected")
        // The events buffered before the close come first, then the stream fails with the error.
        const received = yield* consume(session)
        const end = yield* received.end
        expect(received.events.map((e) => e.t)).toEqual(["READY", "GUILD_CREATE", "GUILD_CREATE"])
        expect(end).toEqual(Exit.fail(failure))
        // Longer than the backoff's maximum (100 ms): a reconnect would have opened a connection.
        yield* Effect.sleep("300 millis")
        const log = yield* gateway.log
        expect(log.connections).toHaveLength(1)
        expect(log.identifies).toHaveLength(1)
        expect(log.violations).toEqual([])
        expect(yield* session.state).toEqual({ _tag: "Disconnected" })
      }).pipe(Logger.withMinimumLogLevel(LogLevel.None), Effect.provide(ClientLayer)))
  }

  it.scopedLive("a privileged intent the application has not enabled: 4014 at the first Identify, FatalClose, no retry", () =>
    Effect.gen(function*() {
      // the developer portal has GuildPresences enabled, not GuildMembers (which the session asks for)
      const gateway = yield* startGateway({ privilegedIntents: Intents.GuildPresences })
      const session = yield* Session.make(sessionOptions(gateway))
      const failure = yield* Effect.flip(session.await)
      expect(failure._tag === "FatalClose" && failure.code).toBe(4014)
      yield* Effect.sleep("300 millis") // longer than the backoff's maximum
      const log = yield* gateway.log
      expect(log.identifies.map((i) => i.outcome)).toEqual(["refused"])
      expect(log.connections).toHaveLength(1)
      expect(log.violations.map((v) => [v.kind, v.closeCode])).toEqual([["DisallowedIntents", 4014]])
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None), Effect.provide(ClientLayer)))
})
