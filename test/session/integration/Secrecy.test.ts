/**
 * The token never appears where a person or a log pipeline can see it, over loopback sockets: JSON
 * and ETF, zlib-stream and zstd-stream, faults, a 4004, a token refused by GET /gateway/bot, and a
 * gatewayUrl source whose error quotes it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Fleet from "../../../src/fleet/Fleet.ts"
import { GatewayInfoError } from "../../../src/session/SessionError.ts"
import * as IdentifyLimiter from "../../../src/limits/IdentifyLimiter.ts"
import * as Session from "../../../src/session/Session.ts"
import { capture, leaksOf, lineTexts, metricTexts, renderings, spanTexts } from "../../secrecy.ts"
import { awaitLog, ClientLayer, consume, sessionOptions, startGateway } from "./support.ts"

// a token shaped as Discord's: base64 user id . base64 timestamp . HMAC
const secret = "MTE4OTQ1NjEyMzQ1Njc4OTAxMg.GhQk2a.t0pS3cr3t_HmAcPaRt-9f8e7d6c5b4a3210zyxwvuts"
const token = Redacted.make(secret)

const leaksIn = leaksOf(secret)

/** An HTTP server answering every request with `status` and a body that echoes the Authorization header. */
const echoingApi = (status: number) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer((request, response) => {
        response.writeHead(status, { "content-type": "application/json" })
        response.end(JSON.stringify({ message: `${status}: Unauthorized`, code: 0, got: request.headers.authorization }))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v10`))

describe("secrecy over loopback", () => {
  for (const encoding of ["json", "etf"] as const) {
    for (const compression of ["zlib-stream", "zstd-stream"] as const) {
      it.scopedLive(`${encoding} ${compression}: a session through faults and a token reset (4004), then a fleet: no run of the token anywhere`, () => {
        const captured = capture()
        return Effect.gen(function*() {
          const gateway = yield* startGateway({ token })
          const session = yield* Session.make(sessionOptions(gateway, { token, encoding, compression, api: gateway.apiUrl, gateway: undefined }))
          const transitions: Array<unknown> = []
          yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
          const received = yield* consume(session)
          yield* awaitLog(gateway, "READY", (log) => log.identifies.length === 1)
          yield* gateway.close("all", 4000, "bye")
          yield* awaitLog(gateway, "resumed", (log) => log.resumes.some((r) => r.outcome === "resumed"))
          yield* gateway.invalidateSession("all", false)
          yield* awaitLog(gateway, "second identify", (log) => log.identifies.length === 2)
          const middle = yield* session.snapshot
          yield* gateway.close("all", 4004, "Authentication failed.")
          const exit = yield* Effect.exit(session.await)
          const streamEnd = yield* received.end
          const after = yield* session.snapshot
          expect(Exit.isFailure(exit)).toBe(true)
          // a fleet with a token GET /gateway/bot refuses (401): the secret with one more character
          const fleetExit = yield* Effect.exit(
            Fleet.make({ token: Redacted.make(`${secret}Q`), intents: 1, api: gateway.apiUrl, encoding, compression })
          )
          expect(Exit.isFailure(fleetExit)).toBe(true)
          const log = yield* gateway.log

          const leaks = leaksIn([
            ...lineTexts(captured.lines),
            ...spanTexts(captured.spans),
            ...metricTexts(),
            ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
            ...renderings("snapshot mid", middle),
            ...renderings("snapshot after", after),
            ...renderings("await exit", exit),
            ...(Exit.isFailure(exit) ? [["await Cause.pretty", Cause.pretty(exit.cause)] as const] : []),
            ...renderings("stream end", streamEnd),
            ...renderings("fleet exit", fleetExit),
            ...(Exit.isFailure(fleetExit) ? [["fleet Cause.pretty", Cause.pretty(fleetExit.cause)] as const] : []),
            ...renderings("session", session),
            ...renderings("gateway", gateway),
            ...renderings("gateway log", log)
          ])
          expect(captured.spans.some((span) => span.name === "GatewayInfo.fetch")).toBe(true)
          expect(leaks).toEqual([])
        }).pipe(captured.provide, Effect.provide(ClientLayer))
      })
    }
  }

  it.scopedLive("a fleet of 2 shards (etf, zstd) with its status rows and resume points: no run of the token", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const gateway = yield* startGateway({ token, shards: 2 })
      yield* gateway.startTraffic(20)
      const fleet = yield* Fleet.make({ token, intents: 1 | 512, api: gateway.apiUrl, encoding: "etf", compression: "zstd-stream" })
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* awaitLog(gateway, "both READY", (log) => log.identifies.filter((i) => i.outcome === "ready").length === 2)
      yield* gateway.drop("all")
      yield* awaitLog(gateway, "resumed", (log) => log.resumes.filter((r) => r.outcome === "resumed").length === 2)
      const status = yield* fleet.status
      const points = yield* fleet.disconnect()
      const leaks = leaksIn([
        ...lineTexts(captured.lines),
        ...spanTexts(captured.spans),
        ...metricTexts(),
        ...renderings("fleet", fleet),
        ...renderings("status", status),
        ...renderings("points", points),
        ...renderings("limiter snapshot", yield* Effect.flatMap(IdentifyLimiter.IdentifyLimiter, (limiter) => limiter.snapshot))
      ])
      expect(points.length).toBe(2)
      expect(leaks).toEqual([])
    }).pipe(captured.provide, Effect.provide(ClientLayer))
  })

  for (const status of [401, 403, 400, 500] as const) {
    it.scopedLive(`GET /gateway/bot answering ${status} with a body that echoes the token: no run of it in the error, logs or spans`, () => {
      const captured = capture()
      return Effect.gen(function*() {
        const api = yield* echoingApi(status)
        const session = yield* Session.make({ token, intents: 1, api, timeouts: { connect: "2 seconds" }, backoff: { initial: "10 millis", max: "20 millis" } })
        const exit = status === 401
          ? yield* Effect.exit(session.await)
          : yield* Effect.exit(Effect.timeoutFail(session.await, { duration: "300 millis", onTimeout: () => "still retrying" }))
        const snapshot = yield* session.snapshot
        const leaks = leaksIn([
          ...lineTexts(captured.lines),
          ...spanTexts(captured.spans),
          ...renderings("await exit", exit),
          ...renderings("snapshot", snapshot)
        ])
        expect(captured.spans.some((span) => span.name === "GatewayInfo.fetch")).toBe(true)
        expect(leaks).toEqual([])
      }).pipe(captured.provide, Effect.provide(ClientLayer))
    })
  }

  it.scopedLive("a gatewayUrl source (the program's discovery service) failing with a message that quotes the token: the session's own Error line, transition and snapshot do not repeat it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const source = Effect.fail(
        new GatewayInfoError({ reason: "Unauthorized", detail: `discovery refused Authorization: Bot ${secret}` })
      )
      const session = yield* Session.make({ token, intents: 1, gatewayUrl: source })
      const transitions: Array<unknown> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
      const exit = yield* Effect.exit(session.await)
      const snapshot = yield* session.snapshot
      expect(Exit.isFailure(exit)).toBe(true)
      const leaks = leaksIn([
        ...lineTexts(captured.lines),
        ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
        ...renderings("snapshot", snapshot)
      ])
      expect(leaks).toEqual([])
    }).pipe(captured.provide, Effect.provide(ClientLayer))
  })
})
