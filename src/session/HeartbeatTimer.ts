/**
 * One timer for the heartbeats of many connections. Each connection's beats fall due as its
 * `Schedule` says; a single fiber sleeps until the earliest of them, runs what is due and sleeps
 * again, and exists only while some connection is beating. An idle connection costs an entry in a
 * heap instead of a fiber of its own (a fiber sleeping through a schedule holds about 11 KiB).
 * Time is the `Clock`'s monotonic time (see `internal/due.ts`), so `TestClock` drives it and a
 * step of the wall clock does not move a beat.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import type * as HashMap from "effect/HashMap"
import * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Scope from "effect/Scope"
import { isDue, monotonicMillis } from "../internal/due.ts"

/**
 * What a connection beats with.
 *
 * @since 0.1.0
 */
export interface Beating {
  /** When the beats fall due: the first from when the beating starts, each next one from the last. */
  readonly schedule: Schedule.Schedule<unknown>
  /**
   * Runs at each due time, on the timer's fiber with the log annotations of the fiber that added
   * it, told how many ms after it (a process that did not run for a while runs its due ticks
   * late): it must not wait (fork what does).
   */
  readonly tick: (lateMs: number) => Effect.Effect<void>
}

/**
 * The timer service handle.
 *
 * @since 0.1.0
 */
export interface HeartbeatTimer {
  /** Beats a connection until the `Scope` closes (or its schedule ends); dies once the timer's own scope closed. */
  readonly add: (beating: Beating) => Effect.Effect<void, never, Scope.Scope>
}

interface Entry {
  dueAt: number
  state: unknown
  /** The log annotations of the fiber that added it: its ticks' lines are its connection's (a shard's). */
  readonly annotations: HashMap.HashMap<string, unknown>
  /** `undefined` once the connection stopped beating: the entry is dropped when it comes up. */
  beating: Beating | undefined
}

/**
 * Makes a timer that lives in the current scope: closing it stops every beating.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<HeartbeatTimer, never, Scope.Scope> = Effect.gen(function*() {
  const runtime = yield* Effect.runtime<never>()
  const clock = yield* Effect.clock
  const due = new Heap<Entry>((a, b) => a.dueAt < b.dueAt)
  let sleeper: Fiber.RuntimeFiber<void> | undefined
  let sleepingUntil = Number.POSITIVE_INFINITY
  let closed = false

  // steps the entry's schedule at `now` and queues it for its next due time, unless it is done
  const plan = (entry: Entry, beating: Beating, now: number): Effect.Effect<void> =>
    Effect.map(beating.schedule.step(now, undefined, entry.state), ([state, , decision]) => {
      if (ScheduleDecision.isDone(decision)) return
      entry.state = state
      entry.dueAt = ScheduleIntervals.start(decision.intervals)
      due.push(entry)
    })

  // the earliest entry of a connection still beating; the dropped ones before it go now
  const peekLive = (): (Entry & { beating: Beating }) | undefined => {
    let next = due.peek()
    while (next !== undefined && next.beating === undefined) {
      due.pop()
      next = due.peek()
    }
    return next as (Entry & { beating: Beating }) | undefined
  }

  const runDue: Effect.Effect<void> = Effect.suspend(() => {
    const now = monotonicMillis(clock)
    const next = peekLive()
    if (next === undefined || !isDue(next.dueAt, now)) return Effect.void
    due.pop()
    const beating = next.beating
    // one connection's failing tick (a defect) costs that connection its heartbeat, not the others'
    return Effect.zipRight(
      Effect.locally(
        Effect.catchAllCause(Effect.zipRight(beating.tick(now - next.dueAt), plan(next, beating, now)), (cause) =>
          Effect.logError("a heartbeat failed; its connection beats no more", cause)),
        FiberRef.currentLogAnnotations,
        next.annotations
      ),
      runDue
    )
  })

  // The sleeper: sleeps until the earliest due beat, runs what is due, and again, until no
  // connection beats. Only its sleep is interruptible, so a due beat is never half run. A sleeper
  // that another one replaced (`generation` moved on) stops at its next turn.
  let generation = 0
  const sleep = (mine: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (mine !== generation) return Effect.void
      const next = peekLive()
      if (next === undefined) {
        sleeper = undefined
        sleepingUntil = Number.POSITIVE_INFINITY
        return Effect.void
      }
      sleepingUntil = next.dueAt
      const now = monotonicMillis(clock)
      const run = Effect.zipRight(runDue, sleep(mine))
      return isDue(next.dueAt, now) ? run : Effect.zipRight(Effect.interruptible(Effect.sleep(next.dueAt - now)), run)
    })

  // a beat due sooner than the sleeper wakes: a new sleeper, and the old one stops sleeping
  const wakeFor = (dueAt: number): void => {
    if (closed || dueAt >= sleepingUntil) return
    const previous = sleeper
    sleepingUntil = dueAt
    sleeper = Runtime.runFork(runtime)(Effect.uninterruptible(sleep(++generation)))
    previous?.unsafeInterruptAsFork(previous.id())
  }

  const scope = yield* Effect.scope
  yield* Scope.addFinalizer(scope, Effect.sync(() => {
    closed = true
    generation++
    sleeper?.unsafeInterruptAsFork(sleeper.id())
    sleeper = undefined
  }))

  return {
    add: (beating) =>
      Effect.gen(function*() {
        // added, it was never run: the connection looked ready, sending no beat, checking no ACK
        if (closed) {
          return yield* Effect.die(new Error("HeartbeatTimer: its scope is closed, so it beats no connection (make it in a scope that outlives the sessions given it)"))
        }
        const annotations = yield* FiberRef.get(FiberRef.currentLogAnnotations)
        const entry: Entry = { dueAt: 0, state: beating.schedule.initial, annotations, beating }
        yield* plan(entry, beating, monotonicMillis(clock))
        yield* Scope.addFinalizer(yield* Effect.scope, Effect.sync(() => {
          entry.beating = undefined
        }))
        wakeFor(entry.dueAt)
      })
  }
})

/** A binary min-heap by `before`. */
class Heap<A> {
  private readonly items: Array<A> = []
  constructor(private readonly before: (a: A, b: A) => boolean) {}

  peek(): A | undefined {
    return this.items[0]
  }

  push(item: A): void {
    const items = this.items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let least = i
        if (left < items.length && this.before(items[left]!, items[least]!)) least = left
        if (right < items.length && this.before(items[right]!, items[least]!)) least = right
        if (least === i) break
        ;[items[i], items[least]] = [items[least]!, items[i]!]
        i = least
      }
    }
    return top
  }
}
