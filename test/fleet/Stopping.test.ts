/**
 * Stopping a fleet when the first stop's caller gives up (a timeout, a race, a shutdown signal)
 * while the fleet stops starting its shards: later stops, the scope and a fatal shard must still
 * stop everything. A stop that cannot be interrupted must not be cut short by its caller's
 * interruption.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import type { ResumePoint } from "../../src/session/SessionOptions.ts"
import * as MemoryApi from "../../src/testing/MemoryApi.ts"
import * as VirtualTime from "../../src/testing/VirtualTime.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { advance, configureLimiter, options, resumeUrl, serve, TestLayer } from "./harness.ts"

// The first stop is interrupted `turns` scheduler turns after it began: for 1 to 4 turns that
// lands while it waits for the starter fiber to stop (Starter.ts `stop`). Each turn count runs on
// a fresh gateway and limiter.
const interruptedEarly = [1, 2, 3, 4]

/** A fleet of 3 shards at max_concurrency 1, window 1: shard 0 READY, shard 1 connected waiting for its turn, shard 2 queued. */
const startingFleet = Effect.gen(function*() {
  yield* configureLimiter(1)
  const served = yield* serve()
  const scope = yield* Scope.make()
  const fleet = yield* Scope.extend(Fleet.make(options({ shardCount: 3, startupWindow: 1 })), scope)
  yield* advance(500)
  return { fleet, served, scope }
})

/** Forks `stop`, lets it run `turns` scheduler turns, then interrupts it (a timeout, a race, a shutdown signal). */
const giveUpOn = (stop: Effect.Effect<unknown>, turns: number) =>
  Effect.gen(function*() {
    const first = yield* Effect.fork(stop)
    for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
    yield* Fiber.interrupt(first)
  })

describe("stopping a fleet whose first stop was given up on", () => {
  // the shards it had not reached yet ran on: the queued one took its turn, connected and identified
  it.scoped("a fleet.disconnect given up on at any of its first turns still stops every shard: none identifies after it, await ends", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      for (const turns of [1, 2, 3, 4, 5, 6, 8, 12]) {
        seen.push(yield* Effect.gen(function*() {
          const { fleet, scope, served } = yield* startingFleet
          yield* giveUpOn(fleet.disconnect("1 second"), turns)
          const identified = served.identifies.length
          yield* advance(30_000, 1_000)
          const awaiting = yield* Effect.fork(fleet.await)
          yield* advance(100)
          const ended = Option.isSome(yield* Fiber.poll(awaiting))
          yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
          return { turns, identifiedAfter: served.identifies.length - identified, ended }
        }).pipe(Effect.provide(TestLayer)))
      }
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 8, 12].map((turns) => ({ turns, identifiedAfter: 0, ended: true })))
    }), 30_000)

  it.scoped("a fleet.disconnect interrupted while it stops the starting leaves the fleet stoppable: a later disconnect returns the points, await ends, the queued shard is NotRunning, the scope closes cleanly", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      for (const turns of interruptedEarly) {
        seen.push(yield* Effect.gen(function*() {
          const { fleet, scope } = yield* startingFleet
          yield* giveUpOn(fleet.disconnect(), turns)

          // another disconnect: it should stop the fleet and return shard 0's point
          const again = yield* Effect.fork(Effect.exit(fleet.disconnect()))
          yield* advance(6_000, 1_000)
          const second = yield* Fiber.join(again)
          const awaiting = yield* Effect.fork(fleet.await)
          const queued = yield* Effect.fork(fleet.shard(2))
          yield* advance(100)
          const ended = yield* Fiber.poll(awaiting)
          const shard2 = yield* Fiber.poll(queued)
          const closed = yield* Effect.exit(Scope.close(scope, Exit.void))
          return {
            turns,
            second: Exit.isSuccess(second) ? second.value.map((point) => point.shard[0]) : "interrupted",
            ended: Option.isSome(ended),
            shard2: Option.isNone(shard2) ? "waits" : Exit.isFailure(shard2.value) ? "NotRunning" : "started",
            closed: Exit.isSuccess(closed) ? "ok" : "interrupted"
          }
        }).pipe(Effect.provide(TestLayer)))
      }
      expect(seen).toEqual(interruptedEarly.map((turns) => ({ turns, second: [0], ended: true, shard2: "NotRunning", closed: "ok" })))
    }), 30_000)

  it.scoped("after a fleet.end interrupted while it stops the starting, a fatal close still stops the other shards and ends await (no identify loop spending the daily budget)", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      for (const turns of interruptedEarly) {
        seen.push(yield* Effect.gen(function*() {
          const { fleet, scope, served } = yield* startingFleet
          yield* giveUpOn(fleet.end(), turns)

          // shard 0's token is refused: one fatal shard stops the fleet
          yield* served.peers.get(0)!.close(4004, "Authentication failed.")
          const awaiting = yield* Effect.fork(Effect.exit(fleet.await))
          yield* advance(30_000, 1_000)
          const result = yield* Fiber.poll(awaiting)
          const states = (yield* fleet.status).map((line) => [line.shard, line.state._tag])
          yield* Effect.exit(Scope.close(scope, Exit.void))
          return {
            turns,
            // ended: with the fatal error, or cleanly if the end given up on went through after all
            await: Option.isSome(result) ? "ended" : "hangs",
            // shard 1 was connected, waiting for its turn: stopped by the fleet, it identifies once at most
            shard1KeepsIdentifying: served.identifies.filter((identify) => identify.shard === 1).length > 1,
            states
          }
        }).pipe(Effect.provide(TestLayer)))
      }
      expect(seen).toEqual(interruptedEarly.map((turns) => ({
        turns,
        await: "ended",
        shard1KeepsIdentifying: false,
        states: [[0, "Disconnected"], [1, "Disconnected"], [2, "Disconnected"]]
      })))
    }), 30_000)
})

// Scheduler turns from a stop's start to its caller's interruption: from before the sessions' stops
// began to their waits for the gateway's answer to the close.
const turnsIntoTheStop = [1, 3, 6, 10, 15, 20, 30, 50]

describe("stopping a fleet where the stop cannot be interrupted", () => {
  it.scoped("a fleet.disconnect run uninterruptibly (a program's stop, then Ctrl-C) runs to its end when its fiber is interrupted meanwhile, and returns every point", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      for (const turns of turnsIntoTheStop) {
        seen.push(yield* Effect.gen(function*() {
          yield* configureLimiter(2)
          yield* serve()
          const fleet = yield* Fleet.make(options({ shardCount: 2 }))
          yield* advance(500)
          let points: ReadonlyArray<number> | undefined
          const stopping = yield* Effect.fork(Effect.uninterruptible(
            Effect.map(fleet.disconnect(), (resumable) => void (points = resumable.map((point) => point.shard[0])))
          ))
          for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
          yield* Effect.fork(Fiber.interrupt(stopping))
          yield* advance(1_000)
          return { turns, points, stopped: Option.isSome(yield* Fiber.poll(stopping)) }
        }).pipe(Effect.scoped, Effect.provide(TestLayer)))
      }
      expect(seen).toEqual(turnsIntoTheStop.map((turns) => ({ turns, points: [0, 1], stopped: true })))
    }))

  it.scoped("disconnect during startup gives back the points of shards that had not started yet, as they were handed in", () =>
    Effect.gen(function*() {
      yield* configureLimiter(16)
      const served = yield* serve()
      // read back from a store between deploys
      const points: ReadonlyArray<ResumePoint> = JSON.parse(JSON.stringify(Array.from({ length: 64 }, (_, id) => ({
        sessionId: `session-${id}`,
        sequence: 7,
        resumeGatewayUrl: resumeUrl,
        shard: [id, 64]
      }))))
      const fleet = yield* Fleet.make(options({ shardCount: 64, resume: points }))
      // a SIGTERM during startup: most shards have not started
      const again = yield* fleet.disconnect()
      yield* advance(100)
      expect(served.identifies).toHaveLength(0)
      expect(again.map((point) => point.shard[0]).sort((a, b) => a - b)).toEqual(points.map((point) => point.shard[0]))
    }).pipe(Effect.provide(TestLayer)))
})

describe("a fleet's stop reaches its running shards at once", () => {
  // it stopped the starter first and its shards after: one whose Hello came meanwhile sent its
  // Identify, a session start spent on a session the stop closed before READY (a lone session's
  // stop, begun before the Hello, sends none)
  for (const [name, stop] of [["disconnect", (fleet: Fleet.Fleet) => fleet.disconnect()], ["end", (fleet: Fleet.Fleet) => fleet.end()]] as const) {
    it.scoped(`fleet.${name}() begun before a shard's Hello arrives: the shard sends no Identify`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const fleet = yield* Fleet.make(options({ shardCount: 1 }))
        const peer = yield* gateway.accept
        yield* VirtualTime.settle()
        // the stop is asked for first; the Hello comes right after
        const stopping = yield* Effect.fork(stop(fleet))
        yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null })
        yield* VirtualTime.advance(10_000, { step: 100 })
        yield* Fiber.join(stopping)
        const sent: Array<number> = []
        for (let next = yield* Effect.either(peer.receivedJson); Either.isRight(next); next = yield* Effect.either(peer.receivedJson)) {
          sent.push(next.right.op)
        }
        expect(sent).not.toContain(2)
      }).pipe(Effect.provide(TestLayer)))
  }

  // the scope's close reached the sessions some turns after it began: a Hello that came in between
  // had its Identify sent, a session start spent on a session closed before READY
  it.scoped("closing the fleet's scope: a Hello that comes at any turn after the close began gets no Identify, the close ends, and the limiter's key is free for the next fleet", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      for (const turns of [0, 1, 2, 3, 4, 6, 10]) {
        seen.push(yield* Effect.gen(function*() {
          yield* configureLimiter(1)
          const gateway = yield* MemoryTransport.MemoryGateway
          const scope = yield* Scope.make()
          yield* Scope.extend(Fleet.make(options({ shardCount: 1 })), scope)
          const peer = yield* gateway.accept
          const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
          for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
          yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 3_600_000 }, s: null, t: null })
          yield* advance(2_000)
          const ops = [...yield* peer.takeAll].map((frame) => (JSON.parse(frame as string) as { op: number }).op)
          const closed = Option.map(yield* Fiber.poll(closing), Exit.isSuccess)
          // the next fleet's shard 0 identifies once the key's 5 s passed: the key the Identify
          // that waited held was let go with its session
          const served = yield* serve()
          const next = yield* Scope.make()
          yield* Scope.extend(Fleet.make(options({ shardCount: 1 })), next)
          yield* advance(4_000)
          const identifiedNext = served.identifies.length
          yield* Scope.close(next, Exit.void)
          return { turns, identified: ops.includes(2), closed, identifiedNext }
        }).pipe(Effect.provide(TestLayer)))
      }
      expect(seen).toEqual([0, 1, 2, 3, 4, 6, 10].map((turns) => ({ turns, identified: false, closed: Option.some(true), identifiedNext: 1 })))
    }), 30_000)

  // the Identify withheld at its turn waited for the stop inside the limiter's `send`: a limiter
  // that runs `send` on a fiber of its own, which the stop does not reach, held its key for ever
  it.scoped("an Identify withheld as the caller's scope closes returns from the limiter's send at once: a limiter running it on a fiber of its own lets its key go", () =>
    Effect.gen(function*() {
      const sends: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      const limiter = Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
        configure: () => Effect.void,
        identify: (_shard, send) =>
          Effect.flatMap(Effect.forkDaemon(send(Effect.void)), (fiber) => {
            sends.push(fiber)
            return Fiber.join(fiber)
          }),
        snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
      })
      yield* Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const scope = yield* Scope.make()
        yield* Scope.extend(Fleet.make(options({ shardCount: 1 })), scope)
        const peer = yield* gateway.accept
        const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
        yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 3_600_000 }, s: null, t: null })
        yield* advance(2_000)
        expect([...yield* peer.takeAll]).toEqual([])
        expect(Option.map(yield* Fiber.poll(closing), Exit.isSuccess)).toEqual(Option.some(true))
        expect(sends).toHaveLength(1)
        expect(Option.isSome(yield* Fiber.poll(sends[0]!))).toBe(true)
      }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, limiter, FetchHttpClient.layer)))
    }), 30_000)
})

describe("a fatal error before any Identify", () => {
  const { gateway: _gateway, ...withoutGateway } = options()
  // asking GET /gateway/bot, answered by the layer's HttpClient
  const asking = { ...withoutGateway, api: "http://127.0.0.1:1/api/v10" }

  // README: "The shards not started never will: `fleet.shard(id)` fails with `NotRunning` for them,
  // and their status says `NotStarted`". Shard 0's failure gave its window place back before the
  // fleet's stop began: shard 1 was started, a session made for a fleet that had failed (64 shards
  // at max_concurrency 16: 16 more started)
  it.scoped("starts no further shard: the day's budget used up, shard 0 fails, the others stay NotStarted", () =>
    Effect.gen(function*() {
      yield* serve()
      const fleet = yield* Fleet.make(asking)
      const events = yield* Effect.fork(Effect.either(Stream.runDrain(fleet.events)))
      yield* advance(5000, 500)
      expect(events.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Left", left: { _tag: "IdentifyBudgetExhausted", shard: 0 } } })
      expect((yield* fleet.status).map((status) => [status.shard, status.reason._tag])).toEqual([[0, "Fatal"], [1, "NotStarted"], [2, "NotStarted"], [3, "NotStarted"]])
      expect(yield* Effect.flip(fleet.shard(1))).toMatchObject({ _tag: "RouteError", reason: "NotRunning", shard: 1 })
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 4, maxConcurrency: 1, remaining: 0, resetAfter: 60_000 })))))
})
