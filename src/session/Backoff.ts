/**
 * Reconnect backoff: exponential with jitter, capped, and reset once a connection proved stable.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"

/**
 * How long to wait between connection attempts.
 *
 * @since 0.1.0
 */
export interface BackoffOptions {
  /**
   * The first delay after a healthy connection ends, before its jitter (default 1 second): the
   * delay waited is a random part of it, from half to all (`schedule`).
   */
  readonly initial: Duration.DurationInput
  /** The longest delay, however long the gateway stays unreachable (default 60 seconds). */
  readonly max: Duration.DurationInput
  /** Growth per failed attempt (default 2). */
  readonly factor: number
  /** A connection that stays READY this long resets the backoff (default 60 seconds). */
  readonly stableAfter: Duration.DurationInput
  /**
   * After an Invalid Session (op 9) followed by an Identify (one that allows no resume, or one
   * answering an Identify), a random pause in this range before the new Identify, as Discord asks
   * (default 1 to 5 seconds); the backoff follows it only when op 9 came before the connection was
   * stable, and after three such in a row a longer wait (twice `max`, doubling, up to an hour). An
   * op 9 followed by a Resume takes the backoff alone.
   */
  readonly afterInvalidSession: readonly [min: Duration.DurationInput, max: Duration.DurationInput]
}

/**
 * The defaults: 1 s, doubling, at most 60 s, reset after 60 s of stable connection; 1-5 s after an
 * op 9 followed by an Identify.
 *
 * @since 0.1.0
 */
export const defaults: BackoffOptions = {
  initial: "1 second",
  max: "60 seconds",
  factor: 2,
  stableAfter: "60 seconds",
  afterInvalidSession: ["1 second", "5 seconds"]
}

/**
 * The delays between attempts: `initial × factor^n`, capped at `max`, each then scaled by a random
 * factor in [0.5, 1] (from `Random`) so that shards cut off together do not come back together.
 * An hour offline means one attempt a minute or so, not a storm; and at most a minute's wait once
 * the gateway is back.
 *
 * @since 0.1.0
 */
export const schedule = (options: BackoffOptions): Schedule.Schedule<unknown> =>
  Schedule.exponential(options.initial, options.factor).pipe(
    Schedule.union(Schedule.spaced(options.max)),
    Schedule.jitteredWith({ min: 0.5, max: 1 })
  )

/**
 * The wait an answer asked for (`Retry-After`, in seconds), made longer by up to a quarter (from
 * `Random`): shards refused together (a proxy's 429 before the gateway) waited exactly as long and
 * came back in the same second, to be refused together again.
 *
 * @internal
 * @since 0.1.0
 */
export const askedWait = (seconds: number): Effect.Effect<Duration.Duration> =>
  Effect.map(Random.next, (spread) => Duration.millis(seconds * 1000 * (1 + spread / 4)))
