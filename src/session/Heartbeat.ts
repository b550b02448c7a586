/**
 * Heartbeating one connection: the schedule, acknowledgement tracking, and zombie detection. The
 * beats themselves run on a shared `HeartbeatTimer`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import { monotonicMillis } from "../internal/due.ts"
import { ioTurn, stallAfter } from "../internal/stall.ts"
import type { Beating } from "./HeartbeatTimer.ts"

/**
 * The heartbeat schedule: the first beat after `interval × jitter` (jitter in [0, 1)), then one
 * every `interval`, as the gateway asks.
 *
 * @since 0.1.0
 */
export const schedule = (interval: Duration.DurationInput, jitter: number): Schedule.Schedule<unknown> => {
  const every = Duration.toMillis(interval)
  const first = every * jitter
  // one step function, its state the beats so far: a schedule per connection, kept for its whole
  // life by the heartbeat timer, so none of the closures of `fromDelay`, `andThen` and `spaced`
  return Schedule.makeWithState(0, (now, _input, beats: number) =>
    Effect.succeed([
      beats + 1,
      beats,
      ScheduleDecision.continueWith(ScheduleInterval.after(now + (beats === 0 ? first : every)))
    ] as const))
}

/** The most beats kept waiting for their ACKs; beyond, the oldest is forgotten. */
const maxUnanswered = 64

// a beat awaiting its ACK
interface Beat {
  readonly sentAt: number
  // when it counts from in the zombie check: when it went out, later by the time the reader was
  // held back since
  judgedFrom: number
  readonly scheduled: boolean
  // its ACK measures a round trip: not one that may have waited unread (a held reader, a stall)
  measures: boolean
  // a stall already gave it until the next tick: a second finds it lost
  stallForgiven: boolean
}

/**
 * Tracks the heartbeats of one connection: whether a scheduled beat awaits its ACK, when the beats
 * still unanswered went out, and the latest round-trip latency. Only scheduled beats arm the zombie
 * check; a beat sent because the gateway asked (op 1) is acknowledged like any other but never
 * counts against us. The gateway answers beats in order, so an ACK answers the oldest beat out:
 * one answering a requested beat leaves a scheduled beat sent after it awaiting its own.
 *
 * @since 0.1.0
 */
export class Tracker {
  // the beats awaiting their ACKs, oldest first (a few at most: a scheduled beat unanswered at the
  // next is a zombie; requested ones come at most one a second)
  private readonly out: Array<Beat> = []
  // ACKs still to come for beats forgotten past `maxUnanswered`: they measure nothing
  private unmeasured = 0
  /** The latest heartbeat round trip in ms, once one was acknowledged. */
  latency: number | undefined = undefined
  /** Heartbeats acknowledged on this connection. */
  acknowledged = 0
  private pausedAt: number | undefined = undefined

  /**
   * Whether the reader waits for the program to take events: ACKs may sit unread behind them, so
   * no beat is declared lost meanwhile.
   */
  get paused(): boolean {
    return this.pausedAt !== undefined
  }

  /** The reader waits for the program from `now`: ACKs may sit unread from now on. */
  pause(now: number): void {
    this.pausedAt ??= now
  }

  /**
   * The reader goes on at `now`. Each beat out counts from later by the time the reader was held
   * back since it went out (its ACK may be unread behind the events the reader has yet to go
   * through), and its ACK measures no round trip. A hold of no time changes nothing: a reader that
   * waited an instant for room at every burst of events forgave every beat (a dead link whose
   * events came in bursts was never found).
   */
  resume(now: number): void {
    const from = this.pausedAt
    this.pausedAt = undefined
    // held no time: nothing waited unread
    if (from === undefined || now <= from) return
    for (const beat of this.out) {
      beat.judgedFrom += Math.max(0, now - Math.max(beat.judgedFrom, from))
      beat.measures = false
    }
  }

  /**
   * The process did not run when a beat fell due (an event loop blocked, a process stopped): the
   * ACK of a beat awaiting one may have come meanwhile and wait unread, behind the overdue timers.
   * Each beat out this tick judges (counted from at or before `sentBy`) is given until the next
   * tick, once: one still unanswered at a later stall is lost (ticks that all ran late forgave
   * every beat, and a dead link was never found). No beat out measures a round trip.
   */
  stalled(sentBy = Infinity): void {
    for (const beat of this.out) {
      beat.measures = false
      if (beat.judgedFrom <= sentBy) beat.stallForgiven = true
    }
  }

  /**
   * Records a beat going out at `now`; `scheduled` beats arm the zombie check. Past the beats
   * kept, the oldest is forgotten, and its ACK, still to come, measures nothing (it was taken for
   * a later beat's).
   */
  sent(now: number, scheduled: boolean): void {
    if (this.out.push({ sentAt: now, judgedFrom: now, scheduled, measures: true, stallForgiven: false }) > maxUnanswered) {
      this.out.shift()
      this.unmeasured++
    }
  }

  /**
   * Records an ACK arriving at `now`, and says whether it measured a round trip: an ACK with no
   * beat outstanding (before the first, or a second for one beat), or one of a beat forgiven or
   * forgotten, measures nothing.
   */
  acked(now: number): boolean {
    this.acknowledged++
    if (this.unmeasured > 0) {
      this.unmeasured--
      return false
    }
    const beat = this.out.shift()
    if (beat === undefined || !beat.measures) return false
    // never below zero: a `TestClock` set back moves its monotonic time back too
    this.latency = Math.max(0, now - beat.sentAt)
    return true
  }

  /**
   * Whether a scheduled beat due now finds one before it unacknowledged: one counted from at or
   * before `sentBy` (a beat held back by the send limit may have gone out just before this one was
   * due).
   */
  isZombie(sentBy = Infinity): boolean {
    return !this.paused && this.out.some((beat) => beat.scheduled && beat.judgedFrom <= sentBy)
  }

  /** Whether such a beat was already given until the next tick by a stall. */
  stallForgave(sentBy = Infinity): boolean {
    return this.out.some((beat) => beat.scheduled && beat.judgedFrom <= sentBy && beat.stallForgiven)
  }
}

/**
 * What {@link beating} runs one connection's heartbeat with.
 *
 * @since 0.1.0
 */
export interface BeatingOptions {
  readonly interval: number
  readonly jitter: number
  readonly tracker: Tracker
  readonly beat: Effect.Effect<void>
  readonly onZombie: Effect.Effect<void>
  readonly onDefect: (cause: Cause.Cause<never>) => Effect.Effect<void>
}

/**
 * The heartbeat of one connection, for a `HeartbeatTimer`: at each tick of
 * {@link schedule}`(interval, jitter)`, `onZombie` if a scheduled beat sent at least half an
 * interval before was not acknowledged (one held back by the send limit until just before the
 * tick is given until the next; judged once Node read its sockets after the tick, on a fiber of
 * its own), else `beat` (which records the beat with `tracker.sent` as it
 * goes out, and must not wait: the timer runs it on its own fiber); `onDefect` if either dies (a
 * connection left without heartbeats would look ready until the gateway gave up on it). A tick
 * more than a second late, or half an interval where that is shorter, comes after a stall: the
 * beat before it is given until the next tick, and `beat` goes out. Draw `jitter` from `Random`,
 * so that tests can fix it.
 *
 * @since 0.1.0
 */
export const beating = (options: BeatingOptions): Beating => {
  // at a short interval (a local gateway's, a test's), a stall shorter than a second after a beat
  // left its ACK unread behind the overdue tick, and a healthy connection was closed as a zombie
  const stalledAfter = Math.min(stallAfter, options.interval / 2)
  return {
    schedule: schedule(options.interval, options.jitter),
    tick: (lateMs) =>
      Effect.catchAllCause(
        Effect.clockWith((clock) => {
          const sentBy = monotonicMillis(clock) - options.interval / 2
          if (!options.tracker.isZombie(sentBy)) return options.beat
          if (lateMs <= stalledAfter || options.tracker.stallForgave(sentBy)) return judgedAfterIo(options, sentBy)
          options.tracker.stalled(sentBy)
          return options.beat
        }),
        options.onDefect
      )
  }
}

// The zombie verdict, once Node read its sockets (`ioTurn`): an ACK that came while the process
// did not run waits unread until then (Node runs its due timers first), and a stall ending less
// than a second past the tick closed a live connection. Judged on a fiber of its own, so that the
// timer's other connections' ticks do not wait for the turn; the beat goes out if the ACK came.
const judgedAfterIo = (options: BeatingOptions, sentBy: number): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkDaemon(Effect.catchAllCause(
    Effect.zipRight(ioTurn, Effect.suspend(() => options.tracker.isZombie(sentBy) ? options.onZombie : options.beat)),
    options.onDefect
  )))
