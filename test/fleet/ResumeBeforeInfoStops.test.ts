/**
 * A fleet that resumed its shards before GET /gateway/bot answered: its stops, a resumed shard
 * told to identify while the answer is unknown, its status lines and its log lines, and a failure
 * of the rate-limit keys while `make` is still making the fleet.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { programLimiter } from "../session/harness.ts"
import { captured } from "../logLines.ts"
import { advance, gatewayBotAnswering, options, restartedOptions, resumePointOf, secret, serve, settle } from "./harness.ts"

// a fleet of `shardCount` restarted with shard 0's point while GET /gateway/bot answers as the
// test's layer says, its events drained (their end kept)
const restartedFleet = (shardCount: number) =>
  Effect.gen(function*() {
    const fleet = yield* Fleet.make({ ...restartedOptions, shardCount, resume: [resumePointOf(0, shardCount)] })
    const events = yield* Effect.forkScoped(Effect.exit(Stream.runDrain(fleet.events)))
    return { fleet, events }
  })

// how `fleet.await` has ended by now (after a settle), `null` while it waits
const awaitedNow = (fleet: Fleet.Fleet) =>
  Effect.gen(function*() {
    const awaited = yield* Effect.fork(fleet.await)
    yield* settle
    const exit = awaited.unsafePoll()
    if (exit === null) yield* Fiber.interrupt(awaited)
    return exit
  })

describe("keys unknown", () => {
  it.scoped("end while GET /gateway/bot still fails: end, await and events finish, the queued shard is not started, no more requests", () => {
    const down = gatewayBotAnswering(() => 503)
    return Effect.gen(function*() {
      const served = yield* serve()
      const { events, fleet } = yield* restartedFleet(2)
      yield* advance(10_000, 1_000)
      expect(served.resumes.length).toBe(1)
      const ending = yield* Effect.fork(fleet.end())
      yield* advance(10_000, 1_000)
      expect(ending.unsafePoll()).not.toBeNull()
      expect(yield* awaitedNow(fleet)).toEqual(Exit.void)
      expect((yield* Fiber.join(events))._tag).toBe("Success")
      const asked = down.asked.count
      yield* advance(120_000, 5_000)
      expect(down.asked.count).toBe(asked)
      expect((yield* fleet.status).map((s) => `${s.state._tag}/${s.reason._tag}`)[1]).toBe("Disconnected/NotStarted")
    }).pipe(Effect.provide(down.layer))
  })

  it.scoped("disconnect while GET /gateway/bot still fails gives back the resumed shard's point", () => {
    const down = gatewayBotAnswering(() => 503)
    return Effect.gen(function*() {
      yield* serve()
      const { fleet } = yield* restartedFleet(2)
      yield* advance(10_000, 1_000)
      const stopping = yield* Effect.fork(fleet.disconnect())
      yield* advance(10_000, 1_000)
      const points = yield* Fiber.join(stopping)
      expect(points.map((p) => p.shard)).toEqual([[0, 2]])
    }).pipe(Effect.provide(down.layer))
  })

  it.scoped("made in an uninterruptible region: make returns, closing the scope ends it while the answer fails", () => {
    const down = gatewayBotAnswering(() => 503)
    return Effect.gen(function*() {
      const served = yield* serve()
      const inner = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const fleet = yield* Effect.uninterruptible(Fleet.make({ ...restartedOptions, shardCount: 2, resume: [resumePointOf(0, 2)] }))
        yield* Effect.forkScoped(Stream.runDrain(fleet.events))
        yield* Effect.sleep(10_000)
        return fleet
      })))
      yield* advance(20_000, 1_000)
      expect(served.resumes.length).toBe(1)
      expect(inner.unsafePoll()?._tag).toBe("Success")
      const asked = down.asked.count
      yield* advance(120_000, 5_000)
      expect(down.asked.count).toBe(asked)
    }).pipe(Effect.provide(down.layer))
  })
})

describe("a resumed shard told to identify (op 9) before the keys are known", () => {
  const op9 = (served: { readonly peers: Map<number, MemoryTransport.MemoryPeer> }, shard: number) =>
    served.peers.get(shard)!.sendJson({ op: 9, d: false, s: null, t: null })

  it.scoped("it waits, then identifies once the answer comes", () => {
    let status = 503
    const flaky = gatewayBotAnswering(() => status)
    return Effect.gen(function*() {
      const served = yield* serve()
      const { fleet } = yield* restartedFleet(2)
      yield* advance(5_000, 1_000)
      yield* op9(served, 0)
      yield* advance(30_000, 1_000)
      expect(served.identifies).toEqual([])
      expect((yield* fleet.status).map((s) => `${s.state._tag}/${s.reason._tag}`)).toEqual(["Disconnected/Queued", "Disconnected/Queued"])
      status = 200
      yield* advance(60_000, 1_000)
      expect(served.identifies.map((i) => i.shard).sort()).toEqual([0, 1])
    }).pipe(Effect.provide(flaky.layer))
  })

  it.scoped("disconnect and await finish while it waits for the keys", () => {
    const down = gatewayBotAnswering(() => 503)
    return Effect.gen(function*() {
      const served = yield* serve()
      const { fleet } = yield* restartedFleet(2)
      yield* advance(5_000, 1_000)
      yield* op9(served, 0)
      yield* advance(30_000, 1_000)
      const stopping = yield* Effect.fork(fleet.disconnect())
      yield* advance(5_000, 1_000)
      expect(stopping.unsafePoll()?._tag).toBe("Success")
      expect(yield* awaitedNow(fleet)).toEqual(Exit.void)
    }).pipe(Effect.provide(down.layer))
  })

  it.scoped("a 401 then ends the fleet, the waiting shard stopped", () => {
    let status = 503
    const flaky = gatewayBotAnswering(() => status)
    return Effect.gen(function*() {
      const served = yield* serve()
      const { fleet } = yield* restartedFleet(2)
      yield* advance(5_000, 1_000)
      yield* op9(served, 0)
      yield* advance(10_000, 1_000)
      status = 401
      yield* advance(120_000, 1_000)
      expect((yield* awaitedNow(fleet))?._tag).toBe("Failure")
      expect(served.identifies).toEqual([])
    }).pipe(Effect.provide(flaky.layer))
  })
})

describe("statusChanges while the keys are unknown", () => {
  it.scoped("statusChanges ends once the fleet ended by end(), the queued shard said NotStarted", () => {
    const down = gatewayBotAnswering(() => 503)
    return Effect.gen(function*() {
      yield* serve()
      const { fleet } = yield* restartedFleet(3)
      const changes = yield* Effect.fork(Stream.runCollect(fleet.statusChanges))
      yield* advance(5_000, 1_000)
      yield* Effect.fork(fleet.end())
      yield* advance(10_000, 1_000)
      const exit = changes.unsafePoll()
      expect(exit?._tag).toBe("Success")
      const lines = exit?._tag === "Success" ? [...exit.value] : []
      expect(lines.filter((s) => s.shard === 2).map((s) => s.reason._tag)).toEqual(["Queued", "NotStarted"])
    }).pipe(Effect.provide(down.layer))
  })

  it.scoped("a 404 (no passing failure, not the token's) ends the fleet; disconnect gives the resumed shard's point back", () => {
    const missing = gatewayBotAnswering(() => 404)
    return Effect.gen(function*() {
      yield* serve()
      const { fleet } = yield* restartedFleet(2)
      yield* advance(5_000, 1_000)
      // (ended, however)
      expect(yield* awaitedNow(fleet)).not.toBeNull()
      const points = yield* fleet.disconnect()
      expect(points.map((p) => p.shard)).toEqual([[0, 2]])
    }).pipe(Effect.provide(missing.layer))
  })
})

describe("log lines of a keys failure", () => {
  it.scoped("a 401 after resuming is told once at Error, as the fleet's line, without the token", () => {
    const refused = gatewayBotAnswering(() => 401)
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      yield* serve()
      yield* restartedFleet(2)
      yield* advance(5_000, 1_000)
      const errors = lines.filter((line) => line.startsWith("ERROR"))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/^ERROR stopping the fleet: .*401/)
      expect(lines.join("\n")).not.toContain(secret)
    }).pipe(Effect.provide(Layer.merge(refused.layer, layer)))
  })
})

const limiterSaying = (maxConcurrency: number) => programLimiter({ snapshot: Effect.succeed({ maxConcurrency, budget: undefined, keys: [] }) })

describe("a limiter refused by a fleet that resumes", () => {
  it.scoped("a snapshot of maxConcurrency 0 ends the fleet with the defect", () =>
    Effect.gen(function*() {
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2, resume: [resumePointOf(0, 2)] }))
      yield* Effect.forkScoped(Effect.exit(Stream.runDrain(fleet.events)))
      const awaited = yield* Effect.fork(fleet.await)
      yield* advance(10_000, 1_000)
      const exit = awaited.unsafePoll()
      expect(exit === null ? "await still waiting" : Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "await succeeded").toMatch(/positive integer maxConcurrency/)
    }).pipe(Effect.provide(limiterSaying(0))))

  // the keys' fiber, forked before the starter was made, ran where `make` yielded (the runtime
  // yields every 2048 operations: a fleet of many shards yields in the middle of `make`): its
  // failure ran the stop, which read the starter before it was set, died, and `await` never ended
  it.scoped("a keys failure while make is still making its starter: await still ends (yielding make)", () =>
    Effect.gen(function*() {
      yield* serve()
      // the runtime yields `make`'s fiber once after each fiber it forks (only while `make` runs):
      // where `make` is long enough (2048 operations; a fleet of many shards), it yields at any step
      const main = yield* Effect.fiberId
      let armed = true
      let forked = false
      const yielding = Scheduler.make(
        (task, priority, fiber) => {
          if (armed && fiber !== undefined && !Equal.equals(fiber.id(), main)) forked = true
          Scheduler.defaultScheduler.scheduleTask(task, priority, fiber)
        },
        (fiber) => {
          if (armed && forked && Equal.equals(fiber.id(), main)) {
            forked = false
            return 0
          }
          return Scheduler.defaultShouldYield(fiber)
        }
      )
      const fleet = yield* Effect.withScheduler(Fleet.make(options({ shardCount: 2, resume: [resumePointOf(0, 2)] })), yielding)
      armed = false
      yield* Effect.forkScoped(Effect.exit(Stream.runDrain(fleet.events)))
      const awaited = yield* Effect.fork(fleet.await)
      yield* advance(10_000, 1_000)
      yield* settle
      const exit = awaited.unsafePoll()
      if (exit === null) yield* Fiber.interrupt(awaited)
      expect(exit === null ? "await still waiting" : Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "await succeeded").toMatch(/positive integer maxConcurrency/)
    }).pipe(Effect.provide(limiterSaying(0))))
})
