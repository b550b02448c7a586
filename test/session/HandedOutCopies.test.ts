/**
 * What a session or a fleet hands out (a resume point, a snapshot, an error's shard list) is a copy:
 * a program that edits one edits nothing the session or fleet holds.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { nextConnection, readySession, settle, TestLayer } from "../session/harness.ts"
import * as Fleet from "../../src/fleet/Fleet.ts"
import { configureLimiter, options as fleetOptions, serve, TestLayer as FleetTestLayer } from "../fleet/harness.ts"

describe("handed-out points and snapshots are copies", () => {
  // README (Presence): "A presence is kept as a copy once checked ... A program that changes its
  // object afterwards changes nothing the session holds." (Resume points): "A point is plain JSON
  // ... `make` reads each field once". The session copies what it is given (a `shard` array
  // changed after `make` changes nothing), so what it hands back is expected to be data too, not
  // a live handle on its configuration. `pointAfter`'s READY point (and `snapshot.shard`,
  // `session.shard`, `disconnect`'s point) is `resolved.shard` itself (the
  // session's own pair): changing the stored point's
  // pair in place changed the shard the session's next Identify claims.
  it.scoped("a point from pointAfter edited in place does not change the shard the session identifies as", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({ shard: [1, 2] })
      const taken = yield* Stream.runCollect(Stream.take(session.events, 1))
      const point = SessionOptions.pointAfter(undefined, Chunk.unsafeGet(taken, 0))
      expect(point?.shard).toEqual([1, 2])
      // a program's store edits the plain data it was handed (a reshard script, say)
      ;(point!.shard as unknown as Array<number>)[1] = 4
      expect(session.shard).toEqual([1, 2])
      expect((yield* session.snapshot).shard).toEqual([1, 2])
      // the gateway session ends: the next Identify must still say shard [1, 2]
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const { first } = yield* nextConnection
      expect(first.op).toBe(2)
      expect(first.d.shard).toEqual([1, 2])
    }).pipe(Effect.provide(TestLayer)))

  // README (Resume points): "The point's presence is read once, and what `disconnect` says is a
  // copy." Two calls to `disconnect` return one object: a program that edits the first point (its
  // presence, its shard) finds the edit in the point the next stop (or a fleet's `disconnect`)
  // hands back.
  it.scoped("what disconnect says is a copy: editing one returned point leaves the next one as it was", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      yield* session.updatePresence({ since: null, activities: [{ name: "a", type: 0 }], status: "online", afk: false })
      const first = Option.getOrThrow(yield* session.disconnect())
      const edited = first as unknown as { presence: { activities: Array<{ name: string }> }; shard: Array<number> }
      edited.presence.activities[0]!.name = "edited"
      edited.shard[0] = 7
      const second = Option.getOrThrow(yield* session.disconnect())
      expect(second.shard).toEqual([0, 1])
      expect(second.presence).toEqual({ since: null, activities: [{ name: "a", type: 0 }], status: "online", afk: false })
    }).pipe(Effect.provide(TestLayer)))
})

describe("a fleet's error hands out a copy of its shard list", () => {
  // README (Presence on every shard): "Once no shard will show it ... it fails with SessionClosed
  // naming every shard". Its `shards` was the fleet's own list, the
  // array behind `fleet.shardIds`, which the starter reads for each shard's rate-limit key and
  // resume: a program that sorted or reversed the error's list in place rewrote the fleet's.
  it.scoped("editing a SessionClosed's shards leaves fleet.shardIds as it was", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve()
      const fleet = yield* Fleet.make(fleetOptions({ shardCount: 3 }))
      yield* fleet.end()
      const error = yield* Effect.flip(fleet.updatePresence({ since: null, activities: [], status: "idle", afk: false }))
      expect(error._tag).toBe("SessionClosed")
      const shards = (error as { readonly shards: ReadonlyArray<number> }).shards
      expect(shards).toEqual([0, 1, 2])
      ;(shards as Array<number>).reverse()
      expect(fleet.shardIds).toEqual([0, 1, 2])
    }).pipe(Effect.provide(FleetTestLayer)))
})
