/**
 * Telling an operator that a session cannot get ready. Every attempt is a Debug transition; an
 * outage of hours would otherwise be silent at the default Info level, or, logged per attempt, a
 * line every backoff. So the attempts that failed in a row are told at Warning at the fifth, then
 * each time their number has doubled (the tenth, the twentieth...): a dozen lines for a day's
 * outage. Once the session is ready again, an Info line says after how many. A fleet counts its
 * shards together instead (`FleetOutage`), so that an outage of all of them takes as few lines.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { describeReason, type Reason } from "./SessionState.ts"

/**
 * The failed attempts in a row that are first told.
 *
 * @since 0.1.0
 */
export const firstWarningAt = 5

/**
 * What a connection whose Identify went unanswered does meanwhile.
 *
 * @since 0.1.0
 */
export const waitingOn = "waiting on while the gateway acknowledges heartbeats"

/**
 * One session's count of attempts that failed in a row.
 *
 * @since 0.1.0
 */
export interface Outage {
  /** An attempt ended without the session getting ready, for `reason`. */
  readonly failed: (reason: Reason) => Effect.Effect<void>
  /**
   * An Identify went unanswered past the ready timeout: the connection waits on (it is no failed
   * attempt, and another Identify would spend one of the day's session starts).
   */
  readonly unanswered: Effect.Effect<void>
  /** The session got ready (READY or RESUMED): the count starts over. */
  readonly ready: Effect.Effect<void>
  /** The session ended: it is counted no more. */
  readonly ended: Effect.Effect<void>
}

/**
 * Makes an empty count.
 *
 * @since 0.1.0
 */
export const make = (): Outage => {
  let failedInARow = 0
  let warnAt = firstWarningAt
  return {
    failed: (reason) =>
      Effect.suspend(() => {
        failedInARow++
        if (failedInARow < warnAt) return Effect.void
        warnAt *= 2
        return Effect.logWarning(
          `not ready: ${failedInARow} attempts in a row failed, the last with ${describeReason(reason)}; still trying`
        )
      }),
    unanswered: Effect.logWarning(`no READY within the ready timeout: ${waitingOn}`),
    ready: Effect.suspend(() => {
      const failed = failedInARow
      failedInARow = 0
      warnAt = firstWarningAt
      return failed < firstWarningAt ? Effect.void : Effect.logInfo(`ready again after ${failed} failed attempts`)
    }),
    ended: Effect.void
  }
}
