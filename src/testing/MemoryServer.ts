/**
 * A healthy Discord gateway over the in-memory transport: it answers every connection a session
 * or a fleet opens (Hello, an ACK for each heartbeat, READY for each Identify, the missed events
 * and RESUMED for each Resume, member requests from the test's members), so a `TestClock`-driven
 * test of a fleet needs no loop of its own, and it keeps what each shard sent for the test to check.
 *
 * @since 0.1.0
 */
import { GatewayDispatchEvents, GatewayOpcodes } from "discord-api-types/gateway/v10"
import type { GatewayIdentifyData, GatewayRequestGuildMembersData, GatewayResumeData } from "discord-api-types/gateway/v10"
import type { APIGuildMember } from "discord-api-types/payloads/v10"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { MemoryGateway } from "../transport/MemoryTransport.ts"
import type { MemoryPeer, Payload } from "../transport/MemoryTransport.ts"

/**
 * A session the gateway knows before the test starts (one a restored resume point names).
 *
 * @since 0.1.0
 */
export interface KnownSession {
  readonly sessionId: string
  /** The shard it is of: `[id, count]`. */
  readonly shard: readonly [number, number]
  /** The last sequence number it was sent. */
  readonly sequence: number
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
  /** The members a member request (op 8) is answered with (default none: one empty chunk). */
  readonly members?: ((request: GatewayRequestGuildMembersData) => ReadonlyArray<APIGuildMember>) | undefined
  /**
   * The connections it leaves to the test, by their number in the order they came (from 0): no
   * Hello, nothing answered (`left` hands them over). Default none.
   */
  readonly leave?: ((connection: number) => boolean) | undefined
}

/**
 * An Identify the gateway answered with READY.
 *
 * @since 0.1.0
 */
export interface Identified {
  /** When it came, by the `Clock`. */
  readonly at: number
  /** The session READY began. */
  readonly sessionId: string
  readonly d: GatewayIdentifyData
}

/**
 * A Resume the gateway answered: with the events missed and RESUMED (`resumed` true), or op 9.
 *
 * @since 0.1.0
 */
export interface Resume {
  /** When it came, by the `Clock`. */
  readonly at: number
  readonly resumed: boolean
  readonly d: GatewayResumeData
}

/**
 * A command a shard sent on a session, heartbeats, Identify and Resume left out.
 *
 * @since 0.1.0
 */
export interface Command {
  /** When it came, by the `Clock`. */
  readonly at: number
  /** The shard id of the session it came on. */
  readonly shard: number
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
  /** Each shard's latest connection (by shard id), once it identified or resumed on one. */
  readonly peers: Effect.Effect<ReadonlyMap<number, MemoryPeer>>
  /** The connections `leave` named, in order. */
  readonly left: Effect.Effect<ReadonlyArray<MemoryPeer>>
  /**
   * Sends a dispatch to the shard's latest session, numbered next in it, as Discord does: on its
   * connection if one is open, else kept for its Resume to replay. Dies when the shard never
   * began a session here.
   */
  readonly dispatch: (shard: number, t: string, d: unknown) => Effect.Effect<void>
}

interface Session {
  readonly id: string
  readonly shard: readonly [number, number]
  sequence: number
  // the dispatches sent on it, for a Resume to replay
  readonly sent: Array<{ readonly s: number; readonly t: string; readonly d: unknown }>
  peer: MemoryPeer | undefined
}

// a GUILD_MEMBERS_CHUNK carries at most this many members
const membersPerChunk = 1000

/**
 * Starts answering the in-memory gateway's connections, for as long as the scope lasts. JSON
 * sessions only (an ETF session's frames are the test's to answer); it checks none of Discord's
 * limits (the `LocalGateway` does), and a session's heartbeats are answered however late.
 *
 * @since 0.1.0
 */
export const serve = (options: Options = {}): Effect.Effect<Served, never, MemoryGateway | Scope.Scope> =>
  Effect.gen(function*() {
    const gateway = yield* MemoryGateway
    const interval = options.heartbeatInterval ?? 41_250
    const readyAfter = Duration.decode(options.readyAfter ?? 0)
    const resumeUrl = options.resumeUrl ?? "wss://resume.gateway.test"
    const identifies: Array<Identified> = []
    const resumes: Array<Resume> = []
    const commands: Array<Command> = []
    const left: Array<MemoryPeer> = []
    const sessions = new Map<string, Session>()
    // each shard id's latest session
    const latest = new Map<number, Session>()
    for (const known of options.sessions ?? []) {
      sessions.set(known.sessionId, { id: known.sessionId, shard: known.shard, sequence: known.sequence, sent: [], peer: undefined })
    }

    const send = (session: Session, t: string, d: unknown) =>
      Effect.suspend(() => {
        const s = ++session.sequence
        session.sent.push({ s, t, d })
        return session.peer === undefined ? Effect.void : session.peer.sendJson({ op: GatewayOpcodes.Dispatch, s, t, d })
      })

    const begin = (session: Session, peer: MemoryPeer) =>
      Effect.sync(() => {
        session.peer = peer
        latest.set(session.shard[0], session)
      })

    // READY comes `readyAfter` later, in a fiber of the connection's own: its heartbeats go on
    // being answered meanwhile
    const identify = (peer: MemoryPeer, d: GatewayIdentifyData) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const shard = d.shard ?? [0, 1]
        const session: Session = { id: `session-${identifies.length + 1}`, shard, sequence: 0, sent: [], peer: undefined }
        sessions.set(session.id, session)
        identifies.push({ at, sessionId: session.id, d })
        const ready = Effect.zipRight(
          begin(session, peer),
          send(session, GatewayDispatchEvents.Ready, {
            v: 10,
            user: { id: "1", username: "bot", discriminator: "0", global_name: null, avatar: null, bot: true },
            guilds: [],
            session_id: session.id,
            resume_gateway_url: resumeUrl,
            shard,
            application: { id: "2", flags: 0 }
          })
        )
        yield* Duration.isZero(readyAfter) ? ready : Effect.fork(Effect.delay(ready, readyAfter))
        return session
      })

    // the events missed (those sent meanwhile too), then RESUMED; a session it never began, op 9
    const resume = (peer: MemoryPeer, d: GatewayResumeData) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const session = sessions.get(d.session_id)
        resumes.push({ at, resumed: session !== undefined, d })
        if (session === undefined) {
          yield* peer.sendJson({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null })
          return undefined
        }
        // the connection becomes the session's as the last one is replayed, in the same step
        const replay = (index: number): Effect.Effect<void> =>
          Effect.suspend(() => {
            const missed = session.sent[index]
            if (missed === undefined) return begin(session, peer)
            const { d: data, s, t } = missed
            return Effect.zipRight(s > d.seq ? peer.sendJson({ op: GatewayOpcodes.Dispatch, s, t, d: data }) : Effect.void, replay(index + 1))
          })
        yield* replay(0)
        session.sequence++
        yield* peer.sendJson({ op: GatewayOpcodes.Dispatch, s: session.sequence, t: GatewayDispatchEvents.Resumed, d: {} })
        return session
      })

    const answerMembers = (session: Session, request: GatewayRequestGuildMembersData) =>
      Effect.suspend(() => {
        const members = options.members?.(request) ?? []
        const asked = "user_ids" in request && request.user_ids !== undefined ? [request.user_ids].flat() : undefined
        const found = new Set(members.map((member) => member.user.id))
        const chunkCount = Math.max(1, Math.ceil(members.length / membersPerChunk))
        return Effect.forEach(Array.from({ length: chunkCount }, (_, index) => index), (index) =>
          send(session, GatewayDispatchEvents.GuildMembersChunk, {
            guild_id: request.guild_id,
            members: members.slice(index * membersPerChunk, (index + 1) * membersPerChunk),
            chunk_index: index,
            chunk_count: chunkCount,
            ...(asked === undefined || index > 0 ? {} : { not_found: asked.filter((id) => !found.has(id)) }),
            ...(request.nonce === undefined ? {} : { nonce: request.nonce })
          }), { discard: true })
      })

    // one connection: Hello, then each payload answered until the connection ends
    const answer = (peer: MemoryPeer) =>
      Effect.gen(function*() {
        yield* peer.sendJson({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: interval }, s: null, t: null })
        let session: Session | undefined
        while (true) {
          const payload = yield* peer.receivedJson
          if (payload.op === GatewayOpcodes.Heartbeat) {
            yield* peer.sendJson({ op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null })
          } else if (payload.op === GatewayOpcodes.Identify) {
            session = yield* identify(peer, payload.d)
          } else if (payload.op === GatewayOpcodes.Resume) {
            session = yield* resume(peer, payload.d)
          } else if (session !== undefined) {
            commands.push({ at: yield* Clock.currentTimeMillis, shard: session.shard[0], payload })
            if (payload.op === GatewayOpcodes.RequestGuildMembers) yield* answerMembers(session, payload.d)
          }
        }
      }).pipe(Effect.catchTag("ConnectionEnded", () => Effect.void))

    let connections = 0
    const accept = Effect.flatMap(gateway.accept, (peer) =>
      options.leave?.(connections++) === true
        ? Effect.sync(() => {
          left.push(peer)
        })
        : Effect.asVoid(Effect.forkScoped(answer(peer))))
    yield* Effect.forkScoped(Effect.forever(accept))

    return {
      identifies: Effect.sync(() => [...identifies]),
      resumes: Effect.sync(() => [...resumes]),
      commands: Effect.sync(() => [...commands]),
      peers: Effect.sync(() => new Map([...latest].flatMap(([id, { peer }]) => peer === undefined ? [] : [[id, peer] as const]))),
      left: Effect.sync(() => [...left]),
      dispatch: (shard, t, d) =>
        Effect.suspend(() => {
          const session = latest.get(shard)
          return session === undefined ? Effect.dieMessage(`MemoryServer.dispatch: shard ${shard} began no session here`) : send(session, t, d)
        })
    }
  })
