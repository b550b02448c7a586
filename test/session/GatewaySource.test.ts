/**
 * A `gatewayUrl` source's failures: which are tried again, and how one of plain JavaScript (not a
 * `GatewayInfoError`) is told.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Session from "../../src/session/Session.ts"
import { GatewayInfoError } from "../../src/session/SessionError.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options } from "./harness.ts"

// no GET /gateway/bot is asked in these: a client that never answers
const Services = Layer.mergeAll(
  MemoryTransport.layer,
  IdentifyLimiter.layerMemory,
  Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.never))
)

describe("a gatewayUrl source's failures", () => {
  // GatewayInfoError.passing: "no answer (the network, a timeout), a 408, a 429 or a 5xx"; an `Http`
  // failure of status 429 (a program's discovery telling its own service's 429) ended the session
  // for good, as a 404 does
  it.scoped("one of status 429 (reason Http) is tried again: the session lives", () =>
    Effect.gen(function*() {
      const limited = new GatewayInfoError({ reason: "Http", detail: "discovery answered 429", status: 429, retryAfter: 2 })
      expect(limited.passing).toBe(true)
      let asked = 0
      const source = Effect.suspend(() => ++asked === 1 ? Effect.fail(limited) : Effect.succeed("ws://gateway.test/"))
      const session = yield* Session.make({ ...options(), gateway: undefined, gatewayUrl: source })
      const ended = yield* Effect.fork(Effect.exit(session.await))
      yield* TestClock.adjust("10 seconds")
      expect(Option.isNone(yield* Fiber.poll(ended))).toBe(true)
      expect(asked).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(Services)))

  // a source of JavaScript failing with a plain Error (or an error without `detail`) killed the
  // session with the library's own TypeError ("Cannot read properties of undefined"), its words lost
  it.scoped("one of plain JavaScript (an Error, a string) is told in its own words and tried again", () =>
    Effect.gen(function*() {
      for (const failure of [new Error("discovery down"), "discovery down", { reason: "Http" }]) {
        let asked = 0
        const source = Effect.suspend(() => (++asked, Effect.fail(failure))) as unknown as Effect.Effect<string, GatewayInfoError>
        const session = yield* Session.make({ ...options(), gateway: undefined, gatewayUrl: source })
        const reasons = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(session.transitions, (t) => t.reason._tag === "GatewayInfoFailed"), 2)))
        yield* TestClock.adjust("10 seconds")
        const told = [...(yield* Fiber.join(reasons))].map((t) => t.reason._tag === "GatewayInfoFailed" ? t.reason.message : "")
        expect(told[0]).toContain(typeof failure === "object" && "reason" in failure ? "reason: 'Http'" : "discovery down")
        expect(asked).toBeGreaterThanOrEqual(2)
        yield* session.end()
      }
    }).pipe(Effect.provide(Services)))
})
