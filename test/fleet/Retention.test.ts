/**
 * What a fleet keeps after it ended: nothing in the caller's scope, however long that scope lives
 * (a program restarting a shard with a new fleet beside the others, the README's way).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type { ResumePoint } from "../../src/session/SessionOptions.ts"
import { stillReachable } from "../gc.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"

// the finalizers an open scope holds (Effect's own scope keeps them in `state.finalizers`)
const finalizersOf = (scope: Scope.Scope): number =>
  ((scope as unknown as { state: { _tag: string; finalizers?: Map<unknown, unknown> } }).state.finalizers?.size) ?? -1

describe("Fleet retention", () => {
  it.effect("fleets stopped one after another in one long-lived scope (a shard restarted with a new fleet beside the others) are let go before the scope closes", () =>
    Effect.gen(function*() {
      // the program's scope: it lives as long as the bot
      const app = yield* Scope.make()
      yield* configureLimiter(1)
      yield* serve().pipe(Scope.extend(app))
      const sessions: Array<WeakRef<object>> = []
      const streams: Array<WeakRef<object>> = []
      let points: ReadonlyArray<ResumePoint> = []
      for (let restart = 0; restart < 20; restart++) {
        // shard 1 restarted: a one-shard fleet resuming where the previous one left off
        const fleet = yield* Fleet.make(options({ shardCount: 2, shards: [1], resume: points })).pipe(Scope.extend(app))
        yield* advance(1_000)
        sessions.push(new WeakRef(yield* fleet.shard(1)))
        streams.push(new WeakRef(fleet.events))
        points = yield* fleet.disconnect()
        expect(points).toHaveLength(1)
      }
      // every stopped fleet but the last (still in this generator's frame) is garbage: its shard's
      // session ended and nothing of the program refers to it
      const kept = { sessions: yield* stillReachable(sessions.slice(0, -1)), eventStreams: yield* stillReachable(streams.slice(0, -1)) }
      yield* Scope.close(app, Exit.void)
      const afterClose = { sessions: yield* stillReachable(sessions.slice(0, -1)), eventStreams: yield* stillReachable(streams.slice(0, -1)) }
      // once the scope closed, all of them go: what held them was the scope
      expect(afterClose).toEqual({ sessions: 0, eventStreams: 0 })
      expect(kept).toEqual({ sessions: 0, eventStreams: 0 })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a fleet made where nothing can be interrupted (an acquireRelease's acquire) stops when its scope closes, its events ending cleanly", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const scope = yield* Scope.make()
      const fleet = yield* Effect.acquireRelease(Fleet.make(options({ shardCount: 2 })), () => Effect.void).pipe(Scope.extend(scope))
      const reading = yield* Effect.fork(Stream.runDrain(fleet.events))
      yield* advance(6_000)
      expect((yield* fleet.status).map((s) => s.state._tag)).toEqual(["Connected", "Connected"])
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advance(30_000, 1_000)
      const closed = closing.unsafePoll()
      if (closed === null) {
        // what hung: the fleet's closing fiber, uninterruptible, waited for shards only its scope stops
        yield* Fiber.interrupt(closing)
        yield* Effect.fork(fleet.disconnect())
        yield* advance(10_000, 1_000)
      }
      expect(closed === null ? "still closing after 30 s" : "closed").toBe("closed")
      expect((yield* fleet.status).map((s) => s.state._tag)).toEqual(["Disconnected", "Disconnected"])
      // a stop, not the fleet's end: `events` ends, not with an interruption
      const exit = yield* Fiber.await(reading)
      expect(Exit.isSuccess(exit) ? "ended" : Cause.pretty(exit.cause)).toBe("ended")
    }).pipe(Effect.provide(TestLayer)))

  // the flag a fleet keeps of its caller's scope beginning to close was a finalizer of that scope,
  // left there once the fleet stopped: one more for every restart, for as long as the program ran
  it.effect("fleets stopped one after another in one long-lived scope leave no finalizer in it", () =>
    Effect.gen(function*() {
      const app = yield* Scope.make()
      yield* configureLimiter(1)
      yield* serve().pipe(Scope.extend(app))
      let points: ReadonlyArray<ResumePoint> = []
      const counts: Array<number> = []
      for (let restart = 0; restart < 12; restart++) {
        const fleet = yield* Fleet.make(options({ shardCount: 2, shards: [1], resume: points })).pipe(Scope.extend(app))
        yield* advance(1_000)
        points = yield* fleet.disconnect()
        yield* advance(1_000)
        counts.push(finalizersOf(app))
      }
      yield* Scope.close(app, Exit.void)
      expect(counts[11]! - counts[3]!).toBe(0)
    }).pipe(Effect.provide(TestLayer)))
})
