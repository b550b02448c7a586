/**
 * READY and RESUMED end their chunk of `events`: a program that waits for one with a run that stops
 * there (`Stream.runHead`, `Stream.take`, `Stream.takeUntil`) and then starts its main loop gets
 * every event after it, and a stop's point counts only events a run was handed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import { MemoryApi, MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { advance } from "../fleet/harness.ts"
import { settle, settleFor } from "../settle.ts"

const token = Redacted.make("test-token")
const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 2, maxConcurrency: 2 }))
const sessionOptions = { token, intents: Intents.Guilds, gateway: "ws://gateway.test", compression: "none" } as const

// a run that lost the events it waits for would wait for ever: it must be done once the events are in
const joinNow = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.flatMap(Effect.zipRight(settle, Fiber.poll(fiber)), (done) => {
    expect(Option.isSome(done)).toBe(true)
    return Fiber.join(fiber)
  })

const sequences = <A extends { readonly sequence: number }>(events: Chunk.Chunk<A>) => Chunk.toReadonlyArray(events).map((event) => event.sequence)

describe("READY and RESUMED end their chunk", () => {
  it.scoped("a program that waits for READY with runHead, the guilds already buffered behind it, gets them in its main loop; the stop's point counts what it got", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
      yield* served.dispatch(0, "GUILD_CREATE", { id: "2" })
      yield* settle
      // READY and the guilds are all in the buffer when the program first asks
      const ready = yield* Stream.runHead(session.events)
      expect(Option.map(ready, (event) => event.t)).toEqual(Option.some("READY"))
      const point = yield* session.disconnect()
      const rest = yield* Stream.runCollect(session.events)
      expect(sequences(rest)).toEqual([2, 3])
      expect(Option.map(point, (p) => p.sequence)).toEqual(Option.some(3))
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("after a resume, a run that stops at RESUMED leaves the live events after it to the next run", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make(sessionOptions)
      yield* advance(1_000)
      const first = yield* Stream.runHead(session.events)
      expect(Option.map(first, (event) => event.t)).toEqual(Option.some("READY"))
      yield* (yield* served.peers).get(0)!.drop
      yield* served.dispatch(0, "GUILD_CREATE", { id: "missed" })
      yield* advance(10_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "live" })
      yield* settle
      const upToResumed = yield* Stream.runCollect(Stream.takeUntil(session.events, (event) => event.t === "RESUMED"))
      expect(Chunk.toReadonlyArray(upToResumed).map((event) => `${event.t}:${event.sequence}`)).toEqual(["GUILD_CREATE:2", "RESUMED:3"])
      const live = yield* Effect.fork(Stream.runHead(session.events))
      expect(Option.map(yield* joinNow(live), (event) => `${event.t}:${event.sequence}`)).toEqual(Option.some("GUILD_CREATE:4"))
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a READY that waited for room ends its chunk too: the run that stops at it leaves the event read after it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make({ ...sessionOptions, bufferSize: 2 })
      yield* advance(1_000)
      expect(Option.map(yield* Stream.runHead(session.events), (event) => event.t)).toEqual(Option.some("READY"))
      // two guilds fill the buffer; the new session's READY (after an op 9) waits for room, the
      // guild sent after it waits in the socket
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
      yield* served.dispatch(0, "GUILD_CREATE", { id: "2" })
      yield* (yield* served.peers).get(0)!.sendJson({ op: 9, d: false, s: null, t: null })
      yield* advance(10_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "3" })
      yield* settle
      // a program slow with each event: READY and the guild behind it are both in when it asks again
      const slow = Stream.tap(session.events, () => settleFor(5))
      const upToReady = yield* joinNow(yield* Effect.fork(Stream.runCollect(Stream.takeUntil(slow, (event) => event.t === "READY"))))
      const rest = yield* joinNow(yield* Effect.fork(Stream.runHead(session.events)))
      expect([...Chunk.toReadonlyArray(upToReady), ...Option.toArray(rest)].map((event) => `${event.t}:${event.sequence}`))
        .toEqual(["GUILD_CREATE:2", "GUILD_CREATE:3", "READY:1", "GUILD_CREATE:2"])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  it.scoped("a fleet's merged events: a run that stops at a shard's READY leaves the other shards' events after it", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const fleet = yield* Fleet.make({ token, intents: Intents.Guilds, compression: "none" })
      yield* advance(6_000)
      yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
      yield* served.dispatch(1, "GUILD_CREATE", { id: "2" })
      yield* settle
      const seen: Array<string> = []
      const note = (event: { readonly t: string; readonly shard: number }) => seen.push(`${event.shard}:${event.t}`)
      const untilReady = Stream.runForEach(Stream.takeUntil(fleet.events, (event) => event.t === "READY"), (event) => Effect.sync(() => note(event)))
      yield* joinNow(yield* Effect.fork(untilReady))
      yield* joinNow(yield* Effect.fork(untilReady))
      yield* joinNow(yield* Effect.fork(Stream.runForEach(Stream.take(fleet.events, 2), (event) => Effect.sync(() => note(event)))))
      expect(seen.sort()).toEqual(["0:GUILD_CREATE", "0:READY", "1:GUILD_CREATE", "1:READY"])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))
})
