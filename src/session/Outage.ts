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
import { describeReason, type Reason } from "./SessionState.ts"

/**
 * The failed attempts in a row that are first told.
 *
 * @internal
 * @since 0.1.0
 */
export const firstWarningAt = 5

/**
 * The wait an answer asks for (`Retry-After`, in seconds) from which a failed attempt is told at
 * once: the next try is that far off (an hour's wait was told only at the fifth failure, hours
 * later).
 *
 * @internal
 * @since 0.1.0
 */
export const longWaitSeconds = 60

/**
 * Whether `reason` is a failure whose answer asks to wait {@link longWaitSeconds} or more.
 *
 * @internal
 * @since 0.1.0
 */
export const asksLongWait = (reason: Reason): boolean =>
  (reason._tag === "ConnectFailed" || reason._tag === "GatewayInfoFailed") && (reason.retryAfter ?? 0) >= longWaitSeconds

/**
 * What a connection whose Identify went unanswered does meanwhile.
 *
 * @internal
 * @since 0.1.0
 */
export const waitingOn = "waiting on while the gateway acknowledges heartbeats"

/**
 * What the line says when READY came to a connection told to wait on for it.
 *
 * @internal
 * @since 0.1.0
 */
export const lateReady = "READY came after the ready timeout, to the connection that waited on"

// a hold-back's wait in words: in minutes from two minutes on (an hour's is "60 min", not
// "3600 s"), in seconds below
const waitInWords = (ms: number): string => ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`

/**
 * What a line about a hold-back says of it: how many connections op 9 ended, and the wait.
 *
 * @internal
 * @since 0.1.0
 */
export const heldBackLine = (invalidatedInARow: number, waitMillis: number): string =>
  `op 9 ended the last ${invalidatedInARow} connections before they were stable: the next waits ${waitInWords(waitMillis)} more`

/**
 * What a line about a lost gateway session says of its events: those after its last sequence
 * (`undefined`: it took none) are not replayed.
 *
 * @internal
 * @since 0.1.0
 */
export const notReplayed = (sequence: number | undefined): string =>
  sequence === undefined ? "none of its events are replayed" : `the events after sequence ${sequence} are not replayed`

/**
 * The line about a lost gateway session: why, and its events not replayed.
 *
 * @internal
 * @since 0.1.0
 */
export const lostLine = (why: string, sequence: number | undefined): string => `gateway session lost: ${why}; ${notReplayed(sequence)}`

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
   * Op 9 ended the last `invalidatedInARow` connections before they were stable: the next attempt
   * waits `waitMillis` past the backoff (`HeldBack`), to spare the day's session starts.
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

/**
 * What a line about short connections says of them.
 *
 * @internal
 * @since 0.1.0
 */
export const shortConnections = "ended before they were stable (backoff.stableAfter)"

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
