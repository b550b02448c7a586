/**
 * `unsent` as a limiter of the program's own sees it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { TransportError } from "../../src/transport/GatewayTransport.ts"
import { firstIdentifyWritten, options, programLimiter, Session, settle } from "../session/harness.ts"

describe("a limiter of the program's own given back a start", () => {
  const store = { givenBack: 0, started: 0 }
  // README (A custom identify limiter): "`unsent` (optional): `identify` may hand `send` a second
  // effect. The session runs it when that Identify was never written (the socket gone between
  // Hello and Identify): Discord spent no session start for it." A limiter of the program's own
  // keeps its count in a store (the reason one is written): giving the start back is a round trip.
  // The session runs `unsent` inline in `send`, which the connection's end interrupts; the socket
  // being gone is why it runs, so the end follows at once and cuts the give-back short: the store
  // keeps a start Discord never spent. (`answered`, by contrast, runs on a fiber of its own.)
  it.scoped("an unsent that takes a store's round trip is run to its end, not cut short by the connection's end", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Session.make(options())
      yield* settle
      const peer = yield* gateway.accept
      const opening = yield* Effect.fork(peer.handshake(3_600_000))
      yield* settle
      expect(store.started).toBe(1)
      // the socket is gone: the Identify's write failed, and the close is read
      yield* peer.drop
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(store.givenBack).toBe(1)
      yield* Fiber.interrupt(opening)
    }).pipe(Effect.provide(Layer.provideMerge(
      firstIdentifyWritten({ identifies: 0 }, () => Effect.fail(new TransportError({ reason: "Send" }))),
      programLimiter({
        identify: (_shard, send) =>
          send(
            Effect.void,
            Effect.zipRight(
              Effect.sync(() => store.started++),
              Effect.zipRight(Effect.sleep("20 millis"), Effect.sync(() => store.givenBack++))
            )
          )
      })
    ))))
})
