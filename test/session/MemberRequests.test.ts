import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Event from "../../src/protocol/Event.ts"
import { RouteError } from "../../src/fleet/Routing.ts"
import * as MemberRequests from "../../src/session/MemberRequests.ts"

// request "n" for guild 1, sent on an answered connection, and its members timeout (30 s) counting
const sentOnAnsweredConnection = Effect.gen(function*() {
  const registry = MemberRequests.make()
  yield* registry.register("n", "1")
  yield* registry.sent("n")
  registry.connected(true)
  const stalled = yield* Effect.fork(Effect.either(registry.stalled("n", "30 seconds")))
  return { registry, stalled }
})

// the first of two chunks of the answer to "n"
const firstOfTwoChunks = Event.make(0, 5, "GUILD_MEMBERS_CHUNK", { guild_id: "1", members: [], chunk_index: 0, chunk_count: 2, nonce: "n" })

describe("MemberRequests: the members timeout", () => {
  // it counted while no connection could carry a chunk: a request sent just before an outage
  // failed 30 s later, and the answer the resume replayed was dropped
  it.effect("counts only while a connection is answered, going on from where it stood at the next answer; callers that give up leave nothing waiting", () =>
    Effect.gen(function*() {
      const registry = MemberRequests.make()
      const nonces = Array.from({ length: 200 }, (_, i) => `n${i}`)
      for (const nonce of nonces) yield* registry.register(nonce, "1")
      const fibers = yield* Effect.forEach(nonces, (nonce) => Effect.fork(Effect.either(registry.stalled(nonce, "30 seconds"))))
      const waiting = (from: number) => fibers.slice(from).every((fiber) => fiber.unsafePoll() === null)
      yield* TestClock.adjust("10 minutes")
      expect(waiting(0)).toBe(true)
      yield* Effect.forEach(fibers.slice(0, 100), Fiber.interrupt)
      registry.connected(true)
      yield* TestClock.adjust("29 seconds")
      expect(waiting(100)).toBe(true)
      // the connection ends at 29 s: the count stops, and goes on at the next answer
      registry.connected(false)
      yield* TestClock.adjust("5 minutes")
      expect(waiting(100)).toBe(true)
      registry.connected(true)
      yield* TestClock.adjust("999 millis")
      expect(waiting(100)).toBe(true)
      yield* TestClock.adjust("1 millis")
      const outcomes = yield* Effect.forEach(fibers.slice(100), Fiber.join)
      expect(outcomes.map((outcome) => outcome._tag === "Left" && outcome.left.reason)).toEqual(Array(100).fill("Timeout"))
    }))

  // it started over at each answer: a gateway that dropped every 20 s and always resumed never
  // timed a request out
  it.effect("a request on connections that keep dropping and resuming times out once they were answered for the timeout in all", () =>
    Effect.gen(function*() {
      const registry = MemberRequests.make()
      yield* registry.register("n", "1")
      const stalled = yield* Effect.fork(Effect.either(registry.stalled("n", "30 seconds")))
      for (let drop = 0; drop < 2; drop++) {
        registry.connected(true)
        yield* TestClock.adjust("12 seconds")
        registry.connected(false)
        yield* TestClock.adjust("3 seconds")
      }
      expect(stalled.unsafePoll()).toBeNull()
      registry.connected(true)
      yield* TestClock.adjust("5999 millis")
      expect(stalled.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const outcome = yield* Fiber.join(stalled)
      expect(outcome._tag === "Left" && outcome.left.reason).toBe("Timeout")
    }))

  // the count waited only for the next answer while no connection was answered: a chunk of a
  // Resume's replay, before RESUMED, left the time before the drop held against the next chunk
  it.effect("a chunk that comes before the next answer (a Resume's replay) starts the count over, as any chunk does", () =>
    Effect.gen(function*() {
      const { registry, stalled } = yield* sentOnAnsweredConnection
      yield* TestClock.adjust("25 seconds")
      registry.connected(false)
      yield* TestClock.adjust("2 seconds")
      registry.observe(firstOfTwoChunks)
      registry.connected(true)
      yield* TestClock.adjust("29999 millis")
      expect(stalled.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const outcome = yield* Fiber.join(stalled)
      expect(outcome._tag === "Left" && outcome.left.reason).toBe("Timeout")
    }))

  // a count begun anew at each move of a held-back reader never timed out a request the gateway
  // never answered, for as long as the program stayed slow
  it.effect("a held-back reader getting room starts the count over, up to ten timeouts after the last chunk", () =>
    Effect.gen(function*() {
      const { registry, stalled } = yield* sentOnAnsweredConnection
      const slowly = (seconds: number) =>
        Effect.forEach(Array.from({ length: seconds / 20 }), () => Effect.zipRight(TestClock.adjust("20 seconds"), Effect.sync(() => registry.backlogMoved())), { discard: true })
      // a chunk at 200 s: the ten timeouts count from it
      yield* slowly(200)
      registry.observe(firstOfTwoChunks)
      yield* slowly(280)
      yield* TestClock.adjust("19999 millis")
      expect(stalled.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const outcome = yield* Fiber.join(stalled)
      expect(outcome._tag === "Left" && outcome.left.reason).toBe("Timeout")
    }))

  // under exactOptionalPropertyTypes, a program's fake fleet could not pass `number | undefined`
  it("MemberRequestError and RouteError take an optional field given as undefined, and leave it out of the message", () => {
    const retryAfter: number | undefined = undefined
    const detail: string | undefined = undefined
    expect(new MemberRequests.MemberRequestError({ reason: "RateLimited", guildId: "1", retryAfter, detail }).message).toBe("request guild members for 1 was rate limited")
    expect(new MemberRequests.MemberRequestError({ reason: "Malformed", guildId: "1", detail }).message).toBe("request guild members for 1 got a malformed answer")
    const shard: number | undefined = undefined
    expect(new RouteError({ reason: "NotRunning", shard, guildId: undefined }).message).toBe("its shard is not running in this fleet")
  })
})
