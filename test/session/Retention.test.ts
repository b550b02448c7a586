/**
 * What a session keeps of what ended: nothing. A session lives for days through thousands of
 * connections, and a program may make sessions one after another in one long-lived scope.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { type Connection, ConnectionClosed, type Frame, GatewayTransport, receiveFrom } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { stillReachable } from "../gc.ts"
import { acceptAndHello, dispatch, hello, options, ready, Session, settle } from "./harness.ts"

/** A service of a program's own, given to each session it makes. */
class PerSession extends Context.Tag("test/PerSession")<PerSession, { readonly request: number }>() {}

/**
 * A custom transport written the idiomatic Effect way: the socket's release registered with
 * `Effect.acquireRelease`, in the scope the session opens it in. It keeps a `WeakRef` to each
 * connection it opens.
 */
const acquireReleaseTransport = () => {
  const opened: Array<WeakRef<object>> = []
  const peers: Array<{ readonly toClient: Mailbox.Mailbox<Frame, ConnectionClosed>; readonly toServer: Queue.Queue<Frame> }> = []
  const connect: GatewayTransport["Type"]["connect"] = () =>
    Effect.gen(function*() {
      const toClient = yield* Mailbox.make<Frame, ConnectionClosed>()
      const toServer = yield* Queue.unbounded<Frame>()
      const closed = (code: number) => Effect.sync(() => toClient.unsafeDone(Exit.fail(new ConnectionClosed({ code, reason: "" }))))
      yield* Effect.acquireRelease(Effect.void, () => closed(4900))
      peers.push({ toClient, toServer })
      const connection: Connection = { receive: receiveFrom(toClient), send: (frame) => Queue.offer(toServer, frame), close: closed }
      opened.push(new WeakRef(connection))
      return connection
    })
  const layer = Layer.mergeAll(Layer.succeed(GatewayTransport, { connect }), IdentifyLimiter.layerMemory, FetchHttpClient.layer)
  return { opened, peers, layer }
}

describe("Session retention", () => {
  it.scoped("connections that ended are let go, even when the transport releases them with Effect.acquireRelease", () => {
    const custom = acquireReleaseTransport()
    return Effect.gen(function*() {
      yield* Session.make(options({ backoff: { initial: "100 millis", max: "100 millis" } }))
      let sequence = 0
      for (let cycle = 0; cycle < 60; cycle++) {
        yield* settle
        const { toClient, toServer } = custom.peers[cycle]!
        toClient.unsafeOffer(JSON.stringify(hello(41_250)))
        let first: { readonly op: number }
        do first = JSON.parse((yield* Queue.take(toServer)) as string)
        while (first.op === 1)
        toClient.unsafeOffer(JSON.stringify(first.op === 2 ? ready(sequence = 1) : dispatch(++sequence, "RESUMED", {})))
        yield* settle
        // the gateway closes it, resumable: the session's loop ends the connection and opens the next
        toClient.unsafeDone(Exit.fail(new ConnectionClosed({ code: 4000, reason: "" })))
        yield* settle
        yield* TestClock.adjust("200 millis")
      }
      custom.peers.length = 0
      // every connection but the open one, and the one whose close may still be on its way
      expect(yield* stillReachable(custom.opened.slice(0, -2))).toBe(0)
    }).pipe(Effect.provide(custom.layer))
  })

  it.effect("sessions made and ended one after another in one scope are let go before the scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const buffers: Array<WeakRef<object>> = []
      for (let i = 0; i < 30; i++) {
        const session = yield* Session.make(options()).pipe(Scope.extend(scope))
        yield* TestClock.adjust("5 seconds")
        const { peer } = yield* acceptAndHello()
        yield* peer.sendJson(ready())
        yield* settle
        buffers.push(new WeakRef(session.events))
        yield* session.end("1 second")
      }
      // the last is still in this generator's frame
      expect(yield* stillReachable(buffers.slice(0, -1))).toBe(0)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

  // The heartbeat timer's finalizer went into the caller's scope, and with it the runtime the
  // session was made in: its services stayed until that scope closed.
  it.effect("sessions ended one after another in one scope let go of the services each was made with", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const services: Array<WeakRef<object>> = []
      for (let i = 0; i < 10; i++) {
        const service = { request: i }
        services.push(new WeakRef(service))
        const session = yield* Session.make(options()).pipe(Scope.extend(scope), Effect.provideService(PerSession, service))
        yield* TestClock.adjust("5 seconds")
        const { peer } = yield* acceptAndHello()
        yield* peer.sendJson(ready())
        yield* settle
        yield* session.end("1 second")
      }
      // the last is still in this generator's frame
      expect(yield* stillReachable(services.slice(0, -1))).toBe(0)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))
})
