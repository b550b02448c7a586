/**
 * What a session learns from how its connections ended, and what it does about it between them:
 * when to give a Discord session up for a new one, where a Resume goes, and how long to pause.
 * Pure: the session's loop keeps a {@link Recovery} and asks it.
 *
 * @since 0.1.0
 */
import { classify, CloseCode } from "../protocol/CloseCode.ts"
import type { Outcome } from "./Connection.ts"
import type { Memory, Mode } from "./Protocol.ts"
import type { Reason } from "./SessionState.ts"

/**
 * How the last connections went.
 *
 * @since 0.1.0
 */
export interface Recovery {
  /**
   * Resumes in a row that were sent and never answered (no RESUMED, no replayed event, read even
   * if still waiting for room), but for those the gateway asked to send again: op 7 (the node
   * going away, which asks for the same Resume elsewhere), op 9 true (the session may still be
   * resumed), 4000 (an error of its own), 4008 (sends too fast), and the websocket's server going
   * away, failing, restarting or overloaded (1001, 1011, 1012, 1013), after which GATEWAY.md resumes.
   */
  readonly failedResumes: number
  /**
   * Resumes in a row that never went out (no socket, no Hello, or a node that broke the protocol
   * before the Resume: one that answers nothing takes none either).
   */
  readonly unreachedResumes: number
  /**
   * Resumes in a row the gateway took and ended asking for them again (as above), never
   * answered: a node that ends every one so would keep the session resuming for ever, so every
   * other one goes to the gateway URL after three, and ten give the session up (with the default
   * backoff, some four and a half minutes: as long as Discord keeps a session to resume).
   */
  readonly askedAgainResumes: number
  /**
   * Whether op 9 ended the last connection before it was stable, other than in answer to a Resume
   * (the protocol's way to refuse one): an Identify refused, or a session invalidated soon after
   * READY or RESUMED. A gateway doing that to every connection must see them spaced by the backoff.
   */
  readonly invalidatedEarly: boolean
  /**
   * How many connections in a row lost their gateway session before they were stable (see
   * {@link holdBack}): an Identify sent and its connection ended, however (op 9, a close, a drop,
   * silence, an answer that does not decode), but for its answer held up by a slow program; a
   * session resumed and ended by op 9 or a close that ends it (4003, 4005, 4007, 4009). The
   * connections between them that spend no session start say nothing of it (one that never sent
   * its Identify or Resume, a Resume refused, asked for again or unanswered, a resumed one
   * dropped); a stable connection starts it over.
   */
  readonly invalidatedInARow: number
  /** Where the session was when a message over `maxMessageBytes` last ended a connection. */
  readonly tooLargeAt: Point | undefined
  /**
   * Whether the last connection ended on a message over `maxMessageBytes` where the one before such
   * an end did: the gateway sends it on every try, and the session ends with `MessageTooLarge`.
   */
  readonly tooLargeAgain: boolean
}

/**
 * Where a session is: the gateway session it holds and its last event.
 *
 * @since 0.1.0
 */
export type Point = Pick<Memory, "sessionId" | "sequence">

/**
 * Before the first connection.
 *
 * @since 0.1.0
 */
export const initial: Recovery = {
  failedResumes: 0,
  unreachedResumes: 0,
  askedAgainResumes: 0,
  invalidatedEarly: false,
  invalidatedInARow: 0,
  tooLargeAt: undefined,
  tooLargeAgain: false
}

/**
 * How many Resumes in a row may fail before the session is given up, and may miss the gateway (or
 * be asked for again) before every other one tries the gateway URL.
 */
const maxFailedResumes = 3

/** How many Resumes in a row the gateway may ask for again before the session is given up. */
const maxAskedAgainResumes = 10

// the closes of the gateway's own trouble, whose codes say to try again: Discord's 4000 and 4008,
// and the websocket's server going away (1001: its proxy restarting), failing (1011), restarting
// (1012) or overloaded (1013)
const tryAgainCodes: ReadonlySet<number | undefined> = new Set([CloseCode.UnknownError, CloseCode.RateLimited, 1001, 1011, 1012, 1013])

// the gateway's ends of a connection that ask for the same Resume again: op 7, op 9 that allows a
// resume, and the closes that say to try again (three of them in a row gave the session up, its
// events lost and a session start spent, where the gateway never said the session was gone: a
// gateway restarting for five seconds cost every shard its session)
const asksAgain = (reason: Reason): boolean =>
  reason._tag === "Reconnect" ||
  (reason._tag === "InvalidSession" && reason.resumable) ||
  (reason._tag === "Closed" && tryAgainCodes.has(reason.code))

/**
 * `recovery` after a connection that tried to `mode` ended with `outcome`, the session then at
 * `at`. To the Resumes' counts, a connection that never reached a gateway (an outage) says nothing
 * against the session, nor does one whose replay or RESUMED a slow program held up, nor one op 7
 * ended; to the hold-back's, see {@link Recovery.invalidatedInARow}.
 *
 * @since 0.1.0
 */
export const after = (
  recovery: Recovery,
  mode: Mode,
  outcome: Pick<Outcome, "reason" | "ready" | "answered" | "stable" | "authenticated" | "replayed" | "tooLarge" | "heldUp">,
  at: Point
): Recovery => {
  const answered = outcome.answered || outcome.replayed > 0
  const taken = mode === "resume" && outcome.authenticated
  const invalidatedEarly = outcome.reason._tag === "InvalidSession" && !outcome.stable && (mode === "identify" || outcome.ready)
  // a session started (an Identify sent) or resumed, lost before the connection was stable: a
  // gateway that ends every connection so once the Identify is out (op 9, a dispatch before READY, a
  // close, a drop, silence), or right after READY (and refuses the Resume), spent a start a backoff
  // apart, all day. A READY a slow program held up is no loss of the gateway's; a message too large
  // has a rule of its own (`tooLargeAgain`)
  const identifiedAndLost = mode === "identify" && outcome.authenticated && !outcome.heldUp && !outcome.tooLarge
  const resumedAndLost = mode === "resume" && outcome.ready &&
    (outcome.reason._tag === "InvalidSession" || (outcome.reason._tag === "Closed" && classify(outcome.reason.code) === "new-session"))
  const lostEarly = !outcome.stable && (identifiedAndLost || resumedAndLost)
  // a message too large before the Identify or Resume went out answered neither: no point of the
  // session's, a peer's (a proxy's) slip (two before Hello gave a session up it had never tried)
  const tooLargeAnswer = outcome.tooLarge && outcome.authenticated
  return {
    failedResumes: answered ? 0 : recovery.failedResumes + (taken && !asksAgain(outcome.reason) ? 1 : 0),
    unreachedResumes: mode === "resume" && !outcome.authenticated ? recovery.unreachedResumes + 1 : 0,
    askedAgainResumes: answered || mode === "identify"
      ? 0
      : recovery.askedAgainResumes + (taken && asksAgain(outcome.reason) ? 1 : 0),
    invalidatedEarly,
    invalidatedInARow: outcome.stable ? 0 : recovery.invalidatedInARow + (lostEarly ? 1 : 0),
    // a connection answered or replayed to since left that point behind (two READYs too large, days
    // and a whole gateway session apart, were the same point: before READY)
    tooLargeAt: tooLargeAnswer ? at : answered ? undefined : recovery.tooLargeAt,
    tooLargeAgain: tooLargeAnswer && recovery.tooLargeAt !== undefined &&
      recovery.tooLargeAt.sessionId === at.sessionId && recovery.tooLargeAt.sequence === at.sequence
  }
}

/**
 * `recovery` after an attempt that got no gateway URL (`GET /gateway/bot` failed) and so opened no
 * connection: to a Resume, one more that never reached a gateway, so the next goes back to
 * `resume_gateway_url` (see {@link resumesAtGateway}).
 *
 * @since 0.1.0
 */
export const unconnected = (recovery: Recovery, mode: Mode): Recovery =>
  mode === "resume" ? { ...recovery, unreachedResumes: recovery.unreachedResumes + 1 } : recovery

/**
 * Whether the session should be given up for a new one (identify): `recovery` once it was, and
 * why in words (Resumes in a row that got no RESUMED, or that the gateway asked for again).
 *
 * @since 0.1.0
 */
export const giveUp = (recovery: Recovery): { readonly recovery: Recovery; readonly why: string } | undefined => {
  const why = recovery.failedResumes >= maxFailedResumes
    ? `${recovery.failedResumes} Resumes in a row got no RESUMED`
    : recovery.askedAgainResumes >= maxAskedAgainResumes
    ? `${recovery.askedAgainResumes} Resumes in a row were asked for again, none answered`
    : undefined
  return why === undefined ? undefined : { recovery: { ...recovery, failedResumes: 0, askedAgainResumes: 0 }, why }
}

/**
 * Whether the next Resume goes to the gateway URL, which takes one too, instead of
 * `resume_gateway_url`: every other time once three Resumes in a row stopped reaching the
 * session's own node, or were asked for again.
 *
 * @since 0.1.0
 */
export const resumesAtGateway = (recovery: Recovery): boolean =>
  // in an outage, its own count: asked-again Resumes before it kept every attempt at the gateway URL
  everyOtherAfterThree(recovery.unreachedResumes > 0 ? recovery.unreachedResumes : recovery.askedAgainResumes)

const everyOtherAfterThree = (inARow: number): boolean => inARow >= maxFailedResumes && inARow % 2 === 1

/** Connections that may lose their sessions early in a row before the next is held back past the backoff. */
const invalidatedBeforeHoldingBack = 3

/** The longest a session holds back after connections lost their sessions early in a row: an hour. */
const maxHoldBackMillis = 60 * 60 * 1000

/**
 * How long the next connection waits, if it identifies (a Resume spends no session start, and
 * held back it would outlive Discord's window to resume), beyond the backoff (`maxBackoffMillis`
 * at its longest), after `recovery`'s connections lost their sessions early in a row: nothing before the
 * third, then twice the backoff's longest, doubling at each (2, 4, 8 minutes...) up to an hour,
 * whatever the pause before (an op 9 that allows a resume, with no session to resume, is an
 * Identify refused too). The backoff alone let a gateway refusing every Identify spend one of the
 * bot's session starts a minute all day: one such shard spent 966 of a fleet's 1000 in 20 hours,
 * and its healthy shards then waited for the limiter's last tenth. Held back, it spends about
 * forty a day.
 *
 * @since 0.1.0
 */
export const holdBack = (recovery: Recovery, maxBackoffMillis: number): number => {
  const beyond = recovery.invalidatedInARow - invalidatedBeforeHoldingBack + 1
  // (a second at least: a backoff of none would hold nothing back)
  return beyond <= 0 ? 0 : Math.min(Math.max(maxBackoffMillis, 1000) * 2 ** Math.min(beyond, 32), maxHoldBackMillis)
}

/**
 * A pause between connections: the random one Discord asks for after op 9, that one and then the
 * backoff, or the backoff.
 *
 * @since 0.1.0
 */
export type Pause = "InvalidSession" | "InvalidSessionThenBackoff" | "Backoff"

/**
 * The pause before the next connection, made in `next` mode, after one that ended for `reason`:
 * after an op 9 followed by an Identify (one that allows no resume, or one that allows it where
 * there is nothing to resume: the answer to an Identify), the random pause Discord asks for before
 * a new Identify, and the backoff too when op 9 came early (see `invalidatedEarly`: a gateway
 * refusing every Identify, or invalidating every session once it is ready, would otherwise have
 * the day's budget spent at one Identify per 5 s, or the socket reopened every few seconds for
 * ever); otherwise (an op 9 followed by a Resume, as an op 7) the backoff.
 *
 * @since 0.1.0
 */
export const pause = (recovery: Recovery, reason: Reason, next: Mode): Pause =>
  reason._tag !== "InvalidSession" || (reason.resumable && next === "resume")
    ? "Backoff"
    : recovery.invalidatedEarly
    ? "InvalidSessionThenBackoff"
    : "InvalidSession"
