/**
 * Resume points: where a gateway session left off, as a program stores and hands back, how one is
 * read and checked, and how it moves on as events are handled.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { Encoding, EncodingName } from "../codec/Encoding.ts"
import * as Json from "../codec/Json.ts"
import { thrownText } from "../internal/printable.ts"
import * as ReadyPoints from "../internal/readyPoints.ts"
import { isRecord } from "../internal/record.ts"
import { quotesToken } from "../internal/secret.ts"
import * as SendLimiter from "../limits/SendLimiter.ts"
import * as Commands from "../protocol/Commands.ts"
import { downgrades, isPair, isSessionId, isWebSocketUrl, maxSessionIdLength, shardPairProblem, show } from "../protocol/internal/schema.ts"

/**
 * Where a session left off: enough for another session (in this process or another) to resume
 * it with no event lost. `sequence` is the last event this session received (delivered, or left
 * out by the `events` option).
 *
 * @since 0.1.0
 */
export interface ResumePoint {
  readonly sessionId: string
  readonly sequence: number
  readonly resumeGatewayUrl: string
  readonly shard: readonly [id: number, count: number]
  /**
   * The encoding the gateway session began with: Discord resumes a session only over the encoding
   * it began with, so a session of another encoding identifies anew instead. A point without it
   * (saved before it was recorded) is taken as of the resuming session's encoding.
   */
  readonly encoding?: EncodingName | undefined
  /**
   * The intents the gateway session identified with: a Resume carries none, and the gateway keeps
   * the Identify's, so a session asking for other intents identifies anew instead (a deploy that
   * adds an intent gets its events). A point without them (saved before they were recorded) is
   * taken as of the resuming session's intents.
   */
  readonly intents?: number | undefined
  /**
   * The presence the gateway session showed when the point was taken (`null`: none, Discord's
   * default), as `disconnect` says it (`pointAfter`'s points never say it: a presence update is no
   * event). A Resume carries no presence, so a session with a `presence` option that resumes a
   * point saying another one, or none, or not saying (one no command could carry says nothing),
   * shows its option once the Resume is answered.
   */
  readonly presence?: Commands.Presence | null | undefined
  /**
   * When the presence updates the gateway session got in the last 20 s went out (ms since 1970,
   * oldest first), as `disconnect` says them: a session resuming the point counts them against
   * Discord's 5 per 20 s (a process taking over sent a sixth within the window). Left out where
   * there were none, and by `pointAfter`'s points (a presence update is no event).
   */
  readonly presenceUpdatesAt?: ReadonlyArray<number> | undefined
}

// the presence updates a point may say: Discord's 5 per 20 s
const maxPresenceUpdates = SendLimiter.presenceUpdates.limit

// a presence as a command carries it: a checked copy, read once, and its op 3's JSON (none where
// no command could carry it)
const asSent = (presence: unknown): { readonly presence: Commands.Presence; readonly json: string } | undefined =>
  Either.getOrUndefined(Either.map(
    Commands.presenceChecked(presence as Commands.Presence, Json.encoding),
    (checked) => ({ presence: checked.presence, json: String(checked.payload) })
  ))

/**
 * Whether a gateway session showing `shown` (`null`: none) would show `presence` already.
 *
 * @internal
 * @since 0.1.0
 */
export const showsAlready = (shown: Commands.Presence | null, presence: Commands.Presence): boolean =>
  asSent(shown ?? Commands.defaultPresence)?.json === asSent(presence)?.json

/**
 * Whether a session of `encoding` (and, given, `intents`) may resume from `point`: the point was
 * saved over the same encoding, or does not say, and with the same intents, or does not say.
 *
 * @since 0.1.0
 */
export const resumesOver = (point: ResumePoint, encoding: Encoding, intents?: number): boolean =>
  (point.encoding === undefined || point.encoding === encoding.name) &&
  (point.intents === undefined || intents === undefined || point.intents === intents)

/**
 * Why a session of `encoding` and `intents` does not resume from `point` (`resumesOver` said no),
 * in words for a warning.
 *
 * @since 0.1.0
 */
export const whyNotResumed = (point: ResumePoint, encoding: Encoding, intents: number): string =>
  [
    point.encoding !== undefined && point.encoding !== encoding.name ? `saved over ${point.encoding}, where this session uses ${encoding.name}` : [],
    point.intents !== undefined && point.intents !== intents ? `saved with intents ${point.intents}, where this session asks for ${intents}` : []
  ].flat().join(", and ")

/**
 * The point of gateway session `sessionId` at `sequence`, resumed at `resumeGatewayUrl`, as a
 * session made with `options` gives it: its shard, encoding and intents, the presence it shows
 * where that is known, and when its last presence updates went out.
 *
 * @internal
 * @since 0.1.0
 */
export const pointOf = (
  options: { readonly shard: readonly [id: number, count: number]; readonly encoding: Encoding; readonly intents: number },
  sessionId: string,
  sequence: number,
  resumeGatewayUrl: string,
  presence?: Commands.Presence | null,
  presenceUpdatesAt: ReadonlyArray<number> = []
): ResumePoint => ({
  sessionId,
  sequence,
  resumeGatewayUrl,
  // copies: a program that changes the point it was given changes nothing the session holds (a
  // pair changed in place was the shard the next Identify claimed)
  shard: [options.shard[0], options.shard[1]],
  encoding: options.encoding.name,
  intents: options.intents,
  ...(presence === undefined ? {} : { presence: presence === null ? null : structuredClone(presence) }),
  ...(presenceUpdatesAt.length === 0 ? {} : { presenceUpdatesAt: [...presenceUpdatesAt] })
})

/**
 * A copy of `point` the program may change without changing the one it came from: its pair, its
 * presence and its update times copied too.
 *
 * @since 0.1.0
 */
export const copyOf = (point: ResumePoint): ResumePoint => ({
  ...point,
  shard: [point.shard[0], point.shard[1]],
  ...(point.presence == null ? {} : { presence: structuredClone(point.presence) }),
  ...(point.presenceUpdatesAt === undefined ? {} : { presenceUpdatesAt: [...point.presenceUpdatesAt] })
})

/**
 * Records the point a READY begins, or a RESUMED resumed, before the event is delivered:
 * `pointAfter` reads it.
 *
 * @internal
 * @since 0.1.0
 */
export const rememberReady = (ready: object, point: ResumePoint): void => ReadyPoints.remember(ready, point)

/**
 * The resume point once a program has handled `event`, for a program that stores its point as it
 * goes, so that a process ended without its finalizers (killed, crashed) is resumed where its
 * handling stopped. A READY begins the point its session took (its session id; where the session
 * resumes it, READY's URL or, where that one is refused, the connection's; its shard and
 * encoding and intents); each later event of the point's shard moves its sequence on, never back
 * (an event of another shard leaves it as it is), and a RESUMED fills in the encoding and intents a
 * point saved before they were recorded does not say. The point it gives for the event's shard
 * never says the presence: the program may have changed it since. `point` is the last one for the
 * event's shard: this function's, or the one the session was made to resume (`undefined` at first).
 *
 * `undefined` after a READY no session delivered (one a program made, or a copy but `Validated`'s,
 * which carry it), or one whose session cannot be resumed; until a READY was handled, with an
 * `events` list that leaves READY out. With an `events` list the point stays at the last event
 * delivered: those left out after it are replayed by its Resume, and left out again.
 *
 * @since 0.1.0
 */
export const pointAfter = (
  point: ResumePoint | undefined,
  event: { readonly shard: number; readonly sequence: number; readonly t: string }
): ResumePoint | undefined => {
  if (event.t === "READY") return readyPointOf(event)
  if (point === undefined || point.shard[0] !== event.shard) return point
  // the presence a point says, and when its updates went out, are left out: the program may have
  // changed it since
  const moved = event.sequence <= point.sequence && point.presence === undefined && point.presenceUpdatesAt === undefined
    ? point
    : { ...withoutPresence(point), sequence: Math.max(point.sequence, event.sequence) }
  const resumed = event.t === "RESUMED" ? readyPointOf(event) : undefined
  // a point saved before they were recorded takes the encoding and intents of the session that
  // resumed it
  return resumed === undefined || resumed.sessionId !== point.sessionId || (point.encoding !== undefined && point.intents !== undefined)
    ? moved
    : { ...moved, encoding: moved.encoding ?? resumed.encoding, intents: moved.intents ?? resumed.intents }
}

const withoutPresence = ({ presence: _, presenceUpdatesAt: __, ...point }: ResumePoint): ResumePoint => point

// the point remembered for a READY or RESUMED, as a copy of its own for each caller
const readyPointOf = (event: object): ResumePoint | undefined => {
  const point = ReadyPoints.of(event) as ResumePoint | undefined
  return point === undefined ? undefined : copyOf(point)
}

/**
 * What is wrong with a resume point by itself (its URL, sequence and session id; whose shard it is
 * is checked against the session's). With `source`, the URL the session otherwise reaches the
 * gateway at (its `gateway`, else its `api`): a point whose URL is `ws://` where that one is
 * encrypted is refused, as READY's would be, since the Resume carries the token. With `token`, a
 * point whose session id holds it is refused, as READY's is not taken: it would be in every
 * snapshot and in the point handed back (earlier versions stored such points).
 *
 * @internal
 * @since 0.1.0
 */
export const resumePointProblems = (point: ResumePoint, source?: string, token?: unknown): Array<string> => {
  const found: Array<string> = []
  // the session id only: a URL holding it may be the session's own gateway's (a proxy's `?auth=`),
  // where its points are resumed when READY's URL is not taken, and whose URL a `gatewayUrl`
  // source gives only once asked (such points, handed back, were refused)
  if (typeof point.sessionId === "string" && quotesToken(point.sessionId, token)) {
    found.push(`resume.sessionId holds the token: identify anew (leave the point out)`)
  }
  if (!isWebSocketUrl(point.resumeGatewayUrl)) found.push(`resume.resumeGatewayUrl must be a ws:// or wss:// URL without a fragment or credentials`)
  else if (source !== undefined && downgrades(source, point.resumeGatewayUrl)) {
    found.push(`resume.resumeGatewayUrl is not encrypted (ws://) where the gateway is: the Resume would carry the token in plaintext`)
  }
  if (!Number.isSafeInteger(point.sequence) || point.sequence < 0) found.push(`resume.sequence must be a non-negative integer`)
  if (!isSessionId(point.sessionId)) found.push(`resume.sessionId must be a non-empty string of at most ${maxSessionIdLength} characters`)
  const encoding: unknown = point.encoding
  if (encoding !== undefined && encoding !== "json" && encoding !== "etf") found.push(`resume.encoding must be "json" or "etf", got ${show(encoding)}`)
  const intents: unknown = point.intents
  // bits this version does not know are taken (a point saved by a newer version, then rolled back
  // to): such a point asks for other intents than the session's, and is not resumed, only handed back
  if (intents !== undefined && (typeof intents !== "number" || !Number.isSafeInteger(intents) || intents < 0)) {
    found.push(`resume.intents must be a set of intent bits (a non-negative whole number), got ${show(intents)}`)
  }
  const updatesAt: unknown = point.presenceUpdatesAt
  if (updatesAt !== undefined && !(Array.isArray(updatesAt) && updatesAt.length <= maxPresenceUpdates && updatesAt.every(Number.isFinite))) {
    found.push(`resume.presenceUpdatesAt must be a list of at most ${maxPresenceUpdates} times (ms since 1970), got ${show(updatesAt)}`)
  }
  return found
}

/**
 * The resume point `holder[key]` as plain data, each of its fields read once (a getter or a proxy
 * of a store may answer each read anew, or throw: checked on one answer, another was used), its
 * presence a checked copy, or why it could not be read. A value that is no object is given back as
 * it is, for the shape checks to refuse.
 *
 * @internal
 * @since 0.1.0
 */
export const readPoint = <K extends PropertyKey>(holder: { readonly [key in K]?: unknown }, key: K): Either.Either<unknown, string> => {
  try {
    // (inside: the holder's getter may throw, and a revoked proxy throws even when asked whether
    // it is an array)
    const point: unknown = holder[key]
    if (!isRecord(point)) return Either.right(point)
    const { encoding, intents, presence, presenceUpdatesAt, resumeGatewayUrl, sequence, sessionId, shard } = point
    // a presence as checked (a copy); one no command could carry says nothing
    const shows = presence === null ? null : presence === undefined ? undefined : asSent(presence)?.presence
    return Either.right({
      sessionId,
      sequence,
      resumeGatewayUrl,
      shard: Array.isArray(shard) ? Array.from(shard) : shard,
      ...(encoding === undefined ? {} : { encoding }),
      ...(intents === undefined ? {} : { intents }),
      ...(shows === undefined ? {} : { presence: shows }),
      ...(presenceUpdatesAt === undefined ? {} : { presenceUpdatesAt: Array.isArray(presenceUpdatesAt) ? Array.from(presenceUpdatesAt) : presenceUpdatesAt })
    })
  } catch (thrown) {
    return Either.left(`resume could not be read: ${thrownText(thrown)}`)
  }
}

/**
 * What is wrong with the shape of a resume point from JavaScript or a parsed file: one that is no
 * object, or whose shard is no pair of whole numbers, id below count (the checks of its fields
 * read into both; a point whose shard came back from a store as strings was taken for one of
 * another shard count, its shard identifying anew).
 *
 * @internal
 * @since 0.1.0
 */
export const resumePointShapeProblems = (point: unknown): Array<string> => {
  if (!isRecord(point)) return [`resume must be an object, got ${show(point)}`]
  const shard = point["shard"]
  if (!isPair(shard)) return [`resume.shard must be an [id, count] pair, got ${show(shard)}`]
  const problem = shardPairProblem(shard)
  return problem === undefined ? [] : [`resume.shard ${problem}`]
}
