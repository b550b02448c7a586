import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FleetPresence from "../../src/fleet/FleetPresence.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import type * as Session from "../../src/session/Session.ts"
import { settle } from "../settle.ts"

const presence = (status: Commands.Presence["status"]): Commands.Presence => ({ since: null, activities: [], status, afk: false })

/** A running session whose presence updates never go out (it waits for a ready connection). */
const waiting = { updatePresence: () => Effect.never } as unknown as Session.Session

/**
 * A session that just started, whose presence updates go out once `ready` ran (they wait for
 * READY, as a real one's do); `shown` is what it shows.
 */
const startingSession = Effect.map(Deferred.make<void>(), (isReady) => {
  const shown: Array<string> = []
  const session = {
    updatePresence: (given: Commands.Presence) => Effect.zipRight(Deferred.await(isReady), Effect.sync(() => void shown.push(given.status)))
  } as unknown as Session.Session
  return { ready: Deferred.succeed(isReady, undefined), session, shown }
})

describe("FleetPresence", () => {
  it.effect("updates given up on, in any order, leave the presence as if they had never been made", () =>
    Effect.gen(function*() {
      const [initial, idle, dnd, invisible] = [presence("online"), presence("idle"), presence("dnd"), presence("invisible")]
      for (const order of [[0, 1], [1, 0]]) {
        const fleet = FleetPresence.make(initial, () => false)
        const updates = [yield* Effect.fork(fleet.update(idle, () => [waiting])), yield* Effect.fork(fleet.update(dnd, () => [waiting]))]
        yield* settle
        expect(fleet.latest()).toBe(dnd)
        yield* Fiber.interrupt(updates[order[0]!]!)
        yield* Fiber.interrupt(updates[order[1]!]!)
        expect(fleet.latest()).toBe(initial)
        // one a session was made with went out: given up on later, it stays
        const carried = yield* Effect.fork(fleet.update(invisible, () => [waiting]))
        yield* settle
        fleet.madeWith(0, fleet.latest())
        yield* Fiber.interrupt(carried)
        expect(fleet.latest()).toBe(invisible)
      }
    }))

  it.effect("an update a shard was made with stays the latest, given up on, though an older update is still on its way", () =>
    Effect.gen(function*() {
      const [initial, idle, dnd] = [presence("online"), presence("idle"), presence("dnd")]
      const fleet = FleetPresence.make(initial, () => false)
      const older = yield* Effect.fork(fleet.update(idle, () => [waiting]))
      const newer = yield* Effect.fork(fleet.update(dnd, () => [waiting]))
      yield* settle
      fleet.madeWith(0, fleet.latest())
      yield* Fiber.interrupt(newer)
      expect(fleet.latest()).toBe(dnd)
      yield* Fiber.interrupt(older)
      expect(fleet.latest()).toBe(dnd)
    }))

  it.effect("the running sessions are read once the update is the latest: a shard started just before is sent it, one started after took it", () =>
    Effect.gen(function*() {
      const [initial, idle] = [presence("online"), presence("idle")]
      const fleet = FleetPresence.make(initial, () => false)
      const sent: Array<string> = []
      const session = { updatePresence: (given: Commands.Presence) => Effect.sync(() => void sent.push(given.status)) } as unknown as Session.Session
      // a list read before the update left out a shard started between the two, which took the
      // presence before the update: sent neither
      let latestWhenRead: Commands.Presence | undefined
      yield* fleet.update(idle, () => {
        latestWhenRead = fleet.latest()
        return [session]
      })
      expect(latestWhenRead).toBe(idle)
      expect(sent).toEqual(["idle"])
    }))

  // a shard started while an update was on its way is sent it on a fiber of the fleet's scope: an
  // update given up on must not reach it there either (it showed the presence no other shard did)
  it.scoped("a shard started while an update was on its way: given up on, the update does not reach it; an older one it missed does", () =>
    Effect.gen(function*() {
      const [initial, idle, dnd] = [presence("online"), presence("idle"), presence("dnd")]
      const fleet = FleetPresence.make(initial, () => false)
      const { ready, session: starting, shown } = yield* startingSession
      fleet.madeWith(1, fleet.latest())
      // `idle` goes out to the running shard 0 (it is sent to shard 1 too, as shard 1 started after it)
      const older = yield* Effect.fork(fleet.update(idle, () => [waiting]))
      const newer = yield* Effect.fork(fleet.update(dnd, () => [waiting]))
      yield* settle
      yield* fleet.started(1, starting)
      yield* settle
      // `dnd` is given up on: shard 1 is sent the presence latest now, `idle`, which it missed
      yield* Fiber.interrupt(newer)
      expect(fleet.latest()).toBe(idle)
      yield* ready
      yield* settle
      expect(shown).toEqual(["idle"])
      // `idle` given up on too, its send to shard 1 having gone out: nothing more to redirect
      yield* Fiber.interrupt(older)
      yield* settle
      expect(fleet.latest()).toBe(initial)
      expect(shown).toEqual(["idle"])
    }))

  it.scoped("a shard started while an update was on its way, the update given up on: nothing reaches it when it shows the presence now latest", () =>
    Effect.gen(function*() {
      const [initial, idle] = [presence("online"), presence("idle")]
      const fleet = FleetPresence.make(initial, () => false)
      const { ready, session: starting, shown } = yield* startingSession
      fleet.madeWith(1, fleet.latest())
      const update = yield* Effect.fork(fleet.update(idle, () => [waiting]))
      yield* settle
      yield* fleet.started(1, starting)
      yield* settle
      yield* Fiber.interrupt(update)
      expect(fleet.latest()).toBe(initial)
      yield* ready
      yield* settle
      expect(shown).toEqual([])
    }))
})
