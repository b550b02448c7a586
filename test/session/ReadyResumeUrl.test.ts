/**
 * Where a session resumes after READY: at READY's `resume_gateway_url`, or, where that cannot be
 * dialled (no ws/wss URL, a fragment, credentials, too long, no string), at the URL its connection
 * went to. Such a READY was refused, and the session it started thrown away: the session closed
 * and identified anew, a session start spent each time a gateway sent one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { captured } from "../logLines.ts"
import { acceptAndHello, dispatch, gatewayUrl, options, Session, settle, TestLayer } from "./harness.ts"

const readyWith = (url: unknown) =>
  dispatch(1, "READY", { v: 10, session_id: "session-1", resume_gateway_url: url, user: { id: "1" }, application: { id: "2" }, guilds: [] })

describe("READY's resume URL", () => {
  for (const url of ["https://resume.test", "wss://resume.test/#here", "wss://user:pass@resume.test", "", 42, `wss://${"a".repeat(2100)}.test`]) {
    it.scoped(`${JSON.stringify(url).slice(0, 32)}, which cannot be dialled: the session is kept, warned of, and resumed at the URL its connection went to`, () => {
      const log = captured()
      return Effect.gen(function*() {
        const session = yield* Session.make(options())
        const { peer } = yield* acceptAndHello(41_250)
        yield* peer.sendJson(readyWith(url))
        yield* settle
        expect((yield* session.snapshot).reason._tag).toBe("Ready")
        expect(log.lines.filter((line) => line.startsWith("WARN READY's resume_gateway_url must be") && line.endsWith("resuming at the gateway URL instead"))).toHaveLength(1)
        yield* peer.drop
        yield* TestClock.adjust("10 seconds")
        const { first, peer: next } = yield* acceptAndHello(41_250)
        expect(first).toMatchObject({ op: 6, d: { session_id: "session-1", seq: 1 } })
        expect(next.url.startsWith(gatewayUrl)).toBe(true)
      }).pipe(Effect.provide(TestLayer), Effect.provide(log.layer))
    })
  }

  // the URL dialled carries the gateway query: kept in the point, a gateway URL near the length
  // limit made a point past it, which the next process refused
  it.scoped("the resume point handed back holds the connection's URL without the gateway query", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(readyWith("https://resume.test"))
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("5 seconds")
      const point = yield* Fiber.join(stopping)
      expect(Option.map(point, (taken) => taken.resumeGatewayUrl)).toEqual(Option.some(gatewayUrl))
    }).pipe(Effect.provide(TestLayer)))

  // as dialled (the gateway query on it, or the URL written anew: a `/` before a query), a URL at
  // the length limit made a point one character over it, which the next process refused
  it.scoped("the point holds the connection's URL as given: one of 2048 characters is taken by the next process", () =>
    Effect.gen(function*() {
      const prefix = "ws://gateway.test?auth="
      const gateway = prefix + "a".repeat(2048 - prefix.length)
      const session = yield* Session.make(options({ gateway }))
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(readyWith("https://resume.test/"))
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("5 seconds")
      const point = Option.getOrThrow(yield* Fiber.join(stopping))
      expect(point.resumeGatewayUrl).toBe(gateway)
      expect(Either.isRight(SessionOptions.resolve(options({ gateway, resume: point })))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("one that can be dialled is where the session resumes (the control)", () =>
    Effect.gen(function*() {
      yield* Session.make(options())
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(readyWith("ws://resume.elsewhere.test/"))
      yield* settle
      yield* peer.drop
      yield* TestClock.adjust("10 seconds")
      const { first, peer: next } = yield* acceptAndHello(41_250)
      expect(first.op).toBe(6)
      expect(next.url.startsWith("ws://resume.elsewhere.test/")).toBe(true)
    }).pipe(Effect.provide(TestLayer)))
})
