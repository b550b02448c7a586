/**
 * Nothing is written on a connection the session is ending, the Identify included, under a
 * transport whose close takes 5 s (as test/session/SlowClose.test.ts models it) and a limiter whose
 * turn comes 3 s after the Identify began to wait.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { IdentifyLimiter } from "../../src/limits/IdentifyLimiter.ts"
import * as Session from "../../src/session/Session.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { hello, nextConnection, options, settle, slowClosing } from "./harness.ts"

let slow = true

// a program's transport whose frames end as its close begins, and whose socket lets go 5 s later;
// and an identify limiter whose turn comes 3 s after the Identify began to wait
const Slow = Layer.mergeAll(
  slowClosing(() => slow),
  Layer.succeed(IdentifyLimiter, {
    configure: () => Effect.void,
    identify: (_shard, send) => Effect.zipRight(Effect.sleep("3 seconds"), send(Effect.void)),
    snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
  }),
  FetchHttpClient.layer
)

const unblock = Effect.zipRight(Effect.sync(() => {
  slow = false
}), TestClock.adjust("1 minute"))

describe("a connection the session is ending", () => {
  // an Identify whose turn came while the slow close ran went out on the closing socket: a session
  // start spent for a session no one takes (the next connection identifies again)
  it.scoped("an Identify whose limiter turn comes while the connection is being ended (op 7 read, slow close) is not written on it", () =>
    Effect.gen(function*() {
      slow = true
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options())
      const peer = yield* gateway.accept
      yield* peer.sendJson(hello(3_600_000))
      yield* settle
      // the Identify waits for its turn (3 s); the gateway says reconnect meanwhile
      yield* peer.sendJson({ op: 7, d: null })
      yield* settle
      yield* TestClock.adjust("4 seconds")
      yield* settle
      const ops = Chunk.toReadonlyArray(yield* peer.takeAll).map((frame) => JSON.parse(String(frame)).op)
      // the next connection identifies (again: a second session start where the first was spent)
      const next = yield* nextConnection
      expect({ identifyOnEnded: ops.includes(2), nextOpensWith: next.first.op }).toEqual({ identifyOnEnded: false, nextOpensWith: 2 })
    }).pipe(Effect.ensuring(unblock), Effect.withRandom(Random.fixed([0.5])), Effect.provide(Slow)))
})
