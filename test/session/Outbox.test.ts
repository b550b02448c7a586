import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as SendLimiter from "../../src/limits/SendLimiter.ts"
import { Opcode } from "../../src/protocol/Opcode.ts"
import * as Outbox from "../../src/session/Outbox.ts"
import { settle } from "../settle.ts"

/** A writer over real limiters that records what it wrote, and when. */
const recordingWriter = (options: { readonly accept?: () => boolean } = {}) =>
  Effect.gen(function*() {
    const slot = yield* SendLimiter.make({ limit: 3, window: "10 seconds", reserved: 0 })
    const presence = yield* SendLimiter.make({ limit: 1, window: "20 seconds", reserved: 0 })
    const written: Array<{ readonly payload: string | Uint8Array; readonly at: number }> = []
    const writer: Outbox.Writer<never> = {
      slot: slot.take("command"),
      presenceSlots: Effect.zipRight(presence.take("command"), slot.take("command")),
      write: (payload) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          if (options.accept !== undefined && !options.accept()) return false
          written.push({ payload, at })
          return true
        })
    }
    return { writer, written }
  })

describe("Outbox", () => {
  it.scoped("tells a command's watch, in order, that it was queued, then written, or, given up on while it waited, withdrawn", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const told: Array<string> = []
      const watch = (name: string): Outbox.Watch => ({
        onQueued: () => void told.push(`${name} queued`),
        onWritten: () => void told.push(`${name} written`),
        onWithdrawn: () => void told.push(`${name} withdrawn`)
      })
      // no writer yet: both wait
      const first = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "a", watch("a")))
      const second = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "b", watch("b")))
      yield* settle
      yield* Fiber.interrupt(second)
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* Fiber.join(first)
      expect(written.map((w) => w.payload)).toEqual(["a"])
      expect(told).toEqual(["a queued", "b queued", "b withdrawn", "a written"])
    }))

  it.scoped("takes a send slot only when a command is there to go out, so an idle writer cannot burst past the limit", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* TestClock.adjust("20 seconds")
      const sends = yield* Effect.fork(Effect.forEach(["a", "b", "c", "d"], (p) => outbox.submit(Opcode.VoiceStateUpdate, p), { concurrency: "unbounded" }))
      yield* settle
      expect(written.map((w) => w.at)).toEqual([20_000, 20_000, 20_000])
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(sends)
      expect(written.map((w) => [w.payload, w.at])).toEqual([["a", 20_000], ["b", 20_000], ["c", 20_000], ["d", 30_000]])
    }))

  it.scoped("a presence update waiting for its own limit holds up no other command", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* Effect.fork(outbox.submit(Opcode.PresenceUpdate, "p1"))
      yield* settle
      yield* Effect.fork(outbox.submit(Opcode.PresenceUpdate, "p2"))
      yield* settle
      yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "v"))
      yield* settle
      expect(written.map((w) => w.payload)).toEqual(["p1", "v"])
      yield* TestClock.adjust("20 seconds")
      yield* settle
      expect(written.map((w) => w.payload)).toEqual(["p1", "v", "p2"])
    }))

  it.scoped("presence updates waiting for the limit are overtaken by the newest: it goes out in the first one's place, and their waits end with it", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      const told: Array<string> = []
      const submit = (payload: string) =>
        Effect.fork(Effect.zipRight(
          outbox.submit(Opcode.PresenceUpdate, payload, { onWritten: () => told.push(`${payload} written`), onWithdrawn: () => told.push(`${payload} withdrawn`) }),
          Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => told.push(`${payload} done at ${at}`)))
        ))
      yield* submit("p1")
      yield* settle
      const waiting = [yield* submit("p2"), yield* submit("p3"), yield* submit("p4")]
      yield* settle
      yield* Fiber.interrupt(waiting[2]!)
      yield* TestClock.adjust("20 seconds")
      yield* Effect.forEach(waiting.slice(0, 2), Fiber.join)
      // p4 given up on: p3 is the newest, and goes out in p2's place
      expect(written.map((w) => [w.payload, w.at])).toEqual([["p1", 0], ["p3", 20_000]])
      expect(told.slice(0, 4)).toEqual(["p1 written", "p1 done at 0", "p4 withdrawn", "p3 written"])
      expect(told.slice(4).sort()).toEqual(["p2 done at 20000", "p3 done at 20000"])
      // a thousand updates faster than the limit take one place each 20 s, not a queue each
      yield* Effect.forEach(Array.from({ length: 1000 }, (_, i) => `q${i}`), (payload) => Effect.zipRight(submit(payload), TestClock.adjust("100 millis")))
      yield* TestClock.adjust("20 seconds")
      // (p3 holds the place until 40 s; q199 is the newest then)
      expect(written.slice(2).map((w) => [w.payload, w.at])).toEqual([["q199", 40_000], ["q399", 60_000], ["q599", 80_000], ["q799", 100_000], ["q999", 120_000]])
    }))

  // the updates an Identify carried waited for an answered connection's writer to find them moot:
  // a session that ended first failed them with SessionClosed, though they had gone out
  it.scoped("settleSuperseded ends the waits of the superseded commands at once, with no writer; the others wait on", () =>
    Effect.gen(function*() {
      const depths: Array<number> = []
      const outbox = yield* Outbox.make((depth) => Effect.sync(() => depths.push(depth)))
      const carried = yield* Effect.fork(outbox.submit(Opcode.PresenceUpdate, "carried", { superseded: () => true }))
      const newer = yield* Effect.fork(outbox.submit(Opcode.PresenceUpdate, "newer", { superseded: () => false }))
      const voice = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "voice"))
      yield* settle
      yield* outbox.settleSuperseded
      yield* settle
      expect([carried.unsafePoll(), newer.unsafePoll(), voice.unsafePoll(), depths.at(-1)]).toEqual([Exit.void, null, null, 2])
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* settle
      expect(written.map(({ payload }) => payload)).toEqual(["newer", "voice"])
    }))

  // a presence update superseded while it waited (a newer one went out, or an Identify carried one)
  // is moot: chosen by an overtaking write for being queued last, it went out all the same
  it.scoped("an overtaking presence update is the newest one not superseded, not merely the last queued", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* Effect.fork(outbox.submit(Opcode.PresenceUpdate, "p1"))
      yield* settle
      const waiting = yield* Effect.fork(Effect.all([
        outbox.submit(Opcode.PresenceUpdate, "newer"),
        outbox.submit(Opcode.PresenceUpdate, "older, queued last", { superseded: () => true })
      ], { concurrency: "unbounded" }))
      yield* settle
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(waiting)
      expect(written.map((w) => w.payload)).toEqual(["p1", "newer"])
    }))

  it.scoped("presence updates an overtaking write took along are put back when the socket refuses it, counted in the depth, and the newest goes out with the next connection", () =>
    Effect.gen(function*() {
      const depths: Array<number> = []
      const outbox = yield* Outbox.make((depth) => Effect.sync(() => depths.push(depth)))
      const sent = yield* Effect.fork(Effect.forEach(["p1", "p2", "p3"], (payload) => outbox.submit(Opcode.PresenceUpdate, payload), { concurrency: "unbounded" }))
      yield* settle
      // a socket that takes a second to refuse the write
      const refusing: Outbox.Writer<never> = { slot: Effect.void, presenceSlots: Effect.void, write: () => Effect.as(Effect.sleep("1 second"), false) }
      const connection = yield* Scope.make()
      yield* Scope.extend(outbox.attach(refusing), connection)
      yield* settle
      // one more while p3 is being written (in p1's place): the depth told then leaves out p2 and p3
      const later = yield* Effect.fork(outbox.submit(Opcode.PresenceUpdate, "p4"))
      yield* settle
      yield* TestClock.adjust("1 second")
      expect(depths.at(-1)).toBe(4)
      yield* Scope.close(connection, Exit.void)
      const second = yield* recordingWriter()
      yield* outbox.attach(second.writer)
      yield* Fiber.join(sent)
      yield* Fiber.join(later)
      expect(second.written.map((w) => w.payload)).toEqual(["p4"])
      expect(depths.at(-1)).toBe(0)
    }))

  it.scoped("a command the socket refused is written first by the next connection's writer", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      let open = false
      const first = yield* recordingWriter({ accept: () => open })
      const connection = yield* Scope.make()
      yield* Scope.extend(outbox.attach(first.writer), connection)
      const sent = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "x"))
      yield* settle
      yield* Scope.close(connection, Exit.void)
      open = true
      const second = yield* recordingWriter()
      yield* outbox.attach(second.writer)
      yield* Fiber.join(sent)
      expect(first.written).toEqual([])
      expect(second.written.map((w) => w.payload)).toEqual(["x"])
    }))

  it.scoped("a command whose caller gave up before it was written is never sent", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const waiting = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "late"))
      yield* settle
      yield* Fiber.interrupt(waiting)
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "next"))
      yield* settle
      expect(written.map((w) => w.payload)).toEqual(["next"])
    }))

  it.scoped("a caller that gives up while its command is being written learns from the write what became of it", () =>
    Effect.gen(function*() {
      const depths: Array<number> = []
      const outbox = yield* Outbox.make((depth) => Effect.sync(() => depths.push(depth)))
      const told: Array<string> = []
      const watch = (name: string): Outbox.Watch => ({
        onWritten: () => told.push(`${name} written`),
        onWithdrawn: () => told.push(`${name} withdrawn`)
      })
      // each write ends once its latch opens, accepted or refused
      const writeEnds = yield* Deferred.make<boolean>()
      const written: Array<string | Uint8Array> = []
      const connection = yield* Scope.make()
      yield* Scope.extend(
        outbox.attach({
          slot: Effect.void,
          presenceSlots: Effect.void,
          write: (payload) => Effect.tap(Deferred.await(writeEnds), (accepted) => accepted && written.push(payload))
        }),
        connection
      )
      const refused = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "refused", watch("refused")))
      yield* settle
      yield* Fiber.interrupt(refused)
      expect(told).toEqual([])
      // the socket refuses it: never written, and not carried over to the next connection
      yield* Deferred.succeed(writeEnds, false)
      yield* settle
      expect([told, depths.at(-1)]).toEqual([["refused withdrawn"], 0])
      yield* Scope.close(connection, Exit.void)
      const next = yield* recordingWriter()
      yield* outbox.attach(next.writer)
      yield* settle
      expect(next.written).toEqual([])

      // and one the socket takes went out, its caller gone or not
      const again = yield* Scope.make()
      const writeTakes = yield* Deferred.make<boolean>()
      const outbox2 = yield* Outbox.make(() => Effect.void)
      yield* Scope.extend(
        outbox2.attach({ slot: Effect.void, presenceSlots: Effect.void, write: () => Deferred.await(writeTakes) }),
        again
      )
      const taken = yield* Effect.fork(outbox2.submit(Opcode.PresenceUpdate, "taken", watch("taken")))
      yield* settle
      yield* Fiber.interrupt(taken)
      yield* Deferred.succeed(writeTakes, true)
      yield* settle
      expect(told).toEqual(["refused withdrawn", "taken written"])
      expect(written).toEqual([])
    }))

  it.scoped("writes commands that come after an idle spell, and reports the depth as it goes", () =>
    Effect.gen(function*() {
      const depths: Array<number> = []
      const outbox = yield* Outbox.make((depth) => Effect.sync(() => depths.push(depth)))
      const { writer, written } = yield* recordingWriter()
      yield* outbox.attach(writer)
      yield* outbox.submit(Opcode.VoiceStateUpdate, "first")
      yield* settle
      yield* TestClock.adjust("1 minute")
      yield* outbox.submit(Opcode.PresenceUpdate, "second")
      yield* outbox.submit(Opcode.VoiceStateUpdate, "third")
      expect(written.map((w) => w.payload)).toEqual(["first", "second", "third"])
      expect(depths.at(-1)).toBe(0)
    }))

  it.scoped("after the connection's scope closed, commands wait for the next writer", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const first = yield* recordingWriter()
      const connection = yield* Scope.make()
      yield* Scope.extend(outbox.attach(first.writer), connection)
      yield* Scope.close(connection, Exit.void)
      const sent = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "later"))
      yield* settle
      expect(first.written).toEqual([])
      const second = yield* recordingWriter()
      yield* outbox.attach(second.writer)
      yield* Fiber.join(sent)
      expect(second.written.map((w) => w.payload)).toEqual(["later"])
    }))

  it.scoped("a command submitted while the connection closes goes out on the next one, as do those after it", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      // the first connection's writer waits for a slot when the connection closes; the closing
      // interrupts it, and in that moment the program submits another command
      const connection = yield* Scope.make()
      const during: Array<Fiber.RuntimeFiber<void>> = []
      yield* Scope.extend(
        outbox.attach({
          slot: Effect.onInterrupt(Effect.never, () =>
            Effect.map(Effect.forkDaemon(outbox.submit(Opcode.VoiceStateUpdate, "during")), (fiber) => {
              during.push(fiber)
            })),
          presenceSlots: Effect.void,
          write: () => Effect.succeed(true)
        }),
        connection
      )
      const before = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "before"))
      yield* settle
      yield* Scope.close(connection, Exit.void)
      yield* settle
      expect(during).toHaveLength(1)

      const next = yield* recordingWriter()
      yield* outbox.attach(next.writer)
      const after = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, "after"))
      yield* Fiber.join(before)
      yield* Fiber.join(during[0]!)
      yield* Fiber.join(after)
      expect(next.written.map((w) => w.payload)).toEqual(["before", "during", "after"])
    }))

  it.scoped("a command submitted from uninterruptible code leaves no writer behind when its connection closes", () =>
    Effect.gen(function*() {
      const outbox = yield* Outbox.make(() => Effect.void)
      const connection = yield* Scope.make()
      // a connection whose limiter has no slot left, for good
      yield* Scope.extend(outbox.attach({ slot: Effect.never, presenceSlots: Effect.void, write: () => Effect.succeed(true) }), connection)
      const sent = yield* Effect.fork(Effect.uninterruptible(Effect.zipRight(
        Effect.forkDaemon(outbox.submit(Opcode.VoiceStateUpdate, "held")),
        Effect.void
      )))
      yield* Fiber.join(sent)
      yield* settle
      // closing interrupts the waiting writer: the close completes, and the command waits for the next connection
      yield* Scope.close(connection, Exit.void)
      const next = yield* recordingWriter()
      yield* outbox.attach(next.writer)
      yield* settle
      expect(next.written.map((w) => w.payload)).toEqual(["held"])
    }))
})
