import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as GatewayInfo from "../../src/session/GatewayInfo.ts"
import { secret } from "./harness.ts"

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

describe("GatewayInfo.fetch", () => {
  it.effect("asks GET {api}/gateway/bot with the bot token and decodes the answer", () =>
    Effect.gen(function*() {
      const { either, requests } = yield* fetchWith(() => json(answer))
      expect(either).toMatchObject({ _tag: "Right", right: answer })
      expect(requests.map((request) => [request.method, request.url, request.headers["authorization"]])).toEqual([
        ["GET", "https://discord.test/api/v10/gateway/bot", `Bot ${secret}`]
      ])
    }))

  it.effect("gives a typed error for every way the answer can be wrong, and never the token", () =>
    Effect.gen(function*() {
      const refused = (request: HttpClientRequest.HttpClientRequest) =>
        Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("connect ECONNREFUSED") }))
      const cases = [
        [() => json({ message: "401: Unauthorized" }, 401), "Unauthorized", "401 Unauthorized"],
        [() => json({ message: "overloaded" }, 503), "Http", "status 503"],
        [refused, "Http", "Transport error for https://discord.test/api/v10/gateway/bot: connect ECONNREFUSED"],
        [() => Effect.succeed(new Response("<html>", { status: 200 })), "Decode", "the body is not JSON"],
        [() => json({ ...answer, shards: 0 }), "Decode", "shards must be an integer between 1 and 65535, got 0"]
      ] as const
      for (const [respond, reason, detail] of cases) {
        const { either } = yield* fetchWith(respond)
        if (either._tag === "Right") throw new Error(`expected ${reason}, got an answer`)
        expect(either.left).toMatchObject({ _tag: "GatewayInfoError", reason })
        expect(either.left.detail).toContain(detail)
        expect(`${either.left.message} ${either.left.detail}`).not.toContain(secret)
      }
    }))

  it.effect("a 429 fails with RateLimited and the seconds to wait: the Retry-After header, else the body's retry_after, else 1; at most an hour", () =>
    Effect.gen(function*() {
      const limited = (headers: Record<string, string>, body: unknown) =>
        Effect.succeed(new Response(JSON.stringify(body), { status: 429, headers }))
      const cases = [
        [{ "retry-after": "7" }, { retry_after: 6.5 }, 7],
        [{}, { message: "You are being rate limited.", retry_after: 2.5, global: false }, 2.5],
        [{ "retry-after": "soon" }, "not an object", 1],
        [{ "retry-after": "86400" }, {}, 3600]
      ] as const
      for (const [headers, body, seconds] of cases) {
        const { either } = yield* fetchWith(() => limited(headers, body))
        expect(either).toMatchObject({ _tag: "Left", left: { reason: "RateLimited", retryAfter: seconds } })
        if (either._tag === "Left") expect(either.left.message).toBe(`GET /gateway/bot failed: 429 Too Many Requests; retry after ${seconds} s`)
      }
    }))

  it.effect("gives up on an answer that does not come within the timeout", () =>
    Effect.gen(function*() {
      const fetching = yield* Effect.fork(fetchWith(() => Effect.never))
      yield* TestClock.adjust("15 seconds")
      const { either } = yield* Fiber.join(fetching)
      expect(either._tag === "Left" && [either.left.reason, either.left.detail]).toEqual(["Http", "no answer within 15s"])
    }))
})
