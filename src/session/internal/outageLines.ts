/**
 * The words a session's outage lines (`Outage`) and a fleet's (`FleetOutage`) share: what a
 * connection waiting on for READY does, what short connections did, what a hold-back and a lost
 * gateway session are told as.
 *
 * @since 0.1.0
 */

/**
 * What a connection whose Identify went unanswered does meanwhile.
 *
 * @since 0.1.0
 */
export const waitingOn = "waiting on while the gateway acknowledges heartbeats"

/**
 * What the line says when READY came to a connection told to wait on for it.
 *
 * @since 0.1.0
 */
export const lateReady = "READY came after the ready timeout, to the connection that waited on"

/**
 * What a line about short connections says of them.
 *
 * @since 0.1.0
 */
export const shortConnections = "ended before they were stable (backoff.stableAfter)"

// a hold-back's wait in words: in minutes from two minutes on (an hour's is "60 min", not
// "3600 s"), in seconds below
const waitInWords = (ms: number): string => ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`

/**
 * What a line about a hold-back says of it: how many connections in a row lost their sessions
 * early, and the wait.
 *
 * @since 0.1.0
 */
export const heldBackLine = (invalidatedInARow: number, waitMillis: number): string =>
  `the sessions of the last ${invalidatedInARow} connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits ${waitInWords(waitMillis)} more`

/**
 * What a line about a lost gateway session says of its events: those after its last sequence
 * (`undefined`: it took none) are not replayed.
 *
 * @since 0.1.0
 */
export const notReplayed = (sequence: number | undefined): string =>
  sequence === undefined ? "none of its events are replayed" : `the events after sequence ${sequence} are not replayed`

/**
 * The line about a lost gateway session: why, and its events not replayed.
 *
 * @since 0.1.0
 */
export const lostLine = (why: string, sequence: number | undefined): string => `gateway session lost: ${why}; ${notReplayed(sequence)}`
