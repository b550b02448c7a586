/**
 * The token in the spans and lines of a session's requests: a transport's connect, an HttpClient's
 * answer and its body, a `gatewayUrl` source's error. Each ended a span, or went into a line, whole:
 * `Session.connect` with the transport's `TransportError` (its `cause` quoting the token, a proxy
 * repeating the Authorization it was handed) or its defect; `GatewayInfo.fetch` with an
 * HttpClient's defect; a body failing as it was read, with the client's words; a source's error
 * marked `source: "gatewayUrl"` as it was. A tracer exports a span's exit as its status and an
 * exception event.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { GatewayInfoError } from "../../src/session/SessionError.ts"
import { GatewayTransport, TransportError } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, leaksOf, lineTexts, renderings, spanTexts } from "../secrecy.ts"
import { options, secret, Session, settle } from "./harness.ts"

const leaksIn = leaksOf(secret)

const withTransport = (connect: GatewayTransport["Type"]["connect"]) =>
  Layer.mergeAll(Layer.succeed(GatewayTransport, { connect }), IdentifyLimiter.layerMemory, FetchHttpClient.layer)

/** Runs a session for a few failed attempts, then stops it; the spans and lines it left. */
const runAFew = (overrides: Parameters<typeof options>[0] = {}) => {
  const captured = capture()
  return {
    captured,
    run: Effect.gen(function*() {
      const session = yield* Session.make(options(overrides))
      for (let i = 0; i < 4; i++) {
        yield* settle
        yield* TestClock.adjust("30 seconds")
      }
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("1 second")
      yield* stopping.await
    }).pipe(captured.provide)
  }
}

describe("secrecy: a span's exit", () => {
  it.scoped("a transport's connect error quoting the token (TransportError.cause): the Session.connect span's exit does not repeat it", () => {
    const { captured, run } = runAFew()
    return Effect.gen(function*() {
      yield* run
      expect(captured.spans.some((span) => span.name === "Session.connect" && span.ended !== undefined)).toBe(true)
      expect(leaksIn([...lineTexts(captured.lines), ...spanTexts(captured.spans)])).toEqual([])
    }).pipe(
      Effect.provide(withTransport(() =>
        Effect.fail(new TransportError({ reason: "Connect", cause: new Error(`proxy refused Authorization: Bot ${secret}`) }))
      ))
    )
  })

  it.scoped("a transport's connect that dies quoting the token: the Session.connect span's exit does not repeat it", () => {
    const { captured, run } = runAFew()
    return Effect.gen(function*() {
      yield* run
      expect(captured.spans.some((span) => span.name === "Session.connect" && span.ended !== undefined)).toBe(true)
      expect(leaksIn(spanTexts(captured.spans.filter((span) => span.name === "Session.connect")))).toEqual([])
    }).pipe(
      Effect.provide(withTransport(() => Effect.die(new Error(`proxy session for Bot ${secret} is gone`))))
    )
  })

  // a detail kept hidden (not enumerable), as Node and many libraries put details on their errors:
  // `inspect` with `showHidden` shows it, and the span's exit kept it whole
  const hiddenRefusal = () =>
    Object.defineProperty(new Error("proxy refused the upgrade"), "request", { value: `GET /?v=10 HTTP/1.1\r\nAuthorization: Bot ${secret}` })
  for (
    const [name, connect] of [
      ["dies with a hidden property quoting it", () => Effect.die(hiddenRefusal())],
      ["fails with a cause whose hidden property quotes it", () => Effect.fail(new TransportError({ reason: "Connect", cause: hiddenRefusal() }))]
    ] as const
  ) {
    it.scoped(`a transport's connect that ${name}: the Session.connect span's exit does not repeat the token`, () => {
      const { captured, run } = runAFew()
      return Effect.gen(function*() {
        yield* run
        expect(captured.spans.some((span) => span.name === "Session.connect" && span.ended !== undefined)).toBe(true)
        expect(leaksIn([...lineTexts(captured.lines), ...spanTexts(captured.spans)])).toEqual([])
      }).pipe(Effect.provide(withTransport(connect)))
    })
  }

  it.scoped("an HttpClient that dies quoting the Authorization header: the GatewayInfo.fetch span's exit does not repeat it", () => {
    const { captured, run } = runAFew({ gateway: undefined, api: "https://api.test/v10" })
    const dyingClient = Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) => Effect.die(new Error(`refusing a request with authorization: ${request.headers["authorization"]}`)))
    )
    return Effect.gen(function*() {
      yield* run
      expect(captured.spans.some((span) => span.name === "GatewayInfo.fetch" && span.ended !== undefined)).toBe(true)
      expect(leaksIn(spanTexts(captured.spans.filter((span) => span.name === "GatewayInfo.fetch")))).toEqual([])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, dyingClient)))
  })
})

// an HttpClient (a program's proxying one) whose answer's body fails as it is read, the error
// quoting the request's Authorization header (its execute's errors were masked; these were not)
describe("secrecy: GET /gateway/bot's body failing as it is read", () => {
  it.scoped("the body stream's error quoting the token: no log line (the GatewayInfoFailed transition's) or span repeats it", () => {
    const { captured, run } = runAFew({ gateway: undefined, api: "https://api.test/v10" })
    const failingBody = Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) =>
        Effect.sync(() =>
          HttpClientResponse.fromWeb(
            request,
            new Response(
              new ReadableStream({
                start(controller) {
                  controller.error(new Error(`upstream reset while answering authorization: ${request.headers["authorization"]}`))
                }
              }),
              { status: 200, headers: { "content-type": "application/json" } }
            )
          )
        )
      )
    )
    return Effect.gen(function*() {
      yield* run
      expect(captured.lines.some((line) => line.includes("the body could not be read"))).toBe(true)
      expect(leaksIn([...lineTexts(captured.lines), ...spanTexts(captured.spans)])).toEqual([])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, failingBody)))
  })
})

// a program's discovery that marks its own errors so (the field is public), or passes on one a
// session's source gave it, had the token repeated in the transition, the snapshot and the lines
describe("secrecy: a gatewayUrl source's error already marked as its own", () => {
  it.scoped("a passing failure (503) quoting the token, source: gatewayUrl: no transition, snapshot or log line repeats it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const source = Effect.fail(
        new GatewayInfoError({ reason: "Http", status: 503, source: "gatewayUrl", detail: `discovery refused Authorization: Bot ${secret}` })
      )
      const session = yield* Session.make(options({ gateway: undefined, gatewayUrl: source }))
      const transitions: Array<unknown> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
      for (let i = 0; i < 8; i++) {
        yield* settle
        yield* TestClock.adjust("30 seconds")
      }
      const snapshot = yield* session.snapshot
      expect(transitions.some((t) => JSON.stringify(t).includes("GatewayInfoFailed"))).toBe(true)
      const leaks = leaksIn([
        ...lineTexts(captured.lines),
        ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
        ...renderings("snapshot", snapshot)
      ])
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      yield* TestClock.adjust("1 second")
      yield* stopping.await
      expect(leaks).toEqual([])
    }).pipe(
      captured.provide,
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))
    )
  })

  // run on a fiber whose exit was no value, a source that failed had Effect log it whole, at Debug,
  // at every attempt
  for (
    const [name, source] of [
      ["dies quoting the token", Effect.dieMessage(`discovery blew up with Authorization: Bot ${secret}`)],
      ["fails (503)", Effect.fail(new GatewayInfoError({ reason: "Http", status: 503, detail: "discovery down" }))]
    ] as const
  ) {
    it.scoped(`a source that ${name}: no "unhandled error" line, no line repeats the token`, () => {
      const captured = capture()
      return Effect.gen(function*() {
        const session = yield* Session.make(options({ gateway: undefined, gatewayUrl: source }))
        for (let i = 0; i < 4; i++) {
          yield* settle
          yield* TestClock.adjust("30 seconds")
        }
        yield* Effect.exit(session.disconnect("1 second").pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")), Effect.flatMap(Fiber.join)))
        expect(captured.lines.filter((line) => line.includes("unhandled error"))).toEqual([])
        expect(leaksIn(lineTexts(captured.lines))).toEqual([])
      }).pipe(
        captured.provide,
        Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))
      )
    })
  }
})
