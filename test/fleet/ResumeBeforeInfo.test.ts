/**
 * A fleet given its shard count and resume points resumes them at once, whatever `GET /gateway/bot`
 * answers: a Resume needs neither the answer nor the rate-limit keys; the shards that identify
 * wait for them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as Session from "../../src/session/Session.ts"
import { advance, gatewayBotAnswering, restartedOptions, resumePointOf, serve } from "./harness.ts"

describe("a fleet restarted from its resume points while GET /gateway/bot fails", () => {
  // as a session handed a point does: it asks nothing of GET /gateway/bot
  it.scoped("a session handed a point resumes at once while GET /gateway/bot is down", () => {
    const down = gatewayBotAnswering(() => 503)
    return Effect.gen(function*() {
      const served = yield* serve()
      const session = yield* Session.make({ ...restartedOptions, shard: [1, 2], resume: resumePointOf(1, 2) })
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      yield* advance(1_000)
      expect(served.resumes).toEqual([{ sessionId: "session-1", seq: 5 }])
      expect(down.asked.count).toBe(0)
    }).pipe(Effect.provide(down.layer))
  })

  // `make` held every Resume back until the endpoint answered: during an API outage (a 5xx, or a
  // 429 asking an hour) a restarted process resumed nothing, its gateway sessions expired, and
  // every shard identified anew (session starts spent, events lost)
  it.scoped("resumes the shards with points at once; the shard without one identifies once GET /gateway/bot answers", () => {
    let status = 503
    const flaky = gatewayBotAnswering(() => status)
    return Effect.gen(function*() {
      const served = yield* serve()
      const fleet = yield* Fleet.make({ ...restartedOptions, shardCount: 3, resume: [resumePointOf(0, 3), resumePointOf(1, 3)] })
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      yield* advance(60_000, 1_000)
      const resumed = [...served.resumes].sort((a, b) => a.sessionId.localeCompare(b.sessionId))
      expect(resumed).toEqual([{ sessionId: "session-0", seq: 5 }, { sessionId: "session-1", seq: 5 }])
      expect(flaky.asked.count).toBeGreaterThan(1)
      expect(served.identifies).toEqual([])
      status = 200
      yield* advance(120_000, 1_000)
      expect(served.identifies.map((identify) => identify.shard)).toEqual([2])
    }).pipe(Effect.provide(flaky.layer))
  })

  // what failed `make` (an answer that is no passing failure) ends the fleet once its shards run
  it.scoped("an answer that is no passing failure (a 401) ends the fleet with it: events and await fail, the resumed shards stop", () => {
    const refused = gatewayBotAnswering(() => 401)
    return Effect.gen(function*() {
      const served = yield* serve()
      const fleet = yield* Fleet.make({ ...restartedOptions, shardCount: 2, resume: [resumePointOf(0, 2)] })
      const events = yield* Effect.forkScoped(Effect.flip(Stream.runDrain(fleet.events)))
      yield* advance(5_000)
      const ended = yield* Effect.exit(fleet.await)
      expect(Exit.isFailure(ended) ? Cause.failureOption(ended.cause) : undefined).toMatchObject({ _tag: "Some", value: { _tag: "GatewayInfoError" } })
      expect(yield* Fiber.join(events)).toMatchObject({ _tag: "GatewayInfoError" })
      expect((yield* fleet.status).map((status) => status.state._tag)).toEqual(["Disconnected", "Disconnected"])
      expect(served.identifies).toEqual([])
      // a refused token is the bot's: no point is given back, as after a shard's 4004
      expect(yield* fleet.disconnect()).toEqual([])
    }).pipe(Effect.provide(refused.layer))
  })
})
