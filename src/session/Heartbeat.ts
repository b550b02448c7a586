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
import { stallAfter } from "../internal/stall.ts"
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
  // when the beats awaiting their ACKs went out, oldest first, and whether each was scheduled (a
  // few at most: a scheduled beat unanswered at the next is a zombie; requested ones come at most
  // one a second): a scheduled one among them is a beat awaiting its ACK
  private readonly sentAt: Array<number> = []
  private readonly scheduled: Array<boolean> = []
  // ACKs still to come for beats forgiven (after a held-back reader or a stall): they answer beats
  // whose times were dropped, and measure nothing
  private unmeasured = 0
  /** The latest heartbeat round trip in ms, once one was acknowledged. */
  latency: number | undefined = undefined
  /** Heartbeats acknowledged on this connection. */
  acknowledged = 0
  private waiting = false

  /**
   * Whether the reader waits for the program to take events: ACKs may sit unread behind them, so
   * no beat is declared lost meanwhile.
   */
  get paused(): boolean {
    return this.waiting
  }

  /** The reader waits for the program: ACKs may sit unread from now on. */
  pause(): void {
    this.waiting = true
  }

  /**
   * The reader goes on. The ACKs of the beats out so far measure no round trip: they may have
   * waited unread for as long as the program took; and the beat awaiting its ACK is given until the
   * next one, its ACK maybe still unread behind the events the reader has yet to go through.
   */
  resume(): void {
    this.waiting = false
    this.forgive()
  }

  /**
   * The process did not run when a beat fell due (an event loop blocked, a process stopped): the
   * ACK of the beat awaiting one may have come meanwhile and wait unread, behind the overdue timers.
   * As after a reader held back, that beat is given until the next one, and the ACKs of the beats
   * out so far measure no round trip (nor, paired with a beat sent after, one of about 0 ms).
   */
  stalled(): void {
    this.forgive()
  }

  private forgive(): void {
    this.unmeasured += this.sentAt.length
    this.sentAt.length = 0
    this.scheduled.length = 0
  }

  // the oldest beat out is answered, or forgotten
  private shift(): number | undefined {
    this.scheduled.shift()
    return this.sentAt.shift()
  }

  /**
   * Records a beat going out at `now`; `scheduled` beats arm the zombie check. Past the beats
   * kept, the oldest is forgotten, and its ACK, still to come, measures nothing (it was taken for
   * a later beat's).
   */
  sent(now: number, scheduled: boolean): void {
    this.scheduled.push(scheduled)
    if (this.sentAt.push(now) > maxUnanswered) {
      this.shift()
      this.unmeasured++
    }
  }

  /**
   * Records an ACK arriving at `now`, and says whether it measured a round trip: an ACK with no
   * beat outstanding (before the first, or a second for one beat), or one of a beat forgiven,
   * measures nothing.
   */
  acked(now: number): boolean {
    this.acknowledged++
    // paired with a beat sent since, it would measure from that beat: a round trip of about 0 ms.
    // Which beat it answers is not known either: the scheduled ones out are taken as answered
    if (this.unmeasured > 0) {
      this.unmeasured--
      this.scheduled.fill(false)
      return false
    }
    const sentAt = this.shift()
    if (sentAt === undefined) return false
    // never below zero: a `TestClock` set back moves its monotonic time back too
    this.latency = Math.max(0, now - sentAt)
    return true
  }

  /**
   * Whether a scheduled beat due now finds one before it unacknowledged: one sent at or before
   * `sentBy` (a beat held back by the send limit may have gone out just before this one was due).
   */
  isZombie(sentBy = Infinity): boolean {
    return !this.paused && this.scheduled.some((scheduled, index) => scheduled && this.sentAt[index]! <= sentBy)
  }
}

/**
 * The heartbeat of one connection, for a `HeartbeatTimer`: at each tick of
 * {@link schedule}`(interval, jitter)`, `onZombie` if a scheduled beat sent at least half an
 * interval before was not acknowledged (one held back by the send limit until just before the
 * tick is given until the next), else `beat` (which records the beat with `tracker.sent` as it
 * goes out, and must not wait: the timer runs it on its own fiber); `onDefect` if either dies (a
 * connection left without heartbeats would look ready until the gateway gave up on it). A tick
 * more than a second late, or half an interval where that is shorter, comes after a stall: the
 * beat before it is given until the next tick, and `beat` goes out. Draw `jitter` from `Random`,
 * so that tests can fix it.
 *
 * @since 0.1.0
 */
export const beating = (options: {
  readonly interval: number
  readonly jitter: number
  readonly tracker: Tracker
  readonly beat: Effect.Effect<void>
  readonly onZombie: Effect.Effect<void>
  readonly onDefect: (cause: Cause.Cause<never>) => Effect.Effect<void>
}): Beating => {
  // at a short interval (a local gateway's, a test's), a stall shorter than a second after a beat
  // left its ACK unread behind the overdue tick, and a healthy connection was closed as a zombie
  const stalledAfter = Math.min(stallAfter, options.interval / 2)
  return {
    schedule: schedule(options.interval, options.jitter),
    tick: (lateMs) =>
      Effect.catchAllCause(
        Effect.clockWith((clock) => {
          if (!options.tracker.isZombie(monotonicMillis(clock) - options.interval / 2)) return options.beat
          if (lateMs <= stalledAfter) return options.onZombie
          options.tracker.stalled()
          return options.beat
        }),
        options.onDefect
      )
  }
}
