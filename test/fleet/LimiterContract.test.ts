/**
 * What a fleet does with an identify limiter of the program's own: the startup window place goes
 * once a shard's Identify is out, whatever the limiter does after `send`; a snapshot without a
 * positive maxConcurrency is refused, and leaves nothing behind.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { programLimiter } from "../session/harness.ts"
import { advance, options, serve, settle } from "./harness.ts"

type Limiter = Context.Tag.Service<IdentifyLimiter.IdentifyLimiter>

// a limiter of the program's own that holds a key's lock for the spacing after its Identify went
// out (the README's own example of work after `send`: "holding a key's lock for the spacing")
const lockingLimiter = Layer.effect(
  IdentifyLimiter.IdentifyLimiter,
  Effect.map(Effect.makeSemaphore(1), (lock): Limiter => ({
    configure: () => Effect.void,
    identify: (_shard, send) => lock.withPermits(1)(Effect.zipLeft(send(Effect.void), Effect.sleep("5 seconds"))),
    snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
  }))
)

describe("a limiter's work after send and the startup window", () => {
  it.scoped("a limiter that holds its lock after send: the key's next shard connects once the first's Identify is out", () =>
    Effect.gen(function*() {
      const served = yield* serve()
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(1000)
      expect(served.identifies.map((i) => i.shard)).toEqual([0])
      // shard 0 identified at 0 and is READY: shard 1's place is free, its socket opens
      expect((yield* gateway.attempts).length).toBe(2)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, FetchHttpClient.layer, lockingLimiter))))
})

const limiterSaying = (maxConcurrency: number) => programLimiter({ snapshot: Effect.succeed({ maxConcurrency, budget: undefined, keys: [] }) })

describe("a limiter's snapshot", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it.scoped(`maxConcurrency ${bad}: Fleet.make dies saying so, no shard connects`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Fleet.make(options({ shardCount: 2 })))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && Cause.pretty(exit.cause)).toMatch(/positive integer maxConcurrency/)
        const gateway = yield* MemoryTransport.MemoryGateway
        expect(yield* gateway.attempts).toEqual([])
      }).pipe(Effect.provide(limiterSaying(bad))))
  }

  // read before the fleet takes anything in the caller's scope: the refused make left a fiber
  // there, waiting for shards that never start
  it.effect("a refused Fleet.make leaves no fiber running in the caller's scope", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const scope = yield* Scope.make()
      const exit = yield* Effect.exit(Scope.extend(Fleet.make(options({ shardCount: 2 })), scope).pipe(Effect.supervised(supervisor)))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      yield* settle
      const alive: Array<string> = []
      for (const fiber of yield* supervisor.value) {
        if (Option.isNone(yield* Fiber.poll(fiber))) alive.push(String(fiber.id().id))
      }
      yield* Scope.close(scope, Exit.void)
      expect(alive).toEqual([])
    }).pipe(Effect.provide(limiterSaying(0))))
})
