/**
 * A lone session stopped at each scheduler turn after its Hello came: an Identify written after
 * the stop began (its first step ran) spends a session start on a session closed before READY.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import * as Fleet from "../../src/fleet/Fleet.ts"
import { gatewayUrl, hello, options, Session, settle, token, writtenThrough } from "./harness.ts"

// whether the stop's first step has run, and the Identifies written after it
const state = { stopBegun: false, identifiesAfterStop: 0 }
const Watched = Layer.mergeAll(
  writtenThrough((op, plain) =>
    Effect.zipRight(Effect.sync(() => {
      if (state.stopBegun && op === 2) state.identifiesAfterStop++
    }), plain)
  ).pipe(Layer.provideMerge(MemoryTransport.layer)),
  IdentifyLimiter.layerMemory,
  FetchHttpClient.layer
)

// For 0 to 11 scheduler turns between the Hello and the stop: a session made in a scope of its
// own by `start`, which gives its stop, then the Hello, the turns and the stop; the turns after
// which the gateway got an Identify written after the stop began
const identifiedAfterStop = <E, R>(start: (scope: Scope.CloseableScope) => Effect.Effect<Effect.Effect<unknown, unknown>, E, R>) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const identified: Array<number> = []
    for (let turns = 0; turns < 12; turns++) {
      state.stopBegun = false
      state.identifiesAfterStop = 0
      const scope = yield* Scope.make()
      const stop = yield* start(scope)
      const peer = yield* gateway.accept
      yield* peer.sendJson(hello(60_000))
      for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
      const stopping = yield* Effect.fork(Effect.zipRight(
        Effect.sync(() => {
          state.stopBegun = true
        }),
        stop
      ))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* settle
      const ops = [...yield* peer.takeAll].map((frame) => (JSON.parse(frame as string) as { op: number }).op)
      if (state.identifiesAfterStop > 0 && ops.includes(2)) identified.push(turns)
      yield* Fiber.interrupt(stopping)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(closing)
    }
    return identified
  })

describe("a stop as the Hello comes", () => {
  // README, Many shards: the fleet, Stopping: "A `disconnect`, an `end` or a fatal close's stop
  // reaches the running shards at once ...: a shard whose Hello comes as the stop begins sends no
  // Identify, as a lone session's does not". Session.Hooks.stopping's doc says why it matters: "an
  // Identify sent in between spent a session start on a session closed before READY". A lone
  // session's Identify looked only at its fleet's stop: a stop whose first step ran while the
  // Identify was on its way to the write (a few turns after the Hello) still let it out, the gateway
  // got an Identify, then the stop's close. The session start is spent (the day's budget, the key's
  // 5 s), and with disconnect the gateway session it began is never resumed (no READY, no point).
  for (const kind of ["disconnect", "end", "scope"] as const) {
    it.scoped(`${kind}: the gateway gets no Identify written after the stop began, at any turn after the Hello`, () =>
      Effect.gen(function*() {
        const turns = yield* identifiedAfterStop((scope) =>
          Effect.map(Scope.extend(Session.make(options()), scope), (session) =>
            kind === "scope" ? Scope.close(scope, Exit.void) : kind === "disconnect" ? session.disconnect() : session.end())
        )
        expect(turns).toEqual([])
      }).pipe(Effect.provide(Watched)))
  }

  // the same through a fleet: a shard stopped on its own (`fleet.shard(id).disconnect()`) is no
  // fleet stop, so the fleet's `stopping` hook did not withhold its Identify either
  it.scoped("fleet.shard(0).disconnect(): the gateway gets no Identify written after the stop began, at any turn after the Hello", () =>
    Effect.gen(function*() {
      const turns = yield* identifiedAfterStop((scope) =>
        Effect.gen(function*() {
          const fleet = yield* Scope.extend(Fleet.make({ token, intents: 513, gateway: gatewayUrl, shardCount: 1, compression: "none" }), scope)
          return Effect.flatMap(fleet.shard(0), (session) => session.disconnect())
        })
      )
      expect(turns).toEqual([])
    }).pipe(Effect.provide(Watched)))
})
