/**
 * One websocket connection to the local gateway: Hello, heartbeats, Identify and Resume, the
 * commands, and the enforcement of Discord's rules on every frame. Plain synchronous callbacks;
 * every timer belongs to the connection and is cleared when it closes. Outgoing frames can be held
 * back (a stall, a slow link) after they are encoded and compressed, so they keep their order and the
 * compression context sees them in send order; frames still held when the connection closes are lost,
 * as on a real socket (a session's dispatches stay in its replay buffer).
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import type { WebSocket } from "ws"
import type * as Compress from "../codec/Compress.ts"
import type { EncodingName } from "../codec/Encoding.ts"
import * as Etf from "../codec/Etf.ts"
import { longestTimerMillis } from "../internal/duration.ts"
import { printable } from "../internal/printable.ts"
import { isRecord } from "../internal/record.ts"
import { CloseCode } from "../protocol/CloseCode.ts"
import * as Intents from "../protocol/Intents.ts"
import { show } from "../protocol/internal/schema.ts"
import { Opcode } from "../protocol/Opcode.ts"
import * as CloseFrame from "../transport/CloseFrame.ts"
import * as Commands from "./Commands.ts"
import * as Log from "./Log.ts"
import * as Rules from "./Rules.ts"
import { Session } from "./Session.ts"
import type { Outlet } from "./Session.ts"
import * as Traffic from "./Traffic.ts"

/**
 * The gateway-wide settings a connection follows.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly token: Redacted.Redacted<string>
  readonly shards: number
  readonly strictShardCount: boolean
  readonly privilegedIntents: number
  readonly maxConcurrency: number
  readonly heartbeatIntervalMs: number
  readonly heartbeatSlackMs: number
  /** The close code for a missed heartbeat, or false to record it only. */
  readonly closeOnMissedHeartbeat: number | false
  /** How long a client has to beat after op 1, and to close after op 7. */
  readonly answerWithinMs: number
  readonly helloDelayMs: number
  readonly resumeWindowMs: number
  readonly replayBufferSize: number
  readonly memberChunkSize: number
  readonly seed: number
}

/**
 * What the gateway shares with its connections.
 *
 * @since 0.1.0
 */
export interface Host {
  readonly settings: Settings
  readonly now: () => number
  readonly recorder: Log.Recorder
  readonly world: Traffic.World
  readonly sessions: Map<string, Session>
  readonly identifyBuckets: Rules.IdentifyBuckets
  readonly memberRequests: Rules.MemberRequestLimiter
  readonly sessionStarts: Rules.SessionStartLimit
  /** Set once `session_start_limit` ran out: Discord reset the token, so it is refused from then on. */
  tokenReset: boolean
  readonly resumeUrl: string
  /** The Hello delay for a new connection (a one-shot control, else the configured delay). */
  readonly takeHelloDelay: () => number
  readonly newSessionId: () => string
  /** The snowflake worker of a new session's traffic (1024 of them, in turn, skipping those live sessions hold). */
  readonly newWorker: () => number
  readonly warn: (message: string, annotations: Record<string, unknown>) => void
}

const payload = (op: number, d: unknown): string => `{"t":null,"s":null,"op":${op},"d":${JSON.stringify(d ?? null)}}`

const stripBot = (token: unknown): unknown => (typeof token === "string" && token.startsWith("Bot ") ? token.slice(4) : token)

/** One delay of the connection: a Node timer, re-armed for a delay longer than one can wait. */
interface Timer {
  handle: ReturnType<typeof setTimeout> | undefined
}

/** An encoded frame held back by a stall or a slow link; `due` once its own delay has passed. */
interface Held {
  readonly frame: string | Uint8Array
  readonly onWritten: (() => void) | undefined
  due: boolean
}

const sessionEndingCloses = new Set<number>([1000, 1001])
const serverClosesThatEndSession = new Set<number>([
  CloseCode.NotAuthenticated,
  CloseCode.AuthenticationFailed,
  CloseCode.AlreadyAuthenticated,
  CloseCode.InvalidSeq,
  CloseCode.SessionTimedOut,
  CloseCode.InvalidShard,
  CloseCode.ShardingRequired,
  CloseCode.InvalidApiVersion,
  CloseCode.InvalidIntents,
  CloseCode.DisallowedIntents
])

/**
 * A live connection.
 *
 * @since 0.1.0
 */
export class Connection implements Outlet {
  readonly record: Log.ConnectionRecord
  /** Whether heartbeats are acknowledged (a fault-injection control). */
  acking = true
  private helloSent = false
  private authenticated = false
  private session: Session | undefined
  private closing = false
  private readonly timers = new Set<Timer>()
  private missedTimer: Timer | undefined
  // an op 1 written and not yet answered by a heartbeat: any beat after it answers it
  private requestTimer: Timer | undefined
  // whether Hello went to the socket (written or held), and the payloads the client sent before
  private helloQueued = false
  private beforeHello: Array<{ readonly op: number; readonly d: unknown; readonly at: number }> | undefined
  // when the op 1s not yet answered were written, oldest first
  private readonly requestsAt: Array<number> = []
  private readonly held: Array<Held> = []
  private stallTimer: Timer | undefined
  private slowTimer: Timer | undefined
  private frameDelayMs = 0
  // the most bytes of a zlib-stream message one websocket frame carries; 0: the whole message
  private splitBytes = 0
  private readonly heartbeat: Rules.HeartbeatClock
  private readonly sends = new Rules.SlidingWindow(Rules.sendLimit, Rules.sendWindowMs)
  private readonly commandContext: Commands.Context

  constructor(
    readonly id: number,
    private readonly socket: WebSocket,
    private readonly compressor: Compress.Compressor,
    private readonly encoding: EncodingName,
    private readonly host: Host,
    path: string,
    query: Readonly<Record<string, string>>
  ) {
    this.heartbeat = new Rules.HeartbeatClock(host.settings.heartbeatIntervalMs, host.settings.answerWithinMs)
    this.commandContext = {
      user: host.world.user,
      memberChunkSize: host.settings.memberChunkSize,
      memberRequests: host.memberRequests,
      violate: (kind, detail) => this.violate(kind, detail)
    }
    this.record = {
      id,
      path,
      query,
      openedAt: host.now(),
      shard: undefined,
      sessionId: undefined,
      closedAt: undefined,
      closeCode: undefined,
      closeReason: undefined,
      closedBy: undefined
    }
    host.recorder.connection(this.record)
    socket.on("message", (data, isBinary) => this.onMessage(toBytes(data), isBinary))
    socket.on("close", (code, reason) => this.onClose(code, reason.toString("utf8")))
    socket.on("error", () => undefined)
  }

  /** The shard id once known. */
  get shardId(): number | undefined {
    return this.record.shard?.[0]
  }

  /** Whether the socket is open and not being closed by the gateway. */
  get open(): boolean {
    return !this.closing && this.socket.readyState === this.socket.OPEN
  }

  /** Sends Hello now, or after `delayMs`. */
  start(delayMs: number): void {
    if (delayMs <= 0) this.sendHello()
    else this.later(delayMs, () => this.sendHello())
  }

  /**
   * Sends a payload given as JSON text; an ETF connection re-encodes it as Discord's ETF.
   * `onWritten` runs when the frame reaches the socket (later, if it is held).
   */
  send(text: string, onWritten?: () => void): boolean {
    if (!this.open) return false
    const message = this.encoding === "etf" ? toEtf(text) : text
    this.write(this.compressor.compression === "none" ? message : this.compressor.compress(message), onWritten)
    return true
  }

  /** Sends a raw frame as is (fault injection). */
  sendRaw(frame: string | Uint8Array): void {
    if (this.open) this.write(frame)
  }

  /**
   * Sends nothing for `ms`, holding every frame meanwhile, then sends all held frames at once, in
   * order. A stall on a stalled connection restarts the wait from now.
   */
  stall(ms: number): void {
    if (!this.open) return
    this.cancel(this.stallTimer)
    this.stallTimer = this.later(ms, () => {
      this.stallTimer = undefined
      this.release()
    })
  }

  /**
   * Sends each later zlib-stream message in websocket frames of at most `bytes` bytes, as Discord
   * may (a client joins them until the message's `00 00 ff ff`); 0 sends whole messages again.
   * Other compressions send whole messages.
   */
  split(bytes: number): void {
    this.splitBytes = bytes
  }

  /** For the next `ms`, delays each outgoing frame by `frameDelayMs` (order is kept). */
  slow(frameDelayMs: number, ms: number): void {
    if (!this.open) return
    this.cancel(this.slowTimer)
    this.frameDelayMs = frameDelayMs
    this.slowTimer = this.later(ms, () => {
      this.slowTimer = undefined
      this.frameDelayMs = 0
    })
  }

  /** Sends a frame the client cannot decode: broken JSON, truncated ETF, or corrupt compressed bytes. */
  sendMalformed(): void {
    if (this.compressor.compression === "none") {
      this.sendRaw(this.encoding === "etf" ? Uint8Array.of(Etf.version, 116, 0, 0, 0, 4) : "{\"t\":null,\"s\":null,\"op\":")
    } else this.sendRaw(Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x13, 0x37, 0x00, 0x00, 0xff, 0xff))
  }

  /**
   * Sends op 1: the client must beat at once (a beat answers it only once op 1 was written; none
   * within `answerWithin` is a breach).
   */
  requestHeartbeat(): void {
    this.send(payload(Opcode.Heartbeat, null), () => {
      const now = this.host.now()
      this.heartbeat.requested(now)
      this.requestsAt.push(now)
      this.requestTimer ??= this.awaitBeat()
    })
  }

  // A breach for each op 1 not answered within `answerWithin`, the oldest first (those written while
  // one waited went unchecked: three ignored, one recorded)
  private awaitBeat(): Timer {
    const { answerWithinMs } = this.host.settings
    return this.later(this.requestsAt[0]! + answerWithinMs - this.host.now(), () => {
      this.requestTimer = undefined
      // a beat held until a delayed Hello goes out answers the op 1s written before it (it is
      // handled at the time it came, once Hello is queued)
      const heldBeat = this.beforeHello?.filter(({ op }) => op === Opcode.Heartbeat).at(-1)?.at
      if (heldBeat !== undefined && this.requestsAt[0]! <= heldBeat) {
        while (this.requestsAt.length > 0 && this.requestsAt[0]! <= heldBeat) this.requestsAt.shift()
      } else {
        this.requestsAt.shift()
        this.violate("HeartbeatRequestIgnored", `no heartbeat within ${answerWithinMs} ms of op 1`)
      }
      if (this.requestsAt.length > 0) this.requestTimer = this.awaitBeat()
    })
  }

  /** Sends op 7: the client must close and reconnect (still open after `answerWithin`: a breach). */
  reconnect(): void {
    this.send(payload(Opcode.Reconnect, null), () => {
      const { answerWithinMs } = this.host.settings
      this.later(answerWithinMs, () => this.violate("ReconnectIgnored", `the connection still open ${answerWithinMs} ms after op 7`))
    })
  }

  /**
   * Sends op 9: the connection is no longer authenticated (an Identify, or with `resumable` a
   * Resume, may follow on it), and its session gets no more dispatches here; with `resumable`
   * false the session ends. On a connection no longer open it does nothing: no op 9 goes out, so
   * the session is not ended (a client told only a resumable close had its Resume refused).
   */
  invalidate(resumable: boolean): void {
    if (!this.open) return
    if (resumable) this.session?.detach(this, this.host.now(), false)
    else this.endSession()
    this.authenticated = false
    this.session = undefined
    this.send(payload(Opcode.InvalidSession, resumable))
  }

  /**
   * Closes with a close frame; a code that says no close frame came (1005, 1006, 1015) drops the
   * connection instead. A code or a reason no close frame can carry is refused (a `RangeError`),
   * the connection left as it was.
   */
  close(code: number, reason = ""): void {
    if (CloseFrame.saysNoFrame(code)) return this.drop()
    const refused = CloseFrame.problem(code, reason)
    if (refused !== undefined) throw new RangeError(refused)
    if (this.closing || this.record.closedBy !== undefined) return
    this.closing = true
    this.record.closedBy = "server"
    this.record.closeCode = code
    this.record.closeReason = reason
    this.clearTimers()
    if (serverClosesThatEndSession.has(code)) this.endSession()
    this.socket.close(code, reason)
  }

  /**
   * Destroys the TCP connection without a close frame, also one closing (a close frame the client
   * has not answered): the log keeps the first end.
   */
  drop(): void {
    if (this.record.closedBy === undefined) {
      this.closing = true
      this.record.closedBy = "server-drop"
      this.clearTimers()
    }
    this.socket.terminate()
  }

  /** Writes an encoded frame now, or holds it behind a stall, a slow link or earlier held frames. */
  private write(frame: string | Uint8Array, onWritten?: () => void): void {
    if (this.stallTimer === undefined && this.frameDelayMs <= 0 && this.held.length === 0) {
      this.emit(frame)
      onWritten?.()
      return
    }
    const held: Held = { frame, onWritten, due: this.frameDelayMs <= 0 }
    this.held.push(held)
    if (!held.due) {
      this.later(this.frameDelayMs, () => {
        held.due = true
        this.release()
      })
    }
  }

  /** Sends the held frames that are due, in order, unless stalled. */
  private release(): void {
    if (!this.open) {
      this.held.length = 0
      return
    }
    while (this.stallTimer === undefined && this.held[0]?.due === true) {
      const { frame, onWritten } = this.held.shift()!
      this.emit(frame)
      onWritten?.()
    }
  }

  /** Puts an encoded frame on the socket: a zlib-stream message in pieces, if `split` asked. */
  private emit(frame: string | Uint8Array): void {
    if (typeof frame === "string") return this.socket.send(frame)
    const size = this.compressor.compression === "zlib-stream" && this.splitBytes > 0 ? this.splitBytes : frame.length
    if (size >= frame.length) return this.socket.send(frame, { binary: true })
    for (let at = 0; at < frame.length; at += size) this.socket.send(frame.subarray(at, at + size), { binary: true })
  }

  private later(ms: number, run: () => void): Timer {
    const timer: Timer = { handle: undefined }
    const arm = (left: number): void => {
      timer.handle = setTimeout(() => {
        if (left > longestTimerMillis) return arm(left - longestTimerMillis)
        this.timers.delete(timer)
        run()
      }, Math.min(left, longestTimerMillis))
    }
    arm(ms)
    this.timers.add(timer)
    return timer
  }

  private cancel(timer: Timer | undefined): void {
    if (timer === undefined) return
    clearTimeout(timer.handle)
    this.timers.delete(timer)
  }

  /** Clears every timer and drops the frames still held (the socket is going away). */
  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer.handle)
    this.timers.clear()
    this.missedTimer = undefined
    this.requestTimer = undefined
    this.stallTimer = undefined
    this.slowTimer = undefined
    this.frameDelayMs = 0
    this.held.length = 0
  }

  private sendHello(): void {
    if (!this.open) return
    // the client has Hello (and its heartbeats are due) only once it is written, not while a
    // stall or a slow link holds it
    this.send(payload(Opcode.Hello, { heartbeat_interval: this.host.settings.heartbeatIntervalMs, _trace: ["[\"local-gateway\",{\"micros\":0}]"] }), () => {
      this.helloSent = true
      this.armMissedHeartbeat()
    })
    this.helloQueued = true
    const early = this.beforeHello ?? []
    this.beforeHello = undefined
    // (at the times they came: two beats 700 ms apart, handled at once, were a beat too early)
    for (const { at, d, op } of early) {
      if (this.closing || !this.open) return
      this.handle(op, d, at)
    }
  }

  private armMissedHeartbeat(): void {
    this.cancel(this.missedTimer)
    const { heartbeatIntervalMs, heartbeatSlackMs } = this.host.settings
    this.missedTimer = this.later(heartbeatIntervalMs * 1.5 + heartbeatSlackMs, () => {
      this.missedTimer = undefined
      const { closeOnMissedHeartbeat } = this.host.settings
      const close = closeOnMissedHeartbeat === false ? undefined : closeOnMissedHeartbeat
      this.violate("HeartbeatMissed", `no heartbeat for ${heartbeatIntervalMs * 1.5 + heartbeatSlackMs} ms`, close)
    })
  }

  /** Records a breach by this connection; with `closeCode`, closes for it. */
  violate(kind: Log.ViolationKind, text: string, closeCode?: number, closeReason?: string): void {
    // it may quote what the client sent: no control character of it reaches a log or a terminal
    const detail = printable(text)
    this.host.recorder.violation({ at: this.host.now(), connection: this.id, kind, detail, closeCode })
    this.host.warn(`gateway rule broken: ${kind}`, { connection: this.id, detail })
    if (closeCode !== undefined) this.close(closeCode, closeReason ?? detail.slice(0, 120))
  }

  private endSession(): void {
    const session = this.session
    if (session === undefined) return
    session.detach(this, this.host.now(), true)
    this.host.sessions.delete(session.id)
  }

  private onClose(code: number, reason: string): void {
    const now = this.host.now()
    this.clearTimers()
    const record = this.record
    if (record.closedBy === undefined) {
      record.closedBy = code === 1006 ? "lost" : "client"
      record.closeCode = CloseFrame.saysNoFrame(code) ? undefined : code
      record.closeReason = reason
    }
    record.closedAt = now
    const session = this.session
    if (session !== undefined) {
      const ended = record.closedBy === "client" && sessionEndingCloses.has(code)
      if (ended) this.endSession()
      else session.detach(this, now, false)
    }
    this.host.recorder.changed()
  }

  private onMessage(frame: Uint8Array, isBinary: boolean): void {
    if (this.closing) return
    const now = this.host.now()
    if (!this.sends.hit(now)) {
      return this.violate("SendRateLimited", `more than ${Rules.sendLimit} payloads in ${Rules.sendWindowMs} ms`, CloseCode.RateLimited, "You are being rate limited.")
    }
    const decoded = this.encoding === "etf"
      ? isBinary ? Rules.decodeEtf(frame) : { _tag: "Invalid" as const, detail: "a text frame on an ETF connection" }
      : Rules.decode(frame)
    if (decoded._tag === "TooLarge") {
      return this.violate("PayloadTooLarge", `payload of ${decoded.bytes} bytes (limit ${Rules.maxPayloadBytes})`, CloseCode.DecodeError, "Error while decoding payload.")
    }
    if (decoded._tag === "Invalid") {
      return this.violate("DecodeError", `${decoded.detail}${isBinary ? " (binary frame)" : ""}`, CloseCode.DecodeError, "Error while decoding payload.")
    }
    const { op, d } = decoded
    if (!this.helloSent) this.violate("PayloadBeforeHello", `op ${op} sent before Hello`)
    // answered once Hello is on its way: an early heartbeat's ACK, or an early Identify's READY,
    // went out ahead of a delayed Hello, an order no Discord connection has
    if (!this.helloQueued) {
      (this.beforeHello ??= []).push({ op, d, at: now })
      return
    }
    this.handle(op, d, now)
  }

  private handle(op: number, d: unknown, now: number): void {
    if (op === Opcode.Heartbeat) return this.onHeartbeat(d, now)
    this.host.recorder.command({ at: now, connection: this.id, op, d: Log.redactToken(d) })
    switch (op) {
      case Opcode.Identify:
        return this.onIdentify(d, now)
      case Opcode.Resume:
        return this.onResume(d, now)
      case Opcode.PresenceUpdate:
      case Opcode.VoiceStateUpdate:
      case Opcode.RequestGuildMembers:
      case Opcode.RequestSoundboardSounds:
      case Opcode.RequestChannelInfo:
        if (!this.authenticated || this.session === undefined) {
          return this.violate("NotAuthenticated", `op ${op} sent before Identify`, CloseCode.NotAuthenticated, "Not authenticated.")
        }
        // an invalid payload for its opcode: 4001, as Discord closes it
        if (!isRecord(d)) return this.invalidPayload(op, "d must be an object")
        const invalid = Commands.invalidPayload(op, d)
        if (invalid !== undefined) return this.invalidPayload(op, invalid)
        return Commands.handle(op, d, this.session, this.commandContext, now)
      default:
        return this.violate("UnknownOpcode", `unknown opcode ${op}`, CloseCode.UnknownOpcode, "Unknown opcode.")
    }
  }

  private invalidPayload(op: number, problem: string): void {
    this.violate("InvalidPayload", `op ${op}: ${problem}`, CloseCode.UnknownOpcode, "Unknown opcode.")
  }

  private onHeartbeat(d: unknown, now: number): void {
    const beat = this.heartbeat.beat(now)
    this.host.recorder.heartbeat({ at: now, connection: this.id, d, requested: beat.requested })
    // it answers the op 1s written before it (a beat held before a delayed Hello, handled at the
    // time it came, answered those written after it too)
    this.cancel(this.requestTimer)
    this.requestTimer = undefined
    while (this.requestsAt.length > 0 && this.requestsAt[0]! <= now) this.requestsAt.shift()
    if (this.requestsAt.length > 0) this.requestTimer = this.awaitBeat()
    if (beat.tooEarlyBy !== undefined) {
      this.violate("HeartbeatTooEarly", `heartbeat ${beat.tooEarlyBy} ms after the previous one (interval ${this.host.settings.heartbeatIntervalMs} ms)`)
    }
    if (this.helloSent) this.armMissedHeartbeat()
    if (d !== null && typeof d !== "number") {
      return this.violate("DecodeError", "heartbeat d must be the last sequence number or null", CloseCode.DecodeError, "Error while decoding payload.")
    }
    if (this.acking) this.send(payload(Opcode.HeartbeatAck, null))
  }

  /** Whether `token` (a leading `Bot ` dropped) is the bot's token and was not reset. */
  private validToken(token: unknown): boolean {
    return !this.host.tokenReset && stripBot(token) === Redacted.value(this.host.settings.token)
  }

  private rejectToken(): void {
    const detail = this.host.tokenReset ? "the token was reset when session_start_limit ran out" : "the token was rejected"
    this.violate("AuthenticationFailed", detail, CloseCode.AuthenticationFailed, "Authentication failed.")
  }

  /**
   * What Discord does when `session_start_limit` runs out: the token is reset, and every session
   * ends (none stays resumable), its connection closed with 4004. A connection that has not
   * authenticated stays open; its Identify or Resume is refused with 4004.
   */
  private resetToken(): void {
    this.host.tokenReset = true
    for (const session of this.host.sessions.values()) {
      if (session.outlet instanceof Connection) session.outlet.close(CloseCode.AuthenticationFailed, "Authentication failed.")
      session.ended = true
    }
    this.host.sessions.clear()
  }

  private onIdentify(d: unknown, now: number): void {
    if (this.authenticated) {
      return this.violate("AlreadyAuthenticated", "Identify on an authenticated connection", CloseCode.AlreadyAuthenticated, "You sent more than one identify payload.")
    }
    if (!isRecord(d)) return this.violate("DecodeError", "Identify d must be an object", CloseCode.DecodeError, "Error while decoding payload.")
    const { settings } = this.host
    const shard = Rules.validShard(d["shard"], settings.strictShardCount ? settings.shards : undefined)
    const intents = d["intents"]
    // the log keeps every Identify with a valid shard pair (one without is a violation only)
    const recordAs = (valid: readonly [number, number], outcome: Log.IdentifyRecord["outcome"], sessionId?: string) =>
      this.host.recorder.identify({
        at: now,
        connection: this.id,
        shard: valid,
        rateLimitKey: Rules.IdentifyBuckets.key(valid[0], settings.maxConcurrency),
        intents: typeof intents === "number" ? intents : undefined,
        outcome,
        sessionId
      })
    // the token is checked first
    if (!this.validToken(d["token"])) {
      if (typeof shard !== "string") recordAs(shard, "refused")
      return this.rejectToken()
    }
    if (typeof shard === "string") return this.violate("InvalidShard", shard, CloseCode.InvalidShard, "Invalid shard.")
    this.record.shard = shard
    const rateLimitKey = Rules.IdentifyBuckets.key(shard[0], settings.maxConcurrency)
    if (!Rules.validIntents(intents)) {
      recordAs(shard, "refused")
      return this.violate("InvalidIntents", `invalid intents ${show(intents)}`, CloseCode.InvalidIntents, "Invalid intent(s).")
    }
    const disallowed = intents & Intents.privileged & ~settings.privilegedIntents
    if (disallowed !== 0) {
      recordAs(shard, "refused")
      return this.violate("DisallowedIntents", `privileged intents ${disallowed} not enabled for the application`, CloseCode.DisallowedIntents, "Disallowed intent(s).")
    }
    // refused before it counts against the identify bucket or the day's session starts
    const guilds = this.host.world.guilds.filter((guild) => Rules.shardOf(guild.id, shard[1]) === shard[0])
    if (guilds.length > Rules.maxGuildsPerShard) {
      recordAs(shard, "refused")
      return this.violate(
        "ShardingRequired",
        `shard [${shard}] would hold ${guilds.length} guilds (at most ${Rules.maxGuildsPerShard})`,
        CloseCode.ShardingRequired,
        "Sharding required."
      )
    }
    // one that comes too early for its bucket is refused, and still spends a session start
    const inTurn = this.host.identifyBuckets.take(rateLimitKey, now)
    if (!this.host.sessionStarts.take(now)) {
      recordAs(shard, "refused")
      this.violate("SessionStartLimitExhausted", "session_start_limit exhausted: Discord resets the token", CloseCode.AuthenticationFailed, "Authentication failed.")
      return this.resetToken()
    }
    if (!inTurn) {
      recordAs(shard, "rate-limited")
      this.violate("IdentifyRateLimited", `identify on rate_limit_key ${rateLimitKey} less than ${this.host.identifyBuckets.cooldownMs} ms after the previous one`)
      return this.invalidate(false)
    }
    const threshold = d["large_threshold"]
    const largeThreshold = typeof threshold === "number" ? Math.min(250, Math.max(50, threshold)) : 50
    const sessionId = this.host.newSessionId()
    const { world } = this.host
    const worker = this.host.newWorker()
    const session = new Session(
      sessionId,
      shard,
      intents,
      world.user.id,
      guilds,
      largeThreshold,
      this.encoding,
      // one source per session, each its own snowflake worker: no two sessions' message ids meet,
      // also of one shard id under two shard counts (a reshard's old and new set side by side)
      Traffic.makeSource(guilds, settings.seed * 7919 + shard[0] * 31 + shard[1], worker),
      worker,
      settings.replayBufferSize,
      this.host.recorder
    )
    this.host.sessions.set(sessionId, session)
    recordAs(shard, "ready", sessionId)
    this.authenticated = true
    this.session = session
    this.record.sessionId = sessionId
    session.attach(this, [], now)
    session.dispatch("READY", {
      v: 10,
      user_settings: {},
      user: { ...world.user, verified: true, mfa_enabled: false, flags: 0, email: null },
      guilds: guilds.map((guild) => ({ id: guild.id, unavailable: true })),
      session_id: sessionId,
      session_type: "normal",
      resume_gateway_url: this.host.resumeUrl,
      // only when the Identify gave one, as Discord does
      ...(d["shard"] === undefined ? {} : { shard }),
      application: { id: world.applicationId, flags: Rules.applicationFlags(settings.privilegedIntents) },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ["local"],
      auth: {},
      _trace: ["[\"local-gateway\",{\"micros\":0}]"]
    }, now)
    for (const guild of guilds) session.dispatch("GUILD_CREATE", Traffic.guildCreate(guild, largeThreshold, intents), now)
  }

  /** Ends `session` for a Resume it refused, unless a connection holds it: that one goes on. */
  private endUnlessHeld(session: Session): void {
    if (session.outlet !== undefined) return
    session.ended = true
    this.host.sessions.delete(session.id)
  }

  private onResume(d: unknown, now: number): void {
    if (this.authenticated) {
      return this.violate("AlreadyAuthenticated", "Resume on an authenticated connection", CloseCode.AlreadyAuthenticated, "You sent more than one identify payload.")
    }
    if (!isRecord(d)) return this.violate("DecodeError", "Resume d must be an object", CloseCode.DecodeError, "Error while decoding payload.")
    const sessionId = d["session_id"]
    const seq = d["seq"]
    // a session id and the last sequence received (0 before any): nothing to guess a replay from
    if (typeof sessionId !== "string" || typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
      return this.violate("DecodeError", `Resume needs a session_id string and a seq integer, got ${show(sessionId)} and ${show(seq)}`, CloseCode.DecodeError, "Error while decoding payload.")
    }
    const base = { at: now, connection: this.id, sessionId, seq }
    if (!this.validToken(d["token"])) {
      this.host.recorder.resume({ ...base, outcome: "refused", replayed: 0 })
      return this.rejectToken()
    }
    const session = this.host.sessions.get(sessionId)
    if (session === undefined || !session.resumable(now, this.host.settings.resumeWindowMs)) {
      if (session !== undefined) this.host.sessions.delete(sessionId)
      this.host.recorder.resume({ ...base, outcome: "invalid-session", replayed: 0 })
      this.send(payload(Opcode.InvalidSession, false))
      return
    }
    // Discord resumes a session only over the encoding it began with (what it does otherwise is
    // not documented: here, op 9 false, the session left as it was, and the breach recorded)
    if (session.encoding !== this.encoding) {
      this.host.recorder.resume({ ...base, outcome: "invalid-session", replayed: 0 })
      this.violate("ResumeEncodingChanged", `Resume over ${this.encoding} of a session begun over ${session.encoding}`)
      this.send(payload(Opcode.InvalidSession, false))
      return
    }
    const plan = session.plan(seq)
    if (plan._tag === "InvalidSeq") {
      // 4007: "Reconnect and start a new session": the session ends, as the close says, unless a
      // connection holds it (it would be left open on an ended session)
      this.endUnlessHeld(session)
      this.host.recorder.resume({ ...base, outcome: "invalid-seq", replayed: 0 })
      return this.violate("InvalidSeq", `resume from seq ${seq} but the session is at ${session.seq}`, CloseCode.InvalidSeq, "Invalid seq.")
    }
    if (plan._tag === "TooOld") {
      this.endUnlessHeld(session)
      this.host.recorder.resume({ ...base, outcome: "invalid-session", replayed: 0 })
      this.send(payload(Opcode.InvalidSession, false))
      return
    }
    if (session.outlet instanceof Connection && session.outlet !== this) {
      session.outlet.close(CloseCode.UnknownError, "Session resumed on another connection.")
      session.outlet = undefined
    }
    this.authenticated = true
    this.session = session
    this.record.shard = session.shard
    this.record.sessionId = session.id
    this.host.recorder.resume({ ...base, outcome: "resumed", replayed: plan.entries.length })
    session.attach(this, plan.entries, now)
    session.dispatch("RESUMED", { _trace: ["[\"local-gateway\",{\"micros\":0}]"] }, now, false)
  }
}

// as Discord's erlpack writes terms: at any depth a dispatch takes (up to 1024; the client
// refuses what is nested deeper than `Etf.maxDepth`: refused here, such data took a sequence number
// and was never sent)
const asDiscordWrites: Etf.EncodeOptions = { ...Etf.gatewayStyle, maxDepth: Infinity }

/**
 * A payload's JSON text as the ETF Discord sends: atom map keys and event name, snowflakes above
 * 2^53 as integers, byte lists as STRING_EXT.
 */
const toEtf = (text: string): Uint8Array => {
  const { t, s, op, d } = JSON.parse(text) as { t: string | null; s: number | null; op: number; d: unknown }
  return Etf.encodeWith({ t: t === null ? null : new Etf.Atom(t), s, op, d }, asDiscordWrites)
}

const toBytes = (data: Buffer | ArrayBuffer | ReadonlyArray<Buffer>): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Buffer)
