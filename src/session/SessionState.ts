/**
 * The states of a shard session, the reasons it moves between them, and its transitions.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { DecodeErrorReason } from "../codec/DecodeError.ts"
import { printable } from "../internal/printable.ts"

/**
 * Why the session changed state. Recovered faults (a zombie connection, a close code, op 7 ...)
 * show up here; only fatal ones also end the session with an error.
 *
 * @since 0.1.0
 */
export type Reason = Data.TaggedEnum<{
  /** A connection attempt began (the session's first, or a reconnect after its pause). */
  Start: {}
  /**
   * It waits for its turn in its fleet's startup window: not started yet, or its next Identify
   * waits for a place (no socket, nothing asked yet).
   */
  Queued: {}
  /**
   * Its next Identify waits for the day's session starts: a turn of the low budget's spread, or
   * the refill (no socket, nothing asked but `GET /gateway/bot` as its answer ages). `next`, where
   * its limiter's snapshot says: which of the two comes next, and when (epoch ms of the `Clock`, to
   * the second). A spread's turn goes to the shard that asked first: one behind others waits for
   * more than one, and is told the next each time (it is looked at each minute). The session makes
   * `next` with `Data.struct`, so reasons saying the same are `Equal`.
   */
  IdentifyBudget: { readonly next?: { readonly kind: "Refill" | "SpreadTurn"; readonly at: number } | undefined }
  /**
   * Its last `invalidatedInARow` connections (three or more) lost their sessions before they were
   * stable: an Identify's connection ended however (op 9 or 7, a close, a drop, no answer), a
   * resumed one by op 9 or a close that ends the session. Its next attempt waits past the backoff, up to an
   * hour, to spare the day's session starts, and begins at `until` (epoch ms of the `Clock`). The
   * end of the last connection is the transition before this one.
   */
  HeldBack: { readonly until: number; readonly invalidatedInARow: number }
  /** Its fleet stopped (closed, disconnected, or ended by another shard's fatal close) before starting it. */
  NotStarted: {}
  /** The socket opened. */
  Opened: {}
  /** Hello arrived with this heartbeat interval (ms). */
  Hello: { readonly interval: number }
  /** READY arrived: a new session. */
  Ready: { readonly sessionId: string }
  /** RESUMED arrived: the old session goes on. */
  Resumed: { readonly replayed: number }
  /** Opening the socket took longer than the connect timeout. */
  ConnectTimeout: {}
  /**
   * Opening the socket failed. `retryAfter`: the seconds the server's answer to the upgrade asked
   * to wait (a 429's or a 503's `Retry-After`), which the next try waits before its backoff.
   */
  ConnectFailed: { readonly message: string; readonly retryAfter?: number | undefined }
  /** No Hello within the hello timeout. */
  HelloTimeout: {}
  /** No RESUMED within the ready timeout (an Identify is waited on). */
  ReadyTimeout: {}
  /** A heartbeat went unacknowledged until the next one was due. */
  Zombie: {}
  /**
   * The gateway closed the connection (code undefined: it dropped without a close frame).
   * `description` is what the code means; `detail` is the close frame's reason, or what the
   * transport saw when the connection was lost (empty if nothing), escaped as inside a JSON string
   * (it is the peer's text: quotes, backslashes and control characters).
   */
  Closed: { readonly code: number | undefined; readonly description: string; readonly detail: string }
  /** The gateway asked for a reconnect (op 7). */
  Reconnect: {}
  /** The gateway invalidated the session (op 9); `resumable` is its `d`. */
  InvalidSession: { readonly resumable: boolean }
  /**
   * A frame could not be decoded, or decoded into a payload the protocol does not allow. `kind`
   * says which: the decompression (`Inflate`, `Zstd`), the size limit (`TooLarge`), the encoding
   * (`Json`, `Etf`, `Envelope`), or the protocol (`Protocol`: a malformed Hello, READY or op 9, a
   * dispatch without `s` or `t`, a READY or RESUMED this connection did not ask for).
   */
  DecodeFailed: { readonly kind: DecodeErrorReason | "Protocol"; readonly message: string }
  /**
   * Fetching gateway information over HTTP failed. `retryAfter`: the seconds its answer asked to
   * wait (a 429's or a 5xx's `Retry-After`), which the next try waits before its backoff.
   */
  GatewayInfoFailed: { readonly message: string; readonly retryAfter?: number | undefined }
  /** The program disconnected the session. */
  Disconnect: {}
  /** The session ended for good with this error. */
  Fatal: { readonly message: string }
}>

/**
 * Constructors and matchers for `Reason`.
 *
 * @since 0.1.0
 */
export const Reason: Data.TaggedEnum.Constructor<Reason> = Data.taggedEnum<Reason>()

/**
 * What a connected session is doing.
 *
 * @since 0.1.0
 */
export type Phase = "Identifying" | "Resuming" | "Ready"

/**
 * The state of a session, as in Nostrum's `Shard.Session`.
 *
 * @since 0.1.0
 */
export type SessionState = Data.TaggedEnum<{
  /** No connection. */
  Disconnected: {}
  /** Getting the gateway URL and opening the TCP/TLS connection and websocket. */
  ConnectingHttp: {}
  /** The websocket is open; waiting for Hello. */
  ConnectingWs: { readonly url: string }
  /** Hello arrived: identifying, resuming, or ready and dispatching events. */
  Connected: { readonly phase: Phase }
}>

/**
 * Constructors and matchers for `SessionState`.
 *
 * @since 0.1.0
 */
export const SessionState: Data.TaggedEnum.Constructor<SessionState> = Data.taggedEnum<SessionState>()

/**
 * One state change: where from, where to, why, and when (epoch ms from the `Clock`).
 *
 * @since 0.1.0
 */
export interface Transition {
  readonly from: SessionState
  readonly to: SessionState
  readonly reason: Reason
  readonly at: number
}

// `14:03:22 UTC`: a time within the next day, as a status row has room for (a time no `Date`
// holds threw a RangeError from a view or a log line)
const timeOfDay = (epochMillis: number): string => {
  const date = new Date(epochMillis)
  return Number.isNaN(date.getTime()) ? "a time no date holds" : `${date.toISOString().slice(11, 19)} UTC`
}

/**
 * A one-line description of a reason, for logs and status views.
 *
 * @since 0.1.0
 */
export const describeReason = (reason: Reason): string =>
  Reason.$match(reason, {
    Start: () => "start",
    Queued: () => "queued (waiting for its turn in the startup window)",
    // short enough for an 80-column status row (51 columns for the reason; it was cut before "refill")
    IdentifyBudget: ({ next }) =>
      next === undefined
        ? "waiting for the identify budget (spread or refill)"
        : next.kind === "Refill"
        ? `identify budget used up: refill at ${timeOfDay(next.at)}`
        : `identify budget low: next turn at ${timeOfDay(next.at)}`,
    // (as short: 44 columns, 47 at a thousand in a row)
    HeldBack: ({ invalidatedInARow, until }) => `held back (${invalidatedInARow} lost) until ${timeOfDay(until)}`,
    NotStarted: () => "not started (its fleet stopped first)",
    Opened: () => "socket open",
    Hello: ({ interval }) => `hello (heartbeat every ${interval} ms)`,
    Ready: () => "ready",
    Resumed: ({ replayed }) => `resumed (${replayed} replayed)`,
    ConnectTimeout: () => "connect timeout",
    ConnectFailed: ({ message }) => `connect failed: ${message}`,
    HelloTimeout: () => "hello timeout",
    ReadyTimeout: () => "ready timeout",
    Zombie: () => "zombie connection (heartbeat not acknowledged)",
    Closed: ({ code, description, detail }) =>
      // the detail is the peer's text, escaped where the session took it (and a reason made by
      // hand, here: no control character reaches a terminal raw)
      `${code === undefined ? description : `close ${code} (${description})`}${detail === "" ? "" : `: "${printable(detail)}"`}`,
    Reconnect: () => "reconnect requested (op 7)",
    InvalidSession: ({ resumable }) => `invalid session (op 9, ${resumable ? "resumable" : "not resumable"})`,
    DecodeFailed: ({ message }) => `decode failed: ${message}`,
    GatewayInfoFailed: ({ message }) => `gateway info failed: ${message}`,
    Disconnect: () => "disconnect requested",
    Fatal: ({ message }) => `fatal: ${message}`
  })
