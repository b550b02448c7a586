/**
 * A fleet's commands in `discord_gateway_commands_total`: each call the program makes counts once
 * per shard session it reaches; what the fleet sends of its own accord (a presence sent again in
 * place of one given up on) and what it refuses itself count none.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { advance, configureLimiter, guildOn, options, serve, settle, TestLayer } from "./harness.ts"

const presenceCount = (outcome: string) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(SessionMetrics.commands, [MetricLabel.make("command", "PresenceUpdate"), MetricLabel.make("outcome", outcome)])),
    (state) => state.count
  )

// every series of the counter, summed: what a dashboard's sum() shows
const allCommands = Effect.map(Metric.snapshot, (pairs) =>
  pairs
    .filter((pair) => pair.metricKey.name === "discord_gateway_commands_total")
    .reduce((sum, pair) => sum + (pair.metricState as unknown as { readonly count: number }).count, 0))

const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })

describe("a fleet's commands counted", () => {
  it.scoped("a presence update to two running shards counts twice, done; one the fleet refuses counts none", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(1_000)
      const [doneBefore, allBefore] = [yield* presenceCount("done"), yield* allCommands]
      yield* fleet.updatePresence(presence("a"))
      yield* Effect.flip(fleet.updateVoiceState({ guild_id: guildOn(0, 2), channel_id: "", self_mute: false, self_deaf: false }))
      expect([(yield* presenceCount("done")) - doneBefore, (yield* allCommands) - allBefore]).toEqual([2, 2])
    }).pipe(Effect.provide(TestLayer)))

  // five updates go out to each shard, the sixth waits for the presence limit (5 per 20 s) and is
  // given up on; the fleet then sends each shard the fifth again, of its own accord
  // shard 0 READY takes it; shard 1, waiting for its Identify's turn, has it withdrawn unsent: the
  // fleet takes it back on shard 0 with a send of its own (the default), which is not counted
  it.scoped("a presence given up on after it went out on one shard: the fleet's own send in its place is no command of the program's", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2, startupWindow: 1 }))
      yield* advance(500)
      const [doneBefore, interruptedBefore, allBefore] = [yield* presenceCount("done"), yield* presenceCount("interrupted"), yield* allCommands]
      const gaveUp = yield* Effect.fork(Effect.timeout(fleet.updatePresence(presence("1")), "100 millis"))
      yield* advance(100)
      expect(Exit.isFailure(yield* Fiber.await(gaveUp))).toBe(true)
      yield* advance(10_000)
      const sent = [0, 1].map((id) => (served.commands.get(id) ?? []).filter((payload) => payload.op === 3).length)
      expect(sent).toEqual([2, 0])
      expect({
        done: (yield* presenceCount("done")) - doneBefore,
        interrupted: (yield* presenceCount("interrupted")) - interruptedBefore,
        all: (yield* allCommands) - allBefore
      }).toEqual({ done: 1, interrupted: 1, all: 2 })
    }).pipe(Effect.provide(TestLayer)))

  // the sixth waits for the presence limit on both shards when its caller gives up: withdrawn
  // unsent, it is forgotten, and nothing goes out in its place (the fleet sent the fifth again on
  // each shard, the withdrawn send taken for one that may have gone out)
  it.scoped("a presence given up on while it waited for the presence limit on every shard: nothing goes out in its place", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(1_000)
      const [doneBefore, interruptedBefore] = [yield* presenceCount("done"), yield* presenceCount("interrupted")]
      for (const name of ["1", "2", "3", "4", "5"]) yield* fleet.updatePresence(presence(name))
      const sixth = yield* Effect.fork(fleet.updatePresence(presence("6")))
      yield* settle
      yield* Fiber.interrupt(sixth)
      yield* advance(30_000)
      const sent = [0, 1].map((id) => (served.commands.get(id) ?? []).filter((payload) => payload.op === 3).length)
      expect(sent).toEqual([5, 5])
      expect({
        done: (yield* presenceCount("done")) - doneBefore,
        interrupted: (yield* presenceCount("interrupted")) - interruptedBefore
      }).toEqual({ done: 10, interrupted: 2 })
    }).pipe(Effect.provide(TestLayer)))
})
