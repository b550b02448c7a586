/**
 * A session on the local gateway: its sequence, the bounded buffer of dispatches it sent (for
 * replay on resume), the connection it is attached to, and how long it stays resumable.
 *
 * @since 0.1.0
 */
import type { EncodingName } from "../codec/Encoding.ts"
import type { DispatchRecord, Recorder } from "./Log.ts"
import * as Rules from "./Rules.ts"
import type * as Traffic from "./Traffic.ts"
import * as Visibility from "./Visibility.ts"

/**
 * Where a session's dispatches go: the live connection it is attached to.
 *
 * @since 0.1.0
 */
export interface Outlet {
  readonly id: number
  /**
   * Sends a serialized payload; false when the socket can no longer send. `onWritten` runs once it
   * is written to the socket (later where a stall or a slow link holds it; never where the
   * connection closes first).
   */
  send(payload: string, onWritten?: () => void): boolean
}

/**
 * One dispatch kept for replay.
 *
 * @since 0.1.0
 */
export interface Buffered {
  readonly s: number
  readonly t: string
  readonly payload: string
}

/**
 * How a resume against this session turns out.
 *
 * @since 0.1.0
 */
export type ReplayPlan =
  | { readonly _tag: "Replay"; readonly entries: ReadonlyArray<Buffered> }
  | { readonly _tag: "TooOld" }
  | { readonly _tag: "InvalidSeq" }

// The deepest data a dispatch may nest (lists and maps): more than a client's ETF reader takes
// (`Etf.maxDepth`), so that its refusal can be tested, and well within what the gateway's ETF
// writer, which recurses, can write from a socket's callback. Data deep enough to overflow it took
// a sequence number and was never sent: each Resume's replay met it again.
const maxDispatchDepth = 1024

// whether JSON text nests lists and maps more than `limit` deep: what is written, also through a
// `toJSON` (the objects' own fields, walked, let a deep `toJSON` through and counted a Date)
const nestedDeeperThan = (json: string, limit: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i)
    if (inString) {
      if (code === 0x5c) i++
      else if (code === 0x22) inString = false
    } else if (code === 0x22) inString = true
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > limit) return true
    } else if (code === 0x5d || code === 0x7d) depth--
  }
  return false
}

// data as a dispatch frames it: JSON has no value for `undefined`, which is `null`
const jsonOf = (d: unknown): string => JSON.stringify(d) ?? "null"

/**
 * A program's dispatch data as JSON text, the way a dispatch frames it, checked once before any
 * session takes it. Throws on data JSON cannot hold (a `bigint`, a cycle), and on data nested more
 * than 1024 lists and maps deep as written. (What the gateway dispatches of its own, its world's
 * guilds, members and answers, is shallow.)
 *
 * @internal
 * @since 0.1.0
 */
export const framedData = (d: unknown): string => {
  const data = jsonOf(d)
  if (nestedDeeperThan(data, maxDispatchDepth)) throw new RangeError(`dispatch data nested more than ${maxDispatchDepth} deep`)
  return data
}

// a dispatch as Discord frames it
const dispatchPayload = (t: string, s: number, d: unknown): string => `{"t":${JSON.stringify(t)},"s":${s},"op":0,"d":${jsonOf(d)}}`

/**
 * A gateway session.
 *
 * @since 0.1.0
 */
export class Session {
  seq = 0
  outlet: Outlet | undefined
  /** When it lost its connection (it stays resumable for a while), or undefined while attached. */
  detachedAt: number | undefined
  ended = false
  /**
   * Its presence updates' window: the session's, not a connection's (a resume in a burst of
   * updates let five more through at once).
   */
  readonly presences = new Rules.SlidingWindow(Rules.presenceLimit, Rules.presenceWindowMs)
  private readonly buffer: Array<Buffered> = []
  // the sequence of the last dispatch the buffer let go (none: 0): a resume from before it missed it
  private trimmedThrough = 0

  constructor(
    readonly id: string,
    readonly shard: readonly [number, number],
    /** The intents it identified with: they decide which dispatches it is sent (`Visibility`). */
    readonly intents: number,
    /** The bot's user id: a message that mentions it shows its content without the intent. */
    readonly botId: string,
    readonly guilds: ReadonlyArray<Traffic.Guild>,
    readonly largeThreshold: number,
    /** The encoding it began with: Discord resumes it over that one only. */
    readonly encoding: EncodingName,
    readonly source: Traffic.Source,
    /** The snowflake worker its source stamps ids with: no other live session holds it. */
    readonly worker: number,
    private readonly capacity: number,
    private readonly recorder: Recorder
  ) {}

  /** Whether a resume may still pick this session up at `now`. */
  resumable(now: number, windowMs: number): boolean {
    return !this.ended && (this.detachedAt === undefined || now - this.detachedAt <= windowMs)
  }

  /**
   * Sends (or, detached, only buffers) a dispatch with the next sequence number, as the session's
   * intents let it see it; its sequence number, or `undefined` when its intents keep it out.
   */
  dispatch(t: string, d: unknown, now: number, replayable = true): number | undefined {
    if (!Visibility.delivers(this.intents, this.botId, t, d)) return undefined
    // framed before anything changes: data that cannot be framed takes no sequence number
    const s = this.seq + 1
    const payload = dispatchPayload(t, s, Visibility.asSeen(this.intents, this.botId, t, d))
    this.seq = s
    if (replayable) {
      this.buffer.push({ s, t, payload })
      if (this.buffer.length > this.capacity) this.trimmedThrough = this.buffer.shift()!.s
    }
    this.sendRecorded({ at: now, sessionId: this.id, seq: s, t, connection: undefined, replay: false }, payload)
    return s
  }

  // Sends `payload` on the session's connection, if any, and records it: gone out on that
  // connection once written (a frame a stall held, dropped by the close, never went out)
  private sendRecorded(record: { -readonly [K in keyof DispatchRecord]: DispatchRecord[K] }, payload: string): void {
    const outlet = this.outlet
    let recorded = false
    outlet?.send(payload, () => {
      record.connection = outlet.id
      if (recorded) this.recorder.changed()
    })
    this.recorder.dispatch(record)
    recorded = true
  }

  /**
   * What a resume from `seq` would replay: too old where the buffer let go of a dispatch after it
   * (a sequence no dispatch kept for replay took, a RESUMED's, is no gap: a client that missed
   * that RESUMED with its connection was refused a replay the buffer held whole).
   */
  plan(seq: number): ReplayPlan {
    if (seq > this.seq || seq < 0) return { _tag: "InvalidSeq" }
    if (seq < this.trimmedThrough) return { _tag: "TooOld" }
    return { _tag: "Replay", entries: this.buffer.filter((entry) => entry.s > seq) }
  }

  /** Attaches a connection and replays `entries` through it. */
  attach(outlet: Outlet, entries: ReadonlyArray<Buffered>, now: number): void {
    this.outlet = outlet
    this.detachedAt = undefined
    for (const entry of entries) {
      this.sendRecorded({ at: now, sessionId: this.id, seq: entry.s, t: entry.t, connection: undefined, replay: true }, entry.payload)
    }
  }

  /** The connection went away; the session stays resumable unless `end`. */
  detach(outlet: Outlet, now: number, end: boolean): void {
    if (this.outlet !== outlet) return
    this.outlet = undefined
    this.detachedAt = now
    if (end) this.ended = true
  }
}
