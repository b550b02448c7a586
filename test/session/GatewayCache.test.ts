import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as GatewayCache from "../../src/session/GatewayCache.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Session from "../../src/session/Session.ts"
import { GatewayInfoError } from "../../src/session/SessionError.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { annotated, captured } from "../logLines.ts"
import { options, token } from "../session/harness.ts"

const api = "https://discord.test/api/v10"

const answer = (shards: number) => ({
  url: "wss://gateway.test",
  shards,
  session_start_limit: { total: 1000, remaining: 999, reset_after: 60_000, max_concurrency: 1 }
})

/** An HTTP client whose answers take a second each, and give the number of the request as `shards`. */
const slowClient = () => {
  let requests = 0
  const client = HttpClient.make((request) =>
    Effect.delay(
      Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer(++requests)), { status: 200 }))),
      "1 second"
    )
  )
  return { client, requests: () => requests }
}

describe("GatewayCache", () => {
  it.scoped("two bots' caches on one limiter: the second bot's answer is refused with a defect that says why, not mixed into the first's budget", () =>
    Effect.gen(function*() {
      const client = HttpClient.make((request) => Effect.succeed(HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer(1))))))
      const cacheFor = (token: Redacted.Redacted<string>) =>
        GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1, resetAfter: 60_000 })
      yield* (yield* cacheFor(token)).info
      // the same bot with a new token (a reset keeps the first part, the bot's id) is the same bot
      yield* (yield* cacheFor(Redacted.make(`${Redacted.value(token).split(".")[0]}.new.token`))).info
      expect((yield* limiter.snapshot).budget?.remaining).toBe(999)
      const other = yield* Effect.exit((yield* cacheFor(Redacted.make("MTIzNDU2Nzg5MDEyMzQ1Njc4.other.bot"))).info)
      expect(other._tag === "Failure" && Cause.pretty(other.cause)).toContain("one IdentifyLimiter serves two bots")
      expect(other._tag === "Failure" && Cause.isDie(other.cause)).toBe(true)
      expect(other._tag === "Failure" && Cause.pretty(other.cause)).not.toContain(Redacted.value(token).split(".")[0])
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  it.scoped("callers that ask while a fetch runs share it; once stale, the next caller fetches again", () =>
    Effect.gen(function*() {
      const { client, requests } = slowClient()
      const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      const callers = yield* Effect.fork(Effect.all([cache.info, cache.info, cache.info], { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const answers = yield* Fiber.join(callers)
      expect(answers.map((info) => info.shards)).toEqual([1, 1, 1])
      expect([requests(), yield* cache.fetches]).toEqual([1, 1])

      yield* TestClock.adjust("1 minute")
      const stale = yield* Effect.fork(cache.info)
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(stale)).shards).toBe(2)
      expect(requests()).toBe(2)
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  it.scoped("a failed refetch keeps the stale answer for a minute and then tries again; the first fetch's failure and a 401 are the caller's", () =>
    Effect.gen(function*() {
      // request by request: 200, 503, 429, 200, 401
      const statuses = [200, 503, 429, 200, 401]
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer(requests + 1)), { status: statuses[requests++]! })))
      )
      const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      expect((yield* cache.info).shards).toBe(1)
      yield* TestClock.adjust("1 hour")
      expect((yield* cache.info).shards).toBe(1) // 503: the stale answer
      expect((yield* cache.info).shards).toBe(1) // no new request within the minute
      expect(requests).toBe(2)
      yield* TestClock.adjust("1 minute")
      expect((yield* cache.info).shards).toBe(1) // 429: the stale answer again
      yield* TestClock.adjust("1 minute")
      expect((yield* cache.info).shards).toBe(4) // 200: the new answer
      yield* TestClock.adjust("1 hour")
      const refused = yield* Effect.either(cache.info)
      expect(Either.isLeft(refused) && refused.left.reason).toBe("Unauthorized")
      expect([requests, yield* cache.fetches]).toEqual([5, 5])

      // a 429 that asks for longer than the minute keeps the stale answer as long as it asks
      let limitedRequests = 0
      const limited = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, HttpClient.make((request) =>
          Effect.sync(() => {
            const response = ++limitedRequests === 2
              ? new Response("{}", { status: 429, headers: { "retry-after": "300" } })
              : new Response(JSON.stringify(answer(limitedRequests)), { status: 200 })
            return HttpClientResponse.fromWeb(request, response)
          })
        ))
      )
      expect((yield* limited.info).shards).toBe(1)
      yield* TestClock.adjust("1 hour")
      expect((yield* limited.info).shards).toBe(1) // 429: retry after 300 s
      yield* TestClock.adjust("299 seconds")
      expect([(yield* limited.info).shards, limitedRequests]).toEqual([1, 2])
      yield* TestClock.adjust("1 second")
      expect((yield* limited.info).shards).toBe(3)

      const first = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, HttpClient.make((request) =>
          Effect.succeed(HttpClientResponse.fromWeb(request, new Response("busy", { status: 503 })))
        ))
      )
      const failed = yield* Effect.either(first.info)
      expect(Either.isLeft(failed) && failed.left.reason).toBe("Http")
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  // each caller that waited behind a refresh refused with 401 asked again, with the refused token
  it.scoped("a refresh refused with 401 is every caller's answer after it: asked once, whoever waited", () =>
    Effect.gen(function*() {
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer(1)), { status: requests++ === 0 ? 200 : 401 })))
      )
      const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      yield* cache.info
      yield* TestClock.adjust("2 minutes")
      const refused = yield* Effect.all(Array.from({ length: 4 }, () => Effect.flip(cache.info)), { concurrency: "unbounded" })
      expect(refused.map((error) => error.reason)).toEqual(["Unauthorized", "Unauthorized", "Unauthorized", "Unauthorized"])
      expect((yield* Effect.flip(cache.info)).reason).toBe("Unauthorized")
      expect(requests).toBe(2)
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  // told at Warning each time, an outage of the endpoint with the gateway was a warning a minute
  it.scoped("refreshes failing in a row are told at Warning at the first, second, fourth, eighth...; a success starts the count over", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      let down = false
      const client = HttpClient.make((request) =>
        Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer(1)), { status: down ? 503 : 200 })))
      )
      const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      const minutes = (count: number) =>
        Effect.forEach(Array.from({ length: count }), () => Effect.zipRight(TestClock.adjust("1 minute"), cache.info), { discard: true })
      yield* cache.info
      down = true
      yield* minutes(20)
      down = false
      yield* minutes(1)
      down = true
      yield* minutes(2)
      const warnings = lines.filter((line) => line.startsWith("WARN")).map((line) => line.replace(/^WARN gateway info could not be refreshed \((\d+) time\(s\) in a row\).*$/, "$1"))
      expect(warnings).toEqual(["1", "2", "4", "8", "16", "1", "2"])
    }).pipe(Effect.provide(layer), Effect.provide(IdentifyLimiter.layerMemory))
  })

  it.scoped("an unreachable URL has the next caller ask again once the answer is a minute old, never sooner than a failed refetch's wait", () =>
    Effect.gen(function*() {
      // request by request: 200, 200, 429 asking for 10 minutes, 200
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() => {
          const response = ++requests === 3
            ? new Response("{}", { status: 429, headers: { "retry-after": "600" } })
            : new Response(JSON.stringify(answer(requests)), { status: 200 })
          return HttpClientResponse.fromWeb(request, response)
        })
      )
      const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      // nothing cached yet: nothing to bring forward
      yield* cache.unreachable
      expect((yield* cache.info).shards).toBe(1)
      yield* TestClock.adjust("10 seconds")
      yield* cache.unreachable
      expect((yield* cache.info).shards).toBe(1)
      yield* TestClock.adjust("49 seconds")
      expect([(yield* cache.info).shards, requests]).toEqual([1, 1])
      yield* TestClock.adjust("1 second")
      expect((yield* cache.info).shards).toBe(2)
      // reported again at once: the new answer is a minute old only at 2 minutes
      yield* cache.unreachable
      yield* TestClock.adjust("1 minute")
      expect((yield* cache.info).shards).toBe(2) // 429: the stale answer, for 10 minutes
      expect(requests).toBe(3)
      yield* cache.unreachable
      yield* TestClock.adjust("9 minutes")
      expect([(yield* cache.info).shards, requests]).toEqual([2, 3])
      yield* TestClock.adjust("1 minute")
      expect((yield* cache.info).shards).toBe(4)

      // an answer kept for ever is never asked again, its URL reachable or not
      const forever = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: Duration.infinity, timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      expect((yield* forever.info).shards).toBe(5)
      yield* TestClock.adjust("1 hour")
      yield* forever.unreachable
      expect([(yield* forever.info).shards, requests]).toEqual([5, 5])
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))
})

describe("GatewayCache and the starts counted while it asks", () => {
  it.scoped("an answer asked for before another session's identify is counted takes that start off: it is not given back", () =>
    Effect.gen(function*() {
      const { client } = slowClient()
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 10, resetAfter: 60_000 })
      const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      // the answer (999 left) is made as the request arrives; another session identifies before it is back
      const asking = yield* Effect.fork(cache.info)
      yield* TestClock.adjust("500 millis")
      yield* limiter.identify(0, () => Effect.void)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(9)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.join(asking)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(998)
      // the next answer, asked for with nothing counted meanwhile, is taken as it comes
      yield* TestClock.adjust("1 minute")
      const again = yield* Effect.fork(cache.info)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(again)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(999)
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  // the count was read before every fetch, with no guard: a program's own limiter whose snapshot
  // failed, or never came (a shared store not answering), killed or stalled every fresh identify
  it.scoped("a limiter of the program's own whose snapshot fails or never comes holds up no fetch: its answer is taken as it comes", () =>
    Effect.gen(function*() {
      let interrupted = 0
      const hanging = Effect.onInterrupt(Effect.never, () => Effect.sync(() => void interrupted++))
      for (const snapshot of [Effect.dieMessage("store unavailable"), hanging, Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })]) {
        const configured: Array<IdentifyLimiter.SessionStartLimit> = []
        const limiter = {
          configure: (limit: IdentifyLimiter.SessionStartLimit) => Effect.sync(() => void configured.push(limit)),
          identify: <A, E, R>(_shard: number, send: (answered: Effect.Effect<void>) => Effect.Effect<A, E, R>) => send(Effect.void),
          snapshot
        }
        const client = HttpClient.make((request) => Effect.succeed(HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer(1))))))
        const cache = yield* GatewayCache.make({ api: "https://discord.test/api/v10", token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
          Effect.provideService(HttpClient.HttpClient, client),
          Effect.provideService(IdentifyLimiter.IdentifyLimiter, limiter)
        )
        // asked where nothing can be interrupted (an acquire), the hanging one is let go all the same
        expect((yield* Effect.uninterruptible(cache.info)).shards).toBe(1)
        expect(configured.map((limit) => [limit.remaining, limit.countedBefore])).toEqual([[999, undefined]])
      }
      yield* Effect.yieldNow()
      expect(interrupted).toBe(1)
    }))
})

describe("GatewayCache: concurrent callers and a first fetch that fails", () => {
  // callers that waited behind a first fetch that failed each asked again at once, back to back,
  // whatever its Retry-After asked (Discord counts each 429 toward its invalid requests) (http4-1)
  it.scoped("five callers asking together while the API answers 429 (Retry-After: 30) make one request, not five", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const client = HttpClient.make((request) =>
        Effect.delay(
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.sync(() => {
              asked.push(now)
              return HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ retry_after: 30, global: false }), { status: 429, headers: { "retry-after": "30" } }))
            })),
          "100 millis"
        )
      )
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      const callers = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => Effect.flip(cache.info)), { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const errors = yield* Fiber.join(callers)
      expect(errors.map((error) => [error.reason, error.retryAfter])).toEqual(Array.from({ length: 5 }, () => ["RateLimited", 30]))
      expect(asked).toEqual([100])
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  // behind an API that does not answer, each waiting caller fetched anew once the one before it gave
  // up: the fifth waited five timeouts
  it.scoped("five callers asking together while the API does not answer all give up within the 15 s timeout, on one request", () =>
    Effect.gen(function*() {
      let requests = 0
      const client = HttpClient.make(() => Effect.zipRight(Effect.sync(() => void requests++), Effect.never))
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      const ended: Array<number> = []
      const callers = yield* Effect.fork(Effect.all(
        Array.from({ length: 5 }, () => Effect.zipRight(Effect.flip(cache.info), Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void ended.push(now))))),
        { concurrency: "unbounded" }
      ))
      yield* TestClock.adjust("16 seconds")
      const done = yield* Fiber.poll(callers)
      expect([ended, done !== undefined && done._tag === "Some", requests]).toEqual([[15_000, 15_000, 15_000, 15_000, 15_000], true, 1])
      yield* Fiber.interrupt(callers)
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  // sessions sharing one cache (`Session.makeWith`), starting while the API answers 429, each asked
  // on its own; now one request, and each waits for the Retry-After
  it.scoped("sessions made with one shared gatewayInfo cache ask GET /gateway/bot once while it answers 429 (Retry-After: 30)", () => {
    const asked: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          asked.push(now)
          return HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ retry_after: 30, global: false }), { status: 429, headers: { "retry-after": "30" } }))
        }))
    )
    const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, client))
    return Effect.gen(function*() {
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "15 seconds" })
      for (const id of [0, 1, 2, 3]) {
        const resolved = Either.getOrThrow(SessionOptions.resolve({ ...options(), gateway: undefined, api, shard: [id, 4] }))
        yield* Session.makeWith(resolved, { gatewayInfo: cache })
      }
      yield* TestClock.adjust("10 seconds")
      expect(asked).toEqual([0])
    }).pipe(Effect.provide(layer))
  })
})

const answerOf2 = {
  url: "wss://gateway.test",
  shards: 2,
  session_start_limit: { total: 1000, remaining: 999, reset_after: 60_000, max_concurrency: 1 }
}

// the first request is answered 429 (Retry-After: 30), every later one 200
const refusedOnce = (asked: Array<number>) =>
  HttpClient.make((request) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        asked.push(now)
        return asked.length === 1
          ? HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ retry_after: 30, global: false }), { status: 429, headers: { "retry-after": "30" } }))
          : HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answerOf2), { status: 200 }))
      })))

describe("GatewayCache: a failure shared until its Retry-After is over", () => {
  // a caller handed the failure without a request is told what is left of the wait: told the whole
  // 30 s again, 20 s in, it waited 50 s in all (rereview69b-1)
  it.scoped("a caller 20 s into a 30 s Retry-After is told to wait what is left (<= 10 s), not 30 s more", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, refusedOnce(asked))
      )
      const first = yield* Effect.flip(cache.info)
      expect(first.retryAfter).toBe(30)
      yield* TestClock.adjust("20 seconds")
      const later = yield* Effect.flip(cache.info)
      expect(asked).toEqual([0])
      expect(later.retryAfter).toBeLessThanOrEqual(10)
    }).pipe(Effect.provide(IdentifyLimiter.layerMemory)))

  // sessions a program made with one cache (`Session.makeWith`): one started 20 s into another's 30 s
  // Retry-After tried again only past 50 s (an hour's, started at minute 59: nearly two hours)
  it.scoped("a session started 20 s into another's 30 s Retry-After tries again by 45 s", () => {
    const asked: Array<number> = []
    const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, refusedOnce(asked)))
    return Effect.gen(function*() {
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "15 seconds" })
      const make = (id: number) =>
        Session.makeWith(Either.getOrThrow(SessionOptions.resolve({ ...options(), gateway: undefined, api, shard: [id, 2] })), { gatewayInfo: cache })
      yield* make(0)
      yield* TestClock.adjust("20 seconds")
      const late = yield* make(1)
      yield* TestClock.adjust("1 second")
      const told = yield* late.snapshot
      expect(told.reason._tag).toBe("GatewayInfoFailed")
      yield* TestClock.adjust("24 seconds")
      const then = yield* late.snapshot
      expect(asked[0]).toBe(0)
      expect(then.reconnects).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(layer))
  })
})

// every request answered 429, Retry-After 30
const alwaysLimited = HttpClient.make((request) =>
  Effect.sync(() =>
    HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ retry_after: 30, global: false }), { status: 429, headers: { "retry-after": "30" } }))
  )
)

describe("GatewayInfoError: the wait it asks for, where it is told", () => {
  // the wait moved from `detail` to `message`, and a gatewayUrl source's message (a program's own
  // GatewayCache's `url`) no longer said it, though the session still waited it (rereview69c-1)
  it("a gatewayUrl source's error asking for a wait says the wait in its message", () => {
    const error = new GatewayInfoError({ reason: "RateLimited", detail: "429 Too Many Requests", retryAfter: 30, source: "gatewayUrl" })
    expect(error.message).toContain("retry after 30 s")
  })

  it.scoped("a session whose gatewayUrl is a GatewayCache's url, answered 429 Retry-After 30: its transition's reason says the wait", () =>
    Effect.gen(function*() {
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, alwaysLimited)
      )
      const session = yield* Session.make({ ...options(), gateway: undefined, gatewayUrl: cache.url, shard: [0, 1] })
      yield* TestClock.adjust("1 second")
      const snapshot = yield* session.snapshot
      expect(snapshot.reason._tag).toBe("GatewayInfoFailed")
      expect((snapshot.reason as { retryAfter?: number }).retryAfter).toBe(30)
      expect((snapshot.reason as { message: string }).message).toContain("retry after 30 s")
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, alwaysLimited)))))

  // the stale answer is kept as long as a 429's Retry-After asks: the refresh's Warning said so
  // through the failure's `detail`, and said nothing of it once the wait left it (rereview69c-2)
  it.scoped("a refresh answered 429 Retry-After 600: the Warning (or its annotations) still says the wait", () => {
    const { layer, lines } = annotated()
    return Effect.gen(function*() {
      let requests = 0
      const client = HttpClient.make((request) =>
        Effect.sync(() =>
          HttpClientResponse.fromWeb(
            request,
            ++requests === 1
              ? new Response(JSON.stringify(answer(1)), { status: 200 })
              : new Response("{}", { status: 429, headers: { "retry-after": "600" } })
          )
        )
      )
      const cache = yield* GatewayCache.make({ api, token, maxAge: "1 minute", timeout: "15 seconds" }).pipe(
        Effect.provideService(HttpClient.HttpClient, client)
      )
      yield* cache.info
      yield* TestClock.adjust("61 seconds")
      yield* cache.info
      const warning = lines.find((line) => line.startsWith("WARN gateway info could not be refreshed"))
      expect(warning).toBeDefined()
      expect(warning).toMatch(/600/)
    }).pipe(Effect.provide(layer), Effect.provide(IdentifyLimiter.layerMemory))
  })
})
