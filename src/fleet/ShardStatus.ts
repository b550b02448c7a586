/**
 * One line of a fleet's status view: a shard's state, why it got there, and its vital signs.
 *
 * @since 0.1.0
 */
import type { SessionSnapshot } from "../session/Session.ts"
import { type Reason, SessionState } from "../session/SessionState.ts"

/**
 * The status of one shard. It never holds the token.
 *
 * @since 0.1.0
 */
export interface ShardStatus {
  readonly shard: number
  readonly state: SessionState
  /** Why the shard got into `state`. */
  readonly reason: Reason
  /** When it got there (epoch ms, by the `Clock`). */
  readonly since: number
  readonly sessionId: string | undefined
  readonly sequence: number | null
  /**
   * The latest heartbeat round trip of the open connection, in ms (`undefined` between connections
   * and before the connection's first ACK).
   */
  readonly latency: number | undefined
  /** Attempts to connect after the first (one that failed at `GET /gateway/bot` included). */
  readonly reconnects: number
  /**
   * Events per second the shard delivered through the fleet's `events`, averaged over the last 10
   * complete seconds (or those since its first event, if fewer).
   */
  readonly eventsPerSecond: number
}

/**
 * A shard's status from its session's snapshot.
 *
 * @since 0.1.0
 */
export const make = (snapshot: SessionSnapshot): ShardStatus => ({
  shard: snapshot.shard[0],
  state: snapshot.state,
  reason: snapshot.reason,
  since: snapshot.since,
  sessionId: snapshot.sessionId,
  sequence: snapshot.sequence,
  latency: snapshot.latency,
  reconnects: snapshot.reconnects,
  eventsPerSecond: snapshot.eventsPerSecond
})

/**
 * The status of a shard its fleet has not started: `Disconnected`, reason `Queued` while it waits
 * for its turn, or `NotStarted` once the fleet stopped first; `since` when that began.
 *
 * @internal
 * @since 0.1.0
 */
export const notStarted = (shard: number, reason: Reason, since: number): ShardStatus => ({
  shard,
  state: SessionState.Disconnected(),
  reason,
  since,
  sessionId: undefined,
  sequence: null,
  latency: undefined,
  reconnects: 0,
  eventsPerSecond: 0
})
