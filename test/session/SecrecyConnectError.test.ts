/**
 * A transport's connect error whose words quote the token (a proxy that repeats the Authorization
 * it was handed) is masked in the ConnectFailed reason: transitions, snapshots, log lines. Its
 * control characters are escaped there too.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { GatewayTransport, TransportError } from "../../src/transport/GatewayTransport.ts"
import { options, secret, Session, settle } from "./harness.ts"

// A session whose every connect fails with `cause`, retried for six minutes: what it wrote in its
// transitions and log lines (message and cause), and its snapshot at the end.
const failingConnects = (cause: Error) => {
  const lines: Array<string> = []
  const logger = Logger.make<unknown, void>((entry) => {
    lines.push(`${String(entry.message)} ${Cause.pretty(entry.cause)}`)
  })
  const transport = Layer.succeed(GatewayTransport, { connect: () => Effect.fail(new TransportError({ reason: "Connect", cause })) })
  return Effect.gen(function*() {
    const session = yield* Session.make(options())
    const transitions: Array<string> = []
    yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(JSON.stringify(t)))))
    for (let i = 0; i < 12; i++) {
      yield* settle
      yield* TestClock.adjust("30 seconds")
    }
    return { transitions, lines, snapshot: yield* session.snapshot }
  }).pipe(
    Logger.withMinimumLogLevel(LogLevel.All),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Effect.provide(Layer.mergeAll(transport, IdentifyLimiter.layerMemory, FetchHttpClient.layer))
  )
}

describe("a transport's connect error quoting the token", () => {
  it.scoped("no transition, snapshot or log line of the library repeats it", () =>
    Effect.gen(function*() {
      const { lines, snapshot, transitions } = yield* failingConnects(new Error(`proxy refused Authorization: Bot ${secret}`))
      const run = secret.slice(0, 24)
      const leaks = [...transitions, JSON.stringify(snapshot), ...lines].filter((text) => text.includes(run))
      expect(transitions.some((t) => t.includes("ConnectFailed"))).toBe(true)
      expect(leaks).toEqual([])
    }))
})

// a proxy's words went into the reason raw: the status view escaped them, the outage's log lines
// and the transitions' JSON did not
describe("a transport's connect error with control characters", () => {
  it.scoped("no transition, snapshot or log line writes them raw", () =>
    Effect.gen(function*() {
      const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/
      const { lines, snapshot, transitions } = yield* failingConnects(new Error("proxy says \u001b]0;owned\u0007 \u202eno\u2028"))
      expect(snapshot.reason).toMatchObject({ _tag: "ConnectFailed", message: "proxy says \\u001b]0;owned\\u0007 \\u202eno\\u2028" })
      expect(lines.some((line) => line.includes("proxy says"))).toBe(true)
      // (a cause's pretty print has line breaks of its own)
      expect([...transitions, ...lines].filter((text) => raw.test(text))).toEqual([])
    }))
})
