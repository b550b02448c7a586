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

  // A fleet's shards: shard 0 running, shard 1 made with the presence of now (its Identify carries
  // `online`) and started when told; `running` lists them as the fleet does, at each call.
  const twoShards = (resumes: (id: number) => boolean = () => false) =>
    Effect.gen(function*() {
      const [shard0, shard1] = [yield* startingSession, yield* startingSession]
      const fleet = FleetPresence.make(presence("online"), resumes)
      const live = [shard0.session]
      fleet.madeWith(1, fleet.latest())
      // what it missed is read at the call, as the fleet calls it: when shard 1 starts
      const start1 = Effect.suspend(() => Effect.zipRight(fleet.started(1, shard1.session), Effect.sync(() => void live.push(shard1.session))))
      const ready = Effect.zipRight(Effect.zipRight(shard0.ready, shard1.ready), settle)
      const update = (status: Commands.Presence["status"]) => Effect.fork(fleet.update(presence(status), () => live))
      const shown = () => [shard0.shown.at(-1) ?? "online", shard1.shown.at(-1) ?? "online"]
      return { fleet, start1, ready, update, shown, shown1: shard1.shown }
    })

  // a shard started while an update was on its way is sent it on a fiber of the fleet's scope: an
  // update given up on must not reach it there either (it showed the presence no other shard did)
  it.scoped("a shard started while an update was on its way, the update given up on: nothing reaches it", () =>
    Effect.gen(function*() {
      const { fleet, ready, shown, shown1, start1, update } = yield* twoShards()
      const idle = yield* update("idle")
      yield* settle
      yield* start1
      yield* settle
      yield* Fiber.interrupt(idle)
      expect(fleet.latest()?.status).toBe("online")
      yield* ready
      expect(shown1).toEqual([])
      expect(shown()).toEqual(["online", "online"])
    }))

  it.scoped("given up on while its send to a shard that started meanwhile waits, an update is taken back to the older one it missed", () =>
    Effect.gen(function*() {
      const { fleet, ready, shown, shown1, start1, update } = yield* twoShards()
      const idle = yield* update("idle")
      const dnd = yield* update("dnd")
      yield* settle
      yield* start1
      yield* settle
      yield* Fiber.interrupt(dnd)
      expect(fleet.latest()?.status).toBe("idle")
      yield* ready
      yield* Fiber.join(idle)
      expect(shown1).toEqual(["idle"])
      expect(shown()).toEqual(["idle", "idle"])
    }))

  // in either order: the shard was sent the newest of them as a running one, not to catch up
  for (const order of [["newer", "middle"], ["middle", "newer"]] as const) {
    it.scoped(`two updates given up on (${order.join(" first, then ")}), the newer sent to a shard that started meanwhile: it gets the presence now latest`, () =>
      Effect.gen(function*() {
        const { fleet, ready, shown, start1, update } = yield* twoShards()
        const idle = yield* update("idle")
        const given = { middle: yield* update("dnd"), newer: undefined as Fiber.RuntimeFiber<void, unknown> | undefined }
        yield* settle
        yield* start1
        yield* settle
        given.newer = yield* update("invisible")
        yield* settle
        for (const which of order) yield* Fiber.interrupt(given[which]!)
        expect(fleet.latest()?.status).toBe("idle")
        yield* ready
        yield* Fiber.join(idle)
        expect(shown()).toEqual(["idle", "idle"])
      }))
  }

  // the send taking a withdrawn update back runs where interruption was off (the exit of the update
  // given up on): it must stay interruptible, or giving up on the next waits for the shard's READY
  it.scoped("an update taken back to one that is then given up on too: the give-up returns at once, and nothing reaches the shard", () =>
    Effect.gen(function*() {
      const { fleet, ready, shown, shown1, start1, update } = yield* twoShards()
      const idle = yield* update("idle")
      const dnd = yield* update("dnd")
      yield* settle
      yield* start1
      yield* settle
      yield* Fiber.interrupt(dnd)
      const givingUp = yield* Effect.fork(Fiber.interrupt(idle))
      yield* settle
      expect(givingUp.unsafePoll()).not.toBeNull()
      expect(fleet.latest()?.status).toBe("online")
      yield* ready
      expect(shown1).toEqual([])
      expect(shown()).toEqual(["online", "online"])
    }))

  // a Resume carries no presence: a resumed shard made while an update was on its way did not carry
  // it (the update was counted as gone out, so it stayed the latest once given up on)
  it.scoped("a resumed shard made while an update was on its way, the update given up on: as if it had never been made", () =>
    Effect.gen(function*() {
      const { fleet, ready, shown, start1, update } = yield* twoShards((id) => id === 1)
      const idle = yield* update("idle")
      yield* settle
      yield* start1
      yield* settle
      yield* Fiber.interrupt(idle)
      expect(fleet.latest()?.status).toBe("online")
      yield* ready
      expect(shown()).toEqual(["online", "online"])
    }))
})
