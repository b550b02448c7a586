/**
 * What must not hold a connection's heartbeats back: another shard's zombie on the timer a fleet's
 * shards share, and an outage hook of the program's own that takes its time.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Outage from "../../src/session/Outage.ts"
import * as HeartbeatTimer from "../../src/session/HeartbeatTimer.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, options, ready, sentOps, Session, settle, TestLayer } from "./harness.ts"

/**
 * The in-memory transport behind a transport of the program's own whose socket, once closed, waits
 * up to 5 s for the peer's close frame before it lets go (as a close handshake does).
 */
let slow = true
// set off, and the clock moved past the waits, before the test's scope closes (TestClock stands still then)
const unblock = Effect.zipRight(Effect.sync(() => {
  slow = false
}), TestClock.adjust("10 seconds"))

const SlowCloseLayer = Layer.mergeAll(
  Layer.effect(
    GatewayTransport,
    Effect.map(GatewayTransport, (inner) => ({
      connect: (url: string, connectOptions: { readonly maxFrameBytes: number }) =>
        Effect.tap(inner.connect(url, connectOptions), () => Effect.addFinalizer(() => slow ? Effect.sleep("5 seconds") : Effect.void))
    }))
  ).pipe(Layer.provideMerge(MemoryTransport.layer)),
  IdentifyLimiter.layerMemory,
  FetchHttpClient.layer
)

const shardSession = (timer: HeartbeatTimer.HeartbeatTimer, shard: number) =>
  Effect.gen(function*() {
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({ shard: [shard, 2] })))
    return yield* Session.makeWith(resolved, { heartbeats: timer })
  })

const scenario = (slowClose: boolean) =>
    Effect.gen(function*() {
      slow = slowClose
      const gateway = yield* MemoryTransport.MemoryGateway
      const timer = yield* HeartbeatTimer.make
      // shard 0: Hello at 0 s asking for 10 s; beats at 5 s and 15 s; it never ACKs: zombie at 15 s
      yield* shardSession(timer, 0)
      const a = yield* gateway.accept
      expect((yield* a.handshake(10_000)).op).toBe(2)
      yield* a.sendJson(ready(1, "session-a", [0, 2]))
      yield* settle
      // shard 1: Hello at 3 s (its Identify waits for the limiter's 5 s spacing); it ACKs every beat
      yield* shardSession(timer, 1)
      const b = yield* gateway.accept
      yield* TestClock.adjust("3 seconds")
      yield* b.autoAck(true)
      yield* Effect.fork(b.handshake(10_000))
      yield* TestClock.adjust("3 seconds") // 6 s: the identify spacing over
      yield* settle
      // b's beats: Hello at 3 s, jitter 0.5: at 8 s, 18 s, 28 s
      yield* TestClock.adjust("2 seconds") // 8 s
      expect((yield* sentOps(b)).filter((op) => op === 1)).toEqual([1])
      expect((yield* sentOps(a)).filter((op) => op === 1)).toEqual([1])
      yield* TestClock.adjust("7 seconds") // 15 s: shard 0 is a zombie
      yield* settle
      yield* TestClock.adjust("3 seconds") // 18 s
      yield* settle
      // with a transport that takes 5 s to let go, shard 1's beat waited until 20 s
      expect((yield* sentOps(b)).filter((op) => op === 1)).toEqual([1])
      expect(yield* b.isOpen).toBe(true)
    }).pipe(Effect.ensuring(unblock), Effect.withRandom(Random.fixed([0.5])), Effect.provide(SlowCloseLayer))

describe("a fleet's shared heartbeat timer", () => {
  it.scoped("beats a shard on time beside another's zombie whose socket lets go at once", () => scenario(false))

  // the zombie's end ran on the timer's fiber and waited for its socket's close
  it.scoped("beats a shard on time beside another's zombie whose transport takes its time to close (it waited for the close)", () => scenario(true))
})

describe("a program's outage hook", () => {
  it.scoped("an outage hook's `lasted` that takes its time leaves the reader reading: no zombie close (it held the reader, and the next ACK went unread)", () =>
    Effect.gen(function*() {
      const base = Outage.make()
      const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
      yield* Session.makeWith(resolved, { outage: { ...base, lasted: Effect.zipRight(Effect.sleep("30 seconds"), base.lasted) } })
      const { peer } = yield* acceptAndHello(10_000)
      yield* peer.autoAck(true)
      yield* peer.sendJson(ready())
      yield* settle
      // beats at 5, 15, ... s, each answered at once; stable at 60 s, told at the ACK of 65 s
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("10 seconds")
      const open = yield* peer.isOpen
      expect(open ? "open" : yield* Effect.map(peer.closed, (c) => `closed ${c.code} by ${c.by}`)).toBe("open")
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
})
