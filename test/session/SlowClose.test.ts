/**
 * A connection's end and its socket's close, under a transport of the program's own whose frames end as its close begins and whose release
 * then takes 5 s (a close handshake waiting for the peer's close frame).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, beatlessEncoding, options, ready, Session, settle, slowClosing } from "./harness.ts"

// sockets open now, and the most open at once
const sockets = { open: 0, most: 0 }
// the 5 s release, set off before the test's scope closes (TestClock stands still then)
let slow = true

const SlowCloseLayer = Layer.mergeAll(
  Layer.effect(
    GatewayTransport,
    Effect.map(GatewayTransport, (inner) => ({
      connect: (url: string, connectOptions: { readonly maxFrameBytes: number }) =>
        Effect.gen(function*() {
          // runs last, after the slow close: the socket is really gone
          yield* Effect.addFinalizer(() => Effect.sync(() => void sockets.open--))
          const connection = yield* inner.connect(url, connectOptions)
          sockets.open++
          sockets.most = Math.max(sockets.most, sockets.open)
          return connection
        })
    }))
  ).pipe(Layer.provideMerge(slowClosing(() => slow))),
  IdentifyLimiter.layerMemory,
  FetchHttpClient.layer
)

// lets the test's scope close: the 5 s waits pass
const unblock = Effect.zipRight(Effect.sync(() => {
  slow = false
}), TestClock.adjust("1 minute"))

describe("a connection's end waits for its socket", () => {
  // a heartbeat defect starts the close beside the timer; the connection waits for it at its end,
  // also when it ends with a failure (it did not: `await` died with the socket still open for 5 s,
  // and a program that started the shard again had two sockets for it)
  it.scoped("a heartbeat defect ends the session only once its socket is closed (await was done with the socket still open)", () =>
    Effect.gen(function*() {
      sockets.open = 0
      sockets.most = 0
      slow = true
      const session = yield* Session.make(options({ encoding: beatlessEncoding }))
      const { peer } = yield* acceptAndHello(1000)
      yield* peer.sendJson(ready(1))
      yield* settle
      const awaiting = yield* Effect.fork(Effect.exit(session.await))
      yield* TestClock.adjust("500 millis") // the first beat: its payload dies
      yield* settle
      const polled = yield* Fiber.poll(awaiting)
      const ended = polled._tag === "Some" && Exit.isSuccess(polled.value) && Exit.isFailure(polled.value.value) &&
        Cause.isDie(polled.value.value.cause)
      // the existing Session test's expectation (await done, then the peer closed), at the moment
      // await is done
      expect({ ended, socketsOpenAsAwaitIsDone: ended ? sockets.open : 0 }).toEqual({ ended, socketsOpenAsAwaitIsDone: 0 })
    }).pipe(Effect.ensuring(unblock), Effect.withRandom(Random.fixed([0.5])), Effect.provide(SlowCloseLayer)))

  // the zombie's close is started beside the timer and waited for at the connection's end: the
  // next connection opens only once the old socket let go
  it.scoped("a zombie under a slow-closing transport: the resume connects only once the old socket is gone", () =>
    Effect.gen(function*() {
      sockets.open = 0
      sockets.most = 0
      slow = true
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options())
      const { peer } = yield* acceptAndHello(10_000)
      yield* peer.sendJson(ready(1))
      yield* settle
      // beats at 5 s, 15 s; no ACK: zombie at 15 s; then the close takes 5 s
      const next = yield* Effect.fork(gateway.accept)
      for (let i = 0; i < 40; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const second = yield* Fiber.poll(next)
      expect(second._tag).toBe("Some")
      expect(sockets.most).toBe(1)
    }).pipe(Effect.ensuring(unblock), Effect.withRandom(Random.fixed([0.5])), Effect.provide(SlowCloseLayer)))

  // a command taken while the connection was ending (op 7 read, its close begun and slow) went out
  // on it, and was counted sent: the gateway ends that connection, and may drop what came on it
  // with the close; it goes out on the next connection
  it.scoped("a command submitted while a connection ends is not written on it: it goes out on the next one", () =>
    Effect.gen(function*() {
      slow = true
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options())
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1))
      yield* settle
      yield* peer.sendJson({ op: 7, d: null })
      yield* settle
      const request = yield* Effect.fork(session.requestSoundboardSounds(["81384788765712384"]))
      yield* settle
      const onOld = Chunk.toReadonlyArray(yield* peer.takeAll).map((frame) => JSON.parse(String(frame)).op)
      expect(onOld).not.toContain(31)
      const next = yield* Effect.fork(gateway.accept)
      yield* TestClock.adjust("10 seconds")
      yield* settle
      const second = yield* Fiber.join(next)
      const opening = yield* second.handshake(3_600_000)
      expect(opening.op).toBe(6)
      yield* second.sendJson({ op: 0, s: 2, t: "RESUMED", d: null })
      yield* settle
      expect(Chunk.toReadonlyArray(yield* second.takeAll).map((frame) => JSON.parse(String(frame)))).toContainEqual({
        op: 31,
        d: { guild_ids: ["81384788765712384"] }
      })
      expect(yield* Fiber.join(request)).toBeUndefined()
    }).pipe(Effect.ensuring(unblock), Effect.withRandom(Random.fixed([0.5])), Effect.provide(SlowCloseLayer)))
})
