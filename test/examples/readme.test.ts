// The README's examples, run as tests so they stay true.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { IdentifyLimiter, Intents, Session } from "../../src/index.ts"
import { MemoryTransport } from "../../src/testing/index.ts"

// README: "Testing your bot" — a heartbeat timeout under TestClock, on the in-memory transport.
const TestServices = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer)

it.scoped("a connection whose heartbeats go unanswered is replaced, and the session resumes", () =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    yield* Session.make({
      token: Redacted.make("test-token"),
      intents: Intents.Guilds,
      gateway: "ws://gateway.test",
      compression: "none"
    })

    const first = yield* gateway.accept
    yield* first.sendJson({ op: 10, d: { heartbeat_interval: 10_000 }, s: null, t: null })
    yield* first.receivedJson // Identify
    yield* first.sendJson({
      op: 0, s: 1, t: "READY",
      d: { v: 10, session_id: "abc", resume_gateway_url: "ws://resume.test", user: { id: "1" }, application: { id: "2" }, guilds: [] }
    })

    // Never acknowledge a heartbeat: within two intervals the session gives up on the connection.
    yield* TestClock.adjust("20 seconds")
    expect((yield* first.closed).by).toBe("client")

    // ... and resumes on the resume URL after its backoff.
    yield* TestClock.adjust("1 second")
    const second = yield* gateway.accept
    expect(second.url).toMatch(/^ws:\/\/resume\.test/)
    yield* second.sendJson({ op: 10, d: { heartbeat_interval: 10_000 }, s: null, t: null })
    let resume = (yield* second.receivedJson) as { op: number; d: unknown }
    while (resume.op === 1) resume = (yield* second.receivedJson) as { op: number; d: unknown }
    expect(resume).toEqual({ op: 6, d: { token: "test-token", session_id: "abc", seq: 1 } })
  }).pipe(Effect.provide(TestServices)))
