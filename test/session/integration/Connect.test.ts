import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { Compression } from "../../../src/codec/Compression.ts"
import * as Live from "../../../src/Live.ts"
import * as Session from "../../../src/session/Session.ts"
import * as Log from "../../../src/testing/Log.ts"
import { aGuild, awaitLog, consume, heartbeatMs, recorded, sequenced, sessionOptions, startGateway, within } from "./support.ts"

const compressions: ReadonlyArray<Compression> = ["none", "zlib-stream", "zstd-stream"]

describe("Session against the local gateway: connect", () => {
  for (const compression of compressions) {
    it.scopedLive(`${compression}: identifies via GET /gateway/bot, then delivers READY and every event in order`, () =>
      Effect.gen(function*() {
        const gateway = yield* startGateway({ shards: 2, guilds: 4 })
        // No `gateway` option: the URL comes from GET /gateway/bot, as in production.
        const { gateway: _, ...options } = sessionOptions(gateway, { shard: [1, 2], compression, api: gateway.apiUrl })
        const session = yield* Session.make(options)
        const received = yield* consume(session)
        const log = yield* awaitLog(gateway, "READY", (log) => log.dispatches.some((d) => d.t === "READY"))
        const [sessionId] = Log.sessionIds(log)
        expect(sessionId).toBeDefined()

        yield* gateway.startTraffic(200)
        for (let i = 0; i < 20; i++) yield* gateway.dispatch({ shard: 1 }, "MESSAGE_CREATE", { id: String(i), guild_id: aGuild, content: `hello ${i}` })
        const beats = (yield* gateway.log).heartbeats.length
        // Let the traffic run across two heartbeats, then stop it and wait for the last event.
        yield* awaitLog(gateway, "two heartbeats under traffic", (log) => log.heartbeats.length >= beats + 2)
        yield* gateway.stopTraffic
        const final = Log.dispatchedTo(yield* gateway.log, sessionId!)
        yield* received.until("the last dispatch", (events) => events.length >= final.length)

        expect(received.events[0]?.t).toBe("READY")
        expect(received.events[0]?.t === "READY" && received.events[0].d.session_id).toBe(sessionId)
        expect(sequenced(received.events)).toEqual(recorded(final))
        expect(received.events.every((event) => event.shard === 1)).toBe(true)
        expect(received.events.filter((event) => event.t === "GUILD_CREATE")).toHaveLength(2)
        const messages = received.events.flatMap((event) => (event.t === "MESSAGE_CREATE" ? [event.d.content] : []))
        expect(messages.filter((content) => content.startsWith("hello "))).toEqual(
          Array.from({ length: 20 }, (_, i) => `hello ${i}`)
        )
        expect(final.length).toBeGreaterThan(25)

        const after = yield* gateway.log
        const connection = after.connections[0]!
        expect(after.connections).toHaveLength(1)
        expect(connection.query).toMatchObject({ v: "10", encoding: "json" })
        expect(connection.query["compress"]).toBe(compression === "none" ? undefined : compression)
        expect(after.identifies).toHaveLength(1)
        expect(after.identifies[0]!.shard).toEqual([1, 2])
        expect(after.heartbeats.length).toBeGreaterThanOrEqual(2)
        const snapshot = yield* session.snapshot
        expect(snapshot.sessionId).toBe(sessionId)
        expect(snapshot.sequence).toBe(final.at(-1)!.seq)
        // a beat's round trip, under a beat; a process stopped between a beat and its ACK (a loaded
        // machine) reports that stop for that beat only: the next beat's round trip is short again
        const latency = yield* Effect.map(session.snapshot, (snapshot) => snapshot.latency).pipe(
          Effect.repeat({ until: (latency) => latency !== undefined && latency < heartbeatMs, schedule: Schedule.spaced("20 millis") }),
          within("a beat's round trip under a beat")
        )
        expect(latency).toBeGreaterThanOrEqual(0)
        expect(latency).toBeLessThan(heartbeatMs)
        expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
        expect(after.violations).toEqual([])
      }).pipe(Effect.provide(Live.layer)))
  }
})
