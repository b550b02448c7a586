import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { lateReady, shortConnections } from "../../src/session/internal/outageLines.ts"
import * as Outage from "../../src/session/Outage.ts"
import { Reason } from "../../src/session/SessionState.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, answeringResumes, busyWhenDropped, dispatch, options, ready, Session, settle, TestLayer } from "./harness.ts"
import { captured } from "../logLines.ts"

/** A Resume's answer: the replay after its sequence up to 5, then RESUMED. */
const replayToFiveThenResumed = (seq: number): ReadonlyArray<unknown> => [
  ...Array.from({ length: 5 - seq }, (_, i) => dispatch(seq + 1 + i, "MESSAGE_CREATE", {})),
  dispatch(6, "RESUMED", {})
]

describe("Outage", () => {
  it.effect("tells the fifth failed attempt in a row at Warning, then each doubling; getting ready again at Info", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = Outage.make()
        for (let attempt = 1; attempt <= 20; attempt++) yield* outage.failed(Reason.ConnectFailed({ message: `refused ${attempt}` }))
        yield* outage.ready
        // a short trouble after that is told nothing
        for (let attempt = 1; attempt <= 4; attempt++) yield* outage.failed(Reason.Zombie())
        yield* outage.ready
        // an Identify unanswered past the ready timeout is no failed attempt: told each time, and
        // READY coming late told too (nothing said the warning was over)
        yield* outage.unanswered
        yield* outage.ready
        // a connection that waited on and then failed: its READY is no late one
        yield* outage.unanswered
        yield* outage.failed(Reason.Zombie())
        yield* outage.ready
      }).pipe(Effect.provide(layer))
      expect(lines).toEqual([
        "WARN not ready: 5 attempts in a row failed, the last with connect failed: refused 5; still trying",
        "WARN not ready: 10 attempts in a row failed, the last with connect failed: refused 10; still trying",
        "WARN not ready: 20 attempts in a row failed, the last with connect failed: refused 20; still trying",
        "INFO ready again after 20 failed attempts",
        "WARN no READY within the ready timeout: waiting on while the gateway acknowledges heartbeats",
        `INFO ${lateReady}`,
        "WARN no READY within the ready timeout: waiting on while the gateway acknowledges heartbeats"
      ])
    }))

  // the next try an hour off, and nothing said before the fifth failure: hours of silence
  it.effect("tells at once a failure whose answer asks to wait a minute or more; getting ready after it at Info", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = Outage.make()
        yield* outage.failed(Reason.ConnectFailed({ message: "429", retryAfter: 59 }))
        yield* outage.failed(Reason.ConnectFailed({ message: "429", retryAfter: 3600 }))
        yield* outage.failed(Reason.ConnectFailed({ message: "429", retryAfter: 3600 }))
        yield* outage.failed(Reason.Zombie())
        yield* outage.failed(Reason.Zombie())
        yield* outage.failed(Reason.GatewayInfoFailed({ message: "503", retryAfter: 60 }))
        yield* outage.ready
      }).pipe(Effect.provide(layer))
      // at once, but for one right after another that asked it too (an answer asking for a minute
      // each time was told at every attempt), which the count tells at its turn
      expect(lines).toEqual([
        "WARN not ready: 2 attempts in a row failed, the last with connect failed: 429; still trying",
        "WARN not ready: 5 attempts in a row failed, the last with zombie connection (heartbeat not acknowledged); still trying",
        "WARN not ready: 6 attempts in a row failed, the last with gateway info failed: 503; still trying",
        "INFO ready again after 6 failed attempts"
      ])
      lines.length = 0
      yield* Effect.gen(function*() {
        const outage = Outage.make()
        yield* outage.failed(Reason.ConnectFailed({ message: "429", retryAfter: 3600 }))
        yield* outage.ready
      }).pipe(Effect.provide(layer))
      expect(lines).toEqual([
        "WARN not ready: 1 attempt in a row failed, the last with connect failed: 429; still trying",
        "INFO ready again after 1 failed attempt"
      ])
    }))

  it.effect("tells the fifth short connection in a row (ready, then lost before it was stable) at Warning, then each doubling; a connection that lasted starts the count over", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = Outage.make()
        for (let connection = 1; connection <= 10; connection++) yield* outage.dropped(Reason.Zombie())
        // getting ready is no end to this trouble: the connections were ready, and short
        yield* outage.ready
        yield* outage.dropped(Reason.Zombie())
        yield* outage.lasted
        for (let connection = 1; connection <= 5; connection++) yield* outage.dropped(Reason.Closed({ code: 4000, description: "unknown error", detail: "" }))
      }).pipe(Effect.provide(layer))
      expect(lines).toEqual([
        `WARN unstable: 5 connections in a row ${shortConnections}, the last with zombie connection (heartbeat not acknowledged); still reconnecting`,
        `WARN unstable: 10 connections in a row ${shortConnections}, the last with zombie connection (heartbeat not acknowledged); still reconnecting`,
        expect.stringMatching(/^WARN unstable: 5 connections in a row ended before they were stable \(backoff.stableAfter\), the last with close 4000 \(unknown error\)/)
      ])
    }))

  it.effect("tells each hold-back after sessions lost in a row at Warning, with its wait in words; a gateway session lost at Info, with the events not replayed", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = Outage.make()
        yield* outage.heldBack(3, 90_000)
        yield* outage.heldBack(4, 3_600_000)
        yield* outage.lost("3 Resumes in a row got no RESUMED", 42)
        yield* outage.lost("invalid session (op 9, not resumable)", undefined)
      }).pipe(Effect.provide(layer))
      expect(lines).toEqual([
        "WARN the sessions of the last 3 connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits 90 s more, to spare the day's session starts",
        "WARN the sessions of the last 4 connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits 60 min more, to spare the day's session starts",
        "INFO gateway session lost: 3 Resumes in a row got no RESUMED; the events after sequence 42 are not replayed",
        "INFO gateway session lost: invalid session (op 9, not resumable); none of its events are replayed"
      ])
    }))

  it.scoped("a session whose connections drop ten seconds after READY or RESUMED says so at the fifth; one that lasted a minute starts the count over", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      yield* Session.make(options())
      let sequence = 1
      // a connection accepted (after its backoff), ready, held `heldFor` ms, then closed resumably
      const connection = (heldFor: number) =>
        Effect.gen(function*() {
          const accepted = yield* Effect.fork(acceptAndHello(3_600_000))
          for (let second = 0; second < 120 && accepted.unsafePoll() === null; second++) yield* TestClock.adjust("1 second")
          const { first, peer } = yield* Fiber.join(accepted)
          yield* peer.sendJson(first.op === 2 ? ready(sequence++) : { op: 0, s: sequence++, t: "RESUMED", d: {} })
          yield* settle
          yield* TestClock.adjust(heldFor)
          yield* peer.close(4000)
          yield* settle
        })
      const unstable = () => lines.filter((line) => line.startsWith("WARN unstable"))
      for (let i = 1; i <= 4; i++) yield* connection(10_000)
      expect(unstable()).toEqual([])
      yield* connection(10_000)
      expect(unstable()).toEqual([
        expect.stringMatching(/^WARN unstable: 5 connections in a row ended before they were stable \(backoff.stableAfter\), the last with close 4000 \(unknown error\)/)
      ])
      yield* connection(61_000)
      for (let i = 1; i <= 5; i++) yield* connection(10_000)
      expect(unstable()).toEqual([
        expect.stringMatching(/^WARN unstable: 5 connections in a row/),
        expect.stringMatching(/^WARN unstable: 5 connections in a row/)
      ])
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  })

  it.scoped("a session whose GET /gateway/bot fails for ten minutes says so at Warning, a few times, not per attempt", () => {
    const down = Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) => Effect.sync(() => HttpClientResponse.fromWeb(request, new Response("down", { status: 503 }))))
    )
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const { gateway: _, ...withoutGateway } = options()
      const session = yield* Session.make({ ...withoutGateway, api: "https://api.test/api/v10" })
      yield* TestClock.adjust("10 minutes")
      const attempts = (yield* session.snapshot).reconnects + 1
      const warnings = lines.filter((line) => line.startsWith("WARN not ready"))
      expect(attempts).toBeGreaterThanOrEqual(10)
      expect(warnings.length).toBeGreaterThanOrEqual(1)
      expect(warnings.length).toBeLessThan(attempts / 3)
      expect(warnings[0]).toContain("gateway info failed")
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, down))
    )
  })

  it.scoped("a session whose connections are refused says so at Warning, and once ready again at Info", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(5)
      yield* Session.make(options())
      // five refused, each after its backoff; the sixth is accepted
      const accepted = yield* Effect.fork(acceptAndHello(60_000))
      for (let second = 0; second < 60 && accepted.unsafePoll() === null; second++) yield* TestClock.adjust("1 second")
      const { peer } = yield* Fiber.join(accepted)
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
        expect.stringMatching(/^WARN not ready: 5 attempts in a row failed, the last with connect failed/)
      ])
      yield* peer.sendJson(ready())
      yield* settle
      expect(lines.at(-1)).toBe("INFO ready again after 5 failed attempts")
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info), Effect.provide(TestLayer))
  })

  // a program busy with READY while a routine drop is resumed: the ready timeout ended every
  // connection whose replay it held back, and each was told as the gateway failing
  it.scoped("a program busy for ten minutes while its session resumes is no 'not ready' outage: its one Resume's replay waits for it", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      // the program takes READY, then is busy with it for ten minutes; event 2 fills the buffer, then
      // a routine drop
      const { took } = yield* busyWhenDropped("10 minutes")
      // a healthy gateway: every Resume is answered at once with the replay (3-5) and RESUMED, and
      // every heartbeat is acknowledged
      const firstOps = yield* answeringResumes(110, replayToFiveThenResumed)
      expect(took).toEqual([1])
      // the gateway answered the Resume (its replay came): the connection waits for the program's
      // pace (the ready timeout ended it every 30 s, and the next Resume had the replay sent again)
      expect(firstOps).toEqual([6])
      expect(lines.filter((line) => line.startsWith("WARN not ready"))).toEqual([])
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  })

  // each connection was answered (its replay came, RESUMED behind it) and held up by the program:
  // its end was told as a failed attempt, and the fifth as "not ready: 5 attempts in a row failed"
  it.scoped("a gateway that drops a Resume's connection while a busy program holds its replay back: no failed attempt told, only short connections", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const { took } = yield* busyWhenDropped("20 minutes")
      // every Resume is answered at once with the replay (3-5) and RESUMED, every heartbeat
      // acknowledged; the socket is dropped two minutes on (the program has not read it)
      const firstOps = yield* answeringResumes(200, replayToFiveThenResumed, (peer) => Effect.zipRight(Effect.sleep("2 minutes"), peer.drop))
      expect(took).toEqual([1])
      // every connection a Resume (none failed, so no Identify), each dropped with the replay held
      expect(firstOps.length).toBeGreaterThanOrEqual(6)
      expect(firstOps.every((op) => op === 6)).toBe(true)
      expect(lines.filter((line) => line.startsWith("WARN not ready"))).toEqual([])
      expect(lines.filter((line) => line.startsWith("WARN unstable: 5 connections in a row"))).toHaveLength(1)
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  })

  // a replay alone is no sign of a slow program: a gateway that never sends RESUMED went untold
  it.scoped("a gateway that replays and never sends RESUMED, to a program that keeps up: the failed attempts are told", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      const took: Array<number> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => took.push(event.sequence))))
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(ready())
      yield* settle
      yield* peer.drop
      yield* settle
      // the replay: one event, then nothing (no RESUMED)
      const firstOps = yield* answeringResumes(120, (seq) => [dispatch(seq + 1, "MESSAGE_CREATE", {})])
      // the program kept up: every replayed event was taken
      expect(took.length).toBe(1 + firstOps.length)
      expect(firstOps.length).toBeGreaterThanOrEqual(5)
      expect(firstOps.every((op) => op === 6)).toBe(true)
      const state = (yield* session.snapshot).state
      expect(state._tag === "Connected" && state.phase === "Ready").toBe(false)
      expect(lines.filter((line) => line.startsWith("WARN not ready")).length).toBeGreaterThan(0)
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  })
})
