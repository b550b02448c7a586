import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"
import * as Session from "../../../src/session/Session.ts"
import type { SessionSnapshot } from "../../../src/session/Session.ts"
import type * as LocalGateway from "../../../src/testing/LocalGateway.ts"
import * as Log from "../../../src/testing/Log.ts"
import {
  awaitLog,
  ClientLayer,
  consume,
  recordTransitions,
  secret,
  sessionOptions,
  startGateway,
} from "./support.ts"

/** Every way a value can end up in a log, a report or a terminal. */
const renderings = (value: unknown): ReadonlyArray<string> => [
  String(value),
  inspect(value, { depth: 10, showHidden: true, getters: true }),
  JSON.stringify(value) ?? ""
]

/** A logger that keeps each entry in two formats (logfmt and structured JSON). */
const capture = (lines: Array<string>) =>
  Logger.make<unknown, void>((options) => {
    lines.push(Logger.logfmtLogger.log(options))
    lines.push(JSON.stringify(Logger.structuredLogger.log(options)))
  })

const debugLogging = (lines: Array<string>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(Logger.replace(Logger.defaultLogger, capture(lines))))

const faults: ReadonlyArray<{
  readonly inject: (gateway: LocalGateway.LocalGateway) => Effect.Effect<void>
  /** Identifies and resumes the gateway has seen once the session recovered. */
  readonly after: readonly [identifies: number, resumes: number]
}> = [
  { inject: (gateway) => gateway.close("all", 4000), after: [1, 1] },
  { inject: (gateway) => gateway.drop("all"), after: [1, 2] },
  { inject: (gateway) => gateway.invalidateSession("all", true), after: [1, 3] },
  { inject: (gateway) => gateway.reconnect("all"), after: [1, 4] },
  { inject: (gateway) => gateway.sendMalformed("all"), after: [1, 5] },
  { inject: (gateway) => gateway.invalidateSession("all", false), after: [2, 5] },
  { inject: (gateway) => gateway.close("all", 4009), after: [3, 5] },
  { inject: (gateway) => gateway.setAcks("all", false), after: [3, 6] }
]

describe("Session against the local gateway: the token", () => {
  it.scopedLive("never appears in a log line, transition, snapshot or error, through faults and a fatal 4004", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const gateway = yield* startGateway()
      const session = yield* Session.make(sessionOptions(gateway, { compression: "zlib-stream" }))
      const transitions = yield* recordTransitions(session)
      const received = yield* consume(session)
      const snapshots: Array<SessionSnapshot> = []
      yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
      for (const { after, inject } of faults) {
        yield* inject(gateway)
        yield* awaitLog(gateway, `recovery to ${after}`, (log) =>
          Log.sessionIds(log).length === after[0] && log.resumes.filter((r) => r.outcome === "resumed").length === after[1])
        snapshots.push(yield* session.snapshot)
      }
      const tooLarge = yield* Effect.flip(session.updatePresence({
        since: null,
        activities: [{ name: secret.repeat(100), type: 0 }],
        status: "online",
        afk: false
      }))
      yield* gateway.close("all", 4004, "Authentication failed.")
      const fatal = yield* Effect.flip(session.await)
      const fatalExit = yield* Effect.exit(session.await)
      const streamEnd = yield* received.end
      const closed = yield* Effect.flip(session.updateVoiceState({ guild_id: "1", channel_id: null, self_mute: false, self_deaf: false }))
      snapshots.push(yield* session.snapshot)
      const invalid = yield* Effect.flip(Session.make({ ...sessionOptions(gateway), shard: [2, 1] }))

      // A token the gateway refuses: GET /gateway/bot answers 401 and the session ends.
      const wrong = `${secret}-wrong`
      const { gateway: _, ...rest } = sessionOptions(gateway, { token: Redacted.make(wrong), api: gateway.apiUrl })
      const refusedSession = yield* Session.make(rest)
      const refused = yield* Effect.flip(refusedSession.await)
      const gatewayLog = yield* gateway.log

      // The checks below are only meaningful if everything above really happened and was captured.
      expect(fatal._tag).toBe("FatalClose")
      expect(refused._tag).toBe("GatewayInfoError")
      expect(refused._tag === "GatewayInfoError" && refused.reason).toBe("Unauthorized")
      expect(tooLarge._tag === "InvalidCommand" && tooLarge.reason).toBe("TooLarge")
      expect(closed._tag).toBe("SessionClosed")
      expect(invalid._tag).toBe("InvalidOptions")
      expect(snapshots).toHaveLength(faults.length + 1)
      expect(transitions.map((t) => t.reason._tag)).toEqual(expect.arrayContaining(["Resumed", "Ready", "Zombie", "Fatal"]))
      expect(lines.some((line) => line.includes("level=DEBUG") && line.includes("Connected"))).toBe(true)
      // the fatal close is surfaced as a typed error (not logged and raised twice); its transition is logged at debug
      expect(lines.some((line) => line.includes("level=DEBUG") && line.includes("4004"))).toBe(true)
      expect(gatewayLog.commands.filter((c) => c.op === 2 || c.op === 6)).toHaveLength(3 + 6)

      const leaks = (label: string, values: ReadonlyArray<unknown>) =>
        values.flatMap((value, i) => renderings(value).filter((text) => text.includes(secret) || text.includes(wrong)).map(() => `${label}[${i}]`))
      const errors = [fatal, tooLarge, closed, invalid, refused, Cause.pretty(Exit.isFailure(fatalExit) ? fatalExit.cause : Cause.empty), streamEnd]
      expect([
        ...leaks("log", lines),
        ...leaks("transition", transitions),
        ...leaks("snapshot", snapshots),
        ...leaks("error", errors),
        ...leaks("gateway log", [gatewayLog])
      ]).toEqual([])
      expect(lines.length).toBeGreaterThan(20)
      expect(gatewayLog.violations).toEqual([])
    }).pipe(debugLogging(lines), Effect.provide(ClientLayer))
  })
})
