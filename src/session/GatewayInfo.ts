/**
 * `GET /gateway/bot`: the gateway URL, the recommended shard count and the identify limits,
 * fetched over `HttpClient` with the bot token.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { detached, disconnected } from "../internal/detached.ts"
import * as RetryAfter from "../internal/retryAfter.ts"
import { clipped, printable } from "../internal/printable.ts"
import { withDefectsMasked } from "../internal/defect.ts"
import { withoutToken } from "../internal/secret.ts"
import { withSpan } from "../internal/span.ts"
import { timeoutFailPastStalls } from "../internal/stall.ts"
import type { SessionStartLimit } from "../limits/IdentifyLimiter.ts"
import * as GatewayBot from "../protocol/GatewayBot.ts"
import { downgrades, show } from "../protocol/internal/schema.ts"
import { GatewayInfoError } from "./SessionError.ts"

// `/gateway/bot` under the API's path, its query kept (a proxy's, say) and its fragment (never
// sent) dropped: pasted after the whole URL, it would land in the query or the fragment
const gatewayBotUrl = (api: string): string => {
  const url = new URL(api)
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/gateway/bot`
  url.hash = ""
  return url.href
}

/**
 * Fetches `GET {api}/gateway/bot`. A 401 fails with reason `Unauthorized`; a 429 with
 * `RateLimited` and the seconds it asks to wait (a 5xx with them too, when its `Retry-After`
 * gives them); any other failure (network, status, no answer
 * within `timeout`, a body that is not a valid answer or is over `maxBodyBytes`, a `ws://` URL
 * asked for over https) with `Http` or `Decode`. The token goes only into the Authorization
 * header, which `@effect/platform` redacts in logs; it is taken out of an HTTP client's message
 * that quotes the header, and the request is not traced by the platform (its span's end holds the
 * header). Its span, `GatewayInfo.fetch`, tells the URL and the answer's status.
 *
 * @since 0.1.0
 */
export const fetch = (
  api: string,
  token: Redacted.Redacted<string>,
  timeout: Duration.DurationInput
): Effect.Effect<GatewayBot.GatewayBot, GatewayInfoError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    // without the platform's own span: it ends with the response or the error, which hold the
    // request, whose headers print in the clear outside a fiber's logs (a tracer that keeps or
    // prints spans showed the token); this function's span tells the URL and status instead.
    // The request ends with this fetch's scope: a body left unread (an error's) would otherwise
    // hold its connection until garbage collection.
    const client = HttpClient.withScope(HttpClient.withTracerDisabledWhen(yield* HttpClient.HttpClient, () => true))
    const url = gatewayBotUrl(api)
    // as told (span, errors): a proxy's `api` may carry the token in its path
    const toldUrl = withoutToken(url, token)
    yield* Effect.annotateCurrentSpan("url.full", toldUrl)
    const request = HttpClientRequest.get(url).pipe(
      HttpClientRequest.setHeader("Authorization", `Bot ${Redacted.value(token)}`),
      HttpClientRequest.setHeader("User-Agent", userAgent),
      HttpClientRequest.acceptJson
    )
    const response = yield* client.execute(request).pipe(
      // a client that fails on a status (`HttpClient.filterStatusOk`) still gives the answer
      Effect.catchTag("ResponseError", (error) => error.reason === "StatusCode" ? Effect.succeed(error.response) : Effect.fail(error)),
      Effect.mapError((error) =>
        new GatewayInfoError({
          reason: "Http",
          // the client's message may quote the header, and with it the token
          detail: `${error.reason} error for ${toldUrl}${
            error.cause instanceof Error ? `: ${why(error.cause, token)}` : ""
          }`
        })
      )
    )
    yield* Effect.annotateCurrentSpan("http.response.status_code", response.status)
    if (response.status === 401) {
      return yield* new GatewayInfoError({ reason: "Unauthorized", detail: "401 Unauthorized" })
    }
    if (response.status === 429) {
      const retryAfter = yield* retryAfterOf(response, token)
      return yield* new GatewayInfoError({
        reason: "RateLimited",
        detail: "429 Too Many Requests",
        retryAfter
      })
    }
    if (response.status < 200 || response.status >= 300) {
      // a 503's Retry-After (Discord's or a proxy's, in maintenance) is taken at its word too
      const retryAfter = RetryAfter.isHonoured(response.status) ? yield* headerRetryAfter(response) : undefined
      return yield* new GatewayInfoError({
        reason: "Http",
        detail: `status ${response.status} for ${toldUrl}`,
        status: response.status,
        ...(retryAfter === undefined ? {} : { retryAfter })
      })
    }
    const body = yield* readJson(response, token)
    // the answer's words are the network's, and may quote the token (a URL carrying it): masked
    const info = yield* Either.mapLeft(GatewayBot.decode(body), (error) => new GatewayInfoError({ reason: "Decode", detail: withoutToken(error.message, token) }))
    // the token goes to this URL with every Identify: not in the clear when it was asked for over https
    if (downgrades(api, info.url)) {
      return yield* new GatewayInfoError({ reason: "Decode", detail: withoutToken(`url ${show(info.url)} is not encrypted (ws://), asked over https`, token) })
    }
    return info
  }).pipe(
    Effect.scoped,
    // the timeout, and a stop, do not wait for the request to let go: a client whose request could
    // not be interrupted held the session in ConnectingHttp for good, and every stop with it
    disconnected,
    timeoutFailPastStalls({
      duration: timeout,
      onTimeout: () => new GatewayInfoError({ reason: "Http", detail: `no answer within ${Duration.format(timeout)}` })
    }),
    // the timeout holds for a caller that cannot be interrupted (a fleet made in an acquire)
    detached,
    // an HttpClient's defect may quote the request's header: masked before the span ends with it
    withDefectsMasked(token),
    withSpan("GatewayInfo.fetch")
  )

/**
 * What an error says, with the errors it wraps (`fetch failed` says why only in its `cause`:
 * `connect ECONNREFUSED ...`; a refused dual-stack connect in an `AggregateError` with no message
 * of its own), three deep at most, each message without the token and then clipped (the other
 * way round, a cut could leave part of the token).
 */
const why = (error: Error, token: Redacted.Redacted<string>): string => {
  const messages: Array<string> = []
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 3; at = at.cause, depth++) {
    const told = at.message !== "" ? at.message : at instanceof AggregateError ? at.errors.map(String).join("; ") : ""
    if (told === "") continue
    messages.push(clipped(printable(withoutToken(told, token)), 200))
  }
  return messages.join(": ")
}

/**
 * The User-Agent of the request, in the form Discord asks of HTTP clients (requests without a
 * valid one may be blocked): `DiscordBot ($url, $versionNumber)`.
 *
 * @since 0.1.0
 */
export const userAgent = "DiscordBot (https://www.npmjs.com/package/effect-discord-gateway, 0.1.0)"

// The seconds the Retry-After header asks to wait, if it has one
const headerRetryAfter = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<number | undefined> =>
  RetryAfter.fromHeaders(response.headers["retry-after"], response.headers["date"])

// The seconds a 429 asks to wait: the Retry-After header, else the body's `retry_after` (Discord
// sends both), else a second; at most an hour.
const retryAfterOf = (response: HttpClientResponse.HttpClientResponse, token: Redacted.Redacted<string>): Effect.Effect<number> =>
  Effect.flatMap(headerRetryAfter(response), (fromHeader) =>
    fromHeader !== undefined ? Effect.succeed(fromHeader) : readJson(response, token).pipe(
      // a number too long for a double parses to Infinity: a long wait, capped as the header's
      Effect.map((body) =>
        (typeof body === "object" && body !== null && "retry_after" in body
          ? RetryAfter.seconds(body.retry_after === Infinity ? RetryAfter.maxRetryAfter : body.retry_after)
          : undefined) ?? 1
      ),
      Effect.orElseSucceed(() => 1)
    ))

/**
 * The largest `GET /gateway/bot` body read, in bytes. Discord's answer is about 150 bytes (a 429's
 * about 100), so 64 KiB is far beyond any real one, yet small enough that a broken or hostile
 * server cannot make the session read and hold megabytes.
 *
 * @since 0.1.0
 */
export const maxBodyBytes = 65_536

const tooLarge = (declared?: number) =>
  new GatewayInfoError({
    reason: "Decode",
    detail: `the body is larger than ${maxBodyBytes} bytes${declared === undefined ? "" : ` (content-length ${declared})`}`
  })

// The body as JSON, read no further than `maxBodyBytes`: refused from its content-length when that
// says too much, else streamed and given up (the rest never read) the moment it passes the cap.
const readJson = (response: HttpClientResponse.HttpClientResponse, token: Redacted.Redacted<string>): Effect.Effect<unknown, GatewayInfoError> => {
  const declared = contentLength(response)
  if (declared !== undefined && declared > maxBodyBytes) return Effect.fail(tooLarge(declared))
  return response.stream.pipe(
    Stream.mapError((error) =>
      new GatewayInfoError({
        reason: "Http",
        // the client's words may quote the request, its header among them
        detail: `the body could not be read${error.cause instanceof Error ? `: ${why(error.cause, token)}` : ""}`
      })
    ),
    Stream.runFoldEffect({ parts: Chunk.empty<Uint8Array>(), bytes: 0 }, (read, part) => {
      const bytes = read.bytes + part.length
      return bytes > maxBodyBytes ? Effect.fail(tooLarge()) : Effect.succeed({ parts: Chunk.append(read.parts, part), bytes })
    }),
    Effect.flatMap(({ bytes, parts }) =>
      Effect.try({
        try: () => JSON.parse(new TextDecoder().decode(Buffer.concat(Chunk.toReadonlyArray(parts), bytes))) as unknown,
        catch: () => new GatewayInfoError({ reason: "Decode", detail: "the body is not JSON" })
      })
    )
  )
}

// The content-length header as a number, if it is one (a malformed one is left to the stream's cap).
const contentLength = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const header = response.headers["content-length"]
  return header !== undefined && /^\d+$/.test(header.trim()) ? Number(header) : undefined
}

/**
 * The identify limits of a `GET /gateway/bot` answer for `token`, as the identify limiter takes them.
 *
 * @since 0.1.0
 */
export const startLimit = (info: GatewayBot.GatewayBot, token: Redacted.Redacted<string>): SessionStartLimit => ({
  maxConcurrency: info.session_start_limit.max_concurrency,
  total: info.session_start_limit.total,
  remaining: info.session_start_limit.remaining,
  resetAfter: info.session_start_limit.reset_after,
  bot: botOf(token)
})

/**
 * An opaque id of the bot a token is for: a digest of the token's first part, the bot's user id
 * (a new token of the same bot has the same). Nothing of the token can be read from it.
 */
const botOf = (token: Redacted.Redacted<string>): string =>
  createHash("sha256").update(Redacted.value(token).split(".")[0]!).digest("hex").slice(0, 16)
