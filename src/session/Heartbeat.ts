/**
 * Heartbeating one connection: the schedule, acknowledgement tracking, and zombie detection.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"

/**
 * The heartbeat schedule: the first beat after `interval × jitter` (jitter in [0, 1)), then one
 * every `interval`, as the gateway asks.
 *
 * @since 0.1.0
 */
export const schedule = (interval: Duration.DurationInput, jitter: number): Schedule.Schedule<unknown> => {
  const every = Duration.decode(interval)
  return Schedule.fromDelay(Duration.times(every, jitter)).pipe(Schedule.andThen(Schedule.spaced(every)))
}

/**
 * A beat was due while the previous one was still unacknowledged: the connection is a zombie.
 *
 * @since 0.1.0
 */
export class Zombie extends Data.TaggedError("Zombie")<{}> {
  override get message(): string {
    return "heartbeat not acknowledged before the next one was due"
  }
}

/**
 * Tracks the heartbeats of one connection: whether a scheduled beat awaits its ACK, when it went
 * out, and the latest round-trip latency. Only scheduled beats arm the zombie check; a beat sent
 * because the gateway asked (op 1) is acknowledged like any other but never counts against us.
 *
 * @since 0.1.0
 */
export class Tracker {
  private awaiting = false
  private sentAt = 0
  /** The latest heartbeat round trip in ms, once one was acknowledged. */
  latency: number | undefined = undefined
  /** Heartbeats acknowledged on this connection. */
  acknowledged = 0
  /**
   * While the session waits for the program to take events, ACKs may sit unread behind them:
   * no beat is declared lost then.
   */
  paused = false

  /** Records a beat going out at `now`; `scheduled` beats arm the zombie check. */
  sent(now: number, scheduled: boolean): void {
    if (scheduled) this.awaiting = true
    this.sentAt = now
  }

  /** Records an ACK arriving at `now`. */
  acked(now: number): void {
    this.awaiting = false
    this.acknowledged++
    this.latency = now - this.sentAt
  }

  /** Whether a scheduled beat due now finds the previous one unacknowledged. */
  get isZombie(): boolean {
    return this.awaiting && !this.paused
  }
}

/**
 * Runs the heartbeat of one connection until it turns out to be a zombie: on each scheduled tick,
 * fails with `Zombie` if the previous scheduled beat was not acknowledged, else sends a beat.
 * Jitter comes from `Random` and time from `Clock`, so `TestClock` drives it.
 *
 * @since 0.1.0
 */
export const run = <E, R>(options: {
  readonly interval: number
  readonly tracker: Tracker
  readonly beat: Effect.Effect<void, E, R>
}): Effect.Effect<never, Zombie | E, R> =>
  Effect.flatMap(Random.next, (jitter) => {
    const tick = Effect.suspend((): Effect.Effect<void, Zombie | E, R> =>
      options.tracker.isZombie
        ? Effect.fail(new Zombie())
        : Effect.zipRight(
          Effect.map(Clock.currentTimeMillis, (now) => options.tracker.sent(now, true)),
          options.beat
        )
    )
    return Effect.zipRight(Effect.schedule(tick, schedule(options.interval, jitter)), Effect.never)
  })
