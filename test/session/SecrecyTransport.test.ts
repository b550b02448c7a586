/**
 * A transport of the program's own (a proxying one) whose `receive` dies with words quoting the
 * URL it reads from, where that URL carries the token (a proxy's `?auth=`, which a session takes):
 * the session's end is masked as its log lines are (`connect`, `send` and `close` were masked,
 * the end through `receive` was not).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, endPlaces, leaksOf } from "../secrecy.ts"
import { dispatch, options, ready, secret, Session, settle } from "../session/harness.ts"

const leaksIn = leaksOf(secret)

/** The in-memory transport, whose connections' `receive` dies after two reads, naming the URL. */
const receiveDies = Layer.mergeAll(
  Layer.effect(
    GatewayTransport,
    Effect.map(GatewayTransport, (inner) => ({
      connect: (url, connectOptions) =>
        Effect.map(inner.connect(url, connectOptions), (connection) => {
          let reads = 0
          return {
            ...connection,
            receive: Effect.suspend(() => ++reads > 2 ? Effect.die(new Error(`read from ${url} failed: connection reset by peer`)) : connection.receive)
          }
        })
    }))
  ).pipe(Layer.provideMerge(MemoryTransport.layer)),
  IdentifyLimiter.layerMemory,
  FetchHttpClient.layer
)

describe("a transport's receive that dies quoting its URL (the token in a proxy's ?auth=)", () => {
  it.scoped("the session's end (await, events), its lines and spans do not repeat the token", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ gateway: `wss://proxy.test/?auth=${secret}` }))
      const events = yield* Effect.fork(Effect.exit(Stream.runDrain(session.events)))
      const peer = yield* gateway.accept
      yield* peer.handshake(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* peer.sendJson(dispatch(2, "TYPING_START", {}))
      yield* settle
      yield* peer.sendJson(dispatch(3, "TYPING_START", {}))
      yield* settle
      const ended = yield* Effect.exit(session.await)
      const streamEnd = yield* Fiber.join(events)
      // the library's own words (the snapshot) mask it: it is the exits that do not
      expect(JSON.stringify(yield* session.snapshot)).toContain("<token>")
      expect(Exit.isFailure(ended)).toBe(true)
      expect(leaksIn(endPlaces(captured, ended, streamEnd))).toEqual([])
    }).pipe(captured.provide, Effect.provide(receiveDies))
  })
})
