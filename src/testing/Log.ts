/**
 * What the local gateway saw and did, recorded for tests to assert on: connections, identifies,
 * resumes, heartbeats, commands, dispatches and every breach of Discord's rules. Tokens are never
 * recorded.
 *
 * @since 0.1.0
 */

/**
 * Who ended a connection: the client (a close frame), the server (a close frame), the server
 * dropping the TCP connection, or the client's connection vanishing without a close frame.
 *
 * @since 0.1.0
 */
export type ClosedBy = "client" | "server" | "server-drop" | "lost"

/**
 * One websocket connection.
 *
 * @since 0.1.0
 */
export interface ConnectionRecord {
  readonly id: number
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly openedAt: number
  /** `[shard_id, shard_count]` once the connection identified or resumed. */
  shard: readonly [number, number] | undefined
  sessionId: string | undefined
  closedAt: number | undefined
  closeCode: number | undefined
  closeReason: string | undefined
  closedBy: ClosedBy | undefined
}

/**
 * One Identify with a valid shard pair, accepted or not (one with a bad token included, refused
 * first); one without is a violation only.
 *
 * @since 0.1.0
 */
export interface IdentifyRecord {
  readonly at: number
  readonly connection: number
  readonly shard: readonly [number, number]
  readonly rateLimitKey: number
  readonly intents: number | undefined
  /** `"ready"`, or why it was refused. */
  readonly outcome: "ready" | "rate-limited" | "refused"
  readonly sessionId: string | undefined
}

/**
 * One Resume.
 *
 * @since 0.1.0
 */
export interface ResumeRecord {
  readonly at: number
  readonly connection: number
  readonly sessionId: string
  readonly seq: number
  /** `"resumed"` (then `replayed` dispatches were replayed), `"invalid-session"` (op 9 false), `"invalid-seq"` (4007) or `"refused"` (bad token, 4004). */
  readonly outcome: "resumed" | "invalid-session" | "invalid-seq" | "refused"
  readonly replayed: number
}

/**
 * One heartbeat received from a client.
 *
 * @since 0.1.0
 */
export interface HeartbeatRecord {
  readonly at: number
  readonly connection: number
  readonly d: unknown
  /** Whether it answered the server's op 1. */
  readonly requested: boolean
}

/**
 * One command (any payload but a heartbeat) received from a client; Identify and Resume are
 * recorded without their token.
 *
 * @since 0.1.0
 */
export interface CommandRecord {
  readonly at: number
  readonly connection: number
  readonly op: number
  readonly d: unknown
}

/**
 * One dispatch the gateway sent (or buffered, when the session had no live connection).
 *
 * @since 0.1.0
 */
export interface DispatchRecord {
  readonly at: number
  readonly sessionId: string
  readonly seq: number
  readonly t: string
  /**
   * The connection it went out on, once written to it; `undefined` while it was not (only
   * buffered with no connection, or held by a stall or a slow link: one the close dropped stays so).
   */
  readonly connection: number | undefined
  /** Whether it was sent again by a resume. */
  readonly replay: boolean
}

/**
 * The rules a client can break.
 *
 * @since 0.1.0
 */
export type ViolationKind =
  | "PayloadBeforeHello"
  | "AlreadyAuthenticated"
  | "NotAuthenticated"
  | "IdentifyRateLimited"
  | "SessionStartLimitExhausted"
  | "SendRateLimited"
  | "PayloadTooLarge"
  | "UnknownOpcode"
  | "InvalidPayload"
  | "DecodeError"
  | "AuthenticationFailed"
  | "InvalidShard"
  | "ShardingRequired"
  | "InvalidIntents"
  | "DisallowedIntents"
  | "InvalidApiVersion"
  | "InvalidEncoding"
  | "InvalidSeq"
  | "ResumeEncodingChanged"
  | "HeartbeatTooEarly"
  | "HeartbeatMissed"
  | "HeartbeatRequestIgnored"
  | "ReconnectIgnored"
  | "PresenceRateLimited"
  | "RequestGuildMembersRateLimited"
  | "InvalidCommand"

/**
 * One breach of Discord's rules, with the close code it drew (if the gateway closed for it).
 *
 * @since 0.1.0
 */
export interface Violation {
  readonly at: number
  readonly connection: number
  readonly kind: ViolationKind
  readonly detail: string
  readonly closeCode: number | undefined
}

/**
 * A read-only view of everything recorded so far.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  readonly connections: ReadonlyArray<Readonly<ConnectionRecord>>
  readonly identifies: ReadonlyArray<IdentifyRecord>
  readonly resumes: ReadonlyArray<ResumeRecord>
  readonly heartbeats: ReadonlyArray<HeartbeatRecord>
  readonly commands: ReadonlyArray<CommandRecord>
  readonly dispatches: ReadonlyArray<DispatchRecord>
  readonly violations: ReadonlyArray<Violation>
}

/**
 * The session ids the gateway handed out (one per Identify answered with READY), oldest first; with
 * `shard`, only that shard's.
 *
 * @since 0.1.0
 */
export const sessionIds = (log: Snapshot, shard?: number): ReadonlyArray<string> =>
  log.identifies.flatMap((identify) =>
    identify.outcome === "ready" && identify.sessionId !== undefined && (shard === undefined || identify.shard[0] === shard)
      ? [identify.sessionId]
      : []
  )

/**
 * What the gateway dispatched to `sessionId`, in order and each once (a resume's replays left
 * out): what a client of that session should have delivered, from READY on. One dispatched while
 * no connection held the session, or held by a stall or a slow link until its connection closed,
 * is in it only once a resume replayed it (traffic that goes on after the client left is not). A
 * RESUMED is in it once per resume answered; one sent on a connection that failed before the
 * client read it never reaches the client, and the next resume does not replay it. Only what the
 * log still holds (`capacity`) is in it.
 *
 * @since 0.1.0
 */
export const dispatchedTo = (log: Snapshot, sessionId: string): ReadonlyArray<DispatchRecord> => {
  const ofSession = log.dispatches.filter((record) => record.sessionId === sessionId)
  const replayed = new Set(ofSession.flatMap((record) => record.replay && record.connection !== undefined ? [record.seq] : []))
  return ofSession.filter((record) => !record.replay && (record.connection !== undefined || replayed.has(record.seq)))
}

const push = <A>(list: Array<A>, item: A, capacity: number): void => {
  list.push(item)
  if (list.length > capacity) list.splice(0, list.length - capacity)
}

/**
 * The mutable recorder behind a gateway. Each list keeps its newest `capacity` entries (violations
 * are kept in full); listeners run after every change.
 *
 * @since 0.1.0
 */
export class Recorder {
  readonly connections: Array<ConnectionRecord> = []
  readonly identifies: Array<IdentifyRecord> = []
  readonly resumes: Array<ResumeRecord> = []
  readonly heartbeats: Array<HeartbeatRecord> = []
  readonly commands: Array<CommandRecord> = []
  readonly dispatches: Array<DispatchRecord> = []
  readonly violations: Array<Violation> = []
  private readonly listeners = new Set<() => void>()

  constructor(readonly capacity: number) {}

  connection(record: ConnectionRecord): void {
    // capped too: a long run (a soak, the CLI's embedded gateway) kept a record per connection
    push(this.connections, record, this.capacity)
    this.changed()
  }
  identify(record: IdentifyRecord): void {
    push(this.identifies, record, this.capacity)
    this.changed()
  }
  resume(record: ResumeRecord): void {
    push(this.resumes, record, this.capacity)
    this.changed()
  }
  heartbeat(record: HeartbeatRecord): void {
    push(this.heartbeats, record, this.capacity)
    this.changed()
  }
  command(record: CommandRecord): void {
    push(this.commands, record, this.capacity)
    this.changed()
  }
  dispatch(record: DispatchRecord): void {
    push(this.dispatches, record, this.capacity)
    this.changed()
  }
  violation(record: Violation): void {
    this.violations.push(record)
    this.changed()
  }

  /** Runs `listener` after every change until the returned function is called. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** Signals a change made to a record in place (a connection closing). */
  changed(): void {
    for (const listener of this.listeners) listener()
  }

  /** A copy of everything recorded so far. */
  snapshot(): Snapshot {
    return {
      connections: this.connections.map((record) => ({ ...record })),
      identifies: [...this.identifies],
      resumes: [...this.resumes],
      heartbeats: [...this.heartbeats],
      commands: [...this.commands],
      // copies: a held dispatch's record is told its connection once written
      dispatches: this.dispatches.map((record) => ({ ...record })),
      violations: [...this.violations]
    }
  }
}

/**
 * A copy of a command's `d` without its `token` (Identify and Resume carry one).
 *
 * @internal
 * @since 0.1.0
 */
export const redactToken = (d: unknown): unknown => {
  if (typeof d !== "object" || d === null || Array.isArray(d) || !("token" in d)) return d
  return { ...d, token: "<redacted>" }
}
