/**
 * An HttpClient whose request cannot be interrupted (a custom client wrapping a call it cannot
 * cancel): the GET /gateway/bot timeout and the session's stops must still hold, as they do for a
 * `gatewayUrl` source, a transport's connect and a limiter's `budgetReady` that cannot be.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options, Session, settle } from "./harness.ts"

const { gateway: _, ...withoutGateway } = options()
let asked = 0
const stuckHttp = Layer.mergeAll(
  MemoryTransport.layer,
  IdentifyLimiter.layerMemory,
  Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.suspend(() => {
    asked++
    return Effect.uninterruptible(Effect.never)
  })))
)

describe("GET /gateway/bot that cannot be interrupted", () => {
  // README, Stopping: "`session.disconnect(timeout?)` ... waits for the close to go through, up to
  // 5 s by default"; "A stop returns ... at its timeout once its last transition is made". README,
  // gatewayUrl: "One that cannot be interrupted is left to finish on its own. A stop interrupts the
  // source and waits a second at most for its cleanup." disconnect("1 second") never returned (nor
  // a scope's close's stop: the program's shutdown hung for good).
  it.scoped("disconnect(1 s) while GET /gateway/bot hangs uninterruptibly returns within its timeout", () =>
    Effect.gen(function*() {
      // a scope of its own, left open: its close hung the test's before
      const session = yield* Scope.extend(Session.make(withoutGateway), yield* Scope.make())
      yield* settle
      const stopping = yield* Effect.forkDaemon(session.disconnect("1 second"))
      for (let i = 0; i < 30 && stopping.unsafePoll() === null; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      expect(stopping.unsafePoll() !== null).toBe(true)
    }).pipe(Effect.provide(stuckHttp)), 15_000)

  // README, Session options: "`connect` | 15 s | also bounds `GET /gateway/bot`". With a request
  // that cannot be interrupted the timeout never fires: the session sits in ConnectingHttp for ever,
  // never asking again.
  it.scoped("the connect timeout bounds a GET /gateway/bot that cannot be interrupted: asked again after it", () =>
    Effect.gen(function*() {
      asked = 0
      yield* Scope.extend(Session.make(withoutGateway), yield* Scope.make())
      for (let i = 0; i < 60; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect(asked).toBeGreaterThan(1)
    }).pipe(Effect.provide(stuckHttp)), 15_000)
})
