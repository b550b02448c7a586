/**
 * The outage hooks of a program's own: told on fibers of their own, in order, each failure logged,
 * so that one that takes its time or fails holds back neither the reader nor the loop.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as Outage from "../../src/session/Outage.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, options, ready, Session, settle, TestLayer } from "./harness.ts"

// an outage count that records each call, in order
const recording = () => {
  const base = Outage.make()
  const calls: Array<string> = []
  const outage: Outage.Outage = {
    failed: (reason) => Effect.zipRight(Effect.sync(() => void calls.push(`failed:${reason._tag}`)), base.failed(reason)),
    get unanswered() {
      return Effect.zipRight(Effect.sync(() => void calls.push("unanswered")), base.unanswered)
    },
    get ready() {
      return Effect.zipRight(Effect.sync(() => void calls.push("ready")), base.ready)
    },
    dropped: (reason) => Effect.zipRight(Effect.sync(() => void calls.push(`dropped:${reason._tag}`)), base.dropped(reason)),
    get lasted() {
      return Effect.zipRight(Effect.sync(() => void calls.push("lasted")), base.lasted)
    },
    heldBack: (invalidatedInARow, waitMillis) =>
      Effect.zipRight(Effect.sync(() => void calls.push(`heldBack:${invalidatedInARow}`)), base.heldBack(invalidatedInARow, waitMillis)),
    lost: (why, sequence) => Effect.zipRight(Effect.sync(() => void calls.push("lost")), base.lost(why, sequence)),
    get ended() {
      return Effect.zipRight(Effect.sync(() => void calls.push("ended")), base.ended)
    }
  }
  return { outage, calls }
}

// a `dropped` that writes to a slow store (interruptible), saying when it starts and when it is
// cut off; an `ended` that says when it is told
const slowDropped = () => {
  const base = Outage.make()
  const calls: Array<string> = []
  const outage: Outage.Outage = {
    ...base,
    dropped: () =>
      Effect.zipRight(
        Effect.sync(() => void calls.push("dropped:start")),
        Effect.sleep("10 minutes").pipe(Effect.onInterrupt(() => Effect.sync(() => void calls.push("dropped:interrupted"))))
      ),
    get ended() {
      return Effect.zipRight(Effect.sync(() => void calls.push("ended")), base.ended)
    }
  }
  return { outage, calls }
}

// a session told its outage with `outage`, READY on its first connection, which then drops
const readyThenDropped = (outage: Outage.Outage) =>
  Effect.gen(function*() {
    const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
    const session = yield* Session.makeWith(resolved, { outage })
    const { peer } = yield* acceptAndHello(41_250)
    yield* peer.sendJson(ready())
    yield* settle
    yield* peer.drop
    yield* settle
    return session
  })

// a session stable after 30 s whose outage hook `lasted` dies
const dyingLasted = Effect.suspend(() => {
  const resolved = Either.getOrThrow(SessionOptions.resolve(options({ backoff: { stableAfter: "30 seconds" } })))
  return Session.makeWith(resolved, { outage: { ...Outage.make(), lasted: Effect.dieMessage("the store is gone") } })
})

// READY on the first connection, whose beats (every 10 s) are answered, and 50 s later: past a
// `stableAfter` of 30 s, at an ACK
const readyWithBeatsAnswered = Effect.gen(function*() {
  const { peer } = yield* acceptAndHello(10_000)
  yield* peer.autoAck(true)
  yield* peer.sendJson(ready())
  yield* settle
  for (let i = 0; i < 5; i++) {
    yield* TestClock.adjust("10 seconds")
    yield* settle
  }
  return peer
})

describe("a program's outage hook", () => {
  // a `ready` that writes to a slow store (a minute) held the session's loop once the connection
  // dropped: the state said Connected/Ready with no socket, and no reconnect was made until it ended
  it.scoped("a slow `ready` hook does not hold the session Connected and unreconnected after its connection dropped", () =>
    Effect.gen(function*() {
      const base = Outage.make()
      const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
      const session = yield* Session.makeWith(resolved, {
        outage: {
          ...base,
          get ready() {
            return Effect.zipRight(Effect.sleep("1 minute"), base.ready)
          }
        }
      })
      const gateway = yield* MemoryTransport.MemoryGateway
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.sendJson(ready())
      yield* settle
      expect((yield* session.state)._tag).toBe("Connected")
      yield* peer.drop
      yield* settle
      // the socket is gone: the session says so
      const state = yield* session.state
      // and it reconnects (resumes) within its backoff, not once the program's hook is done
      const next = yield* Effect.fork(gateway.accept)
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const reconnected = (yield* Fiber.poll(next))._tag === "Some"
      yield* Fiber.interrupt(next)
      expect({ state: state._tag, reconnectedWithin10s: reconnected }).toEqual({ state: "Disconnected", reconnectedWithin10s: true })
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // a hook that dies is logged and the session goes on, whoever tells it: told by the loop at a
  // stable connection's end, it ended the session, where told at an ACK past stableAfter it was logged
  it.scoped("a `lasted` hook that dies: the same fate whether the reader or the loop tells it (it ends the session only when the loop does)", () =>
    Effect.gen(function*() {
      const session = yield* dyingLasted
      // Hello asks for beats every 10 minutes: no ACK past stableAfter before the drop, so the loop
      // tells `lasted` (the connection was stable by its end)
      const { peer } = yield* acceptAndHello(600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* TestClock.adjust("40 seconds")
      yield* settle
      yield* peer.drop
      yield* settle
      const awaiting = yield* Effect.fork(Effect.either(Effect.catchAllDefect(session.await, (defect) => Effect.fail(`died: ${String(defect)}`))))
      yield* settle
      const polled = yield* Fiber.poll(awaiting)
      yield* Fiber.interrupt(awaiting)
      expect(polled._tag === "Some" ? `ended: ${polled.value._tag === "Success" ? JSON.stringify(polled.value.value) : "?"}` : "running").toBe("running")
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("a `lasted` hook that dies, told at an ACK past stableAfter, is logged and the session goes on", () =>
    Effect.gen(function*() {
      const session = yield* dyingLasted
      const peer = yield* readyWithBeatsAnswered
      const awaiting = yield* Effect.fork(Effect.exit(session.await))
      yield* settle
      const polled = yield* Fiber.poll(awaiting)
      yield* Fiber.interrupt(awaiting)
      expect(polled._tag).toBe("None")
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // Outage.ts: `lasted` is "told at its first heartbeat ACK after that, or at its end": one
  // connection that lasted is one `lasted`, whether the reader told it at an ACK or not
  it.scoped("a connection that lasted is told `lasted` once (it was told at its ACK past stableAfter and again at its end)", () =>
    Effect.gen(function*() {
      const { calls, outage } = recording()
      const resolved = Either.getOrThrow(SessionOptions.resolve(options({ backoff: { stableAfter: "30 seconds" } })))
      yield* Session.makeWith(resolved, { outage })
      const peer = yield* readyWithBeatsAnswered
      expect(calls).toEqual(["ready", "lasted"])
      yield* peer.drop
      yield* settle
      expect(calls.filter((call) => call === "lasted")).toEqual(["lasted"])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("the count hears failed, ready, dropped in the order they happened", () =>
    Effect.gen(function*() {
      const { calls, outage } = recording()
      const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
      yield* Session.makeWith(resolved, { outage })
      const first = yield* acceptAndHello(41_250)
      yield* first.peer.drop
      yield* settle
      const accepting = yield* Effect.fork(acceptAndHello(41_250))
      for (let i = 0; i < 10; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const second = yield* Fiber.join(accepting)
      yield* second.peer.sendJson(ready())
      yield* settle
      yield* second.peer.drop
      yield* settle
      expect(calls).toEqual(["failed:Closed", "ready", "dropped:Closed"])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // `onEnd`/`outage.ended` hold neither `events` nor `await`, and nor do the other hooks: one
  // writing to a slow store inside an uninterruptible region (a transaction) held `await` for its
  // minutes (the session's scope, whose close waited for it, was closed before `await` was done)
  it.scoped("a slow `dropped`, interruptible or not, does not hold `await` past the session's end", () =>
    Effect.gen(function*() {
      for (const slow of [Effect.sleep("10 minutes"), Effect.uninterruptible(Effect.sleep("10 minutes"))]) {
        const session = yield* readyThenDropped({ ...Outage.make(), dropped: () => slow })
        const awaiting = yield* Effect.fork(Effect.exit(session.await))
        yield* Effect.fork(session.end("5 seconds"))
        for (let i = 0; i < 10; i++) {
          yield* TestClock.adjust("1 second")
          yield* settle
        }
        expect((yield* Fiber.poll(awaiting))._tag).toBe("Some")
        // the uninterruptible one's minutes, before the next round
        yield* TestClock.adjust("10 minutes")
        yield* settle
      }
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  // `ended` was told before the interruption was seen through (a fatal close, a stop), or before
  // the hooks were interrupted at all (the caller's scope closing: the hooks' own finalizer runs
  // after the stop's)
  it.scoped("a fatal close: a running `dropped` is interrupted before `ended` is told", () =>
    Effect.gen(function*() {
      const { calls, outage } = slowDropped()
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* readyThenDropped(outage)
      expect(calls).toEqual(["dropped:start"])
      const next = yield* Effect.fork(gateway.accept)
      for (let i = 0; i < 10 && (yield* Fiber.poll(next))._tag === "None"; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const peer = yield* Fiber.join(next)
      yield* peer.close(4004, "Authentication failed.")
      yield* settle
      yield* Effect.exit(session.await)
      yield* settle
      expect(calls).toEqual(["dropped:start", "dropped:interrupted", "ended"])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.scoped("`end`: a running `dropped` is interrupted before `ended` is told", () =>
    Effect.gen(function*() {
      const { calls, outage } = slowDropped()
      const session = yield* readyThenDropped(outage)
      expect(calls).toEqual(["dropped:start"])
      yield* session.end("5 seconds")
      yield* settle
      expect(calls).toEqual(["dropped:start", "dropped:interrupted", "ended"])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

  it.effect("the caller's scope closing: a running `dropped` is interrupted before `ended` is told", () =>
    Effect.gen(function*() {
      const { calls, outage } = slowDropped()
      const scope = yield* Scope.make()
      const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
      yield* Scope.extend(Session.makeWith(resolved, { outage }), scope)
      const first = yield* acceptAndHello(41_250)
      yield* first.peer.sendJson(ready())
      yield* settle
      yield* first.peer.drop
      yield* settle
      expect(calls).toEqual(["dropped:start"])
      yield* Scope.close(scope, Exit.void)
      yield* settle
      expect(calls).toEqual(["dropped:start", "dropped:interrupted", "ended"])
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))

})

// a stop after the session had ended on its own (a fatal close) interrupted the loop's fiber, then
// running its last steps: the program's onEnd or outage.ended was cut short, and nothing said so
describe("the last hooks under a stop that comes after the session ended on its own", () => {
  for (const stop of ["disconnect", "end"] as const) {
    for (const hook of ["onEnd", "outage.ended"] as const) {
      it.scoped(`${hook} with an interruptible step runs to its end when ${stop}() comes after a fatal close`, () =>
        Effect.gen(function*() {
          const resolved = yield* SessionOptions.resolve(options())
          let ended = false
          const slow = Effect.interruptible(Effect.delay(Effect.sync(() => void (ended = true)), "2 seconds"))
          const session = yield* Session.makeWith(resolved, hook === "onEnd" ? { onEnd: () => slow } : { outage: { ...Outage.make(), ended: slow } })
          const { peer } = yield* acceptAndHello(3_600_000)
          yield* peer.sendJson(ready())
          yield* settle
          yield* peer.close(4004, "Authentication failed.")
          yield* settle
          yield* Effect.either(session.await)
          yield* stop === "disconnect" ? session.disconnect("5 seconds") : Effect.asVoid(session.end("5 seconds"))
          yield* TestClock.adjust("2 seconds")
          yield* settle
          expect(ended).toBe(true)
        }).pipe(Effect.provide(TestLayer)))
    }
  }
})
