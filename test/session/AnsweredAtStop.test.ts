/**
 * A program's identify limiter whose `answered` takes a while to be interrupted (a lock released
 * over the network in its cleanup): the session's stop must not wait for it before it even begins.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { acceptAndHello, dispatch, options, programLimiter, ready, Session, settle } from "./harness.ts"

// `answered` waits (allowed: "An `answered` that waits does not hold the connection up"), and its
// cleanup, once interrupted, takes 30 s (a store's lock released over the network)
const slowCleanup = programLimiter({
  identify: (_shard, send) => send(Effect.onInterrupt(Effect.never, () => Effect.sleep("30 seconds")))
})

const step = (ms: number) => Effect.zipRight(TestClock.adjust(ms), settle)

describe("a limiter's answered slow to let go, at a stop", () => {
  // README, Stopping: "Closing the scope also keeps the session resumable. It waits for the close
  // to go through up to 1 s, not 5 s". README, A custom identify limiter: "`answered` ... One still
  // running when the session ends is interrupted, as it outlived the session." InTurn.ts says the
  // same of the outage hooks: one that cannot be interrupted at once "held the scope's close".
  // The scope's close interrupted the `answered` fiber (forked into the session's scope after the
  // stop's finalizer was added, so run first) and waited for it before the stop began: the socket
  // stayed open, the session Connected and delivering, for the whole 30 s.
  it.scoped("closing the scope while a limiter's answered is still running sends the close at once and returns within about 1 s", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const session = yield* Scope.extend(Session.make(options()), scope)
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.autoAck(true)
      yield* peer.sendJson(ready())
      yield* settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      yield* step(1500)
      const seen = {
        socketOpen: yield* peer.isOpen,
        state: (yield* session.state)._tag,
        scopeClosed: closing.unsafePoll() !== null
      }
      // let the cleanup end before the test's own scope closes
      yield* step(30_000)
      yield* Fiber.join(closing)
      expect(seen).toEqual({ socketOpen: false, state: "Disconnected", scopeClosed: true })
    }).pipe(Effect.provide(slowCleanup)))

  // README, Stopping: "A stop ... returns only once the session has ended and says so";
  // Session.await's doc: "succeeds once disconnect/end stopped it". The close went through at
  // once, yet `await` and `events` stay open for the 30 s of the limiter's cleanup.
  it.scoped("disconnect while a limiter's answered is still running: the close goes through at once, and await and events end with the stop", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const draining = yield* Effect.fork(Stream.runDrain(session.events))
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.autoAck(true)
      yield* peer.sendJson(ready())
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect())
      yield* settle
      yield* step(1000)
      const awaiting = yield* Effect.fork(session.await)
      yield* settle
      const seen = {
        socketOpen: yield* peer.isOpen,
        stopReturned: stopping.unsafePoll() !== null,
        awaitDone: awaiting.unsafePoll() !== null,
        eventsEnded: draining.unsafePoll() !== null
      }
      yield* step(30_000)
      expect(seen).toEqual({ socketOpen: false, stopReturned: true, awaitDone: true, eventsEnded: true })
    }).pipe(Effect.provide(slowCleanup)))
})
