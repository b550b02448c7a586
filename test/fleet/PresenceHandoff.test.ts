/**
 * A fleet handed over through its resume points shows the presence its new process asks for: a
 * Resume carries none, so each resumed shard is sent it, unless its point says it shows it already.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import type * as SessionOptions from "../../src/session/SessionOptions.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"

const presence = (status: Commands.Presence["status"]): Commands.Presence => ({ since: null, activities: [{ name: "the gateway", type: 3 }], status, afk: false })

// points of two shards whose gateway sessions show `shows`
const pointsShowing = (shows: Commands.Presence): ReadonlyArray<SessionOptions.ResumePoint> =>
  [0, 1].map((id) => ({ shard: [id, 2] as const, sessionId: `session-${id}`, sequence: 10, resumeGatewayUrl: "ws://resume.test/", encoding: "json" as const, presence: shows }))

// a fleet of two shards restarted from points showing "idle", without a presence option, the
// connections `silent` says given no Hello; an update to "dnd" given up on after a second
const updateGivenUpAfterRestart = (silent: (connection: number) => boolean) =>
  Effect.gen(function*() {
    yield* configureLimiter(2)
    const served = yield* serve({ silent })
    const fleet = yield* Fleet.make(options({ shardCount: 2, resume: pointsShowing(presence("idle")) }))
    yield* Effect.forkScoped(Stream.runDrain(fleet.events))
    yield* advance(1_000)
    const updating = yield* Effect.fork(Effect.timeout(fleet.updatePresence(presence("dnd")), "1 second"))
    yield* advance(2_000)
    expect(Exit.isFailure(yield* Fiber.await(updating))).toBe(true)
    return { fleet, served }
  })

describe("a fleet's presence across a handoff", () => {
  it.scoped("restarted from its points with another presence, every shard shows it; with the one its points say, none is sent", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const sentPresences = () => [0, 1].map((id) => (served.commands.get(id) ?? []).filter((payload) => payload.op === 3).map((payload) => payload.d))
      // one process: made with `given`, resuming `resume`, its presence updated to `update` if given
      const run = (given: Commands.Presence, resume: ReadonlyArray<SessionOptions.ResumePoint> | undefined, update?: Commands.Presence) =>
        Effect.scoped(Effect.gen(function*() {
          const fleet = yield* Fleet.make(options({ shardCount: 2, presence: given, resume }))
          yield* Effect.forkScoped(Stream.runDrain(fleet.events))
          yield* advance(12_000)
          if (update !== undefined) {
            const updating = yield* Effect.fork(fleet.updatePresence(update))
            yield* advance(1_000)
            yield* Fiber.join(updating)
          }
          const stopping = yield* Effect.fork(fleet.disconnect("1 second"))
          yield* advance(2_000, 100)
          return yield* Fiber.join(stopping)
        }))

      const first = yield* run(presence("online"), undefined, presence("idle"))
      expect(first.map((point) => point.presence)).toEqual([presence("idle"), presence("idle")])
      expect(sentPresences()).toEqual([[presence("idle")], [presence("idle")]])

      // the next deploy asks for dnd: its Resumes keep idle, so each shard is sent dnd
      const second = yield* run(presence("dnd"), first)
      expect(served.resumes).toHaveLength(2)
      expect(sentPresences()).toEqual([[presence("idle"), presence("dnd")], [presence("idle"), presence("dnd")]])
      expect(second.map((point) => point.presence)).toEqual([presence("dnd"), presence("dnd")])

      // and the one after it asks for dnd too: nothing to send
      yield* run(presence("dnd"), second)
      expect(served.resumes).toHaveLength(4)
      expect(sentPresences().map((sent) => sent.length)).toEqual([2, 2])
    }).pipe(Effect.provide(TestLayer)))

  for (const givenUp of [false, true]) {
    it.scoped(`an update made while the shards resume ${givenUp ? "and given up on: each shard ends showing the fleet's presence" : "is the only op 3 sent, and the points say it"}`, () =>
      Effect.gen(function*() {
        yield* configureLimiter(2)
        const served = yield* serve()
        const fleet = yield* Fleet.make(options({ shardCount: 2, presence: presence("dnd"), resume: pointsShowing(presence("idle")) }))
        yield* Effect.forkScoped(Stream.runDrain(fleet.events))
        const updating = yield* Effect.fork(fleet.updatePresence(presence("online")))
        if (givenUp) yield* Fiber.interrupt(updating)
        yield* advance(30_000)
        if (!givenUp) yield* Fiber.join(updating)
        expect(served.resumes).toHaveLength(2)
        const sent = [0, 1].map((id) => (served.commands.get(id) ?? []).filter((payload) => payload.op === 3).map((payload) => payload.d))
        const shows = givenUp ? presence("dnd") : presence("online")
        if (givenUp) expect(sent.map((each) => each.at(-1))).toEqual([shows, shows])
        else expect(sent).toEqual([[shows], [shows]])
        const stopping = yield* Effect.fork(fleet.disconnect("1 second"))
        yield* advance(2_000, 100)
        expect((yield* Fiber.join(stopping)).map((point) => point.presence)).toEqual([shows, shows])
      }).pipe(Effect.provide(TestLayer)))
  }

  // the update, given up on, never went out (withdrawn unsent), but was taken for one that may
  // have: once RESUMED the fleet sent Discord's default (online, no activity) over the presence
  // the gateway sessions showed (effectuser1)
  it.scoped("restarted from its points without a presence, an update given up on before the Resumes were answered: no op 3, the points' presence stays shown", () =>
    Effect.gen(function*() {
      // the first connections get no Hello: the update waits for answered ones
      const { fleet, served } = yield* updateGivenUpAfterRestart((connection) => connection < 2)
      // the Hello timeout, the backoff, then the Resumes
      yield* advance(40_000)
      expect(served.resumes).toHaveLength(2)
      expect([0, 1].map((id) => (served.commands.get(id) ?? []).filter((payload) => payload.op === 3))).toEqual([[], []])
      const stopping = yield* Effect.fork(fleet.disconnect("1 second"))
      yield* advance(2_000, 100)
      expect((yield* Fiber.join(stopping)).map((point) => point.presence)).toEqual([presence("idle"), presence("idle")])
    }).pipe(Effect.provide(TestLayer)))
})

describe("a fleet without a presence option, restarted from points saying a presence", () => {
  // README: "The presence set last is the one a new session identifies with (after op 9, ...), so
  // the bot comes back as it was": after an op 9 the shard identified with none
  it.scoped("identifies a shard with the point's presence after an op 9", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2, resume: pointsShowing(presence("idle")) }))
      yield* advance(2_000)
      expect(served.resumes.length).toBe(2)
      yield* served.peers.get(0)!.sendJson({ op: 9, d: false, s: null, t: null })
      yield* advance(10_000)
      expect(served.identifies.map((identify) => [identify.shard, identify.presence])).toEqual([[0, presence("idle")]])
      yield* fleet.end()
    }).pipe(Effect.provide(TestLayer)))
})

describe("a fleet without a presence option, an update taken back", () => {
  // README: "Where the fleet had no presence, the latest is ..." its point's for a shard resumed
  // from one saying it: the take-back sent Discord's default (online, no activity) over what the
  // shard showed before the update, and the bot did not come back as it was
  it.scoped("a shard resumed from a point saying its presence is sent that presence back, not Discord's default", () =>
    Effect.gen(function*() {
      // shard 1's first connection gets no Hello: the update reaches shard 0 only
      const { served } = yield* updateGivenUpAfterRestart((connection) => connection === 1)
      yield* advance(1_000)
      expect((served.commands.get(0) ?? []).filter((payload) => payload.op === 3).map((payload) => payload.d)).toEqual([presence("dnd"), presence("idle")])
    }).pipe(Effect.provide(TestLayer)))
})

describe("a fleet without a presence option, handed points it cannot resume", () => {
  // points of another encoding (a deploy that changed it): each shard identifies anew, and came
  // back with no presence, not the one its point says the bot showed
  it.scoped("identifies each shard with what its point says was shown", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const points = pointsShowing(presence("idle")).map((point) => ({ ...point, encoding: "etf" as const }))
      const fleet = yield* Fleet.make(options({ shardCount: 2, resume: points }))
      yield* advance(10_000)
      expect(served.resumes).toEqual([])
      expect(served.identifies.map((identify) => [identify.shard, identify.presence]).sort()).toEqual([[0, presence("idle")], [1, presence("idle")]])
      yield* fleet.end()
    }).pipe(Effect.provide(TestLayer)))
})
