/**
 * The local gateway's controls at their edges, used as a bot author uses them (the public entry
 * points only): close codes no close frame carries, delays longer than a Node timer waits, a log
 * predicate that throws, controls after the gateway's scope closed, and a caller under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Redacted, Ref, Scope, Stream } from "effect"
import { Intents, Live, Session } from "../../src/index.ts"
import { LocalGateway } from "../../src/testing/index.ts"
import { WebSocket } from "ws"
import { connect, dispatch, hello } from "./rawClient.ts"

const token = Redacted.make("user-test-token")

/** Real time passes on the local gateway: wait on a Node timer. */
const sleepReal = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** A session on the local gateway, its event types collected as they come. */
const sessionOn = (gateway: LocalGateway.LocalGateway) =>
  Effect.gen(function*() {
    const session = yield* Session.make({ token, intents: Intents.Guilds, gateway: gateway.url, compression: "none" })
    const received = yield* Ref.make<ReadonlyArray<string>>([])
    yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Ref.update(received, (all) => [...all, event.t])))
    return { session, received }
  })

/** Waits (real time) until the program has received `count` events. */
const receivedAtLeast = (received: Ref.Ref<ReadonlyArray<string>>, count: number) =>
  Effect.gen(function*() {
    while ((yield* Ref.get(received)).length < count) yield* sleepReal(10)
  }).pipe(Effect.timeout("15 seconds")) // a bound against a hang, generous for a loaded machine

describe("LocalGateway controls", () => {
  it.scopedLive("close with a code that says no close frame came (1006) drops the connection; a code or a reason no frame can carry is refused, the connection left as it was", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" })
      const { received } = yield* sessionOn(gateway)
      yield* receivedAtLeast(received, 1)
      const refused = yield* Effect.exit(gateway.close("all", 2000))
      expect(Exit.isFailure(refused) && Cause.pretty(refused.cause)).toContain(
        "close code 2000 cannot be sent in a close frame (1000-1014 but 1004-1006, or 3000-4999)"
      )
      expect((yield* gateway.log).connections[0]?.closedBy).toBeUndefined()
      // a reason over the 123 bytes a close frame holds is refused too, before anything changed
      const tooLong = yield* Effect.exit(gateway.close("all", 4000, "going away for maintenance; ".repeat(5)))
      expect(Exit.isFailure(tooLong) && Cause.pretty(tooLong.cause)).toContain("a close reason holds at most 123 bytes, got 140")
      expect((yield* gateway.log).connections[0]?.closedBy).toBeUndefined()
      expect((yield* gateway.log).resumes).toEqual([])
      yield* gateway.close("all", 1006)
      // the session resumes on a new connection
      const log = yield* gateway.awaitLog((log) => log.resumes.length === 1).pipe(Effect.timeout("5 seconds"))
      expect(log.connections[0]?.closedBy).toBe("server-drop")
    }).pipe(Effect.provide(Live.layer)))

  it.scopedLive("drop after a close the client has not answered destroys the connection at once; the log keeps the close", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds", guilds: 0 })
      const client = yield* connect(gateway.url + "?v=10&encoding=json")
      yield* client.next(hello)
      yield* client.send({ op: 2, d: { token: "user-test-token", intents: 1, properties: { os: "linux", browser: "t", device: "t" } } })
      yield* client.next(dispatch("READY"))
      // the client reads nothing more: it never answers the close frame
      client.socket.pause()
      yield* gateway.close("all", 4000, "bye")
      yield* sleepReal(50)
      expect((yield* gateway.log).connections[0]?.closedAt).toBeUndefined()
      yield* gateway.drop("all")
      // a bound a loaded machine's stall stays under; an unanswered close ends only after ws's 30 s
      const log = yield* gateway.awaitLog((log) => log.connections[0]?.closedAt !== undefined).pipe(Effect.timeout("10 seconds"))
      expect(log.connections[0]).toMatchObject({ closedBy: "server", closeCode: 4000, closeReason: "bye" })
    }))

  // a connection the gateway had closed (its close frame not answered yet) was counted as reached
  // by op 7, op 1 and op 9 though none was sent, and invalidateSession(..., false) ended its session:
  // the client, told only a resumable 4000, had its Resume refused
  it.scopedLive("a control aimed at a connection the gateway already closed reaches none and ends no session; drop still reaches it", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds", guilds: 0 })
      const client = yield* connect(gateway.url + "?v=10&encoding=json")
      yield* client.next(hello)
      yield* client.send({ op: 2, d: { token: "user-test-token", intents: 1, properties: { os: "linux", browser: "t", device: "t" } } })
      const ready = yield* client.next(dispatch("READY"))
      // the client reads nothing more: the gateway's close frame stays unanswered for now
      client.socket.pause()
      expect(yield* gateway.close("all", 4000)).toBe(1)
      const reached = {
        close: yield* gateway.close("all", 4000),
        reconnect: yield* gateway.reconnect("all"),
        requestHeartbeat: yield* gateway.requestHeartbeat("all"),
        invalidateSession: yield* gateway.invalidateSession("all", false),
        stall: yield* gateway.stall("all", "1 second")
      }
      expect(reached).toEqual({ close: 0, reconnect: 0, requestHeartbeat: 0, invalidateSession: 0, stall: 0 })
      expect(yield* gateway.drop("all")).toBe(1)
      yield* gateway.awaitLog((log) => log.connections[0]?.closedAt !== undefined).pipe(Effect.timeout("10 seconds"))
      // the session was closed with 4000 (resumable): its Resume goes through
      const again = yield* connect(gateway.url + "?v=10&encoding=json")
      yield* again.next(hello)
      yield* again.send({ op: 6, d: { token: "user-test-token", session_id: ready.d.session_id, seq: ready.s } })
      const answer = yield* again.next((frame) => frame.t === "RESUMED" || frame.op === 9)
      expect(answer.t ?? `op ${answer.op}`).toBe("RESUMED")
    }))

  // one that was no duration ("3 secondz") died with Effect's bare "Invalid DurationInput"; a
  // negative or NaN one was taken as 0
  it.scopedLive("stall, slow and delayNextHello refuse a duration that is none, negative or NaN with a RangeError naming it", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds", guilds: 0 })
      const client = yield* connect(gateway.url + "?v=10&encoding=json")
      yield* client.next(hello)
      const refused = [
        [gateway.stall("all", "3 secondz" as Duration.DurationInput), `stall: duration must be a duration of at least 0, got "3 secondz"`],
        [gateway.stall("all", -5), "stall: duration must be a duration of at least 0, got -5"],
        [gateway.slow("all", Number.NaN, "1 second"), "slow: perFrameDelay must be a duration of at least 0, got NaN"],
        [gateway.slow("all", "1 milli", "abc" as Duration.DurationInput), `slow: duration must be a duration of at least 0, got "abc"`],
        [gateway.delayNextHello("xx" as Duration.DurationInput), `delayNextHello: delay must be a duration of at least 0, got "xx"`]
      ] as const
      for (const [control, message] of refused) {
        const exit = yield* Effect.exit(control)
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(new RangeError(message))
      }
      // one that is a duration still reaches the connection
      expect(yield* gateway.stall("all", "1 milli")).toBe(1)
      expect(yield* gateway.slow("all", 0, "1 milli")).toBe(1)
    }))

  it.scopedLive("stall for Duration.infinity holds the connection's frames (a Node timer past 2^31 - 1 ms fires after 1 ms)", () =>
    Effect.gen(function*() {
      const gatewayScope = yield* Scope.make()
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" }).pipe(Scope.extend(gatewayScope))
      yield* Effect.addFinalizer(() => Scope.close(gatewayScope, Exit.void))
      const { received } = yield* sessionOn(gateway)
      yield* receivedAtLeast(received, 3) // READY and the shard's two GUILD_CREATEs
      yield* gateway.stall("all", Duration.infinity)
      expect(yield* gateway.dispatch("all", "TEST_EVENT", { n: 1 })).toBe(1)
      yield* sleepReal(300)
      expect(yield* Ref.get(received)).toEqual(["READY", "GUILD_CREATE", "GUILD_CREATE"])
    }).pipe(Effect.provide(Live.layer)))

  it.scopedLive("delayNextHello of 30 days holds Hello back", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" })
      yield* gateway.delayNextHello(Duration.days(30))
      yield* sessionOn(gateway)
      yield* gateway.awaitLog((log) => log.connections.length === 1)
      yield* sleepReal(300)
      expect((yield* gateway.log).identifies).toEqual([])
    }).pipe(Effect.provide(Live.layer)))

  it.live("after the gateway's scope closed, startTraffic starts nothing and dispatch reaches no one", () =>
    Effect.gen(function*() {
      const gateway = yield* Effect.scoped(Effect.gen(function*() {
        const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" })
        yield* Effect.scoped(Effect.gen(function*() {
          const { received } = yield* sessionOn(gateway)
          yield* receivedAtLeast(received, 3)
        }).pipe(Effect.provide(Live.layer)))
        return gateway
      }))
      const before = (yield* gateway.log).dispatches.length
      yield* gateway.startTraffic(100).pipe(Effect.zipRight(sleepReal(300)), Effect.ensuring(gateway.stopTraffic))
      expect(yield* gateway.dispatch("all", "TEST_EVENT", {})).toBe(0)
      expect((yield* gateway.log).dispatches.length).toBe(before)
    }))

  it.scopedLive("startTraffic refuses a rate that is no finite number, and one past what the process can send leaves its event loop turns", () =>
    Effect.gen(function*() {
      // a log that holds every dispatch of the run
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds", logCapacity: 10_000_000 })
      for (const rate of [Number.POSITIVE_INFINITY, Number.NaN]) {
        const refused = yield* Effect.exit(gateway.startTraffic(rate))
        expect(Exit.isFailure(refused) && Cause.pretty(refused.cause)).toContain(
          `RangeError: startTraffic: eventsPerSecond must be a finite number, got ${rate}`
        )
      }
      // every type of the traffic reaches it, so each event drawn is a dispatch in the log
      const session = yield* Session.make({ token, intents: Intents.all, gateway: gateway.url, compression: "none" })
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      yield* gateway.awaitLog((log) => log.dispatches.length > 0)
      // a tick sent up to a second's worth at once (ten million events), the event loop held meanwhile
      yield* gateway.startTraffic(1e7).pipe(Effect.zipRight(sleepReal(50)), Effect.ensuring(gateway.stopTraffic))
      const perTick = new Map<number, number>()
      for (const { at } of (yield* gateway.log).dispatches) perTick.set(at, (perTick.get(at) ?? 0) + 1)
      expect(perTick.size).toBeGreaterThan(0)
      expect(Math.max(...perTick.values())).toBeLessThanOrEqual(10_000)
    }).pipe(Effect.provide(Live.layer)))

  it.scopedLive("splitMessages sends each zlib-stream message in frames of at most that many bytes; a session joins them and goes on, on the same connection", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" })
      for (const bytes of [-1, 1.5, Number.NaN]) {
        const refused = yield* Effect.exit(gateway.splitMessages("all", bytes))
        expect(Exit.isFailure(refused) && Cause.pretty(refused.cause)).toContain(`splitMessages: bytes must be a non-negative integer, got ${bytes}`)
      }
      const session = yield* Session.make({ token, intents: Intents.Guilds, gateway: gateway.url, compression: "zlib-stream" })
      const received = yield* Ref.make<ReadonlyArray<string>>([])
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Ref.update(received, (all) => [...all, event.t])))
      yield* receivedAtLeast(received, 1)
      // a bare connection beside it counts the frames a message takes
      const sizes: Array<number> = []
      const bare = new WebSocket(`${gateway.url}/?v=10&encoding=json&compress=zlib-stream`)
      bare.on("message", (data: Buffer) => void sizes.push(data.length))
      yield* Effect.addFinalizer(() => Effect.sync(() => bare.terminate()))
      yield* Effect.gen(function*() {
        while (sizes.length === 0) yield* sleepReal(10)
      }).pipe(Effect.timeout("5 seconds"))
      yield* gateway.splitMessages("all", 3)
      yield* gateway.requestHeartbeat("all")
      yield* Effect.gen(function*() {
        while (sizes.length < 3) yield* sleepReal(10)
      }).pipe(Effect.timeout("5 seconds"))
      // Hello came whole; the heartbeat request came in pieces of 3 bytes, its last one its suffix's end
      expect(sizes.slice(1).every((size) => size <= 3)).toBe(true)
      const before = (yield* Ref.get(received)).length
      expect(yield* gateway.dispatch("all", "GUILD_UPDATE", { id: "1", name: "split ".repeat(200) })).toBe(1)
      yield* receivedAtLeast(received, before + 1)
      expect((yield* Ref.get(received)).at(-1)).toBe("GUILD_UPDATE")
      expect((yield* session.snapshot).state._tag).toBe("Connected")
      expect((yield* gateway.log).connections.filter((connection) => connection.shard !== undefined)).toHaveLength(1)
    }).pipe(Effect.provide(Live.layer)))

  it.scopedLive("an awaitLog predicate that throws ends that wait with the defect, and the gateway goes on serving", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" })
      // false before any connection; then it reads `shard` of a connection that has not identified
      const waiting = yield* Effect.fork(Effect.exit(
        gateway.awaitLog((log) => log.connections.length > 0 && log.connections[0]!.shard![0] === 0)
      ))
      yield* sleepReal(20)
      yield* sessionOn(gateway)
      // bounds against a hang, not a measure: a loaded machine may hold this fiber for seconds
      yield* gateway.awaitLog((log) => log.identifies.length === 1).pipe(Effect.timeout("10 seconds"))
      const waited = yield* waiting.await.pipe(Effect.timeout("5 seconds"))
      expect(Exit.isSuccess(waited) && Exit.isFailure(waited.value) && Cause.isDie(waited.value.cause)).toBe(true)
    }).pipe(Effect.provide(Live.layer)))

  it.scoped("keeps real time when its caller runs under a TestClock: a session gets READY, and the log's times are the wall clock's", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" })
      const { received } = yield* sessionOn(gateway)
      yield* Effect.gen(function*() {
        while ((yield* Ref.get(received)).length < 1) yield* sleepReal(10)
      })
      const { identifies } = yield* gateway.log
      expect(identifies).toHaveLength(1)
      expect(Math.abs(identifies[0]!.at - Date.now())).toBeLessThan(60_000)
    }).pipe(Effect.provide(Live.layer)))
  // it waited for ever: the log can no longer change
  it.live("an awaitLog still waiting as the gateway's scope closes dies, saying so; one asked after dies at once", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" }).pipe(Scope.extend(scope))
      const waiting = yield* Effect.fork(gateway.awaitLog((log) => log.identifies.length > 0))
      yield* sleepReal(10)
      yield* Scope.close(scope, Exit.void)
      const ended = yield* Fiber.await(waiting).pipe(Effect.timeout("5 seconds"))
      expect(Exit.isFailure(ended) && Cause.squash(ended.cause)).toEqual(new Error("the local gateway closed before its log held what was awaited"))
      const after = yield* Effect.exit(gateway.awaitLog((log) => log.identifies.length > 0))
      expect(Exit.isFailure(after) && Cause.squash(after.cause)).toEqual(new Error("the local gateway is closed: its log will not change"))
      // a predicate that holds still answers
      expect((yield* gateway.awaitLog(() => true)).identifies).toEqual([])
    }))

  // it died saying the log never held what was awaited: the waits were ended before the drops
  it.live("a wait the gateway's own close fulfils, as its scope closes, returns the log", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "60 seconds" }).pipe(Scope.extend(scope))
      const socket = new WebSocket(`${gateway.url}/?v=10&encoding=json`)
      socket.on("error", () => {})
      yield* gateway.awaitLog((log) => log.connections.length > 0).pipe(Effect.timeout("5 seconds"))
      const waiting = yield* Effect.fork(gateway.awaitLog((log) => log.connections.some((c) => c.closedBy !== undefined)))
      yield* sleepReal(10)
      yield* Scope.close(scope, Exit.void)
      const ended = yield* Fiber.join(waiting).pipe(Effect.timeout("5 seconds"))
      expect(ended.connections[0]?.closedBy).toBe("server-drop")
      socket.terminate()
    }))

  // 2.5 was served as /gateway/bot's shard count, and the world sharded by `% 2.5`; -3 made 1
  it.live("make refuses a count that is no whole number of at least 1, naming the option", () =>
    Effect.gen(function*() {
      const refused = [
        [{ shards: 2.5 }, "shards", "2.5"],
        [{ shards: -3 }, "shards", "-3"],
        [{ logCapacity: Number.NaN }, "logCapacity", "NaN"],
        [{ sessionStartLimit: { maxConcurrency: 0 } }, "maxConcurrency", "0"],
        [{ sessionStartLimit: { total: 2.5 } }, "total", "2.5"],
        [{ sessionStartLimit: { remaining: -1 } }, "remaining", "-1"],
        [{ guilds: 2.5 }, "guilds", "2.5"],
        [{ membersPerGuild: 1.5 }, "membersPerGuild", "1.5"]
      ] as const
      const least = new Set(["total", "remaining", "guilds", "membersPerGuild"])
      // a shard count or a max_concurrency no GET /gateway/bot answer carries past 65535
      const most = new Set(["shards", "maxConcurrency"])
      for (const [options, name, given] of refused) {
        const exit = yield* Effect.exit(Effect.scoped(LocalGateway.make({ token, ...options })))
        const range = most.has(name) ? "from 1 to 65535" : `of at least ${least.has(name) ? 0 : 1}`
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(new RangeError(`${name} must be a whole number ${range}, got ${given}`))
      }
      // none at all, where none may be
      yield* Effect.scoped(LocalGateway.make({ token, guilds: 0, membersPerGuild: 0, sessionStartLimit: { remaining: 0 } }))
    }))

  // a duration that was none died with Effect's bare "Invalid DurationInput"; a heartbeat interval
  // no Hello carries had every client refuse the Hello and connect again for ever
  it.live("make refuses a duration that is none or infinite, and a heartbeat interval no Hello carries, naming the option", () =>
    Effect.gen(function*() {
      const refused = [
        [{ resumeWindow: "3 minutez" as Duration.DurationInput }, `resumeWindow must be a finite duration, got "3 minutez"`],
        [{ identifyCooldown: Duration.infinity }, "identifyCooldown must be a finite duration, got a Duration"],
        [{ sessionStartLimit: { resetAfter: -5 } }, "sessionStartLimit.resetAfter must be a finite duration, got -5"],
        [{ heartbeatInterval: Number.NaN }, "heartbeatInterval must be a finite duration, got NaN"],
        ...[0, 0.5, "2 hours"].map((heartbeatInterval) =>
          [
            { heartbeatInterval: heartbeatInterval as Duration.DurationInput },
            `heartbeatInterval must be a whole number of milliseconds from 1 to 3600000 (what a Hello carries), got ${
              heartbeatInterval === "2 hours" ? 7_200_000 : heartbeatInterval
            }`
          ] as const
        )
      ] as const
      for (const [options, message] of refused) {
        const exit = yield* Effect.exit(Effect.scoped(LocalGateway.make({ token, ...options })))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(new RangeError(message))
      }
    }))
})
