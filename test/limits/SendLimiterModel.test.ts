/**
 * The send limiter against a model of its documented rules.
 *
 * Since commands are counted apart from the beats (d87cc24), no single count against a single cap
 * says when a send may go: each kind meets its own rule, over sends, commands and op 1 answers each
 * counted in the window. The model holds those rules as the docs state them, over plain lists of
 * send times, and is stepped 1 ms at a time beside the limiter under the TestClock: the limiter must
 * grant exactly what the model grants, when it grants it (a timer woken late shows as a grant
 * missing at its step, one woken early as a grant the model does not make).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as SendLimiter from "../../src/limits/SendLimiter.ts"
import { seeded } from "../../src/testing/Traffic.ts"
import { settle } from "../settle.ts"

type Priority = SendLimiter.SendPriority

interface Waiting {
  readonly id: number
  readonly priority: Priority
}

/**
 * The documented rules: no send brings the window over `limit`; a command also keeps
 * `limit - reserved` commands and op 1 answers in the window but the first answer (whose place is
 * reserved); an `inLine` beat leaves `min(reserved, 2)` places free; an op 1 answer goes only at
 * once, when no control send waits, within that same count of commands and answers, leaving `spare`
 * places free, and counts as a command. Waiting
 * control sends are served first, then one first-come-first-served line of the others.
 */
class Model {
  readonly sends: Array<number> = []
  readonly commands: Array<number> = []
  readonly answers: Array<number> = []
  private reserved: number
  private controlLine: Array<Waiting> = []
  private line: Array<Waiting> = []

  constructor(readonly limit: number, readonly window: number, reserved: number) {
    this.reserved = this.clamped(reserved)
  }

  private clamped(places: number): number {
    return Math.min(Math.max(0, Math.floor(places)), this.limit - 1)
  }

  inWindow(times: ReadonlyArray<number>, now: number): number {
    return times.filter((time) => time + this.window > now).length
  }

  private mayGo(priority: Priority, now: number): boolean {
    const sends = this.inWindow(this.sends, now)
    if (priority === "control") return sends < this.limit
    if (priority === "inLine") return sends < this.limit - Math.min(this.reserved, 2)
    const answers = this.inWindow(this.answers, now)
    const commands = this.inWindow(this.commands, now) + answers - Math.min(1, answers)
    return commands < this.limit - this.reserved && sends < this.limit
  }

  private record(priority: Priority, now: number): void {
    this.sends.push(now)
    if (priority === "command") this.commands.push(now)
  }

  /** A `take`: the ids granted by it, its own among them if it went at once. */
  take(id: number, priority: Priority, now: number): Array<number> {
    const skipsLine = this.controlLine.length === 0 && (priority === "control" || this.line.length === 0)
    if (skipsLine && this.mayGo(priority, now)) {
      this.record(priority, now)
      return [id]
    }
    ;(priority === "control" ? this.controlLine : this.line).push({ id, priority })
    return this.serve(now)
  }

  /** Grants the waiting takes that may go at `now`, in order; returns their ids. */
  serve(now: number): Array<number> {
    const granted: Array<number> = []
    for (;;) {
      const head = this.controlLine[0] ?? this.line[0]
      if (head === undefined || !this.mayGo(head.priority, now)) return granted
      ;(head.priority === "control" ? this.controlLine : this.line).shift()
      this.record(head.priority, now)
      granted.push(head.id)
    }
  }

  tryTake(spare: number, now: number): boolean {
    // with it, the commands and answers in the window but one answer: commands + answers + 1 - 1
    const commands = this.inWindow(this.commands, now) + this.inWindow(this.answers, now)
    if (this.controlLine.length > 0 || commands > this.limit - this.reserved) return false
    if (this.inWindow(this.sends, now) >= this.limit - Math.max(0, spare)) return false
    this.sends.push(now)
    this.answers.push(now)
    return true
  }

  reserve(places: number, now: number): Array<number> {
    this.reserved = this.clamped(places)
    return this.serve(now)
  }

  /** An interrupted wait: its place in line goes to those behind it. */
  cancel(id: number, now: number): Array<number> {
    this.controlLine = this.controlLine.filter((waiting) => waiting.id !== id)
    this.line = this.line.filter((waiting) => waiting.id !== id)
    return this.serve(now)
  }
}

const sorted = (ids: ReadonlySet<number>): Array<number> => [...ids].sort((a, b) => a - b)

/** The most sends any window of `window` ms holds. */
const fullestWindow = (times: ReadonlyArray<number>, window: number): number =>
  Math.max(0, ...times.map((start) => times.filter((time) => time >= start && time < start + window).length))

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)

/**
 * 120 ms of random traffic from `seed` against a small limiter (a few places, windows of a few ms,
 * so that the traffic keeps it full and every rule binds), checked against the model after each
 * operation and each millisecond.
 */
const compareWithModel = (seed: number) =>
  Effect.scoped(Effect.gen(function*() {
    const random = seeded(seed)
    const limit = 2 + Math.floor(random() * 7)
    const window = [7, 10, 23][Math.floor(random() * 3)]!
    const reserved = Math.floor(random() * limit)
    const limiter = yield* SendLimiter.make({ limit, window, reserved })
    const model = new Model(limit, window, reserved)
    const granted = new Set<number>()
    const expected = new Set<number>()
    const takes = new Map<number, Fiber.RuntimeFiber<void>>()
    const grant = (ids: ReadonlyArray<number>) => ids.forEach((id) => expected.add(id))
    const matches = (now: number) =>
      expect(sorted(granted), `seed ${seed} (limit ${limit}, window ${window}, reserved ${reserved}) at ${now}`)
        .toEqual(sorted(expected))
    // not at 0: sends at the clock's start would sit in a window that began before it
    const start = 1000
    yield* TestClock.adjust(start)
    let nextId = 0
    for (let now = start; now < start + 120; now++) {
      const operations = Math.floor(random() * 4)
      for (let i = 0; i < operations; i++) {
        const roll = random()
        if (roll < 0.55) {
          const priority: Priority = roll < 0.15 ? "control" : roll < 0.45 ? "command" : "inLine"
          const id = nextId++
          takes.set(id, yield* Effect.fork(Effect.tap(limiter.take(priority), () => Effect.sync(() => granted.add(id)))))
          grant(model.take(id, priority, now))
        } else if (roll < 0.75) {
          const spare = Math.floor(random() * 4)
          expect(yield* limiter.tryTake(spare), `seed ${seed} at ${now}: tryTake(${spare})`).toBe(model.tryTake(spare, now))
        } else if (roll < 0.85) {
          const places = Math.floor(random() * (limit + 1))
          yield* limiter.reserve(places)
          grant(model.reserve(places, now))
        } else {
          const stillWaiting = [...takes.keys()].filter((id) => !granted.has(id))
          if (stillWaiting.length > 0) {
            const interrupted = stillWaiting[Math.floor(random() * stillWaiting.length)]!
            yield* Fiber.interrupt(takes.get(interrupted)!)
            takes.delete(interrupted)
            grant(model.cancel(interrupted, now))
          }
        }
        yield* settle
        matches(now)
      }
      yield* TestClock.adjust(1)
      yield* settle
      grant(model.serve(now + 1))
      matches(now + 1)
      expect((yield* limiter.snapshot).used, `seed ${seed} at ${now + 1}: sends in the window`)
        .toBe(model.inWindow(model.sends, now + 1))
    }
    // the model itself must keep the limit, or matching it proves nothing
    expect(fullestWindow(model.sends, window)).toBeLessThanOrEqual(limit)
    for (const take of takes.values()) yield* Fiber.interrupt(take)
  }))

describe("SendLimiter against a model of its rules", () => {
  it.effect("random takes, op 1 answers, reserve changes and interrupted waits match the model step by step", () =>
    Effect.forEach([1, 2, 3, 4], compareWithModel, { discard: true }), 20_000)

  // With one answer in the window a command fits while commands and answers are at most one over
  // the cap; the answer leaving then frees nothing, so the wait must end when the first command
  // leaves, not when the answer does, and not a millisecond early.
  it.scoped("a command waiting beside one answer goes at the exact time the model says", () =>
    Effect.gen(function*() {
      // 4 places for commands, all taken (the answer at 0 has its own): commands at 10, 20, 30, 40
      const limiter = yield* SendLimiter.make({ limit: 6, window: 100, reserved: 2 })
      expect(yield* limiter.tryTake(0)).toBe(true)
      for (let i = 0; i < 4; i++) {
        yield* TestClock.adjust(10)
        yield* limiter.take("command")
      }
      const waiting = yield* Effect.fork(limiter.take("command"))
      let now = 40
      // the answer leaves at 100, the command at 10 at 110
      for (const [at, done] of [[40, false], [99, false], [100, false], [109, false], [110, true]] as const) {
        yield* TestClock.adjust(at - now)
        now = at
        yield* settle
        expect(yield* isDone(waiting), `at ${at}`).toBe(done)
      }
    }))

  // Discord-like intervals (control beats, the reserve their places and 2 more): a flood of
  // commands and op 1 answers (`tryTake(0)`, as a connection answers beside control beats) must
  // never hold a beat: the commands' count, which holds the answers, keeps their places.
  for (const interval of [41_250, 10_000, 2_200]) {
    it.scoped(`scheduled control beats every ${interval} ms never wait beside a command flood and op 1 answers`, () =>
      Effect.gen(function*() {
        const random = seeded(interval)
        const limiter = yield* SendLimiter.make()
        const beatPlaces = SendLimiter.scheduledBeatPlaces(interval)
        expect(SendLimiter.scheduledBeatPriority(interval)).toBe("control")
        yield* limiter.reserve(beatPlaces + SendLimiter.unscheduledControlPlaces)
        yield* limiter.take("control") // the identify
        const flood = yield* Effect.fork(
          Effect.forEach(Array.from({ length: 2000 }), () => limiter.take("command"), { discard: true, concurrency: "unbounded" })
        )
        const step = 200
        const beatEvery = Math.round(interval / step) * step
        let nextBeat = Math.round(random() * interval / step) * step
        let fullest = 0
        let late = 0
        for (let now = 0; now < 130_000; now += step) {
          if (now === nextBeat) {
            const beat = yield* Effect.fork(limiter.take("control"))
            yield* Effect.yieldNow()
            if (!(yield* isDone(beat))) late++
            yield* Fiber.interrupt(beat)
            nextBeat += beatEvery
          }
          if (random() < 0.05) yield* limiter.tryTake(0)
          yield* TestClock.adjust(step)
          yield* settle
          fullest = Math.max(fullest, (yield* limiter.snapshot).used)
        }
        yield* Fiber.interrupt(flood)
        // or the beats met no pressure
        expect(fullest).toBeGreaterThanOrEqual(120 - beatPlaces - 1)
        expect(late).toBe(0)
      }), 20_000)
  }
})
