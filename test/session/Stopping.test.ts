/**
 * Stopping a session while things are in flight: member requests already sent, stops from several
 * fibers at once, a caller that gives up waiting for its stop, a fatal close during a stop.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import { type Connection, GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as Outage from "../../src/session/Outage.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { captured } from "../logLines.ts"
import { acceptAndHello, dispatch, options, ready, readySession, receiveOp, secret, sentOps, Session, settle, TestLayer } from "./harness.ts"

const guild = "81384788765712384"

// a session that may ask for all members; its connection beats once an hour
const membersSession = (overrides: Parameters<typeof options>[0] = {}) =>
  readySession({ intents: Intents.Guilds | Intents.GuildMembers, ...overrides }, 3_600_000)

describe("stopping: requests in flight", () => {
  it.scoped("a member request sent before disconnect fails with SessionClosed once the session stopped, not at the members timeout", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession()
      const request = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, query: "ab", limit: 5 })))
      yield* receiveOp(peer, 8)
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopping)
      yield* settle
      // the session ended: no answer can come any more
      const polled = yield* Fiber.poll(request)
      expect(Option.isSome(polled)).toBe(true)
      // named by shard and guild, as fields a program can match on
      expect(yield* Fiber.join(request)).toMatchObject({
        _tag: "Left",
        left: {
          _tag: "SessionClosed",
          shards: [0],
          guildIds: [guild],
          message: `session closed: shard 0 was disconnected or ended before the member request for guild ${guild} was answered`
        }
      })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("every kind of command waiting when the session ends fails with SessionClosed naming the session's shard and the command's guilds", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ shard: [1, 2], intents: Intents.Guilds | Intents.GuildMembers }))
      const onShard1 = "81384788769906689"
      const waiting = yield* Effect.fork(Effect.all([
        Effect.flip(session.updatePresence({ since: null, activities: [], status: "idle", afk: false })),
        Effect.flip(session.updateVoiceState({ guild_id: onShard1, channel_id: null, self_mute: false, self_deaf: false })),
        Effect.flip(session.requestSoundboardSounds([onShard1])),
        Effect.flip(session.requestChannelInfo({ guild_id: onShard1, fields: ["status"] })),
        Effect.flip(session.requestGuildMembers({ guild_id: onShard1, query: "", limit: 0 }))
      ], { concurrency: "unbounded" }))
      yield* settle
      yield* session.end()
      const errors = yield* Fiber.join(waiting)
      expect(errors.map((error) => error._tag === "SessionClosed" ? [error.shards, error.guildIds] : error._tag)).toEqual([
        [[1], []],
        [[1], [onShard1]],
        [[1], [onShard1]],
        [[1], [onShard1]],
        [[1], [onShard1]]
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("with no members timeout, a member request in flight when the session ends does not hang for good", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession({ timeouts: { members: Duration.infinity } })
      const request = yield* Effect.fork(Effect.either(session.requestGuildMembers({ guild_id: guild, query: "ab", limit: 5 })))
      yield* receiveOp(peer, 8)
      const stopping = yield* Effect.fork(session.end())
      yield* settle
      yield* Fiber.join(stopping)
      yield* TestClock.adjust("1 hour")
      yield* settle
      expect(Option.isSome(yield* Fiber.poll(request))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))
})

/**
 * Runs `stop` on a fiber of its own (a daemon: a stop that hangs holds nothing of the test's),
 * moves the clock `by`, and checks that it returned and left `session` Disconnected.
 */
const returnsBy = (session: Session.Session, stop: Effect.Effect<unknown>, by: Duration.DurationInput) =>
  Effect.gen(function*() {
    const stopping = yield* Effect.forkDaemon(stop)
    yield* settle
    yield* TestClock.adjust(by)
    yield* settle
    expect(Option.isSome(yield* Fiber.poll(stopping))).toBe(true)
    expect((yield* session.state)._tag).toBe("Disconnected")
  })

describe("stopping: stops at once", () => {
  it.scoped("a session made in uninterruptible code (an acquireRelease's acquire) stops all the same", () =>
    Effect.gen(function*() {
      const session = yield* Effect.uninterruptible(Session.make(options()))
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* TestClock.adjust("1 minute")
      expect(Option.isSome(yield* Fiber.poll(stopping))).toBe(true)
      expect((yield* session.state)._tag).toBe("Disconnected")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a make interrupted at any step leaves no session running: none that connects after its scope closed", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      // the interruption lands at every step of make, by the scheduler turns before it
      const leftRunning: Array<number> = []
      for (let turns = 0; turns < 40; turns++) {
        const scope = yield* Scope.make()
        const making = yield* Effect.fork(Scope.extend(Session.make(options()), scope).pipe(Effect.withMaxOpsBeforeYield(16)))
        for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(making)
        // a session made stops within its second
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(closing)
        yield* settle
        const before = (yield* gateway.attempts).length
        yield* TestClock.adjust("1 minute")
        yield* settle
        if ((yield* gateway.attempts).length > before) leftRunning.push(turns)
      }
      expect(leftRunning).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a stop made before the session's loop first ran still ends it: Disconnected (Disconnect), await done, onEnd called", () =>
    Effect.gen(function*() {
      const resolved = yield* SessionOptions.resolve(options())
      let ended: Exit.Exit<void, unknown> | undefined
      const session = yield* Session.makeWith(resolved, { onEnd: (exit) => Effect.sync(() => void (ended = exit)) })
      yield* session.disconnect()
      const awaited = yield* Effect.fork(session.await)
      yield* settle
      const last = yield* Effect.map(Stream.runHead(session.transitions), Option.getOrThrow)
      expect([last.to._tag, last.reason._tag, Option.isSome(yield* Fiber.poll(awaited)), ended]).toEqual([
        "Disconnected",
        "Disconnect",
        true,
        Exit.void
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a second disconnect running alongside the first returns only once the session reads Disconnected", () =>
    Effect.gen(function*() {
      const { session } = yield* membersSession()
      const first = yield* Effect.fork(session.disconnect())
      const second = yield* Effect.fork(Effect.zipRight(session.disconnect(), session.state))
      yield* settle
      yield* TestClock.adjust("1 second")
      const stateAfterSecond = yield* Fiber.join(second)
      yield* Fiber.join(first)
      expect(stateAfterSecond._tag).toBe("Disconnected")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("disconnect racing with end returns no resume point for the session end closed with 1000", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession()
      const ending = yield* Effect.fork(session.end())
      const point = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(ending)
      expect((yield* peer.closed).code).toBe(1000)
      expect(Option.isNone(yield* Fiber.join(point))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))
})

// the in-memory transport whose close handshake takes 100 ms, as a real socket's does (it waits
// for the gateway's close frame)
const slowCloseLayer = (closeTakes: Duration.DurationInput) =>
  closingLayer((connection, ...close) => Effect.asVoid(Effect.forkDaemon(Effect.delay(connection.close(...close), closeTakes))))

/** The in-memory transport whose connections close with `close`. */
const closingLayer = (close: (connection: Connection, ...close: Parameters<Connection["close"]>) => Effect.Effect<void>) =>
  Layer.mergeAll(
    Layer.effectContext(Effect.map(MemoryTransport.make, ({ gateway, transport }) =>
      Context.make(GatewayTransport, {
        connect: (url, connectOptions) =>
          Effect.map(transport.connect(url, connectOptions), (connection): Connection => ({
            ...connection,
            close: (...given) => close(connection, ...given)
          }))
      }).pipe(Context.add(MemoryTransport.MemoryGateway, gateway)))),
    IdentifyLimiter.layerMemory,
    FetchHttpClient.layer
  )

// a failing step skipped every step after it: an `outage.ended` that died left `await` and `events`
// unended for ever, an `onEnd` that died was swallowed and left the session's scope open
describe("stopping: a hook of the program's own that dies as the session ends", () => {
  for (const hook of ["outage.ended", "onEnd"] as const) {
    it.scoped(`${hook}: await and events end, its defect is told at Error, masked`, () => {
      const { layer, lines } = captured()
      return Effect.gen(function*() {
        const resolved = yield* SessionOptions.resolve(options())
        const dies = Effect.dieMessage(`log sink for Bot ${secret} broke`)
        const session = yield* Session.makeWith(resolved, hook === "onEnd" ? { onEnd: () => dies } : { outage: { ...Outage.make(), ended: dies } })
        const reading = yield* Effect.fork(Effect.exit(Stream.runDrain(session.events)))
        const { peer } = yield* acceptAndHello(3_600_000)
        yield* peer.sendJson(ready())
        yield* settle
        yield* session.disconnect("1 second")
        yield* session.await
        expect(Exit.isSuccess(yield* Fiber.join(reading))).toBe(true)
        expect(lines.filter((line) => line.includes("hook failed"))).toEqual([
          `ERROR the session's ${hook} hook failed: defect: log sink for Bot <token> broke`
        ])
      }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
    })
  }
})

// the stop waited for the loop's fiber to end, `onEnd` and all
describe("stopping: an onEnd of the program's own that takes a minute", () => {
  it.scoped("disconnect returns within its timeout, the last transition made and await done; onEnd still runs", () =>
    Effect.gen(function*() {
      const resolved = yield* SessionOptions.resolve(options())
      let ended = false
      const session = yield* Session.makeWith(resolved, { onEnd: () => Effect.delay(Effect.sync(() => void (ended = true)), "1 minute") })
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* returnsBy(session, session.disconnect("1 second"), "1 second")
      yield* session.await
      expect(ended).toBe(false)
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect(ended).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // the stop interrupted the session's fiber as onEnd began, and the hook's guard told that as a defect
  it.scoped("an onEnd with an interruptible step, a stop with time to spare: it runs to its end, no failure told", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const resolved = yield* SessionOptions.resolve(options())
      let ended = false
      const session = yield* Session.makeWith(resolved, {
        onEnd: () => Effect.interruptible(Effect.delay(Effect.sync(() => void (ended = true)), "2 seconds"))
      })
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* session.disconnect("5 seconds")
      yield* TestClock.adjust("2 seconds")
      yield* settle
      expect([ended, lines.filter((line) => line.includes("hook failed"))]).toEqual([true, []])
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })
})

// the stop, past its timeout, waited for every step of the session's end, uninterruptibly: a hook of
// the program's own that took 2 s held it 2 s, one that hung held it, its caller's timeout too, for ever
describe("stopping: a session whose last steps are a program's hooks that are slow or hang", () => {
  const hanging = (slow: Effect.Effect<void>) => ({
    "an admission's release": { admission: Effect.acquireRelease(Effect.void, () => slow) },
    "an outage.ended": { outage: { ...Outage.make(), ended: slow } }
  })
  /** A session made with `hooks`, its connect hung (an admission held) or READY (an outage ended at the stop). */
  const madeWith = (hooks: Session.Hooks, connecting: boolean) =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      if (connecting) yield* gateway.hangNextConnect()
      const session = yield* Session.makeWith(yield* SessionOptions.resolve(options()), hooks)
      if (!connecting) yield* Effect.flatMap(acceptAndHello(3_600_000), ({ peer }) => peer.sendJson(ready()))
      yield* settle
      return session
    })
  for (const [takes, slow] of [["takes 2 s", Effect.sleep("2 seconds")], ["never ends", Effect.never]] as const) {
    for (const [what, hooks] of Object.entries(hanging(slow))) {
      it.scoped(`${what} that ${takes}: disconnect(1 s) returns at its 1 s`, () =>
        Effect.gen(function*() {
          const session = yield* madeWith(hooks, what.includes("admission"))
          yield* returnsBy(session, session.disconnect("1 second"), "1 second")
        }).pipe(Effect.provide(TestLayer)))
    }
  }

  // the steps after it (the events' end, `await`) waited for it
  it.scoped("an outage.ended that never ends: events and await end all the same", () =>
    Effect.gen(function*() {
      const session = yield* madeWith({ outage: { ...Outage.make(), ended: Effect.never } }, false)
      const reading = yield* Effect.fork(Stream.runDrain(session.events))
      yield* session.disconnect("1 second").pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
      yield* session.await
      yield* Fiber.join(reading)
    }).pipe(Effect.provide(TestLayer)))

  // the stop took the slow step for the loop still running, and interrupted the session's fiber
  it.scoped("an onEnd with an interruptible step runs to its end behind an outage.ended that outlasts the stop's timeout", () =>
    Effect.gen(function*() {
      let ended = false
      const session = yield* madeWith({
        outage: { ...Outage.make(), ended: Effect.sleep("2 seconds") },
        onEnd: () => Effect.interruptible(Effect.delay(Effect.sync(() => void (ended = true)), "1 second"))
      }, false)
      yield* Effect.forkDaemon(session.disconnect("1 second"))
      yield* settle
      for (let i = 0; i < 4; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect(ended).toBe(true)
    }).pipe(Effect.provide(TestLayer)))
})

describe("stopping: a stop while no connection is open", () => {
  // a close that found no socket open skipped the wait for `await`, and the admission's scope, the
  // session's child, was closed after onEnd: the stop returned before the place was given back
  for (const [release, onEnd] of [["at once", "a minute"], ["in 500 ms", "at once"]] as const) {
    it.scoped(`a stop during a hung connect, the admission given back ${release}, onEnd taking ${onEnd}: returns once the place is back and await is done`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        yield* gateway.hangNextConnect()
        let held = 0
        const giveBack = Effect.sync(() => void held--)
        const session = yield* Session.makeWith(yield* SessionOptions.resolve(options()), {
          admission: Effect.acquireRelease(Effect.sync(() => void held++), () => release === "at once" ? giveBack : Effect.delay(giveBack, "500 millis")),
          onEnd: () => onEnd === "a minute" ? Effect.sleep("1 minute") : Effect.void
        })
        yield* settle
        expect(held).toBe(1)
        const stopping = yield* Effect.forkDaemon(session.disconnect("5 seconds"))
        const awaited = yield* Effect.fork(session.await)
        // what the stop saw when it returned, at each step
        let seenAtReturn: unknown
        for (let step = 0; step < 6 && seenAtReturn === undefined; step++) {
          yield* settle
          if (Option.isSome(yield* Fiber.poll(stopping))) seenAtReturn = { held, awaitDone: Option.isSome(yield* Fiber.poll(awaited)) }
          else yield* TestClock.adjust("100 millis")
        }
        expect(seenAtReturn).toEqual({ held: 0, awaitDone: true })
      }).pipe(Effect.provide(TestLayer)))
  }
})

describe("stopping: a first stop whose caller gives up while no connection is open", () => {
  // a session queued for its admission has nothing to close: its first stop's caller, given up
  // on before the stop interrupted the loop, left it to take its place, connect and identify
  it.scoped("Queued, the stop's caller interrupted at any scheduler turn: the session never connects afterwards", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const resolved = yield* SessionOptions.resolve(options())
      const leftRunning: Array<string> = []
      for (let turns = 0; turns < 12; turns++) {
        const scope = yield* Scope.make()
        const gate = yield* Deferred.make<void>()
        const session = yield* Scope.extend(Session.makeWith(resolved, { admission: Deferred.await(gate) }), scope)
        yield* settle
        expect((yield* session.state)._tag).toBe("Disconnected")
        let started = false
        const stopping = yield* Effect.fork(Effect.suspend(() => {
          started = true
          return session.disconnect("5 seconds")
        }))
        for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(stopping)
        const before = (yield* gateway.attempts).length
        // the gateway answers whatever connects; the admission comes
        const answering = yield* Effect.fork(acceptAndHello(3_600_000))
        yield* Deferred.succeed(gate, undefined)
        yield* settle
        yield* TestClock.adjust("1 minute")
        yield* settle
        const answered = yield* Fiber.poll(answering)
        const sent = Option.isSome(answered) && Exit.isSuccess(answered.value) ? `op ${answered.value.value.first.op}` : "nothing"
        if (started && (yield* gateway.attempts).length > before) leftRunning.push(`${turns}: ${(yield* session.state)._tag}, sent ${sent}`)
        yield* Fiber.interrupt(answering)
        yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("5 seconds")
        yield* settle
      }
      expect(leftRunning).toEqual([])
    }).pipe(Effect.provide(TestLayer)))
})

// a program's transport, say, whose close waits for a proxy that never answers: every stop waited
// for it, past its timeout, for ever
describe("stopping: a transport whose close never ends, or dies", () => {
  for (const how of ["disconnect", "end", "the scope's close"] as const) {
    it.scoped(`${how} returns at its timeout (1 s), the close cut off (it was left running for ever)`, () => {
      const close = { cutOff: false }
      return Effect.gen(function*() {
        const scope = yield* Scope.make()
        const { session } = yield* Scope.extend(readySession({}, 3_600_000), scope)
        const stop = how === "disconnect"
          ? Effect.asVoid(session.disconnect("1 second"))
          : how === "end"
          ? session.end("1 second")
          : Scope.close(scope, Exit.void)
        yield* returnsBy(session, stop, "1 second")
        expect(close.cutOff).toBe(true)
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.provide(closingLayer(() => Effect.onInterrupt(Effect.never, () => Effect.sync(() => void (close.cutOff = true))))))
    })
  }

  // the stop waited out its whole timeout for the close, the session long ended
  for (const by of ["a fatal close", "a second stop"] as const) {
    it.scoped(`disconnect(1 minute) returns once ${by} ended the session`, () =>
      Effect.gen(function*() {
        const { peer, session } = yield* readySession({}, 3_600_000)
        const stopping = yield* Effect.forkDaemon(session.disconnect("1 minute"))
        yield* settle
        if (by === "a fatal close") yield* peer.close(4004, "Authentication failed")
        else yield* Effect.forkDaemon(session.end("1 second"))
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(Option.isSome(yield* Fiber.poll(stopping))).toBe(true)
        expect((yield* session.state)._tag).toBe("Disconnected")
      }).pipe(Effect.provide(closingLayer(() => Effect.never))))
  }

  // only the first stop's end cut it off, which a caller that gives up never reaches
  it.scoped("the close of a first stop whose caller gave up is cut off once a later stop ended the session", () => {
    const close = { cutOff: false }
    return Effect.gen(function*() {
      const { session } = yield* readySession({}, 3_600_000)
      const first = yield* Effect.fork(session.disconnect("1 minute"))
      yield* settle
      yield* Fiber.interrupt(first)
      yield* session.disconnect("1 second").pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
      expect([(yield* session.state)._tag, close.cutOff]).toEqual(["Disconnected", true])
    }).pipe(Effect.provide(closingLayer(() => Effect.onInterrupt(Effect.never, () => Effect.sync(() => void (close.cutOff = true))))))
  })

  // it reached the caller whole, the token in it, and the loop went on, Connected; thrown (a
  // plain-JS transport calling `ws.close` first), the stop itself died so, the session left Connected
  for (const how of ["dies", "throws"] as const) {
    it.scoped(`a close that ${how}: disconnect returns, the session Disconnected, the defect told at Error, masked`, () => {
      const { layer, lines } = captured()
      const words = `proxy for Bot ${secret} is gone`
      return Effect.gen(function*() {
        const { session } = yield* readySession({}, 3_600_000)
        yield* session.disconnect("1 second").pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
        expect((yield* session.state)._tag).toBe("Disconnected")
        expect(lines.filter((line) => line.includes("close failed"))).toEqual([
          "ERROR the transport's close failed: defect: proxy for Bot <token> is gone"
        ])
      }).pipe(
        Effect.provide(layer),
        Effect.provide(closingLayer(() => {
          if (how === "throws") throw new Error(words)
          return Effect.dieMessage(words)
        }))
      )
    })
  }
})

describe("stopping: a stop whose caller gives up, and a fatal close meanwhile", () => {
  it.scoped("a disconnect whose caller gives up a few turns in still sends its close and ends the session", () =>
    Effect.forEach([1, 2, 3, 4], (turns) =>
      Effect.gen(function*() {
        const { peer, session } = yield* membersSession()
        const stopping = yield* Effect.fork(session.disconnect())
        for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(stopping)
        yield* settle
        expect([turns, yield* peer.isOpen]).toEqual([turns, false])
        const closed = yield* peer.closed
        expect([closed.by, [1000, 1001].includes(closed.code ?? 0)]).toEqual(["client", false])
        yield* session.await
        expect((yield* session.state)._tag).toBe("Disconnected")
      }).pipe(Effect.scoped, Effect.provide(TestLayer)), { discard: true }))

  it.scoped("a disconnect whose caller gives up while the close goes through still leaves the ended session Disconnected", () =>
    Effect.gen(function*() {
      const { session } = yield* membersSession()
      // the caller gives up after 50 ms; the close completes at 100 ms and the session ends
      yield* Effect.fork(Effect.timeout(session.disconnect(), "50 millis"))
      yield* settle
      yield* TestClock.adjust("50 millis")
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      yield* session.await // the session has ended
      yield* TestClock.adjust("1 hour")
      yield* settle
      expect((yield* session.state)._tag).toBe("Disconnected")
    }).pipe(Effect.provide(slowCloseLayer("100 millis"))))

  it.scoped("closing the scope after an interrupted disconnect stops the session in about a second, not when the close handshake ends", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { session } = yield* Scope.extend(membersSession(), scope)
      yield* Effect.fork(Effect.timeout(session.disconnect(), "50 millis"))
      yield* settle
      yield* TestClock.adjust("50 millis")
      yield* settle
      // the gateway takes 30 s to answer the close (ws's own close timeout)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      yield* settle
      expect(Option.isSome(yield* Fiber.poll(closing))).toBe(true)
      yield* TestClock.adjust("30 seconds")
    }).pipe(Effect.provide(slowCloseLayer("30 seconds"))))

  it.scoped("a disconnect run where it cannot be interrupted runs to its end when its fiber is interrupted meanwhile, and returns the resume point", () =>
    Effect.gen(function*() {
      const { session } = yield* membersSession()
      let point: Option.Option<SessionOptions.ResumePoint> | undefined
      const stopping = yield* Effect.fork(Effect.uninterruptible(Effect.map(session.disconnect(), (p) => void (point = p))))
      yield* settle
      // Ctrl-C while the close goes through: the caller's interruption waits for the stop
      const interrupting = yield* Effect.fork(Fiber.interrupt(stopping))
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      yield* Fiber.join(interrupting)
      expect(point !== undefined && Option.isSome(point)).toBe(true)
      expect((yield* session.state)._tag).toBe("Disconnected")
    }).pipe(Effect.provide(slowCloseLayer("100 millis"))))

  it.scoped("...and still gives up on its close at its timeout", () =>
    Effect.gen(function*() {
      const { session } = yield* membersSession()
      let done = false
      const stopping = yield* Effect.fork(Effect.uninterruptible(Effect.map(session.disconnect("1 second"), () => void (done = true))))
      yield* settle
      const interrupting = yield* Effect.fork(Fiber.interrupt(stopping))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(Option.isSome(yield* Fiber.poll(interrupting))).toBe(true)
      expect(done).toBe(true)
      expect((yield* session.state)._tag).toBe("Disconnected")
      yield* TestClock.adjust("30 seconds")
    }).pipe(Effect.provide(slowCloseLayer("30 seconds"))))

  it.scoped("a fatal close that comes while disconnect waits for its close keeps the transition that says why the session ended", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* membersSession()
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      // the gateway closes with 4004 before our close went through
      yield* peer.close(4004, "Authentication failed.")
      yield* settle
      const ended = yield* Effect.either(session.await)
      expect(ended._tag === "Left" && ended.left._tag).toBe("FatalClose")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopping)
      const last = yield* Effect.map(Stream.runHead(session.transitions), Option.getOrThrow)
      expect(last.reason._tag).toBe("Fatal")
    }).pipe(Effect.provide(slowCloseLayer("100 millis"))))
})

describe("stopping: a heartbeat waiting for the send limit", () => {
  it.scoped("a Hello interval of 100 ms fills the places beats may use: the connection stays, its beats going as places free, and the session still stops", () =>
    Effect.gen(function*() {
      const transitions: Array<string> = []
      // the session in a scope of its own, closed below with time moving: a wedged stop fails the
      // test instead of hanging its scope
      const sessionScope = yield* Scope.make()
      const session = yield* Scope.extend(Session.make(options()), sessionScope)
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t.reason._tag))))
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer } = yield* acceptAndHello(100)
      yield* peer.autoAck(true)
      yield* peer.sendJson(ready())
      yield* settle
      // about 12 s: Identify and 117 beats fill the 118 places beats this frequent may use (they line
      // up with commands, and leave the 2 kept for an identify and an op 1 answer); the next beat
      // waits for a place. Each beat
      // is answered once sent: a beat held back is no zombie (it once was, and the connection was
      // replaced every 12 s)
      const beats = Effect.map(sentOps(peer), (sent) => sent.filter((op) => op === 1).length)
      for (let i = 0; i < 60; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      // 117 in the first window, and no more until its places free, from 61 s on
      expect(yield* beats).toBe(117)
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect(yield* beats).toBeGreaterThan(0)
      expect([(yield* gateway.attempts).length, yield* peer.isOpen, transitions.includes("Zombie")]).toEqual([1, true, false])
      // the beat waiting for a place once held the connection's scope, and the stop, for ever
      const closing = yield* Effect.forkDaemon(Scope.close(sessionScope, Exit.void))
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      expect(Option.isSome(yield* closing.poll)).toBe(true)
      expect((yield* session.state)._tag).toBe("Disconnected")
    }).pipe(Effect.provide(TestLayer)))
})

describe("stopping: what the gateway sends before it answers the close", () => {
  it.scoped("an event sent after the client's close, before the gateway answers it, is delivered and counted in the resume point", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const received: Array<string> = []
      yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.sync(() => void received.push(event.t))))
      yield* peer.answersClose(false)
      const stopping = yield* Effect.fork(session.disconnect("5 seconds"))
      // the client's close is on its way: its frames end with it
      const closing = yield* Effect.flip(receiveOp(peer, -1))
      expect(closing.closed).toMatchObject({ code: 4900, by: "client" })
      yield* peer.sendJson(dispatch(2, "TYPING_START", { channel_id: "1", user_id: "2", timestamp: 0 }))
      yield* settle
      yield* peer.answerClose
      yield* settle
      const point = yield* Fiber.join(stopping)
      expect(received).toEqual(["READY", "TYPING_START"])
      expect(Option.getOrThrow(point).sequence).toBe(2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a close the gateway never answers ends the session at disconnect's timeout, resumable", () =>
    Effect.gen(function*() {
      // beats a minute apart: no unanswered beat ends the connection first
      const { peer, session } = yield* readySession({}, 60_000)
      yield* peer.answersClose(false)
      const stopping = yield* Effect.fork(session.disconnect("3 seconds"))
      yield* settle
      yield* TestClock.adjust("2999 millis")
      expect(Option.isNone(yield* Fiber.poll(stopping))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const point = yield* Fiber.join(stopping)
      expect(Option.getOrThrow(point).sequence).toBe(1)
      expect((yield* session.state)._tag).toBe("Disconnected")
      // the session let the connection go: its scope answered the close as the client closed it
      expect(yield* peer.closed).toMatchObject({ code: 4900, by: "client" })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a scope closed while the gateway never answers the close waits 1 s for it (disconnect's default is 5 s), resumable", () =>
    Effect.gen(function*() {
      const sessionScope = yield* Scope.make()
      const { peer, session } = yield* Scope.extend(readySession({}, 60_000), sessionScope)
      yield* peer.answersClose(false)
      const closing = yield* Effect.fork(Scope.close(sessionScope, Exit.void))
      yield* settle
      yield* TestClock.adjust("999 millis")
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(Option.isSome(yield* Fiber.poll(closing))).toBe(true)
      expect((yield* session.state)._tag).toBe("Disconnected")
      const { sequence, sessionId } = yield* session.snapshot
      expect([sessionId !== undefined, sequence]).toEqual([true, 1])
    }).pipe(Effect.provide(TestLayer)))
})

describe("stopping: the gateway ends the gateway session meanwhile", () => {
  it.scoped("an op 9 (not resumable) read while disconnect waits for its close leaves no resume point", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* TestClock.adjust("1 second")
      // a point would send the next process into a Resume the gateway refuses before it identifies
      expect(Option.isNone(yield* Fiber.join(stopping))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a close 4009 (session timed out) read while disconnect waits leaves no resume point", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const stopping = yield* Effect.fork(session.disconnect())
      yield* peer.close(4009, "Session timed out.")
      yield* settle
      yield* TestClock.adjust("1 second")
      expect(Option.isNone(yield* Fiber.join(stopping))).toBe(true)
    }).pipe(Effect.provide(TestLayer)))
})
