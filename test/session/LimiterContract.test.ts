/**
 * What a session does with an identify limiter of the program's own (a store shared by several
 * processes, say): a stop still ends its identify, its defects after `send` are not lost (its
 * span: test/session/Tracing.test.ts), and an `answered` that waits ends with the session; and an upgrade's Retry-After read as over a socket on
 * the in-memory transport.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { hello, options, programLimiter, ready, sentOps, Session, settle, TestLayer } from "./harness.ts"

type Limiter = Context.Tag.Service<IdentifyLimiter.IdentifyLimiter>

const accept = Effect.flatMap(MemoryTransport.MemoryGateway, (gateway) => gateway.accept)

const step = (millis: number, times: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < times; i++) {
      yield* TestClock.adjust(millis)
      yield* settle
    }
  })

describe("the identify limiter and a stop", () => {
  // Once `send` has run, a stop must still end the limiter's identify: waiting in the connection's
  // send limiter (the window full at the key's turn), it would hold the key's lock for ever, the
  // send limiter's timer gone with the connection's scope (a review found it so, with the limiter
  // run on a fiber of its own). Beats this frequent now line up with commands, and leave the
  // places kept for the Identify free: it goes at its turn, and the stop after it still ends the
  // key's identify.
  it.scoped("beats every 250 ms do not hold the Identify back at its turn, and a stop before READY does not hold the key's lock for ever", () =>
    Effect.gen(function*() {
      // shard 0 identifies at 0 and is READY at once: key 0's next turn is 40 s later
      const a = yield* Session.make(options({ shard: [0, 2] }))
      const peerA = yield* accept
      const first = yield* peerA.handshake(3_600_000)
      expect(first.op).toBe(2)
      yield* peerA.sendJson(ready(1, "a", [0, 2]))
      yield* settle
      expect(yield* a.state).toMatchObject({ _tag: "Connected", phase: "Ready" })

      // shard 1 (same key: max concurrency 1) connects; its gateway asks for beats every 250 ms,
      // which take every place but the two kept for an identify and an op 1 answer (118 of the 120
      // per 61 s) by 30 s, while the Identify waits for its turn
      const b = yield* Session.make(options({ shard: [1, 2] }))
      const peerB = yield* accept
      yield* peerB.autoAck(true)
      yield* peerB.sendJson(hello(250))
      yield* settle
      yield* step(250, 41 * 4)
      const opsB = yield* sentOps(peerB)
      expect(opsB.filter((op) => op === 1).length).toBe(118)
      // its turn came at 40 s: the Identify went out in a place kept for it, and waits for READY
      expect(opsB.filter((op) => op === 2)).toHaveLength(1)
      const limiter = yield* IdentifyLimiter.IdentifyLimiter

      // the program stops shard 1
      const ending = yield* Effect.fork(b.end("1 second"))
      yield* step(500, 4)
      expect(Option.isSome(yield* Fiber.poll(ending))).toBe(true)

      // a new session for shard 1 (key 0) must identify within the key's spacing
      const c = yield* Session.make(options({ shard: [1, 2] }))
      const peerC = yield* accept
      yield* peerC.sendJson(hello(3_600_000))
      yield* settle
      yield* step(1000, 120)
      expect((yield* sentOps(peerC)).filter((op) => op === 2)).toHaveLength(1)
      expect((yield* limiter.snapshot).keys[0]!.queued).toBe(0)
      yield* c.end("1 second").pipe(Effect.fork, Effect.zipLeft(step(500, 4)))
    }).pipe(Effect.provide(Layer.mergeAll(
      MemoryTransport.layer,
      IdentifyLimiter.layerMemoryWith({ spacing: "40 seconds" }),
      FetchHttpClient.layer
    ))), 60_000)
})

const readyWith = (identify: Limiter["identify"]) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    lines.push(`${logLevel.label} ${String(message)} ${Cause.isEmpty(cause) ? "" : Cause.pretty(cause)}`)
  })
  const layer = Layer.merge(programLimiter({ identify }), Logger.replace(Logger.defaultLogger, logger))
  return Effect.gen(function*() {
    const session = yield* Session.make(options())
    const peer = yield* accept
    const first = yield* peer.handshake(3_600_000)
    expect(first.op).toBe(2)
    yield* peer.sendJson(ready())
    yield* settle
    yield* TestClock.adjust("2 seconds")
    yield* settle
    const awaiting = yield* Effect.fork(session.await)
    yield* settle
    const exit = yield* Fiber.poll(awaiting)
    const failed = Option.isSome(exit) && Exit.isFailure(exit.value) && Cause.pretty(exit.value.cause).includes("store down")
    const logged = lines.some((line) => /^(WARN|ERROR|FATAL)/.test(line) && line.includes("store down"))
    return { failed, logged, lines }
  }).pipe(Effect.provide(layer))
}

describe("a limiter's defects after send", () => {
  // `answered` runs on a fiber of its own: its defect must still end the connection, or be logged
  it.scoped("a limiter whose answered dies: the defect is surfaced (the session's end, or a log line)", () =>
    Effect.gen(function*() {
      const { failed, logged } = yield* readyWith((_shard, send) => send(Effect.die(new Error("store down: answered"))))
      expect(failed || logged).toBe(true)
    }))

  // the limiter's work after `send` goes on past READY: its defect ends the connection with it
  it.scoped("a limiter whose work after send dies once READY came: the defect is surfaced", () =>
    Effect.gen(function*() {
      const { failed, logged } = yield* readyWith((_shard, send) =>
        Effect.zipLeft(send(Effect.void), Effect.zipRight(Effect.sleep("1 second"), Effect.die(new Error("store down: record")))))
      expect(failed || logged).toBe(true)
    }))
})

describe("a limiter's answered that waits", () => {
  // a store that never answers: `answered` runs on a fiber of its own, which the session's end
  // interrupts (a daemon fiber outlived the session), with no error told for it
  it.scoped("is interrupted by the session's end, quietly", () => {
    let interrupted = false
    const lines: Array<string> = []
    const layer = Layer.merge(
      programLimiter({ identify: (_shard, send) => send(Effect.onInterrupt(Effect.never, () => Effect.sync(() => void (interrupted = true)))) }),
      Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => void lines.push(`${logLevel.label} ${String(message)}`)))
    )
    return Effect.gen(function*() {
      const session = yield* Session.make(options())
      const peer = yield* accept
      expect((yield* peer.handshake(3_600_000)).op).toBe(2)
      yield* peer.sendJson(ready())
      yield* settle
      expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
      expect(interrupted).toBe(false)
      const ending = yield* Effect.fork(session.end("1 second"))
      yield* step(500, 4)
      expect(Option.isSome(yield* Fiber.poll(ending))).toBe(true)
      expect(interrupted).toBe(true)
      expect(lines.filter((line) => /^(WARN|ERROR|FATAL)/.test(line))).toEqual([])
    }).pipe(Effect.provide(layer))
  })
})

describe("an upgrade's Retry-After and its status, on the in-memory transport", () => {
  // as over a socket: only a 429's or a 5xx's Retry-After is taken (a 404's parked the session)
  it.scoped("a 404 answering the upgrade with Retry-After: 3600 does not park the session for an hour", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(1, { status: 404, retryAfter: 3600 })
      yield* Session.make(options())
      yield* settle
      yield* step(1000, 60)
      const attempts = yield* gateway.attempts
      expect(attempts[0]?.outcome).toBe("fail")
      expect(attempts.length).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a 503 with Retry-After: 30 is waited out before the next try", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(1, { status: 503, retryAfter: 30 })
      yield* Session.make(options())
      yield* settle
      yield* step(1000, 29)
      expect(yield* gateway.attempts).toHaveLength(1)
      yield* step(1000, 30)
      expect((yield* gateway.attempts).length).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(TestLayer)))
})
