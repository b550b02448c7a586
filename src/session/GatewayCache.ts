/**
 * One copy of `GET /gateway/bot`: fetched when first asked, refreshed when a fresh identify finds
 * it stale. A session keeps one; a fleet keeps one for all its shards. Each fetch also configures
 * the identify limiter with the `session_start_limit` it brought.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { withDefectsMasked } from "../internal/defect.ts"
import { monotonicMillis } from "../internal/due.ts"
import { durationOf } from "../internal/duration.ts"
import { kindOf } from "../internal/printable.ts"
import { isOptionsObject } from "../internal/record.ts"
import { tokenOf, withoutToken } from "../internal/secret.ts"
import { isLoudAt } from "../internal/told.ts"
import { unknownOptionsIn, wholeList } from "../internal/unknownOptions.ts"
import { IdentifyLimiter } from "../limits/IdentifyLimiter.ts"
import * as Commands from "../protocol/Commands.ts"
import type { GatewayBot } from "../protocol/GatewayBot.ts"
import { isHttpUrl, showUrl } from "../protocol/internal/schema.ts"
import * as GatewayInfo from "../session/GatewayInfo.ts"
import { GatewayInfoError } from "../session/SessionError.ts"

/**
 * Options of the cache.
 *
 * @since 0.1.0
 */
export interface GatewayCacheOptions {
  /** The REST API's base (`https://discord.com/api/v10`), as a session's `api` option. */
  readonly api: string
  /** The bot token, sent as `Authorization: Bot ...`. */
  readonly token: Redacted.Redacted<string>
  /** How old the answer may get before the next `info` fetches it again. */
  readonly maxAge: Duration.DurationInput
  /** How long a fetch may wait for its answer. */
  readonly timeout: Duration.DurationInput
}

/**
 * The shared gateway information.
 *
 * @since 0.1.0
 */
export interface GatewayCache {
  /**
   * The answer: the cached one while it is younger than `maxAge`, else a new fetch (one at a
   * time: concurrent callers share it). When a refetch fails for any reason but a 401, the stale
   * answer is used for another minute (or `maxAge`, if shorter; or as long as the answer asked, a
   * 429's or a 5xx's `Retry-After`, if longer) before the next try; the first fetch's failure is
   * the caller's, and that of every caller that waited for it, and of every caller until its
   * `Retry-After` is over (told to wait what is left of it).
   */
  readonly info: Effect.Effect<GatewayBot, GatewayInfoError>
  /** The gateway URL of `info`. */
  readonly url: Effect.Effect<string, GatewayInfoError>
  /**
   * The URL of `info` could not be connected to (no socket, no Hello, or a close before the
   * Identify went out): the next `info` asks
   * again, as Discord asks, once the answer is a minute old (or once the wait a failed refetch
   * set is over): the shards of a fleet failing together ask once a minute at most. An answer
   * kept for ever (`maxAge` infinite) stays.
   */
  readonly unreachable: Effect.Effect<void>
  /** How many requests were made (`GET /gateway/bot`), answered or not, refused or not. */
  readonly fetches: Effect.Effect<number>
}

// how long a stale answer is used after a refetch failed, before the next try
const staleRetryMillis = 60_000

/**
 * The shortest `maxAge` a cache takes (a session's `gatewayInfoMaxAge` too): a shorter one fetches
 * at every call, and one asked once a millisecond while a session waits for the identify budget.
 *
 * @internal
 * @since 0.1.0
 */
export const shortestMaxAge: Duration.Duration = Duration.seconds(1)

// every option (checked against its type)
const optionKeys = wholeList<GatewayCacheOptions>()({ api: true, token: true, maxAge: true, timeout: true })

// what is wrong with the options a program gave, from JavaScript: a NaN or negative `maxAge` read
// as none fetched at every call, a NaN `timeout` failed every fetch at once ("no answer within
// 0", a passing failure, asked again for ever), a misspelt one died "Invalid DurationInput"
const optionsProblem = (options: GatewayCacheOptions): string | undefined => {
  if (!isOptionsObject(options)) return `the options must be an object, got ${kindOf(options)}`
  const unknown = unknownOptionsIn(options, optionKeys)
  if (unknown !== undefined) return unknown
  if (!isHttpUrl(options.api)) return `api must be an http:// or https:// URL, got ${showUrl(options.api)}`
  // as a session refuses it: a "Bot "-prefixed token got a 401, after which the cache refused every caller
  const badToken = Commands.tokenProblem(options.token)
  if (badToken !== undefined) return `token ${badToken}`
  const maxAge = durationOf(options.maxAge)
  if (maxAge === undefined || Duration.lessThan(maxAge, shortestMaxAge)) {
    return `maxAge must be a duration of at least 1 second (a shorter one fetches at every call), got ${kindOf(options.maxAge)}`
  }
  const timeout = durationOf(options.timeout)
  if (timeout === undefined || !Duration.greaterThan(timeout, Duration.zero)) {
    return `timeout must be a positive duration, got ${kindOf(options.timeout)}`
  }
  return undefined
}

/**
 * Builds the cache. Nothing is fetched until `info` or `url` is first run. Options it cannot use
 * (from JavaScript: a misspelt one, `api` no http(s) URL, a token that is no bare token, as a
 * session refuses it, `maxAge` under a second or no duration, `timeout` zero or no duration) are a
 * defect at once, saying which.
 *
 * @since 0.1.0
 */
export const make = (
  options: GatewayCacheOptions
): Effect.Effect<GatewayCache, never, HttpClient.HttpClient | IdentifyLimiter> =>
  Effect.gen(function*() {
    const problem = optionsProblem(options)
    // (an `api` that holds the token, a proxy's path, is quoted masked, as a session's options are)
    if (problem !== undefined) return yield* Effect.dieMessage(`GatewayCache.make: ${withoutToken(problem, tokenOf(options))}`)
    const http = yield* Effect.context<HttpClient.HttpClient>()
    const limiter = yield* IdentifyLimiter
    const clock = yield* Effect.clock
    const lock = yield* Effect.makeSemaphore(1)
    const maxAge = Duration.toMillis(options.maxAge)
    // the answer, when to fetch it again, and the soonest an unreachable URL brings that forward to
    let cached: { readonly info: GatewayBot; readonly until: number; readonly soonest: number } | undefined
    let fetches = 0
    // refreshes that failed in a row, for how loudly the next is told
    let failedRefreshes = 0
    // a 401: the token refused, for every caller after it (each waiting caller asked again, with
    // the token Discord had refused, and Discord counts each toward its invalid requests)
    let refused: GatewayInfoError | undefined
    // fetches ended (not interrupted), and the last one's failure with until when it answers every
    // caller without a request: as long as its Retry-After asked (a 429's, a 5xx's), else only for
    // the callers that waited for that fetch (five callers behind a 429 asked five times, back to
    // back; behind an API that did not answer, the fifth gave up after five timeouts)
    let ended = 0
    let failed: { readonly error: GatewayInfoError; readonly ended: number; readonly until: number } | undefined

    const fresh = (): GatewayBot | undefined =>
      cached !== undefined && monotonicMillis(clock) < cached.until ? cached.info : undefined

    // the starts the limiter counted before the request (those counted while it is answered stay
    // spent); a limiter of the program's own whose snapshot is not at hand at once, or fails, holds
    // up no fetch: its answer is then taken as it comes
    const countedNow: Effect.Effect<number | undefined> = Effect.gen(function*() {
      // interruptible, whatever the caller's region: one left hanging is interrupted, not kept
      const reading = yield* Effect.fork(Effect.exit(Effect.interruptible(limiter.snapshot)))
      yield* Effect.yieldNow()
      const read = reading.unsafePoll()
      if (read === null) yield* Fiber.interruptFork(reading)
      return read !== null && Exit.isSuccess(read) && Exit.isSuccess(read.value) ? read.value.value.counted : undefined
    })

    const fetchCounted = Effect.flatMap(countedNow, (counted) =>
      // each request counted, answered or not (an outage's went uncounted)
      GatewayInfo.fetch(options.api, options.token, options.timeout).pipe(
        Effect.onExit(() => Effect.sync(() => {
          fetches++
        })),
        Effect.provide(http),
        // a limiter of the program's own may die quoting the token (its key)
        Effect.tap((info) =>
          withDefectsMasked(options.token)(limiter.configure({ ...GatewayInfo.startLimit(info, options.token), countedBefore: counted }))
        )
      ))

    const refetch = fetchCounted.pipe(
      Effect.tap((info) =>
        Effect.sync(() => {
          failedRefreshes = 0
          const now = monotonicMillis(clock)
          cached = { info, until: now + maxAge, soonest: now + staleRetryMillis }
        })
      ),
      Effect.tap((info) =>
        Effect.logDebug("gateway info fetched").pipe(
          Effect.annotateLogs({
            shards: info.shards,
            maxConcurrency: info.session_start_limit.max_concurrency,
            remaining: info.session_start_limit.remaining
          })
        )
      ),
      Effect.tapError((error) => Effect.sync(() => {
        if (error.reason === "Unauthorized") refused = error
      })),
      // A stale answer's URL still works: an outage of the endpoint (a 5xx, a 429, no network)
      // keeps it for another while rather than keeping every fresh identify offline. A 401 stays
      // fatal.
      Effect.catchIf((error) => error.reason !== "Unauthorized" && cached !== undefined, (error) => {
        const stale = cached!.info
        const retryIn = Math.max(Math.min(maxAge, staleRetryMillis), (error.retryAfter ?? 0) * 1000)
        const until = monotonicMillis(clock) + retryIn
        cached = { info: stale, until, soonest: until }
        // told at Warning at the first failure in a row, the second, the fourth, the eighth...: an
        // outage of the endpoint with the gateway asks again about once a minute, and told each
        // time it was a Warning a minute for as long as it lasted
        failedRefreshes++
        const told = isLoudAt(failedRefreshes) ? Effect.logWarning : Effect.logDebug
        return Effect.as(
          told(`gateway info could not be refreshed (${failedRefreshes} time(s) in a row); using the cached answer`).pipe(
            Effect.annotateLogs({ reason: error.reason, detail: error.detail, ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }) })
          ),
          stale
        )
      })
    )

    // a shared failure as a caller gets it: asking to wait what is left of its Retry-After (a caller
    // 20 s into 30 was told 30, and waited 50 in all)
    const waitLeft = ({ error, until }: NonNullable<typeof failed>): GatewayInfoError => {
      if (error.retryAfter === undefined) return error
      const left = Math.min(error.retryAfter, Math.ceil(Math.max(0, until - monotonicMillis(clock)) / 1000))
      return left === error.retryAfter ? error : new GatewayInfoError({
        reason: error.reason,
        detail: error.detail,
        retryAfter: left,
        ...(error.status === undefined ? {} : { status: error.status }),
        ...(error.source === undefined ? {} : { source: error.source })
      })
    }

    const shared = Effect.onExit(refetch, (exit) =>
      Effect.sync(() => {
        if (Exit.isInterrupted(exit)) return
        ended++
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        failed = error === undefined ? undefined : { error, ended, until: monotonicMillis(clock) + (error.retryAfter ?? 0) * 1000 }
      }))

    const info: Effect.Effect<GatewayBot, GatewayInfoError> = Effect.suspend(() => {
      const hit = fresh()
      if (hit !== undefined) return Effect.succeed(hit)
      const endedBefore = ended
      // under the lock, a caller that waited finds what the fetch before it brought: its answer,
      // or its failure
      return lock.withPermits(1)(Effect.suspend(() => {
        if (refused !== undefined) return Effect.fail(refused)
        const fetched = fresh()
        if (fetched !== undefined) return Effect.succeed(fetched)
        if (failed !== undefined && (failed.ended > endedBefore || monotonicMillis(clock) < failed.until)) return Effect.fail(waitLeft(failed))
        return shared
      }))
    })

    return {
      info,
      url: Effect.map(info, (answer) => answer.url),
      unreachable: Effect.sync(() => {
        // an answer kept for ever (`maxAge` infinite) is never asked again
        if (cached !== undefined && Number.isFinite(maxAge)) cached = { ...cached, until: Math.min(cached.until, cached.soonest) }
      }),
      fetches: Effect.sync(() => fetches)
    }
  })
