import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"
import * as GatewayInfo from "../../src/session/GatewayInfo.ts"
import { withPauses } from "../pauses.ts"
import { secret } from "./harness.ts"
import { type RecordedSpan, recordingTracer } from "./recordingTracer.ts"

const answer = {
  url: "wss://gateway.discord.gg",
  shards: 2,
  session_start_limit: { total: 1000, remaining: 998, reset_after: 60_000, max_concurrency: 1 }
}

/** Fetches through a client that answers every request with `respond`, and records the requests. */
const fetchWith = (
  respond: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Response, HttpClientError.HttpClientError>,
  api = "https://discord.test/api/v10/"
) => {
  const requests: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) => {
    requests.push(request)
    return Effect.map(respond(request), (response) => HttpClientResponse.fromWeb(request, response))
  })
  const result = GatewayInfo.fetch(api, Redacted.make(secret), "15 seconds").pipe(
    Effect.provideService(HttpClient.HttpClient, client),
    Effect.either
  )
  return Effect.map(result, (either) => ({ either, requests }))
}

const json = (body: unknown, status = 200) => Effect.succeed(new Response(JSON.stringify(body), { status }))

/** The answer as JSON text padded with a `padding` string to exactly `bytes` bytes. */
const padded = (bytes: number) => {
  const empty = JSON.stringify({ ...answer, padding: "" })
  return JSON.stringify({ ...answer, padding: "a".repeat(bytes - empty.length) })
}

/** A loopback HTTP server answering every request with `handler`, closed with the scope. */
const loopback = (handler: (res: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer((_req, res) => handler(res))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v10`))

// the spans (by name and part) that show the token in any way a tracer may print what it kept
const leaking = (spans: ReadonlyArray<RecordedSpan>): ReadonlyArray<string> =>
  spans.flatMap((span) =>
    Object.entries({ attributes: Object.fromEntries(span.attributes), events: span.events, exit: span.ended }).flatMap(([part, value]) =>
      [String(value), inspect(value, { depth: Infinity }), JSON.stringify(value) ?? ""].some((text) => text.includes(secret))
        ? [`${span.name} ${part}`]
        : []
    )
  )

describe("GatewayInfo.fetch", () => {
  it.effect("asks GET {api}/gateway/bot with the bot token and the User-Agent Discord asks for, and decodes the answer", () =>
    Effect.gen(function*() {
      const { either, requests } = yield* fetchWith(() => json(answer))
      expect(either).toMatchObject({ _tag: "Right", right: answer })
      expect(requests.map((request) => [request.method, request.url, request.headers["authorization"], request.headers["user-agent"]])).toEqual([
        ["GET", "https://discord.test/api/v10/gateway/bot", `Bot ${secret}`, GatewayInfo.userAgent]
      ])
      // DiscordBot ($url, $versionNumber), the version the package's
      const { name, version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string }
      expect(GatewayInfo.userAgent).toBe(`DiscordBot (https://www.npmjs.com/package/${name}, ${version})`)
    }))

  // The platform's own span ended with the response or the error, both holding the request,
  // whose headers print in the clear outside a fiber's logs: ["http.client GET exit"].
  it.effect("leaves the token in no span a tracer keeps, answered or failed; its span tells the URL and status", () =>
    Effect.gen(function*() {
      const answered = recordingTracer()
      const ok = yield* fetchWith(() => json(answer)).pipe(Effect.withTracer(answered.tracer))
      expect(ok.either._tag).toBe("Right")
      const failed = recordingTracer()
      const refused = yield* fetchWith((request) =>
        Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("connect ECONNREFUSED") }))
      ).pipe(Effect.withTracer(failed.tracer))
      expect(refused.either).toMatchObject({ _tag: "Left", left: { reason: "Http" } })
      for (const { spans } of [answered, failed]) {
        expect(spans.filter((span) => span.ended !== undefined).map((span) => span.name)).toContain("GatewayInfo.fetch")
        expect(leaking(spans)).toEqual([])
      }
      const [span] = answered.spans.filter((span) => span.name === "GatewayInfo.fetch")
      expect(Object.fromEntries(span!.attributes)).toEqual({
        "url.full": "https://discord.test/api/v10/gateway/bot",
        "http.response.status_code": 200
      })
    }))

  it.effect("asks /gateway/bot under the API's path, keeping its query and dropping its fragment", () =>
    Effect.gen(function*() {
      const urls: Array<string> = []
      for (const api of ["https://discord.test/api/v10?proxy=1", "https://discord.test/api/v10//#base", "https://discord.test"]) {
        const { either, requests } = yield* fetchWith(() => json(answer), api)
        expect(either._tag).toBe("Right")
        urls.push(...requests.map((request) => request.url))
      }
      expect(urls).toEqual([
        "https://discord.test/api/v10/gateway/bot?proxy=1",
        "https://discord.test/api/v10/gateway/bot",
        "https://discord.test/gateway/bot"
      ])
    }))

  it.effect("gives a typed error for every way the answer can be wrong, and never the token", () =>
    Effect.gen(function*() {
      const refused = (request: HttpClientRequest.HttpClientRequest) =>
        Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("connect ECONNREFUSED") }))
      const cases = [
        [() => json({ message: "401: Unauthorized" }, 401), "Unauthorized", "401 Unauthorized"],
        [() => json({ message: "overloaded" }, 503), "Http", "status 503 for https://discord.test/api/v10/gateway/bot"],
        [refused, "Http", "Transport error for https://discord.test/api/v10/gateway/bot: connect ECONNREFUSED"],
        // undici quotes a header it refuses, the token with it
        [(request: HttpClientRequest.HttpClientRequest) =>
          Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              cause: new TypeError(`Headers.append: "${request.headers["authorization"]}" is an invalid header value.`)
            })
          ), "Http", `Headers.append: "Bot <token>" is an invalid header value.`],
        [() => Effect.succeed(new Response("<html>", { status: 200 })), "Decode", "the body is not JSON"],
        [() => json({ ...answer, shards: 0 }), "Decode", "shards must be an integer between 1 and 65535, got 0"],
        // asked over https, a plaintext gateway would carry the token in the clear with every Identify
        [() => json({ ...answer, url: "ws://gateway.discord.gg" }), "Decode", `url "ws://gateway.discord.gg" is not encrypted (ws://), asked over https`]
      ] as const
      for (const [respond, reason, detail] of cases) {
        const { either } = yield* fetchWith(respond)
        if (either._tag === "Right") throw new Error(`expected ${reason}, got an answer`)
        expect(either.left).toMatchObject({ _tag: "GatewayInfoError", reason })
        expect(either.left.detail).toContain(detail)
        expect(`${either.left.message} ${either.left.detail}`).not.toContain(secret)
      }
      // a proxy's api carrying the token in its path: the URL told, in the detail and the span, masked
      // (it was told in the clear: in the snapshot's reason, the logs and the span)
      const proxied = `https://proxy.test/${secret}/api/v10`
      for (const respond of [refused, () => json({}, 404)]) {
        const { spans, tracer } = recordingTracer()
        const { either } = yield* Effect.withTracer(fetchWith(respond, proxied), tracer)
        expect(either._tag === "Left" && either.left.detail).toContain("https://proxy.test/<token>/api/v10/gateway/bot")
        expect(inspect(either, { depth: 10 }) + JSON.stringify(spans.map((span) => [...span.attributes]))).not.toContain(secret.slice(0, 16))
      }
      // an answer's status is told apart from no answer at all
      const [overloaded, unreachable] = [yield* fetchWith(() => json({}, 503)), yield* fetchWith(refused)]
      expect(overloaded.either).toMatchObject({ left: { reason: "Http", status: 503 } })
      expect(unreachable.either).toMatchObject({ left: { reason: "Http" } })
      expect(unreachable.either._tag === "Left" && unreachable.either.left.status).toBeUndefined()
    }))

  it.effect("takes a ws:// gateway URL asked for over plain http, as from a local gateway", () =>
    Effect.gen(function*() {
      const local = { ...answer, url: "ws://127.0.0.1:9000" }
      const { either } = yield* fetchWith(() => json(local), "http://127.0.0.1:9000/api")
      expect(either).toMatchObject({ _tag: "Right", right: local })
    }))

  it.effect("a 429 fails with RateLimited and the seconds to wait: the Retry-After header, else the body's retry_after, else 1; at most an hour", () =>
    Effect.gen(function*() {
      const limited = (headers: Record<string, string>, body: unknown) =>
        Effect.succeed(new Response(JSON.stringify(body), { status: 429, headers }))
      const cases = [
        [{ "retry-after": "7" }, { retry_after: 6.5 }, 7],
        [{}, { message: "You are being rate limited.", retry_after: 2.5, global: false }, 2.5],
        [{ "retry-after": "soon" }, "not an object", 1],
        [{ "retry-after": "86400" }, {}, 3600],
        // more digits than a double holds: the hour, not a second (it was read as no header)
        [{ "retry-after": "9".repeat(400) }, {}, 3600],
        // an HTTP-date, as a proxy in front of the API may send: from the answer's own Date
        [{ "retry-after": "Thu, 03 Dec 2026 12:02:00 GMT", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, "<html></html>", 120],
        [{ "retry-after": "Thu, 03 Dec 2026 11:59:00 GMT", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, "<html></html>", 0],
        // numbers that are no wait are no dates either: the body says
        [{ "retry-after": "-1", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, { retry_after: 30 }, 30],
        [{ "retry-after": "2,5" }, { retry_after: 30 }, 30],
        // text V8's Date.parse reads as a day in 2001 is no HTTP-date (it was a wait of none) (http4-2)
        [{ "retry-after": "wait 5", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, { retry_after: 30 }, 30],
        [{ "retry-after": "Monday 5", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, { retry_after: 30 }, 30],
        // the other two forms of an HTTP-date: RFC 850's and asctime's (GMT, unsaid)
        [{ "retry-after": "Thursday, 03-Dec-26 12:01:00 GMT", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, "<html></html>", 60],
        [{ "retry-after": "Thu Dec  3 12:00:45 2026", date: "Thu, 03 Dec 2026 12:00:00 GMT" }, "<html></html>", 45]
      ] as const
      for (const [headers, body, seconds] of cases) {
        const { either } = yield* fetchWith(() => limited(headers, body))
        expect(either).toMatchObject({ _tag: "Left", left: { reason: "RateLimited", retryAfter: seconds } })
        if (either._tag === "Left") expect(either.left.message).toBe(`GET /gateway/bot failed: 429 Too Many Requests; retry after ${seconds} s`)
      }
      // and in the body, which JSON.parse reads as Infinity
      const huge = yield* fetchWith(() => Effect.succeed(new Response(`{"retry_after":${"9".repeat(400)}}`, { status: 429 })))
      expect(huge.either).toMatchObject({ _tag: "Left", left: { reason: "RateLimited", retryAfter: 3600 } })
      // without a Date, from the clock
      yield* TestClock.setTime(Date.parse("Thu, 03 Dec 2026 12:00:00 GMT"))
      const { either } = yield* fetchWith(() => limited({ "retry-after": "Thu, 03 Dec 2026 12:00:30 GMT" }, "<html></html>"))
      expect(either).toMatchObject({ _tag: "Left", left: { reason: "RateLimited", retryAfter: 30 } })
    }))

  it.effect("a 5xx carries the wait its Retry-After header asks for (no header, no wait); passing tells what trying again can mend", () =>
    Effect.gen(function*() {
      const answering = (status: number, headers: Record<string, string> = {}) => () =>
        Effect.succeed(new Response(JSON.stringify({ retry_after: 9 }), { status, headers }))
      const failure = (respond: () => Effect.Effect<Response>) =>
        Effect.flatMap(fetchWith(respond), ({ either }) => Effect.flip(either))
      const maintenance = yield* failure(answering(503, { "retry-after": "30" }))
      expect(maintenance).toMatchObject({ reason: "Http", status: 503, retryAfter: 30, passing: true })
      expect(maintenance.message).toBe("GET /gateway/bot failed: status 503 for https://discord.test/api/v10/gateway/bot; retry after 30 s")
      // the body's retry_after is a 429's only
      expect(yield* failure(answering(502))).not.toHaveProperty("retryAfter")
      expect(yield* failure(answering(404, { "retry-after": "30" }))).not.toHaveProperty("retryAfter")
      const statuses = [401, 403, 404, 400, 408, 429, 500, 503]
      const passing = yield* Effect.forEach(statuses, (status) => Effect.map(failure(answering(status)), (error) => [status, error.passing]))
      expect(passing).toEqual([[401, false], [403, false], [404, false], [400, false], [408, true], [429, true], [500, true], [503, true]])
      expect((yield* failure(() => Effect.succeed(new Response("<html>", { status: 200 })))).passing).toBe(false)
    }))

  it.effect("an app's client that fails on a status (filterStatusOk) gets the same errors: 401 Unauthorized, 429 RateLimited, 503 Http with it", () =>
    Effect.gen(function*() {
      const answering = (status: number, headers: Record<string, string> = {}) =>
        HttpClient.filterStatusOk(HttpClient.make((request) =>
          Effect.succeed(HttpClientResponse.fromWeb(request, new Response("{}", { status, headers })))
        ))
      const fetchThrough = (client: HttpClient.HttpClient) =>
        Effect.flip(GatewayInfo.fetch("https://discord.test/api/v10/", Redacted.make(secret), "15 seconds").pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        ))
      expect(yield* fetchThrough(answering(401))).toMatchObject({ reason: "Unauthorized" })
      expect(yield* fetchThrough(answering(429, { "retry-after": "7" }))).toMatchObject({ reason: "RateLimited", retryAfter: 7 })
      expect(yield* fetchThrough(answering(503))).toMatchObject({ reason: "Http", status: 503 })
    }))

  it.effect("gives up on an answer that does not come within the timeout", () =>
    Effect.gen(function*() {
      const fetching = yield* Effect.fork(fetchWith(() => Effect.never))
      yield* TestClock.adjust("15 seconds")
      const { either } = yield* Fiber.join(fetching)
      expect(either._tag === "Left" && [either.left.reason, either.left.detail]).toEqual(["Http", "no answer within 15s"])
    }))

  // a process stopped past the timeout runs the overdue timer before it reads the answer that came
  it.effect("takes an answer that came during a stall past the timeout, read after the timer ran", () =>
    withPauses((p) =>
      Effect.gen(function*() {
        const answered = yield* Deferred.make<void>()
        const fetching = yield* Effect.fork(fetchWith(() => Effect.zipRight(Deferred.await(answered), json(answer))))
        yield* p.pause(20_000)
        yield* Deferred.succeed(answered, undefined)
        const { either } = yield* Fiber.join(fetching)
        expect(either._tag === "Right" && either.right.url).toBe(answer.url)
      })
    ))

  it.effect("reads an answer of up to maxBodyBytes, and refuses one a byte longer", () =>
    Effect.gen(function*() {
      // Sent in small parts with no content-length, so only the streamed count can refuse it.
      const streamed = (text: string) => {
        const bytes = new TextEncoder().encode(text)
        return Effect.succeed(new Response(new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < bytes.length; at += 1000) controller.enqueue(bytes.subarray(at, at + 1000))
            controller.close()
          }
        })))
      }
      const fits = yield* fetchWith(() => streamed(padded(GatewayInfo.maxBodyBytes)))
      expect(fits.either).toMatchObject({ _tag: "Right", right: answer })
      const over = yield* fetchWith(() => streamed(padded(GatewayInfo.maxBodyBytes + 1)))
      expect(over.either).toMatchObject({
        _tag: "Left",
        left: { reason: "Decode", message: "GET /gateway/bot failed: the body is larger than 65536 bytes; trying again cannot mend it: check the api option" }
      })
    }))

  it.effect("refuses an answer whose content-length is over maxBodyBytes without reading it; a 429's waits 1 s", () =>
    Effect.gen(function*() {
      let pulled = 0
      // A valid answer behind a content-length of 100 MB: it is there to be read, and must not be.
      const declaring = (status: number) => () =>
        Effect.succeed(new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled++
              controller.enqueue(new TextEncoder().encode(JSON.stringify({ ...answer, retry_after: 30 })))
              controller.close()
            }
          }, { highWaterMark: 0 }),
          { status, headers: { "content-length": String(100 * 1024 * 1024) } }
        ))
      const ok = yield* fetchWith(declaring(200))
      expect(ok.either).toMatchObject({
        _tag: "Left",
        left: { reason: "Decode", detail: "the body is larger than 65536 bytes (content-length 104857600)" }
      })
      const limited = yield* fetchWith(declaring(429))
      expect(limited.either).toMatchObject({ _tag: "Left", left: { reason: "RateLimited", retryAfter: 1 } })
      expect(pulled).toBe(0)
    }))

  it.scopedLive("refuses a 100 MB answer from a real server after reading at most a few MB of it", () =>
    Effect.gen(function*() {
      const total = 100
      const chunk = Buffer.alloc(1024 * 1024, 0x61)
      const served = { megabytes: 0, ended: false }
      // Valid JSON all along (a padding string 100 MB long, no content-length), written as fast as
      // the client takes it: only the cap stops the read.
      const api = yield* loopback((res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write(padded(200).slice(0, -2))
        const pump = () => {
          while (served.megabytes < total) {
            served.megabytes++
            if (!res.write(chunk)) return void res.once("drain", pump)
          }
          served.ended = true
          res.end("\"}")
        }
        pump()
      })
      const started = Date.now()
      const either = yield* GatewayInfo.fetch(api, Redacted.make(secret), "15 seconds").pipe(
        Effect.provide(NodeHttpClient.layerUndici),
        Effect.either
      )
      expect(either).toMatchObject({ _tag: "Left", left: { reason: "Decode", detail: "the body is larger than 65536 bytes" } })
      // well short of the 15 s timeout (with room for a loaded machine that stops the process for 2 s)
      expect(Date.now() - started).toBeLessThan(5000)
      // The connection is dropped, not merely left unread: the server gets no further.
      yield* Effect.sleep("100 millis")
      expect(served.ended).toBe(false)
      expect(served.megabytes).toBeLessThan(10)
    }), 20_000)
})

describe("GatewayInfo.fetch over a real client", () => {
  it.scopedLive("lets go of the connection of an answer whose body it does not read (a 503, a 401, a 429 with Retry-After)", () =>
    Effect.gen(function*() {
      const closed: Array<number> = []
      // A status the fetch answers without reading the body, and a body that never ends: the
      // connection is free again only if the fetch drops it (else it waits for garbage collection).
      const answers = [503, 401, 429]
      const reasons = { 503: "Http", 401: "Unauthorized", 429: "RateLimited" } as const
      let served = 0
      const api = yield* loopback((res) => {
        const status = answers[served++]!
        res.socket!.once("close", () => closed.push(status))
        res.writeHead(status, { "content-type": "application/json", "retry-after": "2" })
        res.write(`{"message":"${"a".repeat(128 * 1024)}`)
      })
      // one client for all, as an app's lives: its connections outlive each fetch
      yield* Effect.gen(function*() {
        for (const status of answers) {
          const either = yield* Effect.either(GatewayInfo.fetch(api, Redacted.make(secret), "5 seconds"))
          expect(either).toMatchObject({ _tag: "Left", left: { reason: reasons[status as keyof typeof reasons] } })
        }
        // 2 s of polls, not of the wall clock: a process stopped meanwhile (a loaded machine) did
        // not give the sockets a turn to close
        for (let polls = 200; closed.length < answers.length && polls > 0; polls--) yield* Effect.sleep("10 millis")
        expect(closed.sort()).toEqual([401, 429, 503])
      }).pipe(Effect.provide(NodeHttpClient.layerUndici))
    }), 20_000)
})
