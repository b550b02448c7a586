/**
 * A session waiting for the identify budget (Disconnected, IdentifyBudget): stops during the wait,
 * the transitions it shows, a refreshed budget that lets it go.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Fiber from "effect/Fiber"
import * as Hash from "effect/Hash"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { describeReason, Reason } from "../../src/session/SessionState.ts"
import { TransportError } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import * as FleetHarness from "../fleet/harness.ts"
import { annotated, captured } from "../logLines.ts"
import { acceptAndHello, firstIdentifyWritten, options, programLimiter, ready, Session, settle, TestLayer } from "./harness.ts"

const hour = 3600_000

const Waiting = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemoryWith({ onExhausted: "wait" }), FetchHttpClient.layer)

const spent = Effect.flatMap(IdentifyLimiter.IdentifyLimiter, (limiter) =>
  limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 0, resetAfter: 20 * 3600_000 }))

/** A session made with the day's budget spent, and the transitions it makes (`state/reason`). */
const waiting = Effect.gen(function*() {
  yield* spent
  const session = yield* Session.make(options())
  // from the wait on: the stream gives the latest transition first
  yield* settle
  const seen: Array<string> = []
  yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => seen.push(`${t.to._tag}/${t.reason._tag}`))))
  yield* settle
  return { seen, session }
})

describe("a session waiting for the budget", () => {
  for (const how of ["end", "disconnect"] as const) {
    it.scoped(`${how}() during the wait returns at once, the last transition says Disconnect, the limiter keeps nothing`, () =>
      Effect.gen(function*() {
        const { seen, session } = yield* waiting
        yield* TestClock.adjust("10 minutes")
        expect((yield* session.snapshot).reason._tag).toBe("IdentifyBudget")
        const stopping = yield* Effect.fork(how === "end" ? session.end() : Effect.asVoid(session.disconnect()))
        yield* settle
        expect(Option.isSome(yield* Fiber.poll(stopping))).toBe(true)
        yield* session.await
        expect(seen.at(-1)).toBe("Disconnected/Disconnect")
        expect(seen).toEqual(["Disconnected/IdentifyBudget", "Disconnected/Disconnect"])
        // the refill later: nothing connects for the stopped session
        yield* TestClock.adjust("21 hours")
        yield* settle
        const gateway = yield* MemoryTransport.MemoryGateway
        expect((yield* gateway.attempts).length).toBe(0)
      }).pipe(Effect.provide(Waiting)))
  }

  it.scoped("a wait for the refill says when it comes, to the second", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 11, 5, 3, 0, 0, 250))
      const { session } = yield* waiting
      const { reason } = yield* session.snapshot
      // spent, refilling 20 h on: at 23:00:00.250, shown to the second after it
      expect(reason).toEqual(Reason.IdentifyBudget({ next: { kind: "Refill", at: Date.UTC(2026, 11, 5, 23, 0, 1) } }))
      expect(describeReason(reason)).toBe("identify budget used up: refill at 23:00:01 UTC")
      // a value as Data's are: one saying the same is Equal, with the same hash (its `next` was a
      // plain object, compared by reference) (effectuser1)
      const same = Reason.IdentifyBudget({ next: Data.struct({ kind: "Refill", at: Date.UTC(2026, 11, 5, 23, 0, 1) }) })
      expect(Equal.equals(reason, same)).toBe(true)
      expect(Hash.hash(reason)).toBe(Hash.hash(same))
    }).pipe(Effect.provide(Waiting)))

  it.scoped("a wait for a turn of the spread says when the next comes, and is told the one after as another shard takes it", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 20, remaining: 3, resetAfter: 30 * hour })
      // another shard identifies at 0: 2 left, the next turn 10 h later
      yield* limiter.identify(5, () => Effect.void)
      expect((yield* limiter.snapshot).budget?.nextTurnIn).toBe(10 * hour)
      const first = yield* Session.make(options({ shard: [0, 2] }))
      yield* settle
      const second = yield* Session.make(options({ shard: [1, 2] }))
      yield* settle
      const seen: Array<Reason> = []
      yield* Effect.forkScoped(Stream.runForEach(second.transitions, (t) => Effect.sync(() => seen.push(t.reason))))
      yield* settle
      const turnAt = (at: number) => Reason.IdentifyBudget({ next: { kind: "SpreadTurn", at } })
      expect((yield* first.snapshot).reason).toEqual(turnAt(10 * hour))
      expect(seen).toEqual([turnAt(10 * hour)])
      // the turn: the shard that asked first takes it and identifies; the other is told the next
      yield* TestClock.adjust(10 * hour)
      yield* settle
      const { first: identify } = yield* acceptAndHello()
      expect(identify.op).toBe(2)
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect(seen).toHaveLength(2)
      const next = seen[1]!
      // the time left after that identify (at 10 h) shared between the start left and the refill
      expect(next._tag === "IdentifyBudget" && next.next?.kind).toBe("SpreadTurn")
      expect(next._tag === "IdentifyBudget" && next.next!.at).toBeGreaterThanOrEqual(20 * hour)
      expect(next._tag === "IdentifyBudget" && next.next!.at).toBeLessThanOrEqual(20 * hour + 1000)
      expect((yield* second.snapshot).state._tag).toBe("Disconnected")
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

  // a time no `Date` holds threw a RangeError from the status view, and from the transition's
  // Debug line: the session died of it
  for (
    const [name, budget] of [
      ["a turn in NaN ms", { total: 1000, remaining: 50, resetAfter: hour, nextTurnIn: NaN }],
      ["a refill in Infinity ms", { total: 1000, remaining: 0, resetAfter: Infinity }],
      ["a refill in 1e300 ms", { total: 1000, remaining: 0, resetAfter: 1e300 }]
    ] as const
  ) {
    it.scoped(`a limiter of the program's own whose snapshot says ${name}: the session waits, saying no time, at every log level`, () =>
      Effect.gen(function*() {
        const session = yield* Session.make(options())
        yield* settle
        yield* TestClock.adjust("2 minutes")
        const { reason, state } = yield* session.snapshot
        expect([state._tag, describeReason(reason)]).toEqual(
          name.endsWith("1e300 ms")
            ? ["Disconnected", "identify budget used up: refill at a time no date holds"]
            : ["Disconnected", "waiting for the identify budget (spread or refill)"]
        )
      }).pipe(
        Logger.withMinimumLogLevel(LogLevel.All),
        Effect.provide(programLimiter({
          budgetReady: () => Effect.never,
          snapshot: Effect.succeed({ maxConcurrency: 1, budget, keys: [] })
        }))
      ))
  }

  // its snapshot is there to say when, not to decide: one slow to come held up an identify the
  // limiter let through (one that never came, for ever); one that died killed the session
  for (
    const [name, snapshot] of [
      ["slow to give its snapshot (30 s)", Effect.as(Effect.sleep("30 seconds"), { maxConcurrency: 1, budget: undefined, keys: [] })],
      ["whose snapshot dies", Effect.dieMessage("store unreachable")]
    ] as const
  ) {
    it.scoped(`a limiter of the program's own ${name}: the session connects once budgetReady lets it (2 s)`, () =>
      Effect.gen(function*() {
        const session = yield* Session.make(options())
        const gateway = yield* MemoryTransport.MemoryGateway
        const accepting = yield* Effect.fork(gateway.accept)
        yield* settle
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(Option.isSome(yield* Fiber.poll(accepting))).toBe(true)
        expect((yield* session.snapshot).state._tag).toBe("ConnectingWs")
      }).pipe(Effect.provide(programLimiter({ budgetReady: () => Effect.sleep("2 seconds"), snapshot }))))
  }

  // it was ignored: the session waited for the refill, a day, then identified with a dead token
  it.scoped("a refresh of GET /gateway/bot answered 401 (the token reset) ends the wait and the session with it", () => {
    const asked: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        asked.push(now)
        const body = asked.length === 1
          ? { url: "wss://gateway.test", shards: 1, session_start_limit: { total: 1000, remaining: 0, reset_after: 24 * hour, max_concurrency: 1 } }
          : { message: "401: Unauthorized", code: 0 }
        return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: asked.length === 1 ? 200 : 401 }))
      })
    )
    return Effect.gen(function*() {
      const { gateway: _, ...withoutGateway } = options()
      const session = yield* Session.make({ ...withoutGateway, gatewayInfoMaxAge: "1 minute" })
      yield* settle
      expect((yield* session.snapshot).reason._tag).toBe("IdentifyBudget")
      yield* TestClock.adjust("1 minute")
      expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "GatewayInfoError", reason: "Unauthorized" })
      expect(asked).toEqual([0, 60_000])
    }).pipe(
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemoryWith({ onExhausted: "wait" }), Layer.succeed(HttpClient.HttpClient, client)))
    )
  })

  it.scoped("a configure that gives room lets it go: ConnectingHttp/Start after IdentifyBudget, then it connects", () =>
    Effect.gen(function*() {
      const { seen } = yield* waiting
      yield* TestClock.adjust("1 hour")
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1000, resetAfter: 3600_000 })
      yield* settle
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.accept
      expect(seen.slice(0, 3)).toEqual(["Disconnected/IdentifyBudget", "ConnectingHttp/Start", "ConnectingWs/Opened"])
    }).pipe(Effect.provide(Waiting)))

  it.scoped("the wait counts in identify_wait_ms with the Identify it waited for: one sample of the hour (it gave one of 0 ms)", () =>
    Effect.gen(function*() {
      const before = yield* Metric.value(SessionMetrics.identifyWait)
      yield* waiting
      yield* TestClock.adjust("1 hour")
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 1000, resetAfter: 3600_000 })
      const { first } = yield* acceptAndHello()
      expect(first.op).toBe(2)
      const after = yield* Metric.value(SessionMetrics.identifyWait)
      expect(after.count - before.count).toBe(1)
      // (the metric's sum across the file's tests, in floating point: a ms of slack)
      expect(after.sum - before.sum).toBeGreaterThanOrEqual(3600_000 - 1)
    }).pipe(Effect.provide(Waiting)))

  it.scoped("a wait of hours for a turn of the spread, then a connect that failed: the Identify of the retry counts the hours (it counted none)", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 10, remaining: 2, resetAfter: 20 * 3600_000 })
      // another shard identifies at 0: 1 left, the next turn 10 h later
      yield* limiter.identify(5, () => Effect.void)
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(1)
      const before = yield* Metric.value(SessionMetrics.identifyWait)
      const session = yield* Session.make(options())
      yield* settle
      expect((yield* session.snapshot).reason._tag).toBe("IdentifyBudget")
      // the turn: the session passes, its connect fails, and it retries on the turn it holds
      yield* TestClock.adjust("10 hours")
      yield* settle
      while ((yield* gateway.attempts).length < 2) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const { first } = yield* acceptAndHello()
      expect(first.op).toBe(2)
      const after = yield* Metric.value(SessionMetrics.identifyWait)
      expect(after.count - before.count).toBe(1)
      expect(after.sum - before.sum).toBeGreaterThanOrEqual(10 * 3600_000 - 1)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

  it.scoped("an answer 50 minutes old when the wait begins is asked for again once it is an hour old (gatewayInfoMaxAge), not an hour after the wait began", () => {
    const minute = 60_000
    const asked = { requests: 0, remaining: 1 }
    const client = HttpClient.make((request) =>
      Effect.sync(() => {
        asked.requests++
        const body = {
          url: "ws://gateway.test/",
          shards: 1,
          session_start_limit: { total: 1000, remaining: asked.remaining, reset_after: 20 * 60 * minute, max_concurrency: 1 }
        }
        return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
      })
    )
    const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, client))
    return Effect.gen(function*() {
      const session = yield* Session.make(options({ gateway: undefined, api: "http://api.test" }))
      const { peer } = yield* acceptAndHello(45 * minute)
      // heartbeats answered: the connection lasts until the op 9 below, whatever the beats' jitter
      yield* peer.autoAck(true)
      yield* peer.sendJson(ready())
      yield* settle
      expect(asked.requests).toBe(1)
      asked.remaining = 0
      yield* TestClock.adjust(50 * minute)
      yield* settle
      // the gateway ends the session: the next Identify waits for the budget (the spread's turn: the refill)
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      for (let second = 0; second < 10; second++) {
        yield* TestClock.adjust(1000)
        yield* settle
      }
      expect((yield* session.snapshot).reason._tag).toBe("IdentifyBudget")
      // 65 minutes old by now (it was fetched again only at 110, an hour into the wait)
      for (let step = 0; step < 15; step++) {
        yield* TestClock.adjust(minute)
        yield* settle
      }
      expect(asked.requests).toBe(2)
    }).pipe(Effect.provide(layer))
  })
})

// two sessions of one bot on one limiter (max_concurrency 1): shard 1 passed budgetReady while
// starts were plenty and its Hello is slow; then one start is left, shard 0 claims the spread's turn,
// and shard 1, holding the key, goes on it and spends the last start. Shard 0's session ended with
// IdentifyBudgetExhausted, as if another process had spent the budget
describe("a session whose claimed turn a key-mate took", () => {
  it.scoped("waits for the refill with its socket open, once the key-mate spent the last start", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      const limits = (remaining: number): IdentifyLimiter.SessionStartLimit => ({ maxConcurrency: 1, total: 100, remaining, resetAfter: 10 * hour })
      yield* limiter.configure(limits(20))
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options({ shard: [1, 2] }))
      const holder = yield* gateway.accept
      yield* limiter.configure(limits(1))
      const claimant = yield* Session.make(options({ shard: [0, 2] }))
      const claimantPeer = yield* gateway.accept
      expect((yield* holder.handshake(hour)).op).toBe(2)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(0)
      yield* Effect.fork(claimantPeer.handshake(hour))
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* settle
      expect(yield* Effect.either(claimant.await).pipe(Effect.timeoutOption(0))).toEqual(Option.none())
    }).pipe(Effect.provide(TestLayer)))
})

// a distributed limiter of the program's own whose store, which its snapshot reads, is down while
// the shards wait two hours for the budget: each waiting shard told it at Warning every minute, as
// its own line (a thousand Warnings a minute for a bot of a thousand shards)
describe("a budget wait whose limiter's snapshot fails", () => {
  const storeDown = { snapshot: Effect.die(new Error("budget store unreachable")) }

  it.scoped("is told as the limiter's line, at Warning at the first, second, fourth... failure in a row", () =>
    Effect.gen(function*() {
      const { layer, lines } = annotated()
      yield* Effect.gen(function*() {
        const session = yield* Session.make(options())
        yield* settle
        for (let minute = 0; minute < 120; minute++) {
          yield* TestClock.adjust("1 minute")
          yield* settle
        }
        yield* Effect.fork(session.end("1 second"))
        yield* TestClock.adjust("2 seconds")
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
      const told = lines.filter((line) => line.includes("snapshot failed"))
      const loud = told.filter((line) => line.startsWith("WARN"))
      expect(loud.length).toBeGreaterThanOrEqual(5)
      expect(loud.length).toBeLessThanOrEqual(8)
      expect(loud[0]).toMatch(/^WARN the identify limiter's snapshot failed \(1 in a row\): .*budget store unreachable.* \[component=IdentifyLimiter\]$/)
      expect(told.length - loud.length).toBeGreaterThan(100)
    }).pipe(Effect.provide(programLimiter({ budgetReady: () => Effect.sleep("2 hours"), ...storeDown }))))

  it.scoped("counts the failures of the fleet's shards together", () =>
    Effect.gen(function*() {
      const store = { down: false }
      const limiter = Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
        configure: () => Effect.void,
        identify: (_shard, send) => send(Effect.void),
        budgetReady: () => Effect.sleep("2 hours"),
        snapshot: Effect.suspend(() => store.down ? storeDown.snapshot : Effect.succeed({ maxConcurrency: 4, budget: undefined, keys: [] }))
      })
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const fleet = yield* Fleet.make(FleetHarness.options({ shardCount: 4 }))
        store.down = true
        yield* FleetHarness.advance(10 * 60_000, 10_000)
        expect((yield* fleet.status).map((status) => status.reason._tag)).toEqual(["IdentifyBudget", "IdentifyBudget", "IdentifyBudget", "IdentifyBudget"])
      }).pipe(Effect.provide(layer), Effect.provide(limiter))
      // 44 failures: told at the 1st, 2nd, 4th, 8th, 16th and 32nd
      expect(lines.filter((line) => line.startsWith("WARN") && line.includes("snapshot failed")).length).toBe(6)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, FetchHttpClient.layer))))
})

// a shard let through at a turn of the spread whose Identify the socket refused to write (gone
// between Hello and Identify): the limiter had counted the start and the turn, so the retry waited
// for the spread's next turn, about an hour, and the budget said a start fewer than Discord's
describe("an Identify at a turn of the spread that was never written", () => {
  const seen = { identifies: 0 }
  it.scoped("gives back the start and the turn: the retry goes within the backoff", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* limiter.configure({ maxConcurrency: 1, total: 100, remaining: 10, resetAfter: 10 * hour })
      // one start spent: 9 left, the spread's next turn an hour away
      yield* limiter.identify(5, () => Effect.void)
      expect((yield* limiter.snapshot).budget).toMatchObject({ remaining: 9, nextTurnIn: hour })
      yield* Session.make(options())
      yield* settle
      const first = yield* Effect.fork(gateway.accept)
      yield* TestClock.adjust(hour)
      yield* settle
      // the turn came: connected; the Hello answered with an Identify the socket refused, and the
      // socket went
      const peer = yield* Fiber.join(first)
      yield* peer.sendJson({ op: 10, d: { heartbeat_interval: hour }, s: null, t: null })
      yield* settle
      expect(seen.identifies).toBe(1)
      yield* peer.drop
      // given back: the limiter's figure is Discord's, and the turn is the shard's again
      expect((yield* limiter.snapshot).budget?.remaining).toBe(9)
      const retry = yield* Effect.fork(acceptAndHello(hour))
      for (let i = 0; i < 120 && retry.unsafePoll() === null; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect(retry.unsafePoll()).not.toBeNull()
      expect(seen.identifies).toBe(2)
      expect((yield* limiter.snapshot).budget?.remaining).toBe(8)
    }).pipe(Effect.provide(Layer.provideMerge(firstIdentifyWritten(seen, () => Effect.fail(new TransportError({ reason: "Send" }))), TestLayer))))
})
