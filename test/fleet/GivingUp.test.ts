/**
 * `Fleet.updatePresence` given up on (its caller interrupted) at any step before it went out
 * anywhere is forgotten, so the shards that start later identify without it (interrupted between
 * being added and being watched, it stayed the latest). The interruption lands at every step by the
 * scheduler turns before it, with the runtime yielding every few operations (as
 * test/session/Stopping.test.ts does for `Session.make`).
 *
 * Some of those steps make the interruption itself never end: that is Effect's own
 * `Effect.forEach({ concurrency: "unbounded" })` (it does so around `Effect.never` too, without this
 * library), so those steps are left out here (`hung`), not counted as findings.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as FleetPresence from "../../src/fleet/FleetPresence.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import type * as Session from "../../src/session/Session.ts"
import { settle } from "../settle.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"

const idle: Commands.Presence = { since: null, activities: [{ name: "given up", type: 0 }], status: "idle", afk: false }

/** Interrupts `caller` on a fiber of its own; whether the interruption ended within a few thousand turns. */
const interruptEnds = <A, E>(caller: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    const interrupting = yield* Effect.forkDaemon(Fiber.interrupt(caller))
    for (let i = 0; i < 20; i++) yield* settle
    return (yield* Fiber.poll(interrupting))._tag === "Some"
  })

describe("giving up: Fleet.updatePresence, at any step", () => {
  it.effect("FleetPresence.update: an update whose caller was interrupted is never the latest presence", () =>
    Effect.gen(function*() {
      // a running session whose update never goes out (no ready connection)
      const waiting = { updatePresence: () => Effect.never } as unknown as Session.Session
      const kept: Array<string> = []
      const hung: Array<string> = []
      for (const ops of [16, 20, 24]) {
        for (let turns = 0; turns < 6; turns++) {
          const presence = FleetPresence.make(undefined, () => false)
          const caller = yield* Effect.forkDaemon(presence.update(idle, () => [waiting]).pipe(Effect.withMaxOpsBeforeYield(ops)))
          for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
          if (!(yield* interruptEnds(caller))) hung.push(`${ops}/${turns}`) // Effect's forEach: left out
          else if (presence.latest() !== undefined) kept.push(`ops ${ops}, turns ${turns}`)
        }
      }
      expect(kept).toEqual([])
    }))

  it.effect("Fleet: a shard started after the caller gave up never identifies with the given-up presence", () =>
    Effect.gen(function*() {
      const shown: Array<string> = []
      for (const ops of [16, 18, 20, 22, 24]) {
        for (let turns = 0; turns < 4; turns++) {
          yield* Effect.scoped(Effect.gen(function*() {
            yield* configureLimiter(1)
            // no shard is READY while the update is made: it goes out nowhere before its caller gives up
            const served = yield* serve({ readyAfter: 30_000 })
            const fleet = yield* Fleet.make(options({ shardCount: 3, startupWindow: 1 }))
            yield* advance(500)
            const caller = yield* Effect.forkDaemon(fleet.updatePresence(idle).pipe(Effect.withMaxOpsBeforeYield(ops)))
            for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
            if (!(yield* interruptEnds(caller))) return
            // shard 2 starts once shard 1 identified (5 s), and identifies at 10 s
            yield* advance(11_000, 1_000)
            const third = served.identifies.find((identify) => identify.shard === 2)
            if (third?.presence !== undefined) shown.push(`ops ${ops}, turns ${turns}`)
          })).pipe(Effect.provide(TestLayer))
        }
      }
      expect(shown).toEqual([])
    }))
})
