import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Scheduler from "effect/Scheduler"
import * as TestClock from "effect/TestClock"
import * as SendLimiter from "../../src/limits/SendLimiter.ts"
import { settle } from "../settle.ts"

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)
const takeMany = (limiter: SendLimiter.SendLimiter, priority: SendLimiter.SendPriority, count: number) =>
  Effect.forEach(Array.from({ length: count }), () => limiter.take(priority), { discard: true })
const forkTake = (limiter: SendLimiter.SendLimiter, priority: SendLimiter.SendPriority) =>
  Effect.tap(Effect.fork(limiter.take(priority)), () => settle)

describe("SendLimiter", () => {
  it.scoped("lets 120 sends go at once and holds the 121st until the first leaves the window, Discord's 60 s and a 1 s margin", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make()
      yield* takeMany(limiter, "control", 120)
      expect((yield* limiter.snapshot).used).toBe(120)
      const next = yield* forkTake(limiter, "control")
      yield* TestClock.adjust("60999 millis")
      expect(yield* isDone(next)).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(yield* isDone(next)).toBe(true)
    }))

  it.scoped("awaitRoom waits until a take would go at once, and takes nothing", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make(SendLimiter.presenceUpdates)
      yield* takeMany(limiter, "command", 5)
      const room = yield* Effect.tap(Effect.fork(limiter.awaitRoom("command")), () => settle)
      yield* TestClock.adjust("20999 millis")
      expect(yield* isDone(room)).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(yield* isDone(room)).toBe(true)
      expect((yield* limiter.snapshot).used).toBe(0)
      yield* takeMany(limiter, "command", 5)
      expect((yield* limiter.snapshot).used).toBe(5)
    }))

  it.scoped("tryTake takes a control place at once only while `spare` places stay free after it, and never waits", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make()
      yield* takeMany(limiter, "control", 117)
      expect(yield* limiter.tryTake(2)).toBe(true)
      expect(yield* limiter.tryTake(2)).toBe(false)
      expect((yield* limiter.snapshot).used).toBe(118)
      expect(yield* limiter.tryTake(0)).toBe(true)
      // the window is full: it says no at once rather than wait for the first place to leave it
      yield* takeMany(limiter, "control", 1)
      const tried = yield* Effect.fork(limiter.tryTake(0))
      yield* settle
      expect(yield* Fiber.join(tried)).toBe(false)
      expect((yield* limiter.snapshot).used).toBe(120)
    }))

  it.scoped("a send free less than a nanosecond from now goes, not waited for with a sleep of zero", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make()
      yield* takeMany(limiter, "control", 120)
      // 0.6 ns later the wait is 60999.9999994 ms, which Effect's timeout rounds to 60999.999999 ms:
      // when it ends, the window frees the first send 0.4 ns later, a sleep of zero
      yield* TestClock.setTime(0.0000006)
      const next = yield* forkTake(limiter, "control")
      yield* TestClock.adjust("60999999999 nanos")
      yield* settle
      expect(yield* isDone(next)).toBe(true)
    }))

  it.scoped("stops commands at limit - reserved while control sends still pass", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make()
      expect(SendLimiter.gatewaySends.reserved).toBe(4)
      yield* takeMany(limiter, "command", 116)
      const command = yield* forkTake(limiter, "command")
      expect(yield* isDone(command)).toBe(false)
      yield* takeMany(limiter, "control", 4)
      const control = yield* forkTake(limiter, "control")
      expect(yield* isDone(control)).toBe(false)
      expect((yield* limiter.snapshot).waiting).toEqual({ control: 1, command: 1 })
      yield* TestClock.adjust("61 seconds")
      yield* settle
      expect(yield* isDone(control)).toBe(true)
      expect(yield* isDone(command)).toBe(true)
    }))

  it("sizes the room for scheduled beats from Hello's interval, up to a quarter of the window", () => {
    const places = [41_250, 30_000, 10_000, 3_000, 2_200, 2_000, 300, 3_600_000].map((interval) => SendLimiter.scheduledBeatPlaces(interval))
    // 61 s windows: 2 at Discord's interval, 7 at 10 s; from 2 s down they would take over a
    // quarter of the window: the 2 of Discord's interval
    expect(places).toEqual([2, 3, 7, 21, 28, 2, 2, 2])
  })

  it("puts scheduled beats that alone would take every place commands may use in line with the commands", () => {
    // 61 s windows of 120, 4 kept for control sends: 115 beats leave commands one place
    const priorities = [41_250, 1_000, 531, 530, 500, 1].map((interval) => SendLimiter.scheduledBeatPriority(interval))
    expect(priorities).toEqual(["control", "control", "control", "inLine", "inLine", "inLine"])
  })

  it.scoped("an inLine take waits behind the commands before it, yet may take the places kept for beats", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make()
      // the places commands may use taken: a command waits, and an inLine take after it waits its turn
      yield* takeMany(limiter, "command", 116)
      const command = yield* forkTake(limiter, "command")
      const inLine = yield* forkTake(limiter, "inLine")
      expect([yield* isDone(command), yield* isDone(inLine)]).toEqual([false, false])
      // with no command waiting, inLine takes go on into the places kept for beats, and stop at the
      // two kept for an identify or resume and an op 1 answer
      yield* Fiber.interrupt(command)
      yield* settle
      expect(yield* isDone(inLine)).toBe(true)
      yield* takeMany(limiter, "inLine", 1)
      expect((yield* limiter.snapshot).used).toBe(118)
      const next = yield* forkTake(limiter, "inLine")
      expect(yield* isDone(next)).toBe(false)
      expect(yield* limiter.tryTake(0)).toBe(true)
    }))

  it.scoped("reserve changes the places kept for control sends: commands waiting for them go once fewer are kept", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make()
      yield* limiter.reserve(9)
      yield* takeMany(limiter, "command", 111)
      const command = yield* forkTake(limiter, "command")
      expect(yield* isDone(command)).toBe(false)
      yield* limiter.reserve(4)
      yield* settle
      expect(yield* isDone(command)).toBe(true)
      expect((yield* limiter.snapshot).used).toBe(112)
      // one that is no number keeps none, as the options' would: no command goes past the limit
      yield* limiter.reserve(NaN)
      yield* takeMany(limiter, "command", 8)
      const over = yield* forkTake(limiter, "command")
      expect(yield* isDone(over)).toBe(false)
      expect((yield* limiter.snapshot).used).toBe(120)
      // Infinity keeps the most, limit - 1, as 1e9 does: one command place
      const most = yield* SendLimiter.make({ limit: 10, window: "10 seconds", reserved: Infinity })
      yield* most.take("command")
      const second = yield* forkTake(most, "command")
      expect(yield* isDone(second)).toBe(false)
    }))

  it.scoped("serves a waiting control send before earlier commands, FIFO within a priority", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make({ limit: 3, window: "10 seconds", reserved: 0 })
      for (let i = 0; i < 3; i++) {
        yield* limiter.take("command")
        yield* TestClock.adjust("1 second")
      }
      // The window frees one place at t = 10 s, 11 s and 12 s.
      const first = yield* forkTake(limiter, "command")
      const second = yield* forkTake(limiter, "command")
      const control = yield* forkTake(limiter, "control")
      yield* TestClock.adjust("7 seconds")
      yield* settle
      expect([yield* isDone(control), yield* isDone(first), yield* isDone(second)]).toEqual([true, false, false])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect([yield* isDone(first), yield* isDone(second)]).toEqual([true, false])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* isDone(second)).toBe(true)
    }))

  it.scoped("an interrupted waiter leaves no place behind", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make({ limit: 2, window: "10 seconds", reserved: 0 })
      yield* takeMany(limiter, "command", 2)
      const gone = yield* forkTake(limiter, "command")
      const kept = yield* forkTake(limiter, "command")
      yield* Fiber.interrupt(gone)
      expect((yield* limiter.snapshot).waiting.command).toBe(1)
      yield* TestClock.adjust("10 seconds")
      yield* settle
      expect(yield* isDone(kept)).toBe(true)
      // Both places freed at 10 s: the kept waiter used one, the other is still free.
      const now = yield* forkTake(limiter, "command")
      expect(yield* isDone(now)).toBe(true)
      expect((yield* limiter.snapshot).used).toBe(2)
    }))

  it.scoped("limits presence updates to 5 per 20 s, with a 1 s margin", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make(SendLimiter.presenceUpdates)
      yield* takeMany(limiter, "command", 5)
      const sixth = yield* forkTake(limiter, "command")
      yield* TestClock.adjust("20999 millis")
      expect(yield* isDone(sixth)).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(yield* isDone(sixth)).toBe(true)
    }))

  it.scoped("a control send that starts waiting wakes the timer, which was waiting longer for a command", () =>
    Effect.gen(function*() {
      // commands stop at 2 commands in the window, every send at 3
      const limiter = yield* SendLimiter.make({ limit: 3, window: "10 seconds", reserved: 1 })
      // commands are counted apart from control sends (a beat in the window cost commands two
      // places): the control send first, so that the command waits for the commands to leave
      yield* limiter.take("control")
      yield* TestClock.adjust("5 seconds")
      yield* limiter.take("command")
      yield* TestClock.adjust("1 second")
      yield* limiter.take("command")
      // the command can go once the command at 5 s has left the window: at 15 s
      const command = yield* forkTake(limiter, "command")
      yield* TestClock.adjust("1 second")
      // the control send only needs the send at 0 s gone: at 10 s, not when the timer next looks
      const control = yield* forkTake(limiter, "control")
      yield* TestClock.adjust("2999 millis")
      yield* settle
      expect([yield* isDone(control), yield* isDone(command)]).toEqual([false, false])
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect([yield* isDone(control), yield* isDone(command)]).toEqual([true, false])
      // the control send took the place the window freed at 10 s, not a command's: at 15 s the
      // command of 5 s leaves, and the command goes
      yield* TestClock.adjust("4999 millis")
      yield* settle
      expect(yield* isDone(command)).toBe(false)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(yield* isDone(command)).toBe(true)
    }))

  it.scoped("waits again after an idle spell (the timer fiber stops when nobody waits, and starts again)", () =>
    Effect.gen(function*() {
      const limiter = yield* SendLimiter.make({ limit: 1, window: "1 second", reserved: 0 })
      for (let round = 0; round < 3; round++) {
        yield* limiter.take("command")
        const waiting = yield* forkTake(limiter, "command")
        expect(yield* isDone(waiting)).toBe(false)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(yield* isDone(waiting)).toBe(true)
        yield* TestClock.adjust("10 seconds")
      }
    }))

  it.scoped("a take interrupted after its turn came, before it resumed, gives the slot back", () =>
    Effect.gen(function*() {
      // the waiter and the limiter's timer run on a scheduler the test steps by hand, so the
      // interrupt can land between the grant and the waiter's resumption
      const scheduler = new Scheduler.ControlledScheduler()
      const step = Effect.sync(() => scheduler.step())
      const run = Effect.repeatN(Effect.zipRight(step, Effect.yieldNow()), 20)
      // TestClock forks a warning fiber at the first sleep until the clock was once adjusted: not
      // on this scheduler
      yield* TestClock.adjust(0)
      const limiter = yield* SendLimiter.make({ limit: 1, window: "1 second", reserved: 0 })
      yield* limiter.take("command")
      const waiter = yield* Effect.fork(Effect.withScheduler(limiter.take("command"), scheduler))
      yield* run
      expect((yield* limiter.snapshot).waiting.command).toBe(1)
      yield* TestClock.adjust("1 second")
      // step until the timer granted the turn (the slot is taken), and no further
      let steps = 0
      while ((yield* limiter.snapshot).waiting.command > 0 && steps++ < 20) yield* step
      expect(yield* limiter.snapshot).toEqual({ used: 1, waiting: { control: 0, command: 0 } })
      expect(yield* isDone(waiter)).toBe(false)
      yield* Effect.sync(() => waiter.unsafeInterruptAsFork(FiberId.none))
      yield* run
      expect(Exit.isInterrupted(yield* Fiber.await(waiter))).toBe(true)
      expect((yield* limiter.snapshot).used).toBe(0)
      expect(yield* isDone(yield* forkTake(limiter, "command"))).toBe(true)
    }))
})
