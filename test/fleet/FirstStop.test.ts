/**
 * A fleet's first stop decides every shard's close, and the stops after it: the points they
 * return, their timeouts, the end's line, a layer torn down after an end.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type { ResumePoint } from "../../src/session/SessionOptions.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { captured } from "../logLines.ts"
import { advance, configureLimiter, options, resumeUrl, serve, TestLayer } from "./harness.ts"

const pointOf = (id: number, count: number, encoding: "json" | "etf" = "json"): ResumePoint => ({
  sessionId: `session-${id}`,
  sequence: 7,
  resumeGatewayUrl: resumeUrl,
  shard: [id, count],
  encoding
})

const twoShards = Effect.gen(function*() {
  yield* configureLimiter(2)
  const served = yield* serve()
  const scope = yield* Scope.make()
  const fleet = yield* Scope.extend(Fleet.make(options({ shardCount: 2 })), scope)
  yield* advance(500)
  return { fleet, served, scope }
})

describe("Fleet: its first stop and the stops after it", () => {
  // shard 1's own first stop was a disconnect: its point was lost once the fleet's end made every
  // later stop an end
  it.scoped("shard(1).disconnect(), then fleet.end(), then fleet.disconnect() still returns shard 1's point", () =>
    Effect.gen(function*() {
      const { fleet, scope, served } = yield* twoShards
      const one = yield* fleet.shard(1)
      const own = yield* Effect.fork(one.disconnect())
      yield* advance(100)
      const ownPoint = yield* Fiber.join(own)
      expect(Option.isSome(ownPoint)).toBe(true)
      const ending = yield* Effect.fork(fleet.end())
      yield* advance(100)
      yield* Fiber.join(ending)
      expect((yield* served.peers.get(0)!.closed).code).toBe(1000)
      expect((yield* served.peers.get(1)!.closed).code).not.toBe(1000)
      // the session itself still has it
      const again = yield* one.disconnect()
      expect(Option.map(again, (point) => point.shard[0])).toEqual(Option.some(1))
      const points = yield* fleet.disconnect()
      yield* Scope.close(scope, Exit.void)
      expect(points.map((point) => point.shard[0])).toEqual([1])
    }).pipe(Effect.provide(TestLayer)))

  // every shard stopped through shard(id) first: the end closes none with 1000, and said it did
  it.scoped("fleet.end() after every shard was disconnected through shard(id) says nothing of a close 1000", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const { fleet, scope } = yield* twoShards
      const stops = yield* Effect.fork(Effect.forEach([0, 1], (id) => Effect.flatMap(fleet.shard(id), (s) => s.disconnect()), { concurrency: "unbounded" }))
      yield* advance(100)
      yield* Fiber.join(stops)
      const ending = yield* Effect.fork(fleet.end())
      yield* advance(100)
      yield* Fiber.join(ending)
      yield* Scope.close(scope, Exit.void)
      expect(lines.filter((line) => line.includes("close 1000"))).toEqual([])
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(TestLayer))
  })

  // a disconnect after an end: no points, every close 1000
  it.scoped("fleet.end() then fleet.disconnect(): every close 1000, no points", () =>
    Effect.gen(function*() {
      const { fleet, scope, served } = yield* twoShards
      const ending = yield* Effect.fork(fleet.end())
      yield* advance(100)
      yield* Fiber.join(ending)
      const points = yield* fleet.disconnect()
      yield* Scope.close(scope, Exit.void)
      expect(points).toEqual([])
      expect((yield* served.peers.get(0)!.closed).code).toBe(1000)
      expect((yield* served.peers.get(1)!.closed).code).toBe(1000)
    }).pipe(Effect.provide(TestLayer)))

  // an end after a disconnect: no 1000, the points stay
  it.scoped("fleet.disconnect() then fleet.end() then fleet.disconnect(): no 1000, the points stay", () =>
    Effect.gen(function*() {
      const { fleet, scope, served } = yield* twoShards
      const stopping = yield* Effect.fork(fleet.disconnect())
      yield* advance(100)
      const first = yield* Fiber.join(stopping)
      yield* fleet.end()
      const again = yield* fleet.disconnect()
      yield* Scope.close(scope, Exit.void)
      expect(first.map((p) => p.shard[0]).sort()).toEqual([0, 1])
      expect(again.map((p) => p.shard[0]).sort()).toEqual([0, 1])
      expect((yield* served.peers.get(0)!.closed).code).not.toBe(1000)
    }).pipe(Effect.provide(TestLayer)))

  // after a fatal close, disconnect returns the other shard's point; none once the token was
  // refused, a property of the bot (shard 0's came back, and the next process's Resume was refused)
  it.scoped("after a fatal close (4014 on shard 1), fleet.disconnect() returns shard 0's point; after a 4004, none", () =>
    Effect.gen(function*() {
      for (const [code, expected] of [[4014, [0]], [4004, []]] as const) {
        const { fleet, scope, served } = yield* twoShards
        yield* served.peers.get(1)!.close(code, "fatal")
        yield* advance(6_000)
        const awaited = yield* Effect.exit(fleet.await)
        const points = yield* fleet.disconnect()
        yield* Scope.close(scope, Exit.void)
        expect(Exit.isFailure(awaited)).toBe(true)
        expect(points.map((p) => p.shard[0])).toEqual(expected)
      }
    }).pipe(Effect.provide(TestLayer)))

  // the end's own timeout holds when the first stop (a fatal close's) waits with the default 5 s
  it.scoped("fleet.end('1 second') after a fatal close's stop (default 5 s) returns after 1 s", () =>
    Effect.gen(function*() {
      const { fleet, scope, served } = yield* twoShards
      yield* served.peers.get(0)!.answersClose(false)
      yield* served.peers.get(1)!.close(4004, "Authentication failed.")
      yield* advance(100, 100)
      const ending = yield* Effect.fork(fleet.end("1 second"))
      yield* advance(1_200, 100)
      const done = yield* Fiber.poll(ending)
      yield* advance(6_000)
      yield* Scope.close(scope, Exit.void)
      expect(Option.isSome(done)).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // Fleet.layer torn down after the program's end: every close stays 1000
  it.scoped("Fleet.layer's scope closed after a program's fleet.end(): closes 1000", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Fleet.layer(options({ shardCount: 2 })), scope)
      const fleet = Context.get(context, Fleet.Fleet)
      yield* advance(500)
      const ending = yield* Effect.fork(Effect.timeout(fleet.end(), "10 millis"))
      yield* advance(10, 10)
      yield* Fiber.await(ending)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advance(2_000)
      yield* Fiber.join(closing)
      expect((yield* served.peers.get(0)!.closed).code).toBe(1000)
      expect((yield* served.peers.get(1)!.closed).code).toBe(1000)
    }).pipe(Effect.provide(TestLayer)))

  // handed points of shards not started yet came back from a disconnect whatever came before it:
  // after an end the next process resumed shards ended for good, after a refused token it resumed
  // with the token refused
  it.scoped("after fleet.end() before the shards started, fleet.disconnect() returns no handed point", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 64, resume: Array.from({ length: 64 }, (_, id) => pointOf(id, 64)) }))
      yield* fleet.end()
      yield* advance(100)
      expect(yield* fleet.disconnect()).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("after a 4004, fleet.disconnect() returns no handed point of another encoding, its shard started or not", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const gateway = yield* MemoryTransport.MemoryGateway
      const fleet = yield* Fleet.make(options({ shardCount: 4, startupWindow: 1, resume: [0, 1, 2, 3].map((id) => pointOf(id, 4, "etf")) }))
      yield* Effect.forkScoped(Effect.ignore(Stream.runDrain(fleet.events)))
      const peer = yield* gateway.accept
      expect(((yield* peer.handshake(3_600_000)) as { op: number }).op).toBe(2)
      yield* peer.close(4004, "Authentication failed")
      yield* advance(6_000)
      expect(Exit.isFailure(yield* Effect.exit(fleet.await))).toBe(true)
      expect(yield* fleet.disconnect()).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a disconnect with shards started or not returns every shard's point, of either encoding", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 4, resume: [pointOf(0, 4), pointOf(1, 4, "etf"), pointOf(2, 4), pointOf(3, 4, "etf")] }))
      const points = yield* fleet.disconnect()
      expect(points.map((point) => `${point.shard[0]} ${point.encoding}`).sort()).toEqual(["0 json", "1 etf", "2 json", "3 etf"])
    }).pipe(Effect.provide(TestLayer)))
})
