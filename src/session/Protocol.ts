/**
 * The protocol step: a pure function from what the session remembers and one incoming
 * payload to what the shell must do. No sockets, clocks or effects: tested exhaustively.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { type Envelope, Skipped } from "../codec/Encoding.ts"
import { clipped, printable } from "../internal/printable.ts"
import * as CloseCode from "../protocol/CloseCode.ts"
import * as Event from "../protocol/Event.ts"
import { Opcode } from "../protocol/Opcode.ts"
import * as Receive from "../protocol/Receive.ts"
import { Reason } from "./SessionState.ts"

/**
 * What the session remembers across connections: the Discord session it holds (if any)
 * and the sequence number of the last event it delivered.
 *
 * @since 0.1.0
 */
export interface Memory {
  readonly sessionId: string | undefined
  readonly resumeGatewayUrl: string | undefined
  readonly sequence: number | null
}

/**
 * A session that holds nothing yet.
 *
 * @since 0.1.0
 */
export const empty: Memory = { sessionId: undefined, resumeGatewayUrl: undefined, sequence: null }

/**
 * How the next connection authenticates: resume the remembered session, or identify anew.
 *
 * @since 0.1.0
 */
export type Mode = "resume" | "identify"

/**
 * The mode for the next connection, given the memory: resume when there is a session to resume.
 *
 * @since 0.1.0
 */
export const modeOf = (memory: Memory): Mode =>
  memory.sessionId !== undefined && memory.resumeGatewayUrl !== undefined ? "resume" : "identify"

/**
 * The memory after the session was invalidated: nothing left to resume.
 *
 * @since 0.1.0
 */
export const forget = (_memory: Memory): Memory => empty

/**
 * What one incoming payload asks of the shell.
 *
 * @since 0.1.0
 */
export type Step =
  /** Deliver this event (its sequence is new). */
  | { readonly _tag: "Emit"; readonly event: Event.GatewayEvent }
  /**
   * READY: remember the new session, deliver the event. Its resume URL is `undefined` where READY's
   * cannot be dialled, and `urlProblem` says why.
   */
  | {
    readonly _tag: "Ready"
    readonly sessionId: string
    readonly resumeGatewayUrl: string | undefined
    readonly urlProblem: string | undefined
    readonly event: Event.GatewayEvent
  }
  /** RESUMED: the old session goes on; deliver the event. */
  | { readonly _tag: "Resumed"; readonly event: Event.GatewayEvent }
  /** An event already delivered, replayed by a resume: skip it. */
  | { readonly _tag: "Duplicate"; readonly sequence: number }
  /** A new event nobody wants (it was not even decoded): count its sequence, deliver nothing. */
  | { readonly _tag: "Skip"; readonly sequence: number; readonly t: string }
  /** Hello: start heartbeating and authenticate. */
  | { readonly _tag: "Hello"; readonly interval: number }
  /** Op 1: send a heartbeat now. */
  | { readonly _tag: "HeartbeatNow" }
  /** Op 11: the last heartbeat was acknowledged. */
  | { readonly _tag: "HeartbeatAck" }
  /** Close this connection and open another, resuming or identifying. */
  | { readonly _tag: "Reconnect"; readonly mode: Mode; readonly reason: Reason }
  /** Nothing to do (an opcode a client never receives). */
  | { readonly _tag: "Ignore"; readonly op: number }

/**
 * How far a connection's handshake went: its Identify or Resume not sent yet (`Unasked`), sent and
 * waiting for READY or RESUMED (`Asked`), or answered (`Answered`).
 *
 * @since 0.1.0
 */
export type Stage = "Unasked" | "Asked" | "Answered"

/**
 * The connection a payload arrives on, as the step reads it.
 *
 * @since 0.1.0
 */
export interface Handshake {
  /** How the connection authenticates. */
  readonly mode: Mode
  /** How far its handshake went. */
  readonly stage: Stage
  /** The sequence its Resume carried while the replay lasts (until RESUMED), else `null`. */
  readonly replayAfter: number | null
}

const resumeOrIdentify = (memory: Memory, reason: Reason): Step => ({ _tag: "Reconnect", mode: modeOf(memory), reason })

// A payload that answers nothing: the gateway's slip, the connection ends and the session's memory
// stays as it was
const protocolError = (memory: Memory, message: string): Step =>
  resumeOrIdentify(memory, Reason.DecodeFailed({ kind: "Protocol", message }))

// a READY that cannot be this connection's session: identify anew
const identifyAnew = (message: string): Step => ({ _tag: "Reconnect", mode: "identify", reason: Reason.DecodeFailed({ kind: "Protocol", message }) })

const unasked = (memory: Memory, handshake: Handshake, what: string): Step =>
  protocolError(memory, `${what} before this connection's ${handshake.mode === "identify" ? "Identify" : "Resume"}`)

// a second READY moved the resume point back, and the events after its sequence came twice; a
// READY after RESUMED threw the resumed session away
const answeredAgain = (memory: Memory, t: string): Step => protocolError(memory, `${t} on a connection already answered`)

/**
 * Interprets one decoded payload for the shard `shard` (`[id, count]`, as its Identify names it),
 * on the connection `handshake` describes.
 * Its Resume's replay repeats what is at or below `replayAfter`. Only the Identify or Resume is
 * answered, once: a dispatch or an op 9 before it went out, and a READY or RESUMED after its
 * answer, answer nothing, and end the connection with the memory as it was.
 *
 * @since 0.1.0
 */
export const step = (memory: Memory, envelope: Envelope, shard: readonly [id: number, count: number], handshake: Handshake): Step => {
  switch (envelope.op) {
    case Opcode.Dispatch:
      return dispatch(memory, envelope, shard, handshake)
    case Opcode.HeartbeatAck:
      return { _tag: "HeartbeatAck" }
    case Opcode.Heartbeat:
      return { _tag: "HeartbeatNow" }
    case Opcode.Hello: {
      const hello = Receive.decodeHello(envelope.d)
      return hello._tag === "Right"
        ? { _tag: "Hello", interval: hello.right.heartbeat_interval }
        : protocolError(memory, hello.left.message)
    }
    case Opcode.Reconnect:
      return resumeOrIdentify(memory, Reason.Reconnect())
    case Opcode.InvalidSession: {
      // taken before the Resume, it forgot the session the Resume would have carried
      if (handshake.stage === "Unasked") return unasked(memory, handshake, "an invalid session (op 9)")
      const invalid = Receive.decodeInvalidSession(envelope.d)
      if (invalid._tag === "Left") return protocolError(memory, invalid.left.message)
      const resumable = invalid.right
      return { _tag: "Reconnect", mode: resumable ? modeOf(memory) : "identify", reason: Reason.InvalidSession({ resumable }) }
    }
    default:
      return { _tag: "Ignore", op: envelope.op }
  }
}

// a dispatch type as a reason tells it: the gateway's text, escaped and cut short
const shown = (t: string): string => clipped(printable(t), 60)

const dispatch = (memory: Memory, envelope: Envelope, shard: readonly [id: number, count: number], handshake: Handshake): Step => {
  const sequence = envelope.s
  const t = envelope.t
  // taken before the Identify, a READY was a session the Identify after it started again (4005, a
  // session start spent); a dispatch before the Resume gave the Resume its sequence, and the replay
  // skipped the events in between
  if (handshake.stage === "Unasked") return unasked(memory, handshake, t === null ? "a dispatch" : shown(t))
  if (sequence === null || t === null) return protocolError(memory, "dispatch without s or t")
  // Only a resume's replay repeats events, those up to the Resume's sequence: one above it was not
  // delivered, even after a higher one of the same replay. Elsewhere a sequence that goes back is
  // the gateway's slip: the event is delivered, and the resume point stays at the highest (see
  // `apply`), so one stray large `s` costs no later event on this connection (a Resume after it
  // carries that `s`: what a replay brings below it is taken as delivered).
  const replayAfter = handshake.replayAfter
  if (replayAfter !== null && sequence <= replayAfter && t !== "RESUMED" && t !== "READY") {
    return { _tag: "Duplicate", sequence }
  }
  // on a connection that identifies, READY comes first: a dispatch before it reached the program
  // ahead of the session it is of, and READY then moved the resume point back below it (the
  // Resume's replay brought it again). A RESUMED there is told as what it is, below
  if (handshake.mode === "identify" && handshake.stage !== "Answered" && t !== "READY" && t !== "RESUMED") {
    return protocolError(memory, `${shown(t)} before READY`)
  }
  if (envelope.d === Skipped) return { _tag: "Skip", sequence, t }
  const event = Event.make(shard[0], sequence, t, envelope.d)
  if (t === "READY") {
    if (handshake.stage === "Answered") return answeredAgain(memory, t)
    const decoded = Receive.decodeReady(envelope.d)
    if (handshake.mode === "resume") {
      // the session's own READY in a replay from before the point is one more event delivered
      // already; any other is the answer to an Identify this connection did not send (a resume is
      // answered by its replay and RESUMED, or op 9): taken as a replay, it would hide the new
      // session and its first events
      return decoded._tag === "Right" && decoded.right.session_id === memory.sessionId && replayAfter !== null &&
          sequence <= replayAfter
        ? { _tag: "Duplicate", sequence }
        : identifyAnew("READY on a connection that resumes")
    }
    if (decoded._tag === "Left") return identifyAnew(decoded.left.message)
    // the answer to another shard's Identify (a proxy's slip): taken, this shard would hold a
    // session whose events are another shard's guilds
    const named = decoded.right.shard
    if (named !== undefined && named !== null && (named[0] !== shard[0] || named[1] !== shard[1])) {
      return identifyAnew(`READY for shard [${named[0]}, ${named[1]}] on shard [${shard[0]}, ${shard[1]}]'s connection`)
    }
    const resumeUrl = Receive.decodeResumeUrl(envelope.d)
    return {
      _tag: "Ready",
      sessionId: decoded.right.session_id,
      resumeGatewayUrl: Either.getOrUndefined(resumeUrl),
      urlProblem: Either.isLeft(resumeUrl) ? resumeUrl.left.message : undefined,
      event
    }
  }
  if (t === "RESUMED") {
    if (handshake.stage === "Answered") return answeredAgain(memory, t)
    // an answer to a Resume this connection did not send: trusted, it would count as ready a
    // connection that never identified
    if (handshake.mode === "identify") return protocolError(memory, "RESUMED on a connection that identifies")
    return { _tag: "Resumed", event }
  }
  return { _tag: "Emit", event }
}

const highest = (last: number | null, sequence: number): number => last === null || sequence > last ? sequence : last

/**
 * The memory after a step was carried out.
 *
 * @since 0.1.0
 */
export const apply = (memory: Memory, step: Step): Memory => {
  switch (step._tag) {
    case "Emit":
    case "Resumed":
      return { sessionId: memory.sessionId, resumeGatewayUrl: memory.resumeGatewayUrl, sequence: highest(memory.sequence, step.event.sequence) }
    case "Skip":
      return { sessionId: memory.sessionId, resumeGatewayUrl: memory.resumeGatewayUrl, sequence: highest(memory.sequence, step.sequence) }
    case "Ready":
      return { sessionId: step.sessionId, resumeGatewayUrl: step.resumeGatewayUrl, sequence: step.event.sequence }
    case "Reconnect":
      return step.mode === "identify" ? forget(memory) : memory
    default:
      return memory
  }
}

/**
 * What to do after the connection closed with `code` (`undefined`: dropped without a close frame),
 * as the gateway's close code table says: resume where allowed, identify anew where the session
 * is gone, stop for good on a fatal code.
 *
 * @since 0.1.0
 */
export const afterClose = (memory: Memory, code: number | undefined): Mode | "fatal" => {
  switch (CloseCode.classify(code)) {
    case "fatal":
      return "fatal"
    case "new-session":
      return "identify"
    case "resume":
      return modeOf(memory)
  }
}
