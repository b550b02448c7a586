/**
 * Interruption semantics of the public effects. Effect 3 forks the two sides of a race (raceFirst,
 * timeout) with the caller's runtime flags: run where the caller cannot be interrupted (an
 * acquireRelease's acquire or release, a finalizer, `Effect.uninterruptible`), the losing side
 * cannot be interrupted either, and the race waits for it to end on its own. These tests run each
 * public effect from such a caller: it must return when its work is done, and its timeouts must
 * hold.
 *
 * Fibers that the bugs leave hanging are forked as daemons and released at the end of each test,
 * so that a failing test fails instead of hanging its scope.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import * as FleetHarness from "../fleet/harness.ts"
import { memberAnswer, readySession, receiveOp, settle, TestLayer } from "./harness.ts"

const guild = "81384788765712384"
const idle = { since: null, activities: [], status: "idle", afk: false } as const

// a session that may ask for all members; its connection beats once an hour
const membersSession = readySession({ intents: Intents.Guilds | Intents.GuildMembers }, 3_600_000)

describe("Session commands run where the caller cannot be interrupted", () => {
  it.scoped("updatePresence run uninterruptibly (a release setting the bot invisible before end) returns once the update was sent, not only when the session ends", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession
      const update = yield* Effect.forkDaemon(Effect.uninterruptible(session.updatePresence(idle)))
      const sent = (yield* receiveOp(peer, 3)) as { d: unknown }
      expect(sent.d).toEqual(idle)
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* settle
      const returned = Option.isSome(yield* Fiber.poll(update))
      // release the daemon, whatever happened
      yield* session.end()
      expect(returned).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("requestGuildMembers run uninterruptibly returns the members once the answer came", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession
      const request = yield* Effect.forkDaemon(
        Effect.uninterruptible(session.requestGuildMembers({ guild_id: guild, user_ids: ["1"] }))
      )
      const sent = (yield* receiveOp(peer, 8)) as { d: { nonce: string } }
      yield* peer.sendJson(memberAnswer(2, guild, sent.d.nonce, [{ user: { id: "1" } }]))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      const answer = yield* Fiber.poll(request)
      yield* session.end()
      expect(Option.map(answer, Exit.map((members) => members.members))).toEqual(Option.some(Exit.succeed([{ user: { id: "1" } }])))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("requestGuildMembers run uninterruptibly still fails with Timeout at the members timeout when no answer comes", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession
      const request = yield* Effect.forkDaemon(
        Effect.uninterruptible(Effect.either(session.requestGuildMembers({ guild_id: guild, user_ids: ["1"] })))
      )
      yield* receiveOp(peer, 8)
      // the gateway never answers: the members timeout (30 s by default) ends the request
      yield* TestClock.adjust("31 seconds")
      yield* settle
      const result = yield* Fiber.poll(request)
      yield* session.end()
      expect(Option.map(result, Exit.map(Either.mapLeft((error) => error._tag === "MemberRequestError" ? error.reason : error._tag))))
        .toEqual(Option.some(Exit.succeed(Either.left("Timeout"))))
    }).pipe(Effect.provide(TestLayer)))
})

describe("Fleet.make run where the caller cannot be interrupted", () => {
  it.scoped("a fleet made in an acquireRelease's acquire starts its shards (shard 0 identifies at once)", () =>
    Effect.gen(function*() {
      yield* FleetHarness.configureLimiter(1)
      const served = yield* FleetHarness.serve()
      const fleet = yield* Effect.acquireRelease(
        Fleet.make(FleetHarness.options({ shardCount: 2 })),
        () => Effect.void
      )
      yield* FleetHarness.advance(6_000)
      const identified = served.identifies.map((identify) => identify.shard)
      const states = (yield* fleet.status).map((status) => status.state._tag)
      expect({ identified, states }).toEqual({ identified: [0, 1], states: ["Connected", "Connected"] })
    }).pipe(Effect.provide(FleetHarness.TestLayer)))

  it.scoped("a fleet made in an acquireRelease's acquire fails at the connect timeout when GET /gateway/bot never answers", () =>
    Effect.gen(function*() {
      // an endpoint that answers only when the test lets go of it, at its end
      const release = yield* Deferred.make<void>()
      const hanging = Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.zipRight(Deferred.await(release), Effect.never)))
      const making = yield* Effect.forkDaemon(
        Effect.scoped(Effect.acquireRelease(Fleet.make({ ...FleetHarness.options(), gateway: undefined }), () => Effect.void)).pipe(
          Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, hanging)),
          Effect.either,
          Effect.map(Either.mapLeft((error) => error._tag))
        )
      )
      yield* settle
      // the connect timeout is 15 s by default
      yield* TestClock.adjust("16 seconds")
      yield* settle
      const result = yield* Fiber.poll(making)
      yield* Fiber.interrupt(making).pipe(Effect.fork)
      expect(result).toEqual(Option.some(Exit.succeed(Either.left("GatewayInfoError"))))
    }))
})

describe("IdentifyLimiter.identify run where the caller cannot be interrupted", () => {
  it.effect("a second identify of a key whose first identify was never answered goes after the spacing and margin", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make()
      // the first identify is sent, and its connection drops before any answer
      yield* limiter.identify(0, () => Effect.void)
      let sentAt: number | undefined
      const second = yield* Effect.forkDaemon(Effect.uninterruptible(
        limiter.identify(0, () => Effect.sync(() => void (sentAt = 1)))
      ))
      yield* settle
      yield* TestClock.adjust("6 seconds")
      yield* settle
      const done = Option.isSome(yield* Fiber.poll(second))
      yield* Fiber.interrupt(second).pipe(Effect.fork)
      expect({ done, sent: sentAt !== undefined }).toEqual({ done: true, sent: true })
    }))
})
