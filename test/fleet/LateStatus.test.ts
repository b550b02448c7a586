/**
 * A fleet's `statusChanges` read late gives each shard's transitions as a reader that keeps up
 * sees them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type { ShardStatus } from "../../src/fleet/ShardStatus.ts"
import { advance, configureLimiter, options, serve, settle, TestLayer } from "../fleet/harness.ts"

// each shard's statuses, as `state/reason` in order
const byShard = (lines: ReadonlyArray<ShardStatus>, count: number) =>
  Array.from({ length: count }, (_, shard) => lines.filter((line) => line.shard === shard).map((line) => `${line.state._tag}/${line.reason._tag}`))

// what a pull gives while it gives something: the statuses waiting now
const drain = (pull: Effect.Effect<Chunk.Chunk<ShardStatus>, unknown>) =>
  Effect.gen(function*() {
    const taken: Array<ShardStatus> = []
    while (true) {
      const next = yield* Effect.fork(pull)
      yield* settle
      const exit = next.unsafePoll()
      if (exit === null) {
        yield* Fiber.interrupt(next)
        return taken
      }
      if (exit._tag === "Failure") return taken
      taken.push(...exit.value)
    }
  })

describe("statusChanges read late", () => {
  // a reader begun right after `make` (as the README's wait for every shard is) that took its
  // statuses later lost, for a fleet of more shards than the merged stream buffers (16), the
  // transitions of each shard queued when it began between that shard's start and its catching
  // up: Queued, then Connected/Ready (the wait counts a shard once it has been ready: one ready
  // and dropped before a late reader caught up was never counted)
  it.scoped("a late reader of a 20-shard fleet sees every queued shard's transitions, as a reader that keeps up does", () =>
    Effect.gen(function*() {
      const count = 20
      yield* configureLimiter(4)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: count }))
      yield* Effect.forkScoped(Stream.runDrain(fleet.events))
      const fast: Array<ShardStatus> = []
      yield* Effect.forkScoped(Stream.runForEach(fleet.statusChanges, (line) => Effect.sync(() => void fast.push(line))))
      // begun at once, then read once startup is over
      const pull = yield* Stream.toPull(fleet.statusChanges)
      const late = Chunk.toArray(yield* pull)
      yield* advance(30_000)
      late.push(...(yield* drain(pull)))
      // the shards queued when both readers began (the first four took the window's places):
      // each connected, was answered and got READY, as the reader that kept up saw
      const queued = (lines: ReadonlyArray<ShardStatus>) => byShard(lines, count).slice(4)
      const path = ["Disconnected/Queued", "ConnectingHttp/Start", "ConnectingWs/Opened", "Connected/Hello", "Connected/Ready"]
      expect(queued(fast)).toEqual(Array.from({ length: count - 4 }, () => path))
      expect(queued(late)).toEqual(Array.from({ length: count - 4 }, () => path))
    }).pipe(Effect.provide(TestLayer)))
})
