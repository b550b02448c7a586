/**
 * An in-memory Discord API for the one request a session or a fleet makes: `GET /gateway/bot`,
 * answered at once, with no socket and no real time. With `MemoryTransport`, a `TestClock`-driven
 * test can leave `gateway` and `shardCount` out, as a bot does, and have its fleet learn the shard
 * count, `max_concurrency` and the day's session starts from the answer.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { kindOf } from "../internal/printable.ts"
import { isRecord } from "../internal/record.ts"
import { unknownOptionsIn, wholeList } from "../internal/unknownOptions.ts"
import type { GatewayBot } from "../protocol/GatewayBot.ts"
import { maxShardCount } from "../protocol/internal/schema.ts"
import { countsProblem } from "./internal/counts.ts"

/**
 * What `GET /gateway/bot` answers; each field left out has the default given.
 *
 * @since 0.1.0
 */
export interface Answer {
  /** The gateway URL (default `wss://gateway.test`: the memory transport takes any). */
  readonly url?: string | undefined
  /** The shard count Discord recommends (default 1). */
  readonly shards?: number | undefined
  /** How many identify keys run at once (default 1). */
  readonly maxConcurrency?: number | undefined
  /**
   * The day's session starts (default 1000, or twice `shards` when that is more: a large fleet's
   * startup then stays out of the last tenth, which the identify limiter spreads over the day).
   */
  readonly total?: number | undefined
  /** Those left (default `total`). */
  readonly remaining?: number | undefined
  /**
   * Milliseconds until they refill (default a day), from the first answer: later answers count
   * down by the `Clock`, and once it passed say `total` left, the next refill a day after.
   */
  readonly resetAfter?: number | undefined
}

// every field of an `Answer` (checked against its type)
const answerKeys = wholeList<Answer>()({ url: true, shards: true, maxConcurrency: true, total: true, remaining: true, resetAfter: true })

// what a plain JavaScript caller may give that no client takes, as the LocalGateway refuses it at
// `make`: `shards: 2.5` or `maxConcurrency: 0` was served, and the session or fleet under test
// failed at its first GET /gateway/bot with a GatewayInfoError telling it to "check the api
// option"; a misspelt field (`maxConcurency`) was ignored, its default served. The URL is served
// as given: a test of an answer whose URL a client refuses gives one.
const answerProblem = (answer: Answer): Error | undefined => {
  if (!isRecord(answer)) return new TypeError(`MemoryApi: the answer must be an object, got ${kindOf(answer)}`)
  const unknown = unknownOptionsIn(answer, answerKeys)
  if (unknown !== undefined) return new RangeError(`MemoryApi: ${unknown}`)
  const problem = countsProblem([
    ["shards", answer.shards, 1, maxShardCount],
    ["maxConcurrency", answer.maxConcurrency, 1, maxShardCount],
    ["total", answer.total, 0],
    ["remaining", answer.remaining, 0],
    ["resetAfter", answer.resetAfter, 0]
  ])
  if (problem !== undefined) return new RangeError(`MemoryApi: ${problem}`)
  // more left than the day holds: an answer Discord never gives (its counts checked above)
  const { remaining, shards, total: given } = answer as Answer
  const total = given ?? defaultTotal(shards)
  return remaining !== undefined && remaining > total
    ? new RangeError(`MemoryApi: remaining must be at most total (${total}), got ${remaining}`)
    : undefined
}

// a day, in ms: the refill's period
const day = 86_400_000

// the day's session starts when the answer does not say: 1000, or twice the shards where more
const defaultTotal = (shards: number | undefined): number => Math.max(1000, 2 * (shards ?? 1))

/**
 * The body of `answer`, as Discord writes it. A field no client takes (`shards` or
 * `maxConcurrency` that is no whole number from 1 to 65535, `total`, `remaining` or `resetAfter`
 * that is no whole number of at least 0, `remaining` over `total`), or a misspelt one, throws a
 * `RangeError` naming it.
 *
 * @since 0.1.0
 */
export const body = (answer: Answer = {}): GatewayBot => {
  const problem = answerProblem(answer)
  if (problem !== undefined) throw problem
  const total = answer.total ?? defaultTotal(answer.shards)
  return {
    url: answer.url ?? "wss://gateway.test",
    shards: answer.shards ?? 1,
    session_start_limit: {
      total,
      remaining: answer.remaining ?? total,
      reset_after: answer.resetAfter ?? day,
      max_concurrency: answer.maxConcurrency ?? 1
    }
  }
}

// `first` as it is `elapsed` ms after it was answered: the refill counted down, and past it the
// day's starts all left, the next refill a day after (MemoryApi sees no identify: `remaining`
// stays as given until the refill)
const aged = (first: GatewayBot, elapsed: number): GatewayBot => {
  const limit = first.session_start_limit
  if (elapsed < limit.reset_after) return { ...first, session_start_limit: { ...limit, reset_after: limit.reset_after - elapsed } }
  return { ...first, session_start_limit: { ...limit, remaining: limit.total, reset_after: day - ((elapsed - limit.reset_after) % day) } }
}

/**
 * An `HttpClient` that answers `GET .../gateway/bot` with `answer`, and any other request with a
 * 404. Its `reset_after` counts down from the first answer, by the `Clock`, as Discord's does (a
 * test of a bot waiting out a spent budget saw the refill put off at each refresh). It does not
 * check the token: a test of a refused one gives `LocalGateway` a try. An answer no client takes
 * throws, as {@link body}'s.
 *
 * @since 0.1.0
 */
export const make = (answer: Answer = {}): HttpClient.HttpClient => {
  const first = body(answer)
  let firstAt: number | undefined
  return HttpClient.make((request) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      firstAt ??= now
      return HttpClientResponse.fromWeb(
        request,
        request.method === "GET" && new URL(request.url).pathname.replace(/\/+$/, "").endsWith("/gateway/bot")
          ? new Response(JSON.stringify(aged(first, now - firstAt)), { status: 200, headers: { "content-type": "application/json" } })
          : new Response(JSON.stringify({ message: "404: Not Found", code: 0 }), { status: 404, headers: { "content-type": "application/json" } })
      )
    })
  )
}

/**
 * {@link make} as the `HttpClient` layer, in place of `FetchHttpClient.layer`. An answer no client
 * takes dies as the layer is built, with {@link body}'s `RangeError`.
 *
 * @since 0.1.0
 */
export const layer = (answer: Answer = {}): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(HttpClient.HttpClient, Effect.sync(() => make(answer)))
