/**
 * Whether a connection counted as stable (`backoff.stableAfter`) is decided by when it ended, not
 * by when its socket finished closing.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import type * as Outage from "../../src/session/Outage.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { acceptAndHello, options, ready, Session, settle, slowClosing } from "./harness.ts"

// a socket that lets go 900 ms after its close starts: the live WsTransport waits up to
// `closeGraceMs` (1 s) for the peer's close frame before it terminates
let slow = true
const SlowCloseLayer = Layer.mergeAll(slowClosing(() => slow, "900 millis"), IdentifyLimiter.layerMemory, FetchHttpClient.layer)

const recorder = () => {
  const calls: Array<string> = []
  const push = (call: string) => Effect.sync(() => void calls.push(call))
  const outage: Outage.Outage = {
    failed: (reason) => push(`failed ${reason._tag}`),
    unanswered: push("unanswered"),
    ready: push("ready"),
    dropped: (reason) => push(`dropped ${reason._tag}`),
    lasted: push("lasted"),
    heldBack: (n) => push(`heldBack ${n}`),
    lost: () => push("lost"),
    ended: push("ended")
  }
  return { calls, outage }
}

describe("a connection's stability, at its end", () => {
  // judged once its socket had closed, one ended just under a minute after READY whose close took
  // a second was stable: its backoff started over, and it escaped the unstable count
  it.scoped("a connection op 7 ends 59.5 s after READY is counted as dropped, not lasted, when its close takes 900 ms", () =>
    Effect.gen(function*() {
      slow = true
      const { calls, outage } = recorder()
      const resolved = yield* SessionOptions.resolve(options({ timeouts: { hello: "1 hour" } }))
      yield* Session.makeWith(resolved, { outage })
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* TestClock.adjust("59500 millis")
      yield* settle
      yield* peer.sendJson({ op: 7, d: null, s: null, t: null })
      yield* settle
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      expect(calls).toEqual(["ready", "dropped Reconnect"])
    }).pipe(
      Effect.ensuring(Effect.zipRight(Effect.sync(() => {
        slow = false
      }), TestClock.adjust("1 minute"))),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(SlowCloseLayer)
    ))
})
