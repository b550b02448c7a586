/**
 * The `Session.run` and `Session.identify` spans never end with a defect that quotes the token (a
 * tracer exports a span's exit as its status and an exception event).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { recordingTracer } from "./recordingTracer.ts"
import { options, secret, Session, settle } from "./harness.ts"

const quotingLimiter = Layer.mergeAll(
  MemoryTransport.layer,
  FetchHttpClient.layer,
  Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
    configure: () => Effect.void,
    identify: () => Effect.die(new Error(`lock store unreachable for key identify:${secret}`)),
    snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] })
  } satisfies Context.Tag.Service<IdentifyLimiter.IdentifyLimiter>)
)

describe("spans of a session a limiter's defect ended", () => {
  it.scoped("no span's exit holds the token the defect quoted", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const session = yield* Session.make(options())
      const gateway = yield* MemoryTransport.MemoryGateway
      const peer = yield* gateway.accept
      yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null })
      yield* settle
      yield* Effect.exit(session.await)
      const holding = spans
        .filter((span) => span.ended !== undefined && Exit.isFailure(span.ended) && Cause.pretty(span.ended.cause).includes(secret.slice(0, 24)))
        .map((span) => span.name)
      expect(spans.some((span) => span.name === "Session.run" && span.ended !== undefined)).toBe(true)
      expect(holding).toEqual([])
    }).pipe(Effect.withTracer(tracer), Effect.provide(quotingLimiter))
  })
})
