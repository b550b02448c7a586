/**
 * The token never appears where a person or a log pipeline can see it: in-memory sessions and
 * fleets under TestClock, logging at All, a tracer keeping every span, the metric registry read
 * back, every rendering searched for any 12-character run of the token. A transport, a limiter or
 * a close reason that quotes the token is not repeated by the library.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, leaksOf, lineTexts, LockKey, metricTexts, renderings, spanTexts } from "../secrecy.ts"
import { acceptAndHello, options, programLimiter, readySession, secret, Session, settle, TestLayer, token } from "./harness.ts"

const leaksIn = leaksOf(secret)

// ---- a transport and a limiter of the program's own whose defects quote what they were handed ----

/**
 * The in-memory transport, whose `send` of a frame of opcode `op` dies with `words(frame)` (by
 * default quoting the frame, the token in an Identify's or a Resume's), or throws it before it
 * returns an Effect (a plain-JS transport calling `ws.send` first).
 */
const quotingTransport = (op: number, words = (frame: string) => `proxy refused the frame ${frame}`, how: "dies" | "throws" | "dies of a cause" = "dies") =>
  Layer.mergeAll(
    Layer.effect(
      GatewayTransport,
      Effect.map(GatewayTransport, (inner) => ({
        connect: (url, connectOptions) =>
          Effect.map(inner.connect(url, connectOptions), (connection) => ({
            ...connection,
            send: (frame) => {
              if (typeof frame !== "string" || !frame.startsWith(`{"op":${op},`)) return connection.send(frame)
              if (how === "throws") throw new Error(words(frame))
              // the words in the cause of an error of its own (ES2022 `{ cause }`, as Node's errors do)
              if (how === "dies of a cause") return Effect.die(new Error("proxy refused the frame", { cause: new SyntaxError(words(frame)) }))
              return Effect.die(new Error(words(frame)))
            }
          }))
      }))
    ).pipe(Layer.provideMerge(MemoryTransport.layer)),
    IdentifyLimiter.layerMemory,
    FetchHttpClient.layer
  )

/** A distributed limiter of the program's own whose store failed, quoting the key it is kept under (the token). */
const quotingLimiter = programLimiter({ identify: () => Effect.die(new Error(`lock store unreachable for key identify:${secret}`)) })

describe("secrecy: the token in what the library itself writes", () => {
  for (
    const [name, layer, overrides] of [
      ["a custom transport's defect quoting the Identify frame", quotingTransport(2), {}],
      // the Session.resume span ended with it
      ["a custom transport's defect quoting the Resume frame", quotingTransport(6), {
        resume: { sessionId: "s", sequence: 5, resumeGatewayUrl: "ws://gateway.test/", shard: [0, 1] }
      }],
      ["a custom limiter's defect quoting the token", quotingLimiter, {}],
      // it killed the beat's fiber unobserved: Effect logged it whole, and the connection went on as a zombie
      ["a custom transport's defect quoting the token as a heartbeat is sent", quotingTransport(1, () => `proxy session for Bot ${secret} is gone`), {}],
      // thrown, they went around the masking: the beat's as before, the Resume's whole to `await`
      ["a custom transport's throw quoting the token as a heartbeat is sent", quotingTransport(1, () => `proxy session for Bot ${secret} is gone`, "throws"), {}],
      ["a custom transport's throw quoting the Resume frame", quotingTransport(6, undefined, "throws"), {
        resume: { sessionId: "s", sequence: 5, resumeGatewayUrl: "ws://gateway.test/", shard: [0, 1] }
      }],
      // only a defect's message was looked at: the spans ended with the cause whole
      ["a custom transport's defect quoting the Resume frame in its cause", quotingTransport(6, undefined, "dies of a cause"), {
        resume: { sessionId: "s", sequence: 5, resumeGatewayUrl: "ws://gateway.test/", shard: [0, 1] }
      }]
    ] as const
  ) {
    it.scoped(`${name}: the library's own log line, transition, snapshot and spans do not repeat it`, () => {
      const captured = capture()
      return Effect.gen(function*() {
        const session = yield* Session.make(options(overrides))
        const transitions: Array<unknown> = []
        yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
        const snapshots: Array<unknown> = []
        yield* Effect.forkScoped(Stream.runForEach(session.snapshots, (s) => Effect.sync(() => snapshots.push(s))))
        const gateway = yield* MemoryTransport.MemoryGateway
        const peer = yield* gateway.accept
        yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null })
        yield* settle
        // the first beat
        yield* TestClock.adjust(41250)
        const exit = yield* Effect.exit(session.await)
        const last = yield* session.snapshot
        // what happened: the defect ended the session
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(captured.lines.some((line) => line.includes("the session ended for good"))).toBe(true)
        expect(captured.lines.filter((line) => line.includes("unhandled error"))).toEqual([])
        // The program's own defect, handed back as it was thrown, is the program's; but what the
        // library writes by itself (its Error line, the Fatal transition, the snapshot) is not.
        const leaks = leaksIn([
          ...lineTexts(captured.lines),
          ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
          ...snapshots.flatMap((s, i) => renderings(`snapshot[${i}]`, s)),
          ...renderings("snapshot after", last),
          ...metricTexts(),
          // a tracer exports a span's exit as its status and an exception event
          ...spanTexts(captured.spans)
        ])
        expect(captured.spans.some((span) => span.name === "Session.run" && span.ended !== undefined)).toBe(true)
        expect(leaks).toEqual([])
      }).pipe(captured.provide, Effect.provide(layer))
    })
  }

  // its Error line gave the cause whole; then a cause told by its `toString`, which only Effect's
  // loggers print (with `renderErrorCause`)
  for (
    const [name, defect] of [
      ["quoting the token", () => new Error(`lock store unreachable for key identify:${secret}`)],
      ["of a cause told by its toString", () => new Error("lock store unreachable", { cause: new LockKey(`identify:${secret}`) })]
    ] as const
  ) {
    it.scoped(`a custom limiter whose answered dies ${name}: its Error line does not repeat the token`, () => {
      const captured = capture()
      return Effect.gen(function*() {
        const { session } = yield* readySession({}, 3_600_000)
        yield* settle
        expect(captured.lines.some((line) => line.includes("the identify limiter's answered failed"))).toBe(true)
        expect(leaksIn(lineTexts(captured.lines))).toEqual([])
        const stopping = yield* Effect.fork(Effect.exit(session.disconnect("1 second")))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(stopping)
      }).pipe(
        captured.provide,
        Effect.provide(programLimiter({ identify: (_shard, send) => send(Effect.die(defect())) }))
      )
    })
  }

  // it killed the writer of the command's lane unobserved: the command, and every later one of its
  // kind, waited for ever on a session that stayed Connected
  it.scoped("a custom transport's defect as a command is written: the caller is answered, the session ends with it masked", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const { session } = yield* readySession({}, 3_600_000)
      // its exit kept: a fiber of the test's that ends failed is told by Effect too
      const update = yield* Effect.fork(Effect.exit(session.updatePresence({ since: null, activities: [], status: "idle", afk: false })))
      yield* settle
      const exit = yield* Effect.exit(session.await)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      const updated = yield* Fiber.join(update)
      expect(updated).toMatchObject({ _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "SessionClosed" } } })
      expect(captured.lines.filter((line) => line.includes("unhandled error"))).toEqual([])
      expect(leaksIn([
        ...lineTexts(captured.lines),
        ...renderings("the update's exit", updated),
        ...spanTexts(captured.spans)
      ])).toEqual([])
    }).pipe(captured.provide, Effect.provide(quotingTransport(3, () => `proxy session for Bot ${secret} is gone`)))
  })

  it.scoped("a fleet whose shard died of such a defect: its status rows and its own lines do not repeat the token", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const fleet = yield* Fleet.make({ token, intents: 513, gateway: "ws://gateway.test/", compression: "none", shardCount: 1 })
      const gateway = yield* MemoryTransport.MemoryGateway
      const peer = yield* gateway.accept
      yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("1 second")
      const exit = yield* Effect.exit(fleet.await)
      const status = yield* fleet.status
      expect(Exit.isFailure(exit)).toBe(true)
      const leaks = leaksIn([
        ...lineTexts(captured.lines),
        ...renderings("fleet.status", status)
      ])
      expect(leaks).toEqual([])
    }).pipe(captured.provide, Effect.provide(quotingTransport(2)))
  })

  it.scoped("a session through faults and a fatal 4004, at level All, with a tracer and the metrics: no run of the token", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      yield* TestClock.adjust("3 seconds")
      yield* peer.close(4000, "bye")
      yield* settle
      const again = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("10 seconds")
      const second = yield* Fiber.join(again)
      yield* second.peer.sendJson({ op: 0, s: 2, t: "RESUMED", d: {} })
      yield* settle
      yield* second.peer.close(4004, "Authentication failed.")
      yield* settle
      const exit = yield* Effect.exit(session.await)
      const snapshot = yield* session.snapshot
      expect(Exit.isFailure(exit)).toBe(true)
      const leaks = leaksIn([
        ...lineTexts(captured.lines),
        ...spanTexts(captured.spans),
        ...metricTexts(),
        ...renderings("session", session),
        ...renderings("snapshot", snapshot),
        ...renderings("await exit", exit),
        ...(Exit.isFailure(exit) ? [["Cause.pretty", Cause.pretty(exit.cause)] as const] : []),
        ...renderings("options", options())
      ])
      expect(captured.spans.length).toBeGreaterThan(2)
      expect(leaks).toEqual([])
    }).pipe(captured.provide, Effect.provide(TestLayer))
  })

  it.scoped("a gateway (or a proxy before it) that closes with a reason quoting the token: the Closed transition's Debug line and snapshot do not repeat it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const transitions: Array<unknown> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
      yield* settle
      yield* peer.close(4000, `bad token ${secret}`)
      yield* settle
      const snapshot = yield* session.snapshot
      const leaks = leaksIn([
        ...lineTexts(captured.lines),
        ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
        ...renderings("snapshot", snapshot)
      ])
      expect(leaks).toEqual([])
    }).pipe(captured.provide, Effect.provide(TestLayer))
  })

  // every option given a value that holds the token: InvalidOptions (a Session's and a Fleet's) never repeats it
  const wrong: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["gateway", { gateway: secret }],
    ["gateway URL with the token in its query", { gateway: `wss://gateway.discord.gg/?t=${secret}`, compression: "gzip" }],
    ["gateway with credentials", { gateway: `wss://bot:${secret}@gateway.discord.gg/` }],
    ["api", { api: secret }],
    ["api URL with the token in its path", { api: `https://discord.com/api/${secret}`, intents: -1 }],
    ["api with credentials", { api: `https://bot:${secret}@discord.com/api/v10` }],
    ["intents", { intents: secret }],
    ["shard", { shard: [secret, 1] }],
    ["compression", { compression: secret }],
    ["encoding", { encoding: secret }],
    ["largeThreshold", { largeThreshold: secret }],
    ["presence", { presence: { since: null, activities: [{ name: secret, type: 99 }], status: secret, afk: false } }],
    ["presence url", { presence: { since: null, activities: [{ name: "x", type: 1, url: `https://twitch.tv/${secret}` }], status: "online", afk: false }, intents: -1 }],
    ["properties", { properties: { os: secret, browser: 1, device: secret } }],
    ["timeouts", { timeouts: { connect: secret } }],
    ["backoff", { backoff: { initial: secret } }],
    ["resume", { resume: { sessionId: secret, sequence: secret, resumeGatewayUrl: `wss://x/${secret}`, shard: [0, 1] } }],
    ["resume url", { resume: { sessionId: "s", sequence: 1, resumeGatewayUrl: `ws://${secret}.example/`, shard: [0, 1] }, gateway: "wss://gateway.discord.gg" }],
    ["bufferSize", { bufferSize: secret }],
    ["maxMessageBytes", { maxMessageBytes: secret }],
    ["events", { events: [secret, `${secret}_CREATE`] }],
    ["gatewayInfoMaxAge", { gatewayInfoMaxAge: secret }],
    ["token with the Bot prefix", { token: Redacted.make(`Bot ${secret}`) }],
    ["token with whitespace", { token: Redacted.make(` ${secret}\n`) }],
    ["token with a zero-width space", { token: Redacted.make(`${secret}\u200b`) }],
    ["token as a plain string", { token: secret }]
  ]
  for (const [name, overrides] of wrong) {
    it.scoped(`InvalidOptions for ${name}: no run of the token in its message, inspect, JSON or Cause.pretty`, () =>
      Effect.gen(function*() {
        const sessionExit = yield* Effect.exit(Session.make({ ...options(), ...overrides } as never))
        const fleetExit = yield* Effect.exit(Fleet.make({ ...options(), shardCount: 1, ...overrides } as never))
        const texts = ([sessionExit, fleetExit] as ReadonlyArray<Exit.Exit<unknown, unknown>>).flatMap((exit, i) => [
          ...renderings(`exit[${i}]`, exit),
          ...(Exit.isFailure(exit) ? [[`exit[${i}] Cause.pretty`, Cause.pretty(exit.cause)] as const, ...renderings(`exit[${i}] error`, Cause.squash(exit.cause))] : [])
        ])
        // unknown event names are passed on, as the README says; the others are refused
        if (name !== "events") expect(Exit.isFailure(sessionExit)).toBe(true)
        expect(leaksIn(texts)).toEqual([])
      }).pipe(Effect.provide(TestLayer)))
  }
})
