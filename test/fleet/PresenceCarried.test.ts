/**
 * A fleet's presence update given up on after an Identify carried it: the session does not tell
 * the fleet it was withdrawn (the Identify may have gone out with it, or, refused by the socket,
 * its presence is carried by the next), so the fleet takes it back and the shard ends showing the
 * fleet's latest.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TransportError } from "../../src/transport/GatewayTransport.ts"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import { settle } from "../settle.ts"
import { advance, options, serve, TestLayerWith } from "./harness.ts"

const named = (name: string): Commands.Presence => ({ since: null, activities: [{ name, type: 0 }], status: "online", afk: false })
const nameOf = (presence: unknown) => (presence as { activities?: Array<{ name: string }> } | undefined)?.activities?.[0]?.name ?? "(none)"

// the Identify's write ends 2 s after the gateway got it (a slow socket callback / proxy)
const slowIdentify = TestLayerWith((connection) => ({
  ...connection,
  send: (frame) =>
    Effect.zipRight(connection.send(frame), typeof frame === "string" && frame.startsWith(`{"op":2,`) ? Effect.sleep("2 seconds") : Effect.void)
}))

describe("a fleet presence update given up on after an Identify carried it", () => {
  // the update `u` waits in shard 0's outbox while the shard identifies again after op 9; the
  // Identify carries `u` (the session's latest); the caller gives up while the Identify is being
  // written (before its wait ends). Told withdrawn, the fleet believed shard 0 showed `p0` and sent
  // nothing back: the shard kept the given-up `u` (rereview111)
  it.scoped("an update carried by an Identify, then given up on, is taken back (the shard ends showing the fleet's latest)", () =>
    Effect.gen(function*() {
      const served = yield* serve({ readyAfter: 10_000 })
      const fleet = yield* Fleet.make(options({ shardCount: 1, presence: named("p0") }))
      yield* advance(15_000)
      expect(served.identifies.length).toBe(1)
      expect(nameOf(served.identifies[0]!.presence)).toBe("p0")
      // op 9: the session identifies again 1-5 s later
      yield* served.peers.get(0)!.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* advance(200, 100)
      const sentBefore = (served.commands.get(0) ?? []).length
      const caller = yield* Effect.fork(fleet.updatePresence(named("u")))
      yield* settle
      // until the second Identify reached the gateway (its write still going on)
      for (let i = 0; i < 100 && served.identifies.length < 2; i++) {
        yield* advance(100, 100)
      }
      expect(served.identifies.length).toBe(2)
      // `u` did not go out as op 3 on the old connection
      expect((served.commands.get(0) ?? []).length).toBe(sentBefore)
      expect(nameOf(served.identifies[1]!.presence)).toBe("u")
      const before = (served.commands.get(0) ?? []).length
      expect(caller.unsafePoll()).toBeNull()
      yield* Effect.forkDaemon(Fiber.interrupt(caller))
      yield* settle
      yield* advance(60_000, 1_000)
      const after = (served.commands.get(0) ?? []).slice(before).filter((c) => c.op === 3).map((c) => nameOf(c.d))
      const shows = after.length > 0 ? after[after.length - 1] : nameOf(served.identifies[1]!.presence)
      expect(shows).toBe("p0")
    }).pipe(Effect.provide(slowIdentify)))

  // the same with a wide window: the Identify that carried `u` is refused by the socket, the session
  // reconnects after its backoff, and the caller gives up meanwhile. Its next Identify carries `u`
  // again (the session counted `u` as carried), while the fleet, told withdrawn, believed `p0`
  // (rereview111)
  it.scoped("an update carried by a refused Identify, given up on before the next Identify, is taken back", () => {
    let identifies = 0
    const refuseSecondIdentify = TestLayerWith((connection) => ({
      ...connection,
      send: (frame) => {
        if (typeof frame === "string" && frame.startsWith(`{"op":2,`) && ++identifies === 2) {
          return Effect.zipRight(connection.close(4000, "gone"), Effect.fail(new TransportError({ reason: "Send" })))
        }
        return connection.send(frame)
      }
    }))
    return Effect.gen(function*() {
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 1, presence: named("p0") }))
      yield* advance(5_000)
      expect(served.identifies.length).toBe(1)
      yield* served.peers.get(0)!.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* advance(200, 100)
      const caller = yield* Effect.fork(fleet.updatePresence(named("u")))
      yield* settle
      for (let i = 0; i < 100 && identifies < 2; i++) yield* advance(100, 100)
      expect(identifies).toBe(2)
      expect(served.identifies.length).toBe(1)
      expect(caller.unsafePoll()).toBeNull()
      const before = (served.commands.get(0) ?? []).length
      yield* Effect.forkDaemon(Fiber.interrupt(caller))
      yield* settle
      yield* advance(120_000, 1_000)
      expect(served.identifies.length).toBe(2)
      const after = (served.commands.get(0) ?? []).slice(before).filter((c) => c.op === 3).map((c) => nameOf(c.d))
      const shows = after.length > 0 ? after[after.length - 1] : nameOf(served.identifies[1]!.presence)
      expect(shows).toBe("p0")
    }).pipe(Effect.provide(refuseSecondIdentify))
  })
})
