/**
 * `Fleet.updatePresence` given up on (its caller interrupted) at any step before it went out
 * anywhere is forgotten, so the shards that start later identify without it (interrupted between
 * being added and being watched, it stayed the latest). The interruption lands at every step by the
 * scheduler turns before it, with the runtime yielding every few operations (as
 * test/session/Stopping.test.ts does for `Session.make`).
 *
 * Some of those steps make the interruption itself never end: that is Effect's own
 * `Effect.forEach({ concurrency: "unbounded" })` (it does so around `Effect.never` too, without this
 * library), so those steps are left out here (`hung`), not counted as findings. Also: an update
 * given up on is taken back from a shard whose outbox let it overtake an older one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as FleetPresence from "../../src/fleet/FleetPresence.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import type * as Session from "../../src/session/Session.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { settle } from "../settle.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"

const named = (name: string): Commands.Presence => ({ since: null, activities: [{ name, type: 0 }], status: "online", afk: false })

const presencesOf = (commands: ReadonlyArray<{ readonly op: number; readonly d: unknown }> | undefined) =>
  (commands ?? []).filter((c) => c.op === 3).map((c) => (c.d as { activities: Array<{ name: string }> }).activities[0]?.name ?? "(none)")

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
          const presence = FleetPresence.make(undefined)
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

  // On shard 0, `x` and then `y` wait for the presence limit; `y` goes out in the place `x` waited
  // for (the outbox's overtaking), and both waits end, `x`'s perhaps last: the shard was taken to
  // show `x`, and when `y` was given up on it was sent nothing back
  it.scoped("an update overtaken in a shard's outbox, the newer given up on: the shard is taken back to the latest", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const gateway = yield* MemoryTransport.MemoryGateway
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(1_000)
      expect(served.peers.size).toBe(2)
      // the presence limit of both shards used up (5 per 21 s)
      for (let i = 1; i <= 5; i++) yield* fleet.updatePresence(named(`p${i}`))
      // shard 1 drops, and its connects hang from now on
      yield* gateway.hangNextConnect(Infinity)
      yield* served.peers.get(1)!.drop
      yield* advance(1_000)
      const x = yield* Effect.fork(fleet.updatePresence(named("x")))
      yield* settle
      const y = yield* Effect.fork(fleet.updatePresence(named("y")))
      yield* settle
      // shard 0's limit frees at about 22 s: `y` overtakes `x`
      yield* advance(22_000, 1_000)
      expect(presencesOf(served.commands.get(0)).slice(-1)).toEqual(["y"])
      // `y` given up on (it has not reached shard 1)
      yield* Fiber.interrupt(y)
      yield* advance(25_000, 1_000)
      // shard 1 comes back: it is sent `x`
      yield* gateway.acceptConnects
      yield* advance(60_000, 1_000)
      yield* Fiber.join(x)
      expect(presencesOf(served.commands.get(1)).slice(-1)).toEqual(["x"])
      // shard 0 shows `x` again, the latest (it was left showing `y`)
      expect(presencesOf(served.commands.get(0)).slice(-1)).toEqual(["x"])
    }).pipe(Effect.provide(TestLayer)))
})
