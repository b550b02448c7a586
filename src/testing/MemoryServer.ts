/**
 * A healthy Discord gateway over the in-memory transport: it answers every connection a session
 * or a fleet opens (Hello, an ACK for each heartbeat, READY for each Identify, the missed events
 * and RESUMED for each Resume, member requests from the test's members), so a `TestClock`-driven
 * test of a fleet needs no loop of its own, and it keeps what each shard sent for the test to check.
 * A test makes faults of its own through it: a zombie link (`setAcks`), an invalidated session
 * (`invalidate`), member requests answered late, rate limited or never (`memberRequests`).
 *
 * @since 0.1.0
 */
import { GatewayDispatchEvents, GatewayOpcodes } from "discord-api-types/gateway/v10"
import type { GatewayIdentifyData, GatewayRequestGuildMembersData, GatewayResumeData } from "discord-api-types/gateway/v10"
import type { APIGuildMember } from "discord-api-types/payloads/v10"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as CloseCode from "../protocol/CloseCode.ts"
import { durationOf } from "../internal/duration.ts"
import { kindOf, thrownText } from "../internal/printable.ts"
import { isOptionsObject, isRecord } from "../internal/record.ts"
import { unknownOptionsIn, wholeList } from "../internal/unknownOptions.ts"
import * as Intents from "../protocol/Intents.ts"
import { isPair, show } from "../protocol/internal/schema.ts"
import { isHeartbeatInterval, maxHeartbeatInterval } from "../protocol/Receive.ts"
import { MemoryGateway } from "../transport/MemoryTransport.ts"
import type { CloseInfo, MemoryPeer, Payload } from "../transport/MemoryTransport.ts"
import { guildText, memberChunks, selectMembers } from "./Commands.ts"
import * as Visibility from "./Visibility.ts"

/**
 * A session the gateway knows before the test starts (one a restored resume point names).
 *
 * @since 0.1.0
 */
export interface KnownSession {
  readonly sessionId: string
  /** The shard it is of: `[id, count]`. */
  readonly shard: readonly [number, number]
  /**
   * The last sequence number it was sent: a Resume from it resumes; one from before it gets op 9
   * (what came before is not kept here to replay).
   */
  readonly sequence: number
  /** The intents it identified with, which `dispatch` goes by (default: it is sent everything). */
  readonly intents?: number | undefined
  /** The presence it shows (`null`: none; default: not known), as a resume point says it. */
  readonly presence?: unknown
}

/**
 * How the gateway behaves; each field left out has the default given.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The heartbeat interval each Hello asks for, in ms (default 41250, Discord's). */
  readonly heartbeatInterval?: number | undefined
  /** How long after an Identify its READY comes (default at once). */
  readonly readyAfter?: Duration.DurationInput | undefined
  /** READY's `resume_gateway_url` (default `wss://resume.gateway.test`). */
  readonly resumeUrl?: string | undefined
  /** Sessions it resumes from the start (default none: a Resume of a session it never began gets op 9). */
  readonly sessions?: ReadonlyArray<KnownSession> | undefined
  /**
   * Dispatches each session keeps for a Resume to replay (default 1000, as the LocalGateway's): a
   * Resume from before the oldest kept gets op 9, as Discord answers one it cannot replay.
   */
  readonly replayBufferSize?: number | undefined
  /**
   * How long a session stays resumable once its connection is gone (default 3 minutes, as the
   * LocalGateway's; Discord keeps a dropped session "a few minutes"): a Resume after it gets op 9.
   * A session `sessions` names counts from the start; `Infinity` keeps every session resumable.
   */
  readonly resumeWindow?: Duration.DurationInput | undefined
  /**
   * A guild's members, from which a member request (op 8) is answered as Discord answers it (by
   * ids, or by a username prefix up to `limit`; at most 100 but for the whole list; 1000 a chunk;
   * presences, all online, when asked for and the Identify's intents have GuildPresences). Default:
   * no guild has members.
   */
  readonly members?: ((guildId: string) => ReadonlyArray<APIGuildMember>) | undefined
  /**
   * How each member request (op 8) is answered, by the request and the shard it came on (default:
   * `"answer"` every one): see {@link MemberAnswer}.
   */
  readonly memberRequests?: ((request: GatewayRequestGuildMembersData, shard: readonly [number, number]) => MemberAnswer) | undefined
  /**
   * The connections it leaves to the test, by their number in the order they came (from 0): no
   * Hello, nothing answered (`left` hands them over). Default none.
   */
  readonly leave?: ((connection: number) => boolean) | undefined
}

/**
 * Which latest sessions a call means: a shard id's, the one of a shard count (`[id, count]`, when
 * two shard counts run), or every one (`"all"`).
 *
 * @since 0.1.0
 */
export type Target = number | readonly [id: number, count: number] | "all"

/**
 * How a member request is answered: `"answer"`, from the `members` option; `"leave"`, not at all,
 * for the test to answer (`dispatch` a GUILD_MEMBERS_CHUNK with the request's nonce, which
 * `commands` shows), late or in chunks of its own, or to let time out; `{ rateLimited: seconds }`,
 * with a RATE_LIMITED dispatch whose `retry_after` is `seconds`, as Discord answers a request over
 * its limit.
 *
 * @since 0.1.0
 */
export type MemberAnswer = "answer" | "leave" | { readonly rateLimited: number }

/**
 * A connection the server answers, as the test may use it: to send it frames, close or drop it,
 * and see how it ended. What the client sends on it is the server's to read (`commands` records
 * it): reading it here would take frames from the server.
 *
 * @since 0.1.0
 */
export type ServedPeer = Pick<MemoryPeer, "send" | "sendJson" | "close" | "drop" | "isOpen" | "closed">

/**
 * An Identify the gateway got, which READY answers `readyAfter` later (its token left out, so
 * that a failed assertion's diff does not print it).
 *
 * @since 0.1.0
 */
export interface Identified {
  /** When it came, by the `Clock`. */
  readonly at: number
  /** The session READY began. */
  readonly sessionId: string
  readonly d: Omit<GatewayIdentifyData, "token">
}

/**
 * A Resume the gateway answered (its token left out): with the events missed and RESUMED
 * (`resumed` true), or op 9 (a close with 4007 for a `seq` ahead of the session).
 *
 * @since 0.1.0
 */
export interface Resume {
  /** When it came, by the `Clock`. */
  readonly at: number
  readonly resumed: boolean
  readonly d: Omit<GatewayResumeData, "token">
}

/**
 * A command a shard sent on a session, heartbeats, Identify and Resume left out.
 *
 * @since 0.1.0
 */
export interface Command {
  /** When it came, by the `Clock`. */
  readonly at: number
  /** The shard of the session it came on: `[id, count]`. */
  readonly shard: readonly [number, number]
  readonly payload: Payload
}

/**
 * The running gateway: what it was sent, its connections, and a way to send each shard events.
 *
 * @since 0.1.0
 */
export interface Served {
  /** Every Identify, in order. */
  readonly identifies: Effect.Effect<ReadonlyArray<Identified>>
  /** Every Resume, in order. */
  readonly resumes: Effect.Effect<ReadonlyArray<Resume>>
  /** Every command sent on a session, in order. */
  readonly commands: Effect.Effect<ReadonlyArray<Command>>
  /**
   * Each shard id's open connection of its latest session (the one begun last), from its Identify
   * on, to send to, close or drop (one object per connection).
   */
  readonly peers: Effect.Effect<ReadonlyMap<number, ServedPeer>>
  /** The connections `leave` named, and those of ETF sessions, in order. */
  readonly left: Effect.Effect<ReadonlyArray<MemoryPeer>>
  /**
   * Sends a dispatch to a shard's latest session (by its id; by `[id, count]` when two shard
   * counts run), or to `"all"` where Discord routes it (`Visibility.shardOfDispatch`: a guild's
   * event to its guild's shard, a direct message's to shard 0, a type of the test's own to every
   * shard), as Discord does: only where the session's intents open it, a guild message's content
   * emptied without MessageContent (`Visibility`); numbered next in the session, and written in
   * that order whatever fibers dispatch at once; on its connection if one is open, else kept for
   * its Resume to replay (one during a replay comes after RESUMED); before its READY, right after
   * it. Returns how many sessions it went to (none for a session ended: closed with 1000 or 1001,
   * or by the test with a code that ends it).
   * Dies when a shard named never began a session here, and, numbering nothing, when `d` cannot
   * be sent as JSON (a `bigint`).
   */
  readonly dispatch: (target: Target, t: string, d: unknown) => Effect.Effect<number>
  /**
   * The presence a shard's latest session (by its id; by `[id, count]` when two shard counts run)
   * shows: its Identify's (`null`: none), then each Presence Update's; a session known from the
   * start, its `presence` (`undefined` where not given). Dies when the shard began no session here.
   */
  readonly presenceOf: (shard: number | readonly [number, number]) => Effect.Effect<unknown>
  /**
   * Stops (false) or resumes (true) acknowledging heartbeats on the open connection of a shard's
   * latest session (`target` as `dispatch`'s; `"all"`: every session's), as a link gone half-dead
   * does: its client finds it a zombie at the beat after its next (the next goes unanswered, and
   * the one after finds no ACK came). A later connection is acknowledged again.
   * Returns how many connections it reached. Dies when a shard named never began a session here.
   */
  readonly setAcks: (target: Target, acking: boolean) => Effect.Effect<number>
  /**
   * Sends op 9 on the open connection of a shard's latest session (`target` as `dispatch`'s), as
   * Discord does when it invalidates a session: `resumable` false ends the session here too (a
   * Resume of it gets op 9, whenever the client closes the connection and however), `true` keeps
   * it. Returns how many connections it reached (none for a session between connections, or whose
   * Resume is being replayed: its connection is its own once RESUMED went out). Dies when a shard
   * named never began a session here.
   */
  readonly invalidate: (target: Target, resumable: boolean) => Effect.Effect<number>
}

interface Session {
  readonly id: string
  readonly shard: readonly [number, number]
  // what its Identify asked for; a session known from the start is sent everything
  readonly intents: number | undefined
  sequence: number
  // READY sent; until then, dispatches wait in `early`
  ready: boolean
  // closed with 1000 or 1001: it takes nothing more, and no Resume
  ended: boolean
  // when (the Clock's ms) its connection went without ending it: a Resume may take it until
  // `resumeWindow` after
  detachedAt: number | undefined
  // the dispatches sent on it, for a Resume to replay: the last `replayBufferSize`, those before
  // `trimmed` (its s) let go
  readonly sent: Array<Dispatch>
  trimmed: number
  readonly early: Array<Omit<Dispatch, "s">>
  peer: MemoryPeer | undefined
  // the presence it shows: its Identify's (`null`: none), then each op 3's; `undefined`: not known
  shows: unknown
  // held while a dispatch is numbered and written, READY and its early dispatches sent, or a
  // Resume's missed events and RESUMED: fibers dispatching at once write in the order of the numbers
  readonly writing: Effect.Semaphore
}

interface Dispatch {
  readonly s: number
  readonly t: string
  readonly d: unknown
}

// the bot's user id, as READY gives it
const botId = "1"

// a GUILD_MEMBERS_CHUNK carries at most this many members
const membersPerChunk = 1000

const frame = (op: GatewayOpcodes, d: unknown) => ({ op, d, s: null, t: null })
const dispatchFrame = ({ d, s, t }: Dispatch) => ({ op: GatewayOpcodes.Dispatch, s, t, d })
const keyOf = ([id, count]: readonly [number, number]): string => `${id}/${count}`
// a close that ends the session rather than the connection: the client's 1000 or 1001 (GATEWAY.md),
// or the test's (through a peer) with a code that asks for a new session or is fatal
const endsSession = ({ by, code }: CloseInfo): boolean =>
  by === "client" ? code === 1000 || code === 1001 : CloseCode.classify(code) !== "resume"
const isEtf = (peer: MemoryPeer): boolean => URL.canParse(peer.url) && new URL(peer.url).searchParams.get("encoding") === "etf"
// `d` as JSON writes it (a class's `toJSON` applied; none as null, as the local gateway sends it),
// or why it cannot go out as JSON (a bigint, an object that refers to itself): what each session is
// shaped from, sent and replayed is that copy, not the caller's object (a guild message given
// through a `toJSON` was judged a direct message, and a fixture changed after its dispatch was
// replayed changed)
const asWritten = (d: unknown): Either.Either<unknown, string> => {
  try {
    const text = JSON.stringify(d)
    return Either.right(text === undefined ? null : JSON.parse(text))
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
  }
}

// what is wrong with the `sessions` entry `known`, the `index`th
const knownSessionProblem = (known: KnownSession, index: number): string | undefined => {
  const entry: unknown = known
  if (!isRecord(entry)) return `sessions[${index}] must be an object, got ${kindOf(entry)}`
  if (typeof entry.sessionId !== "string" || entry.sessionId.length === 0) {
    return `sessions[${index}].sessionId must be a session id (a non-empty string), got ${show(entry.sessionId)}`
  }
  const shard = entry.shard
  const [id, count] = isPair(shard) ? shard : []
  if (!(Number.isSafeInteger(id) && Number.isSafeInteger(count) && (id as number) >= 0 && (id as number) < (count as number))) {
    return `sessions[${index}].shard must be [id, count] with 0 <= id < count, got ${show(shard)}`
  }
  if (!(Number.isSafeInteger(entry.sequence) && (entry.sequence as number) >= 0)) {
    return `sessions[${index}].sequence must be a whole number of at least 0, got ${show(entry.sequence)}`
  }
  return undefined
}

// every option of `serve` (checked against its type)
const optionKeys = wholeList<Options>()({
  heartbeatInterval: true,
  readyAfter: true,
  resumeUrl: true,
  sessions: true,
  replayBufferSize: true,
  resumeWindow: true,
  members: true,
  memberRequests: true,
  leave: true
})

// the gateways a server answers, until its scope closes
const servedGateways = new WeakSet<Context.Tag.Service<MemoryGateway>>()

/**
 * Starts answering the in-memory gateway's connections, for as long as the scope lasts. One
 * server at a time answers a gateway: a second `serve` dies saying so. Frames
 * go out as JSON text, uncompressed, whatever the session's compression (a session takes text
 * frames as they come); an ETF session's connections are left to the test (`left`). It checks
 * none of Discord's limits (the `LocalGateway` does), and answers heartbeats however late. An
 * option of the test's own that throws (`members`, `memberRequests`, `leave`) is logged at Error,
 * and every later use of the server dies with it. An option it cannot use (a misspelt one, a
 * `readyAfter` or `resumeWindow` that is no duration) dies at once, naming it.
 *
 * @since 0.1.0
 */
export const serve = (options: Options = {}): Effect.Effect<Served, never, MemoryGateway | Scope.Scope> =>
  Effect.gen(function*() {
    // from plain JavaScript: a misspelt option (`heartbeatIntervall`) was ignored, its default kept
    const given: unknown = options
    if (!isOptionsObject(given)) return yield* Effect.die(new TypeError(`MemoryServer.serve: options must be an object, got ${kindOf(given)}`))
    const unknown = unknownOptionsIn(options, optionKeys)
    if (unknown !== undefined) return yield* Effect.die(new RangeError(`MemoryServer.serve: ${unknown}`))
    const gateway = yield* MemoryGateway
    // two servers would share the connections between them, each seeing some of the shards
    if (servedGateways.has(gateway)) {
      return yield* Effect.die(new Error("MemoryServer.serve: this MemoryGateway is served already (until that serve's scope closes): one server answers every connection"))
    }
    const interval = options.heartbeatInterval ?? 41_250
    // one that is no duration died with Effect's bare "Invalid DurationInput"; a negative or NaN
    // one was taken as none, READY at once
    const readyAfter = durationOf(options.readyAfter ?? 0)
    if (readyAfter === undefined) {
      return yield* Effect.die(new RangeError(`MemoryServer.serve: readyAfter must be a duration of at least 0, got ${show(options.readyAfter)}`))
    }
    const resumeWindow = durationOf(options.resumeWindow ?? "3 minutes")
    if (resumeWindow === undefined) {
      return yield* Effect.die(new RangeError(`MemoryServer.serve: resumeWindow must be a duration of at least 0, got ${show(options.resumeWindow)}`))
    }
    const resumeWindowMs = Duration.toMillis(resumeWindow)
    const resumeUrl = options.resumeUrl ?? "wss://resume.gateway.test"
    const replayBufferSize = options.replayBufferSize ?? 1000
    if (!isHeartbeatInterval(interval)) {
      return yield* Effect.die(new RangeError(`MemoryServer.serve: heartbeatInterval must be a whole number of milliseconds from 1 to ${maxHeartbeatInterval}, got ${interval}`))
    }
    if (!Number.isSafeInteger(replayBufferSize) || replayBufferSize < 0) {
      return yield* Effect.die(new RangeError(`MemoryServer.serve: replayBufferSize must be a whole number of at least 0, got ${replayBufferSize}`))
    }
    const identifies: Array<Identified> = []
    const resumes: Array<Resume> = []
    const commands: Array<Command> = []
    const left: Array<MemoryPeer> = []
    const sessions = new Map<string, Session>()
    // the latest session begun of each shard id, and of each [id, count]
    const latest = new Map<number, Session>()
    const latestOf = new Map<string, Session>()
    const register = (session: Session): void => {
      sessions.set(session.id, session)
      latest.set(session.shard[0], session)
      latestOf.set(keyOf(session.shard), session)
    }
    // nothing kept before `sequence` to replay
    const newSession = (
      { id, intents, peer, ready, sequence, shard, shows }: Pick<Session, "id" | "shard" | "intents" | "sequence" | "ready" | "peer" | "shows">
    ): Session => ({ id, shard, intents, sequence, ready, ended: false, detachedAt: undefined, sent: [], trimmed: sequence, early: [], peer, shows, writing: Effect.unsafeMakeSemaphore(1) })
    // an ended session takes nothing more and no Resume: what it kept for one is let go (a day of
    // reconnects kept every ended session's last thousand dispatches)
    const end = (session: Session): void => {
      session.ended = true
      session.sent.length = 0
      session.early.length = 0
      sessions.delete(session.id)
    }
    // a point given bare, not in a list, died with "(options.sessions ?? []).map is not a function"
    if (options.sessions !== undefined && !Array.isArray(options.sessions)) {
      return yield* Effect.die(new TypeError(`MemoryServer.serve: sessions must be a list of resume points, got ${kindOf(options.sessions)}`))
    }
    // from plain JavaScript or a file: an entry with no session id (`session_id`, the gateway's
    // spelling) was kept under `undefined`, and the Resume of the point it meant got op 9, unsaid.
    // A resume point is taken as it is: its other fields are let through
    const unknownSession = (options.sessions ?? []).map(knownSessionProblem).find((problem) => problem !== undefined)
    if (unknownSession !== undefined) return yield* Effect.die(new RangeError(`MemoryServer.serve: ${unknownSession}`))
    // a session id no session of its ever had: one `sessions` named, ended since, lent its id to a
    // new session, which its stale point then resumed
    const namedIds = new Set((options.sessions ?? []).map(({ sessionId }) => sessionId))
    let begun = 0
    const newSessionId = (): string => {
      while (namedIds.has(`session-${++begun}`));
      return `session-${begun}`
    }
    // whether `session` went longer than `resumeWindow` ago: no Resume takes it any more
    const expired = (session: Session, now: number): boolean =>
      session.detachedAt !== undefined && now - session.detachedAt > resumeWindowMs
    // `session` went at `at`: it ends once its window is over, unless a Resume took it meanwhile (one
    // never resumed kept what it was sent for as long as the server ran)
    const scope = yield* Effect.scope
    const detach = (session: Session, at: number): Effect.Effect<void> => {
      session.detachedAt = at
      if (!Duration.isFinite(resumeWindow)) return Effect.void
      const over = Effect.clockWith((clock) =>
        Effect.sync(() => {
          if (!session.ended && expired(session, clock.unsafeCurrentTimeMillis())) end(session)
        })
      )
      return Effect.asVoid(Effect.forkIn(Effect.delay(over, resumeWindowMs + 1), scope))
    }
    // the sessions it resumes from the start, as gone since then
    const servedAt = yield* Clock.currentTimeMillis
    for (const known of options.sessions ?? []) {
      const session = newSession({ id: known.sessionId, shard: known.shard, intents: known.intents, sequence: known.sequence, ready: true, peer: undefined, shows: known.presence })
      register(session)
      yield* detach(session, servedAt)
    }

    const trim = (session: Session): void => {
      while (session.sent.length > replayBufferSize) session.trimmed = session.sent.shift()!.s
    }

    // the caller holds the session's `writing`, and checked that JSON can hold `d`
    const write = (session: Session, t: string, d: unknown): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (session.ended) return Effect.void
        if (!session.ready) {
          session.early.push({ t, d })
          return Effect.void
        }
        const sent = { s: ++session.sequence, t, d }
        session.sent.push(sent)
        trim(session)
        return session.peer === undefined ? Effect.void : session.peer.sendJson(dispatchFrame(sent))
      })
    const send = (session: Session, t: string, d: unknown): Effect.Effect<void> => session.writing.withPermits(1)(write(session, t, d))

    // READY comes `readyAfter` later, in a fiber of the connection's own: its heartbeats go on
    // being answered meanwhile
    const identify = (peer: MemoryPeer, { token: _token, ...d }: GatewayIdentifyData) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const shard = d.shard ?? [0, 1]
        const session = newSession({ id: newSessionId(), shard, intents: d.intents, sequence: 0, ready: false, peer, shows: d.presence ?? null })
        register(session)
        identifies.push({ at, sessionId: session.id, d })
        const ready = session.writing.withPermits(1)(Effect.suspend(() => {
          session.ready = true
          const early = session.early.splice(0)
          return Effect.zipRight(
            write(session, GatewayDispatchEvents.Ready, {
              v: 10,
              user: { id: botId, username: "bot", discriminator: "0", global_name: null, avatar: null, bot: true },
              guilds: [],
              session_id: session.id,
              resume_gateway_url: resumeUrl,
              shard,
              application: { id: "2", flags: 0 }
            }),
            Effect.forEach(early, ({ d, t }) => write(session, t, d), { discard: true })
          )
        }))
        yield* Duration.isZero(readyAfter) ? ready : Effect.fork(Effect.delay(ready, readyAfter))
        return session
      })

    // the events missed, then RESUMED (a dispatch meanwhile comes after it); a session it never
    // began, one ended, one gone longer than `resumeWindow`, or one whose missed events it no
    // longer keeps, op 9; a `seq` ahead of the
    // session, 4007, which ends it unless a connection holds it (that one goes on); a connection
    // that held the session is closed, as Discord closes it
    const resume = (peer: MemoryPeer, { token: _token, ...d }: GatewayResumeData) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const session = sessions.get(d.session_id)
        const refuse = Effect.as(peer.sendJson(frame(GatewayOpcodes.InvalidSession, false)), undefined)
        if (session === undefined) {
          resumes.push({ at, resumed: false, d })
          return yield* refuse
        }
        // decided and answered with no dispatch numbered meanwhile: the missed events, then RESUMED
        return yield* session.writing.withPermits(1)(Effect.gen(function*() {
          if (expired(session, at)) end(session)
          const known = !session.ended && session.ready
          if (known && d.seq > session.sequence) {
            resumes.push({ at, resumed: false, d })
            if (session.peer === undefined || !(yield* session.peer.isOpen)) end(session)
            yield* peer.close(4007, "Invalid seq.")
            return undefined
          }
          const resumable = known && d.seq >= session.trimmed
          resumes.push({ at, resumed: resumable, d })
          if (!resumable) return yield* refuse
          const holder = session.peer
          if (holder !== undefined && holder !== peer) yield* holder.close(4000, "Session resumed on another connection.")
          for (const missed of session.sent) {
            if (missed.s > d.seq) yield* peer.sendJson(dispatchFrame(missed))
          }
          session.peer = peer
          session.detachedAt = undefined
          yield* peer.sendJson(dispatchFrame({ s: ++session.sequence, t: GatewayDispatchEvents.Resumed, d: {} }))
          return session
        }))
      })

    // The first defect of the test's own options (`members`, `memberRequests`, `leave`) or of
    // answering a connection: logged at once, and every later use of the server dies with it, so
    // that the test learns why instead of meeting a timeout
    let fault: Error | undefined
    const faulted = (what: string) => (defect: unknown) =>
      Effect.suspend(() => {
        const error = new Error(`MemoryServer: ${what} died: ${thrownText(defect)}`, { cause: defect })
        fault ??= error
        return Effect.logError(error.message)
      })
    const checked = <A>(effect: Effect.Effect<A>): Effect.Effect<A> => Effect.suspend(() => fault === undefined ? effect : Effect.die(fault))

    const answerMembers = (session: Session, request: GatewayRequestGuildMembersData) =>
      Effect.suspend(() => {
        const userIds = "user_ids" in request && request.user_ids !== undefined ? [request.user_ids].flat() : undefined
        const query = "query" in request ? request.query : undefined
        const selected = selectMembers(options.members?.(request.guild_id) ?? [], { userIds, query, limit: "limit" in request ? request.limit ?? 0 : 0 })
        const presences = request.presences === true && ((session.intents ?? Intents.GuildPresences) & Intents.GuildPresences) !== 0
        const chunks = memberChunks(selected, { guildId: request.guild_id, size: membersPerChunk, presences, nonce: request.nonce })
        const written = Either.all(chunks.map(asWritten))
        if (Either.isLeft(written)) return Effect.die(new TypeError(`a member cannot be sent as JSON: ${written.left}`))
        return Effect.forEach(written.right, (chunk) => send(session, GatewayDispatchEvents.GuildMembersChunk, chunk), { discard: true })
      })

    // a member request answered as the `memberRequests` option says (a throw is the option's defect)
    const answerRequest = (session: Session, request: GatewayRequestGuildMembersData) =>
      Effect.flatMap(Effect.sync(() => options.memberRequests?.(request, session.shard) ?? "answer"), (how) => {
        if (how === "answer") return answerMembers(session, request)
        if (how === "leave") return Effect.void
        const seconds: unknown = typeof how === "object" && how !== null ? how.rateLimited : undefined
        if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
          const given = typeof how === "object" && how !== null ? `{ rateLimited: ${show(seconds)} }` : show(how)
          return Effect.die(new TypeError(`memberRequests gave ${given}: "answer", "leave" or { rateLimited: seconds } (seconds a non-negative number)`))
        }
        return send(session, "RATE_LIMITED", { opcode: GatewayOpcodes.RequestGuildMembers, retry_after: seconds, meta: { guild_id: request.guild_id, nonce: request.nonce } })
      })

    // a session whose connection `peer` ended with `closed` ends with it where the close ends it;
    // else its resume window runs from then
    const noticeEnd = (session: Session | undefined, peer: MemoryPeer, closed: CloseInfo): Effect.Effect<void> =>
      Effect.clockWith((clock) => {
        if (session?.peer !== peer || session.ended || session.detachedAt !== undefined) return Effect.void
        if (endsSession(closed) || !session.ready) return Effect.sync(() => end(session))
        return detach(session, clock.unsafeCurrentTimeMillis())
      })
    // a close the test made through `peers` is known here before the answering fiber reads it
    const noticeClosed = (session: Session): Effect.Effect<void> => {
      const peer = session.peer
      if (peer === undefined || session.ended) return Effect.void
      return Effect.flatMap(peer.isOpen, (open) => open ? Effect.void : Effect.flatMap(peer.closed, (closed) => noticeEnd(session, peer, closed)))
    }

    // the connections whose heartbeats the test made go unanswered (`setAcks`)
    const unacknowledged = new WeakSet<MemoryPeer>()

    // the view of a connection the test is given: one object per connection, so that a test tells
    // by identity whether `peers` shows a new connection
    const views = new WeakMap<MemoryPeer, ServedPeer>()
    const viewOf = (peer: MemoryPeer): ServedPeer => {
      let view = views.get(peer)
      if (view === undefined) {
        const { close, closed, drop, isOpen, send, sendJson } = peer
        view = { send, sendJson, close, drop, isOpen, closed }
        views.set(peer, view)
      }
      return view
    }

    // whether a session's connection is open now (not ended here, not closed)
    const connected = ({ ended, peer }: Session): Effect.Effect<boolean> => peer === undefined || ended ? Effect.succeed(false) : peer.isOpen

    // the latest sessions `target` names: dies for a shard that began none here
    const sessionsOf = (caller: string, target: Target): Effect.Effect<ReadonlyArray<Session>> => {
      if (target === "all") return Effect.succeed([...latestOf.values()])
      const named = typeof target === "number" ? latest.get(target) : latestOf.get(keyOf(target))
      return named === undefined ? Effect.dieMessage(`MemoryServer.${caller}: shard ${String(target)} began no session here`) : Effect.succeed([named])
    }

    // `f` on the open connection of each latest session `target` names: how many it reached
    const eachConnected = (
      caller: string,
      target: Target,
      f: (session: Session, peer: MemoryPeer) => Effect.Effect<void>
    ): Effect.Effect<number> =>
      checked(Effect.flatMap(sessionsOf(caller, target), (named) =>
        Effect.flatMap(Effect.filter(named, connected), (open) =>
          Effect.as(Effect.forEach(open, (session) => f(session, session.peer!), { discard: true }), open.length))))

    // one connection: Hello, then each payload answered until the connection ends; a session
    // whose connection its client closed with 1000 or 1001, the test with 4003, 4005, 4007, 4009 or
    // a fatal code, or that ended before its READY, ends with it
    const answer = (peer: MemoryPeer) => {
      let session: Session | undefined
      return Effect.gen(function*() {
        yield* peer.sendJson(frame(GatewayOpcodes.Hello, { heartbeat_interval: interval }))
        while (true) {
          const payload = yield* peer.receivedJson
          if (payload.op === GatewayOpcodes.Heartbeat) {
            if (!unacknowledged.has(peer)) yield* peer.sendJson(frame(GatewayOpcodes.HeartbeatAck, null))
          } else if (payload.op === GatewayOpcodes.Identify) {
            session = yield* identify(peer, payload.d)
          } else if (payload.op === GatewayOpcodes.Resume) {
            session = yield* resume(peer, payload.d)
          } else if (session !== undefined) {
            commands.push({ at: yield* Clock.currentTimeMillis, shard: session.shard, payload })
            if (payload.op === GatewayOpcodes.PresenceUpdate) session.shows = payload.d
            // the members option's defect is told, and the connection goes on being answered
            if (payload.op === GatewayOpcodes.RequestGuildMembers) {
              yield* Effect.catchAllDefect(answerRequest(session, payload.d), faulted(`answering a member request for guild ${guildText(payload.d.guild_id)}`))
            }
          }
        }
      }).pipe(
        Effect.catchTag("ConnectionEnded", ({ closed }) => noticeEnd(session, peer, closed)),
        Effect.catchAllDefect(faulted("answering a connection"))
      )
    }

    let connections = 0
    // a `leave` that throws stops the accepting, told
    const leaves = (connection: number): Effect.Effect<boolean> =>
      Effect.catchAllDefect(
        Effect.sync(() => options.leave?.(connection) === true),
        (defect) => Effect.zipRight(faulted("the leave option")(defect), Effect.never)
      )
    const accept = Effect.flatMap(gateway.accept, (peer) =>
      Effect.flatMap(leaves(connections++), (leaving) =>
        leaving || isEtf(peer)
          ? Effect.sync(() => {
            left.push(peer)
          })
          : Effect.asVoid(Effect.forkScoped(answer(peer)))))
    servedGateways.add(gateway)
    yield* Effect.addFinalizer(() => Effect.sync(() => servedGateways.delete(gateway)))
    yield* Effect.forkScoped(Effect.forever(accept))

    return {
      identifies: checked(Effect.sync(() => [...identifies])),
      resumes: checked(Effect.sync(() => [...resumes])),
      commands: checked(Effect.sync(() => [...commands])),
      peers: checked(Effect.suspend(() =>
        Effect.map(
          Effect.filter([...latest], ([, session]) => connected(session)),
          (open) => new Map(open.map(([id, { peer }]) => [id, viewOf(peer!)]))
        )
      )),
      left: checked(Effect.sync(() => [...left])),
      dispatch: (target, t, given) =>
        checked(Effect.suspend(() => {
          // checked once, before any session numbers it: a session's view only empties fields
          const written = asWritten(given)
          if (Either.isLeft(written)) return Effect.die(new TypeError(`MemoryServer.dispatch: ${t}'s data cannot be sent as JSON: ${written.left}`))
          const d = written.right
          return Effect.flatMap(sessionsOf("dispatch", target), (named) => {
            const to = target !== "all" ? named : named.filter(({ shard: [id, count] }) => {
              const routed = Visibility.shardOfDispatch(t, d, count)
              return routed === undefined || routed === id
            })
            return Effect.flatMap(Effect.forEach(to, noticeClosed, { discard: true }), () => {
              const seeing = to.filter((session) => !session.ended && (session.intents === undefined || Visibility.delivers(session.intents, botId, t, d)))
              return Effect.as(
                Effect.forEach(seeing, (session) => send(session, t, session.intents === undefined ? d : Visibility.asSeen(session.intents, botId, t, d)), { discard: true }),
                seeing.length
              )
            })
          })
        })),
      invalidate: (target, resumable) =>
        eachConnected("invalidate", target, (session, peer) =>
          Effect.suspend(() => {
            // ended before the client can answer: its Resume gets op 9
            if (!resumable) end(session)
            return peer.sendJson(frame(GatewayOpcodes.InvalidSession, resumable))
          })),
      presenceOf: (shard) => checked(Effect.map(sessionsOf("presenceOf", shard), ([session]) => session?.shows)),
      setAcks: (target, acking) =>
        eachConnected("setAcks", target, (_, peer) =>
          Effect.sync(() => {
            if (acking) unacknowledged.delete(peer)
            else unacknowledged.add(peer)
          }))
    }
  })
