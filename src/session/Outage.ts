/**
 * Telling an operator that a session cannot get ready. Every attempt is a Debug transition; an
 * outage of hours would otherwise be silent at the default Info level, or, logged per attempt, a
 * line every backoff. So the attempts that failed in a row are told at Warning at the fifth, then
 * each time their number has doubled (the tenth, the twentieth...): a dozen lines for a day's
 * outage; a failure whose answer asks to wait a minute or more is told at once, unless the one
 * before it asked that too (it is then told as any failure: an answer asking for a minute each
 * time was told at every attempt). Once the session is ready again, an Info line says after how
 * many (or that READY came late, to a connection told to wait on for it). A session that gets
 * ready and loses its connection again before it was stable (`backoff.stableAfter`), over and
 * over, is told the same way: its short connections in a row, at the fifth, the tenth... until a
 * connection lasts. A session that op 9 keeps refusing, held back past the backoff (`HeldBack`), is
 * told at Warning at each hold-back; a gateway session lost (given up after Resumes that got no
 * RESUMED, or ended by the gateway) at Info, its events since not replayed. A fleet counts its
 * shards together instead (`FleetOutage`), so that an outage of all of them takes as few lines.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { heldBackLine, lateReady, lostLine, shortConnections, waitingOn } from "./internal/outageLines.ts"
import { asksLongWait, firstWarningAt } from "./internal/outageThresholds.ts"
import { describeReason, type Reason } from "./SessionState.ts"

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
  /**
   * A connection that got ready ended before it was stable (`backoff.stableAfter`), for `reason`:
   * one more short connection in a row.
   */
  readonly dropped: (reason: Reason) => Effect.Effect<void>
  /**
   * A connection has been ready for `backoff.stableAfter` (told at its first heartbeat ACK after
   * that, or at its end): the count of short connections starts over.
   */
  readonly lasted: Effect.Effect<void>
  /**
   * The last `invalidatedInARow` connections lost their sessions before they were stable (see
   * `Reason.HeldBack`): the next attempt waits `waitMillis` past the backoff (`HeldBack`), to spare
   * the day's session starts.
   */
  readonly heldBack: (invalidatedInARow: number, waitMillis: number) => Effect.Effect<void>
  /**
   * The gateway session was lost, `why` in words (Resumes that got no RESUMED, an op 9, a close):
   * the session identifies anew, and the events after `sequence` (its last) are not replayed.
   */
  readonly lost: (why: string, sequence: number | undefined) => Effect.Effect<void>
  /** The session ended: it is counted no more. */
  readonly ended: Effect.Effect<void>
}

// a count of one trouble in a row, told at `firstWarningAt` and then at each doubling, or at once
const inARow = () => {
  let count = 0
  let tellAt = firstWarningAt
  let told = false
  return {
    /** One more: the count, when it is to be told (`now`: whatever the count). */
    add: (now: boolean): number | undefined => {
      count++
      if (count < tellAt && !now) return undefined
      while (tellAt <= count) tellAt *= 2
      told = true
      return count
    },
    /** Starts over: the count it had, if it was told. */
    reset: (): number | undefined => {
      const had = told ? count : undefined
      count = 0
      tellAt = firstWarningAt
      told = false
      return had
    }
  }
}

const attempts = (count: number) => `${count} ${count === 1 ? "attempt" : "attempts"}`

/**
 * Makes an empty count.
 *
 * @since 0.1.0
 */
export const make = (): Outage => {
  const failures = inARow()
  const shortOnes = inARow()
  // whether an unanswered Identify was told and its connection waits on
  let waiting = false
  // whether the last failure asked to wait a minute or more
  let askedLongWait = false
  return {
    failed: (reason) =>
      Effect.suspend(() => {
        waiting = false
        const asks = asksLongWait(reason)
        const told = failures.add(asks && !askedLongWait)
        askedLongWait = asks
        return told === undefined ? Effect.void : Effect.logWarning(
          `not ready: ${attempts(told)} in a row failed, the last with ${describeReason(reason)}; still trying`
        )
      }),
    unanswered: Effect.suspend(() => {
      waiting = true
      return Effect.logWarning(`no READY within the ready timeout: ${waitingOn}`)
    }),
    ready: Effect.suspend(() => {
      askedLongWait = false
      const failed = failures.reset()
      const waited = waiting
      waiting = false
      return failed !== undefined
        ? Effect.logInfo(`ready again after ${failed} failed ${failed === 1 ? "attempt" : "attempts"}`)
        : waited
        ? Effect.logInfo(lateReady)
        : Effect.void
    }),
    dropped: (reason) =>
      Effect.suspend(() => {
        const told = shortOnes.add(false)
        return told === undefined ? Effect.void : Effect.logWarning(
          `unstable: ${told} connections in a row ${shortConnections}, the last with ${describeReason(reason)}; still reconnecting`
        )
      }),
    lasted: Effect.sync(() => void shortOnes.reset()),
    heldBack: (invalidatedInARow, waitMillis) =>
      Effect.logWarning(`${heldBackLine(invalidatedInARow, waitMillis)}, to spare the day's session starts`),
    lost: (why, sequence) => Effect.logInfo(lostLine(why, sequence)),
    ended: Effect.void
  }
}
