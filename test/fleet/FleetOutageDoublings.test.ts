/** FleetOutage's counts told at doublings: shards waiting on an Identify, held back, sessions lost. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FleetOutage from "../../src/fleet/FleetOutage.ts"
import { Reason } from "../../src/session/SessionState.ts"
import { captured } from "../logLines.ts"

const loud = (lines: ReadonlyArray<string>) => lines.filter((line) => !line.startsWith("DEBUG"))

describe("FleetOutage doublings", () => {
  // the waiting lines as before: 1, 2, then a ready of the last one told tells it once
  it.effect("waiting on Identify: told at 1 and 2 shards, the last one's READY told, then starts over", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const fleet = FleetOutage.make()
      const a = fleet.of(0)
      const b = fleet.of(1)
      yield* a.unanswered
      yield* b.unanswered
      yield* a.ready
      yield* b.ready
      yield* a.unanswered
      const told = loud(lines)
      expect(told.filter((l) => l.includes("no READY within")).length).toBe(3)
      expect(told.filter((l) => l.includes("every shard waiting on")).length).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  // a held-back shard that ends is left silently, the count starts over; one whose
  // connection lasted is told
  it.effect("held back: ended is silent and starts the count over; lasted tells it", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const fleet = FleetOutage.make()
      const a = fleet.of(0)
      yield* a.heldBack(3, 120_000)
      yield* a.ended
      expect(loud(lines).some((l) => l.includes("no shard held back"))).toBe(false)
      const b = fleet.of(1)
      yield* b.heldBack(3, 120_000)
      expect(loud(lines).filter((l) => l.includes("held back past the backoff")).length).toBe(2)
      yield* b.lasted
      expect(loud(lines).filter((l) => l.includes("no shard held back any more")).length).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  // a shard counted at once for a long wait (a 429 asking an hour) that then failed three times
  // more failed four in a row, as a session alone says; the fleet's line said one
  it.effect("a shard counted at once for a long wait goes on counting: the ready line names its whole run", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const shard = FleetOutage.make().of(0)
      yield* shard.failed(Reason.ConnectFailed({ message: "HTTP 429; retry after 3600 s", retryAfter: 3600 }))
      for (let i = 0; i < 3; i++) yield* shard.failed(Reason.ConnectFailed({ message: "refused" }))
      yield* shard.ready
      expect(loud(lines).at(-1)).toBe("INFO every shard ready again; the longest failed 4 attempts in a row")
    }).pipe(Effect.provide(layer))
  })

  // lost sessions told at 1, 2, 4, 8 whatever shards ended between
  it.effect("lost sessions: told at 1, 2, 4, 8 over shards that end", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const fleet = FleetOutage.make()
      for (let i = 0; i < 9; i++) {
        const shard = fleet.of(i)
        yield* shard.lost(describeLost(), 5)
        yield* shard.ended
      }
      const told = loud(lines).filter((l) => l.includes("lost since the fleet started")).map((l) => l.split(" ")[1])
      expect(told).toEqual(["1", "2", "4", "8"])
    }).pipe(Effect.provide(layer))
  })
})

const describeLost = () => String(Reason.InvalidSession({ resumable: false })._tag)
