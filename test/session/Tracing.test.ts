import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, options, programLimiter, ready, Session, settle, TestLayer } from "./harness.ts"
import { type RecordedSpan, recordingTracer } from "./recordingTracer.ts"

/** The in-memory limiter, logging each turn it gives. */
const loggingLimiter = Layer.effect(
  IdentifyLimiter.IdentifyLimiter,
  Effect.map(IdentifyLimiter.make(), (limiter) => ({
    ...limiter,
    identify: (shardId, send) => Effect.zipRight(Effect.log("identify turn"), limiter.identify(shardId, send))
  }))
)

const named = (spans: ReadonlyArray<RecordedSpan>, name: string) => spans.filter((span) => span.name === name)
const parentId = (span: RecordedSpan) => Option.map(span.parent, (parent) => parent.spanId)

// an identify limiter of the program's own, at its work for 5 s after each Identify
const holding = programLimiter({ identify: (_shard, send) => Effect.zipLeft(send(Effect.void), Effect.sleep("5 seconds")) })

describe("Session tracing and logs", () => {
  it.scoped("a session's life is one Session.run span, parent of its connects and identifies, ended with it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const session = yield* Session.make(options({ shard: [3, 4] }))
        const { peer } = yield* acceptAndHello()
        yield* peer.sendJson(ready(1, "s", [3, 4]))
        yield* settle
        const [run] = named(spans, "Session.run")
        expect(run?.attributes.get("shard")).toBe(3)
        expect(run?.ended).toBeUndefined()
        for (const child of [...named(spans, "Session.connect"), ...named(spans, "Session.identify")]) {
          expect(parentId(child)).toEqual(Option.some(run!.spanId))
        }
        expect(named(spans, "Session.identify")).toHaveLength(1)
        // it ends with the Identify, not with the session
        expect(named(spans, "Session.identify")[0]!.ended?._tag).toBe("Success")
        // a stack trace would show only where this library makes its spans, and cost an Error each
        expect(spans.filter((span) => span.capturedStack).map((span) => span.name)).toEqual([])
        yield* session.end()
        expect(run?.ended?._tag).toBe("Success")
      }).pipe(Effect.withTracer(tracer))
      expect(named(spans, "Session.run")).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)))

  // a stop that found no connection open interrupted the loop where it was, and the span ended
  // interrupted: a routine stop looked like a failure in traces
  it.scoped("Session.run ends as a success for a stop whatever it finds: a backoff's pause, a connect that hangs", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const paused = yield* Session.make(options())
        const { peer } = yield* acceptAndHello(3_600_000)
        yield* peer.sendJson(ready())
        yield* settle
        yield* peer.close(4000)
        yield* settle
        yield* TestClock.adjust("100 millis")
        yield* paused.disconnect()
        const gateway = yield* MemoryTransport.MemoryGateway
        yield* gateway.hangNextConnect()
        const connecting = yield* Session.make(options())
        yield* settle
        yield* connecting.end()
      }).pipe(Effect.withTracer(tracer))
      expect(named(spans, "Session.run").map((span) => span.ended?._tag)).toEqual(["Success", "Success"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Session.run, open for the session's life, keeps none of its log lines: reconnects do not grow it", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        yield* Session.make(options())
        for (let cycle = 0; cycle < 3; cycle++) {
          const accepted = yield* Effect.fork(acceptAndHello(3_600_000))
          yield* TestClock.adjust("5 seconds")
          const { peer } = yield* Fiber.join(accepted)
          yield* peer.sendJson(cycle === 0 ? ready() : { op: 0, s: 1 + cycle, t: "RESUMED", d: {} })
          yield* settle
          yield* peer.close(4000)
          yield* settle
        }
        const [run] = named(spans, "Session.run")
        expect(named(spans, "Session.connect")).toHaveLength(3)
        // the transitions' debug lines, a dozen by now, stayed out of it
        expect(run?.events).toEqual([])
      }).pipe(Effect.withTracer(tracer), Logger.withMinimumLogLevel(LogLevel.Debug))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("at the Info level a session that runs and ends says nothing (no transition line), and one that fails says why", () =>
    Effect.gen(function*() {
      const lines: Array<unknown> = []
      const logger = Logger.make(({ message }) => {
        lines.push(message)
      })
      yield* Effect.gen(function*() {
        const session = yield* Session.make(options())
        const { peer } = yield* acceptAndHello()
        yield* peer.sendJson(ready())
        yield* settle
        yield* session.end()
        expect(lines).toEqual([])
        const failing = yield* Session.make(options())
        // its Identify waits for the limiter's 5 s after the first one
        const accepting = yield* Effect.fork(acceptAndHello(3_600_000))
        yield* TestClock.adjust("6 seconds")
        const next = yield* Fiber.join(accepting)
        yield* next.peer.close(4004, "Authentication failed.")
        yield* Effect.either(failing.await)
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Info))
      expect(lines.map(String)).toEqual([expect.stringMatching(/^the session ended for good: .*4004/)])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("every log line of a session carries its shard, from the loop's own fibers too", () =>
    Effect.gen(function*() {
      const lines: Array<{ readonly message: unknown; readonly shard: unknown }> = []
      const logger = Logger.make(({ annotations, message }) => {
        lines.push({ message, shard: Option.getOrUndefined(HashMap.get(annotations, "shard")) })
      })
      yield* Effect.gen(function*() {
        const session = yield* Session.make(options({ shard: [2, 4] }))
        const { peer } = yield* acceptAndHello()
        yield* peer.sendJson(ready(1, "s", [2, 4]))
        yield* settle
        yield* session.end()
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
      // the limiter's line is logged by the session's fiber without an annotation of its own
      expect(lines).toContainEqual({ message: ["identify turn"], shard: 2 })
      // the transitions' debug lines, built only when debug lines are logged
      expect(lines.filter((line) => String(line.message).startsWith("Connected")).length).toBeGreaterThan(0)
      expect(lines.length).toBeGreaterThan(3)
      expect(lines.filter((line) => line.shard !== 2)).toEqual([])
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, loggingLimiter, FetchHttpClient.layer))))
})

describe("Session.identify's span with a limiter of the program's own", () => {
  // a limiter at its work after send: the span ends with the connection at the latest, not after
  // the session's (a child outliving its parent in a trace)
  it.scoped("a limiter working on after send: Session.identify has ended once the session ended", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const session = yield* Session.make(options())
        const { peer } = yield* acceptAndHello()
        yield* peer.sendJson(ready())
        yield* settle
        yield* session.end()
        const [run] = named(spans, "Session.run")
        const [identify] = named(spans, "Session.identify")
        expect(run!.ended?._tag).toBe("Success")
        expect(identify!.ended).toBeDefined()
      }).pipe(Effect.withTracer(tracer))
    }).pipe(Effect.provide(holding)))
})
