import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import * as FleetPresence from "../../src/fleet/FleetPresence.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import type * as Session from "../../src/session/Session.ts"
import { settle } from "../settle.ts"

const presence = (status: Commands.Presence["status"]): Commands.Presence => ({ since: null, activities: [], status, afk: false })

/** A running session whose presence updates never go out (it waits for a ready connection). */
const waiting = { updatePresence: () => Effect.never } as unknown as Session.Session

interface Entry {
  readonly status: string
  readonly sent: Deferred.Deferred<void>
}

/**
 * A session that just started, whose presence updates queue in order (as the outbox does) and go
 * out once `ready` ran (they wait for READY, as a real one's do);
 * `shown` is what went out, in order. `withdrawal`, when given, is waited on by a send given up on
 * (after it left the queue): the interruption of a send takes a while. `answered`, when given, is
 * waited on by a send after it went out before its caller hears of it.
 */
const startingSession = (options: { readonly withdrawal?: Effect.Effect<void>; readonly answered?: Effect.Effect<void> } = {}) =>
  Effect.sync(() => {
    const shown: Array<string> = []
    const queue: Array<Entry> = []
    let isReady = false
    const flush = () => {
      while (queue.length > 0) {
        const entry = queue.shift()!
        shown.push(entry.status)
        Deferred.unsafeDone(entry.sent, Exit.void)
      }
    }
    const session = {
      updatePresence: (given: Commands.Presence) =>
        Effect.suspend(() => {
          const entry: Entry = { status: given.status, sent: Deferred.unsafeMake<void>(FiberId.none) }
          queue.push(entry)
          if (isReady) flush()
          return Effect.onInterrupt(
            Effect.zipRight(Deferred.await(entry.sent), options.answered ?? Effect.void),
            () =>
              Effect.zipRight(
                Effect.sync(() => {
                  const at = queue.indexOf(entry)
                  if (at >= 0) queue.splice(at, 1)
                }),
                options.withdrawal ?? Effect.void
              )
          )
        })
    } as unknown as Session.Session
    const ready = Effect.sync(() => {
      isReady = true
      flush()
    })
    return { session, shown, ready }
  })

describe("FleetPresence", () => {
  it.effect("updates given up on, in any order, leave the presence as if they had never been made", () =>
    Effect.gen(function*() {
      const [initial, idle, dnd, invisible] = [presence("online"), presence("idle"), presence("dnd"), presence("invisible")]
      for (const order of [[0, 1], [1, 0]]) {
        const fleet = FleetPresence.make(initial)
        const updates = [yield* Effect.fork(fleet.update(idle, () => [waiting])), yield* Effect.fork(fleet.update(dnd, () => [waiting]))]
        yield* settle
        expect(fleet.latest()).toBe(dnd)
        yield* Fiber.interrupt(updates[order[0]!]!)
        yield* Fiber.interrupt(updates[order[1]!]!)
        expect(fleet.latest()).toBe(initial)
        // one a session was made with (its Identify not out yet) is given up on like any: it was
        // counted as gone out, and stayed on every shard made during a long startup
        const made = yield* Effect.fork(fleet.update(invisible, () => [waiting]))
        yield* settle
        fleet.madeWith(0, fleet.latest())
        yield* Fiber.interrupt(made)
        expect(fleet.latest()).toBe(initial)
      }
    }))

  // a shard made with the update and started takes it back once given up on: the latest goes to
  // it, which its Identify then carries (the session's `updatePresence` sets it)
  it.scoped("an update a shard was made with, given up on: the shard is sent the presence now latest", () =>
    Effect.gen(function*() {
      const { fleet, ready, shown, start1, update } = yield* twoShards()
      const idle = yield* update("idle")
      yield* settle
      fleet.madeWith(1, fleet.latest())
      yield* start1
      yield* settle
      yield* Fiber.interrupt(idle)
      expect(fleet.latest()?.status).toBe("online")
      yield* ready
      expect(shown()).toEqual(["online", "online"])
    }))

  // with no presence before it, an update that went out is taken back to Discord's default
  // (it stayed: there was no presence to send back)
  it.scoped("an update that went out, given up on where there was no presence before: the shard is sent the default", () =>
    Effect.gen(function*() {
      // its sends go out, and their waits never return (the caller gives up after the write)
      const session = yield* startingSession({ answered: Effect.never })
      const fleet = FleetPresence.make(undefined)
      fleet.madeWith(0, fleet.latest())
      yield* fleet.started(0, session.session)
      yield* session.ready
      const given = yield* Effect.fork(fleet.update(presence("idle"), () => [session.session]))
      yield* settle
      expect(session.shown).toEqual(["idle"])
      yield* Fiber.interrupt(given)
      yield* settle
      expect(fleet.latest()).toBeUndefined()
      expect(session.shown).toEqual(["idle", "online"])
    }))

  it.effect("the running sessions are read once the update is the latest: a shard started just before is sent it, one started after took it", () =>
    Effect.gen(function*() {
      const [initial, idle] = [presence("online"), presence("idle")]
      const fleet = FleetPresence.make(initial)
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
  const twoShards = () =>
    Effect.gen(function*() {
      const [shard0, shard1] = [yield* startingSession(), yield* startingSession()]
      const fleet = FleetPresence.make(presence("online"))
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
  it.scoped("a shard started while an update was on its way, the update given up on: it does not reach it", () =>
    Effect.gen(function*() {
      const { fleet, ready, shown, shown1, start1, update } = yield* twoShards()
      const idle = yield* update("idle")
      yield* settle
      yield* start1
      yield* settle
      yield* Fiber.interrupt(idle)
      expect(fleet.latest()?.status).toBe("online")
      yield* ready
      // at most the presence now latest again: its send given up on may have gone out (its write
      // may have ended before the give-up), so the shard is sent the latest
      expect(shown1.filter((status) => status !== "online")).toEqual([])
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
        const given = { middle: yield* update("dnd"), newer: undefined as Fiber.RuntimeFiber<unknown, unknown> | undefined }
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
  it.scoped("an update taken back to one that is then given up on too: the give-up returns at once, and neither reaches the shard", () =>
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
      // at most the presence now latest again: its send given up on may have gone out (its write
      // may have ended before the give-up), so the shard is sent the latest
      expect(shown1.filter((status) => status !== "online")).toEqual([])
      expect(shown()).toEqual(["online", "online"])
    }))

  // an update made while the take-back of another waited for the withdrawal of a send: the take-back
  // sent the newest it had read before the wait, which went out after the newer one
  it.scoped("an update made while a given-up one's catch-up is being withdrawn: the shard ends showing the fleet's latest", () =>
    Effect.gen(function*() {
      const [online, dnd, idle, invisible] = [presence("online"), presence("dnd"), presence("idle"), presence("invisible")]
      const fleet = FleetPresence.make(online)
      const release = yield* Deferred.make<void>()
      const shard0 = yield* startingSession()
      const shard1 = yield* startingSession({ withdrawal: Deferred.await(release) })
      const live: Array<Session.Session> = [shard0.session]
      fleet.madeWith(1, fleet.latest())
      // `dnd` goes out (no shard runs yet): the latest
      yield* fleet.update(dnd, () => [])
      expect(fleet.latest()).toBe(dnd)
      // `idle`, on its way to shard 0
      const given = yield* Effect.fork(fleet.update(idle, () => live))
      yield* settle
      // shard 1 starts: it missed `idle`, sent to it to catch up
      yield* fleet.started(1, shard1.session)
      live.push(shard1.session)
      yield* settle
      // `idle` given up on: its catch-up to shard 1 is being withdrawn
      const givingUp = yield* Effect.fork(Fiber.interrupt(given))
      yield* settle
      // meanwhile the program sends `invisible` to the running shards
      const newer = yield* Effect.fork(fleet.update(invisible, () => live))
      yield* settle
      yield* Deferred.succeed(release, undefined)
      yield* settle
      yield* Fiber.join(givingUp)
      yield* shard0.ready
      yield* shard1.ready
      yield* settle
      yield* Fiber.join(newer)
      yield* settle
      expect(fleet.latest()).toBe(invisible)
      expect(shard0.shown.at(-1)).toBe("invisible")
      expect({ shown: shard1.shown, last: shard1.shown.at(-1) }).toMatchObject({ last: "invisible" })
    }))

  // the update then latest, on its way to the shard already as a running one, was sent again to
  // catch up: two op 3s where one would do, each taking a place of the presence limit
  it.scoped("the newer of two updates on their way given up on: the older one goes out once", () =>
    Effect.gen(function*() {
      const [online, idle, dnd] = [presence("online"), presence("idle"), presence("dnd")]
      const fleet = FleetPresence.make(online)
      const shard1 = yield* startingSession()
      fleet.madeWith(1, fleet.latest())
      yield* fleet.started(1, shard1.session)
      const live = [shard1.session]
      const older = yield* Effect.fork(fleet.update(idle, () => live))
      const newer = yield* Effect.fork(fleet.update(dnd, () => live))
      yield* settle
      yield* Fiber.interrupt(newer)
      yield* shard1.ready
      yield* settle
      yield* Fiber.join(older)
      yield* settle
      expect(fleet.latest()).toBe(idle)
      expect(shard1.shown).toEqual(["idle"])
    }))

  // a send given up on after its write (a session's `updatePresence` writes on a fiber of its own,
  // which its caller joins) went out: the shard was taken to show the presence before it, and was
  // sent nothing back
  it.scoped("an update given up on after it went out to a shard but before its wait returned: the shard is sent the latest again", () =>
    Effect.gen(function*() {
      const [online, idle] = [presence("online"), presence("idle")]
      const fleet = FleetPresence.make(online)
      const shard1 = yield* startingSession({ answered: Effect.never })
      fleet.madeWith(1, fleet.latest())
      yield* fleet.started(1, shard1.session)
      yield* shard1.ready
      const given = yield* Effect.fork(fleet.update(idle, () => [shard1.session]))
      yield* settle
      expect(shard1.shown).toEqual(["idle"])
      yield* Fiber.interrupt(given)
      yield* settle
      expect(fleet.latest()).toBe(online)
      expect(shard1.shown.at(-1)).toBe("online")
    }))

  // a program's update scheduled before a shard's catch-up first ran, in the step the shard started
  it.scoped("an update made by a fiber scheduled before a shard's catch-up first ran: the shard ends showing the newer one", () =>
    Effect.gen(function*() {
      const [online, idle, dnd] = [presence("online"), presence("idle"), presence("dnd")]
      const fleet = FleetPresence.make(online)
      const shard0 = yield* startingSession()
      const shard1 = yield* startingSession()
      const live: Array<Session.Session> = [shard0.session]
      fleet.madeWith(1, fleet.latest())
      const older = yield* Effect.fork(fleet.update(idle, () => live))
      yield* settle
      // the program's update is scheduled; in the same step shard 1 starts (as the Starter does)
      const newer = yield* Effect.fork(fleet.update(dnd, () => live))
      live.push(shard1.session)
      yield* fleet.started(1, shard1.session)
      yield* settle
      yield* shard0.ready
      yield* shard1.ready
      yield* settle
      yield* Fiber.join(older)
      yield* Fiber.join(newer)
      expect(fleet.latest()).toBe(dnd)
      expect(shard0.shown).toEqual(["idle", "dnd"])
      expect(shard1.shown.at(-1)).toBe("dnd")
    }))

  // the shard's scope closed (the fleet stopping) with a catch-up on its way, then the update
  // given up on: the give-up returns, and nothing more is sent
  it.scoped("a shard's scope closed with its catch-up on its way, the update then given up on: nothing is sent, nothing hangs", () =>
    Effect.gen(function*() {
      const [online, idle] = [presence("online"), presence("idle")]
      const fleet = FleetPresence.make(online)
      const shard0 = yield* startingSession()
      const shard1 = yield* startingSession()
      const live: Array<Session.Session> = [shard0.session]
      fleet.madeWith(1, fleet.latest())
      const given = yield* Effect.fork(fleet.update(idle, () => live))
      yield* settle
      const scope = yield* Scope.make()
      yield* Scope.extend(fleet.started(1, shard1.session), scope)
      live.push(shard1.session)
      yield* settle
      yield* Scope.close(scope, Exit.void)
      const givingUp = yield* Effect.fork(Fiber.interrupt(given))
      yield* settle
      expect(givingUp.unsafePoll()).not.toBeNull()
      yield* shard0.ready
      yield* shard1.ready
      yield* settle
      expect(fleet.latest()).toBe(online)
      expect(shard0.shown).toEqual([])
      expect(shard1.shown).toEqual([])
    }))

  // with no presence before, a shard made with an update given up on is taken back to the default
  it.scoped("a shard made with an update given up on before it started, the fleet having no presence: it is sent the default", () =>
    Effect.gen(function*() {
      const fleet = FleetPresence.make(undefined)
      const given = yield* Effect.fork(fleet.update(presence("idle"), () => [waiting]))
      yield* settle
      // shard 1 is made now: its Identify would carry `idle`
      fleet.madeWith(1, fleet.latest())
      yield* Fiber.interrupt(given)
      expect(fleet.latest()).toBeUndefined()
      const shard1 = yield* startingSession()
      yield* fleet.started(1, shard1.session)
      yield* shard1.ready
      yield* settle
      expect(shard1.shown).toEqual(["online"])
    }))

  // `started` registers the shard at the call and has its scope once its effect runs: a give-up
  // between the two (the fleet runs it a yield apart) took the shard back with no scope to send in,
  // and the effect then sent what it had read at the call: nothing, the shard keeping the update
  it.scoped("a shard started (called, its effect not run yet) with an update given up on in between: it is sent the presence now latest", () =>
    Effect.gen(function*() {
      const fleet = FleetPresence.make(presence("online"))
      const live: Array<Session.Session> = [waiting]
      const given = yield* Effect.fork(fleet.update(presence("idle"), () => live))
      yield* settle
      fleet.madeWith(1, fleet.latest())
      const shard1 = yield* startingSession()
      live.push(shard1.session)
      const starting = fleet.started(1, shard1.session)
      yield* Fiber.interrupt(given)
      expect(fleet.latest()?.status).toBe("online")
      yield* starting
      yield* shard1.ready
      yield* settle
      expect(shard1.shown).toEqual(["online"])
    }))

  // read as the effect was built, before any send ran, the count was always 0
  it.effect("update says how many sessions it went out on", () =>
    Effect.gen(function*() {
      const presence: Commands.Presence = { since: null, activities: [], status: "idle", afk: false }
      const fleetPresence = FleetPresence.make(undefined)
      const session = { updatePresence: () => Effect.void } as unknown as Session.Session
      const other = { updatePresence: () => Effect.void } as unknown as Session.Session
      expect(yield* fleetPresence.update(presence, () => [session, other])).toBe(2)
    }))
})
