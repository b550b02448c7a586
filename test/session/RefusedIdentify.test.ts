/**
 * An Identify the socket refused carried nothing: the presence updates it would have carried are
 * still on their way, and one given up on meanwhile is not shown.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { GatewayTransport, TransportError } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, hello, options, programLimiter, Session, settle } from "./harness.ts"

const presence = (name: string) => ({ status: "online" as const, since: null, afk: false, activities: [{ name, type: 0 }] })

// the first Identify's write is slow and never goes out: `mode` says how it ends (fails after
// 2 s, as ws's send on a CLOSING socket does once the close is known; or never ends)
const firstIdentifyLost = (mode: "fails" | "hangs", counter: { identifies: number; reached: number; failed: boolean; interrupted: boolean }) =>
  Layer.effect(
    GatewayTransport,
    Effect.map(GatewayTransport, (inner) => ({
      connect: (url: string, opts: Parameters<typeof inner.connect>[1]) =>
        Effect.map(inner.connect(url, opts), (connection) => ({
          ...connection,
          send: (frame: Parameters<typeof connection.send>[0]) => {
            const op = typeof frame === "string" ? (JSON.parse(frame) as { op: number }).op : -1
            if (op === 2 && ++counter.identifies === 1) {
              const write = mode === "fails"
                ? Effect.zipRight(
                  Effect.sleep("2 seconds"),
                  Effect.suspend(() => {
                    counter.failed = true
                    return Effect.fail(new TransportError({ reason: "Send" }))
                  })
                )
                : Effect.never
              return Effect.onInterrupt(write, () =>
                Effect.sync(() => {
                  counter.interrupted = true
                }))
            }
            if (op === 2) counter.reached++
            return connection.send(frame)
          }
        }))
    }))
  )

const scenario = (mode: "fails" | "hangs") => {
  const counter = { identifies: 0, reached: 0, failed: false, interrupted: false }
  return Effect.gen(function*() {
    const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
    // made while no connection is ready: the first Identify will carry it
    const update = yield* Effect.fork(session.updatePresence(presence("given up")))
    yield* settle
    const gateway = yield* MemoryTransport.MemoryGateway
    const peer = yield* gateway.accept
    yield* peer.sendJson(hello(3_600_000))
    yield* settle
    expect(counter.identifies).toBe(1)
    // the socket goes while the Identify's write is still on (it never reaches the gateway)
    yield* TestClock.adjust("500 millis")
    yield* peer.drop
    yield* settle
    yield* TestClock.adjust("3 seconds")
    yield* settle
    // the write was cut short by the connection's end (its failure never seen)
    expect(counter).toMatchObject({ interrupted: true, failed: false })
    // nothing went out: the caller still waits, then gives up
    expect(update.unsafePoll()).toBeNull()
    yield* Fiber.interrupt(update)
    const next = yield* Effect.fork(acceptAndHello(3_600_000))
    for (let i = 0; i < 30 && next.unsafePoll() === null; i++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
    const { first } = yield* Fiber.join(next)
    expect(first.op).toBe(2)
    expect(counter.identifies).toBe(2)
    return first.d.presence?.activities?.[0]?.name
  }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.provideMerge(firstIdentifyLost(mode, counter), programLimiter({}))))
}

describe("presence and an Identify the socket refused", () => {
  // an update whose caller gives up before it went out is as if it had never been made: the only
  // frame that could have carried it (an Identify) was refused by the socket, yet it was marked
  // carried as the Identify was made, and the next Identify showed it
  it.scoped("an update given up on after the Identify carrying it was refused by the socket is not what the next Identify carries", () => {
    let identifies = 0
    const firstIdentifyRefused = Layer.effect(
      GatewayTransport,
      Effect.map(GatewayTransport, (inner) => ({
        connect: (url: string, opts: Parameters<typeof inner.connect>[1]) =>
          Effect.map(inner.connect(url, opts), (connection) => ({
            ...connection,
            send: (frame: Parameters<typeof connection.send>[0]) => {
              const op = typeof frame === "string" ? (JSON.parse(frame) as { op: number }).op : -1
              if (op === 2 && ++identifies === 1) return Effect.fail(new TransportError({ reason: "Send" }))
              return connection.send(frame)
            }
          }))
      }))
    )
    return Effect.gen(function*() {
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
      // made while no connection is ready: the first Identify will carry it
      const update = yield* Effect.fork(session.updatePresence(presence("given up")))
      yield* settle
      const gateway = yield* MemoryTransport.MemoryGateway
      const peer = yield* gateway.accept
      yield* peer.sendJson(hello(3_600_000))
      yield* settle
      expect(identifies).toBe(1)
      // the Identify never went out; the socket then goes
      yield* peer.drop
      yield* settle
      // the caller still waits (nothing went out), then gives up
      expect(update.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(update)
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      for (let i = 0; i < 20 && next.unsafePoll() === null; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const { first } = yield* Fiber.join(next)
      expect(first.op).toBe(2)
      expect(identifies).toBe(2)
      expect(first.d.presence?.activities?.[0]?.name).toBeUndefined()
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.provideMerge(firstIdentifyRefused, programLimiter({}))))
  })

  // the socket refused the Identify (its write failed) only after the connection's end was read, or
  // its write never ended: the end cut the write short, and the update stayed counted as carried
  for (const mode of ["fails", "hangs"] as const) {
    it.scoped(`a slow Identify write that ${mode === "fails" ? "fails" : "never ends"} after the socket dropped: an update given up on after it is not what the next Identify carries`, () =>
      Effect.map(scenario(mode), (name) => expect(name).toBeUndefined()))
  }
})
