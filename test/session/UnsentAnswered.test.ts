/**
 * `unsent`, the start an Identify never written gives back.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { TransportError } from "../../src/transport/GatewayTransport.ts"
import { acceptAndHello, firstIdentifyWritten, options, ready, Session, settle, TestLayer } from "../session/harness.ts"

const hour = 3600_000

describe("an Identify answered, whatever became of its write", () => {
  // README (A custom identify limiter): "The session runs it when that Identify was never written
  // (the socket gone between Hello and Identify): Discord spent no session start for it."
  // Connection.ts's own onExit says "One READY answered went out, whatever became of its write":
  // an Identify the gateway answered with READY spent a start, even if its write was then reported
  // failed (WsTransport fails a write told late whose TCP socket was destroyed meanwhile). The
  // start must stay counted: given back, the limiter believes in a start Discord no longer has
  // (identifying past the budget gets the token reset).
  it.scoped("an Identify answered with READY keeps its start counted even if its write then failed", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 100, remaining: 50, resetAfter: 10 * hour })
      yield* Session.make(options())
      yield* settle
      const { peer, first } = yield* acceptAndHello(hour)
      expect(first.op).toBe(2)
      // the gateway got the Identify and answers READY while the client's write is still told
      yield* peer.sendJson(ready())
      yield* settle
      expect((yield* limiter.snapshot).budget?.remaining).toBe(49)
      // then the transport tells the write failed (the socket destroyed under it)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect((yield* limiter.snapshot).budget?.remaining).toBe(49)
    }).pipe(
      Effect.provide(
        Layer.provideMerge(
          firstIdentifyWritten({ identifies: 0 }, (plain) =>
            Effect.zipRight(plain, Effect.zipRight(Effect.sleep("1 second"), Effect.fail(new TransportError({ reason: "Send" }))))),
          TestLayer
        )
      )
    ))
})
