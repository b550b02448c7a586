import { describe, expect, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ending from "../../src/fleet/Ending.ts"
import { captured } from "../logLines.ts"

class Fatal extends Data.TaggedError("Fatal")<{ readonly message: string }> {}

describe("Ending", () => {
  it.effect("completes once every shard ended, not before", () =>
    Effect.gen(function*() {
      const ending = yield* Ending.make<Fatal>(3, Effect.die("no fatal error, nothing to stop"), (text) => text)
      const waiting = yield* Effect.fork(ending.await)
      yield* ending.onEnd(Exit.void)
      yield* ending.onEnd(Exit.void)
      yield* Effect.yieldNow()
      expect(yield* Fiber.poll(waiting)).toEqual(expect.objectContaining({ _tag: "None" }))
      yield* ending.onEnd(Exit.void)
      expect(yield* Fiber.join(waiting)).toBeUndefined()
    }))

  it.effect("a fleet of no shards has ended", () =>
    Effect.gen(function*() {
      const ending = yield* Ending.make<Fatal>(0, Effect.void, (text) => text)
      expect(yield* ending.await).toBeUndefined()
    }))

  it.effect("the first failure stops every shard once, then fails with that error", () =>
    Effect.gen(function*() {
      let stops = 0
      const release = yield* Deferred.make<void>()
      const ending = yield* Ending.make<Fatal>(3, Effect.zipRight(Effect.sync(() => stops++), Deferred.await(release)), (text) => text)
      const waiting = yield* Effect.fork(Effect.flip(ending.await))
      yield* ending.onEnd(Exit.fail(new Fatal({ message: "4004" })))
      // the other shards end because they were stopped; a second failure changes nothing
      yield* ending.onEnd(Exit.fail(new Fatal({ message: "4014" })))
      yield* ending.onEnd(Exit.void)
      yield* Effect.yieldNow()
      expect(stops).toBe(1)
      // `await` fails only once the stop is through
      expect(yield* Fiber.poll(waiting)).toEqual(expect.objectContaining({ _tag: "None" }))
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(waiting)).toEqual(new Fatal({ message: "4004" }))
      expect(stops).toBe(1)
    }))

  it.effect("a failure after the others ended successfully still fails the fleet", () =>
    Effect.gen(function*() {
      const ending = yield* Ending.make<Fatal>(2, Effect.void, (text) => text)
      yield* ending.onEnd(Exit.void)
      yield* ending.onEnd(Exit.fail(new Fatal({ message: "4013" })))
      expect(yield* Effect.flip(ending.await)).toEqual(new Fatal({ message: "4013" }))
    }))
  // every defect was one reason (a second bug went untold), a non-Error one `[object Object]`, an
  // Error without a message an empty "defect: "
  it.effect("tells each reason once at Error, naming its shard: two defects are two reasons, told by their words", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const ending = yield* Ending.make<Fatal>(4, Effect.void, (text) => text)
        yield* ending.onEnd(Exit.die(new Error("cannot write heartbeats")), 0)
        yield* ending.onEnd(Exit.die(new Error("cannot write heartbeats")), 1)
        yield* ending.onEnd(Exit.die({ code: "EBADF", fd: 3 }), 2)
        yield* ending.onEnd(Exit.die(new RangeError("")), 3)
        yield* ending.onEnd(Exit.fail(new Fatal({ message: "shard 3: refused" })), 3)
      }).pipe(Effect.provide(layer))
      expect(lines).toEqual([
        "ERROR stopping the fleet, a shard ended for good: shard 0: defect: cannot write heartbeats",
        "ERROR another shard ended for good as the fleet stopped: shard 2: defect: { code: 'EBADF', fd: 3 }",
        "ERROR another shard ended for good as the fleet stopped: shard 3: defect: RangeError",
        "ERROR another shard ended for good as the fleet stopped: shard 3: refused"
      ])
    }))
})
