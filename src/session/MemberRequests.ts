/**
 * Request Guild Members as a call that returns the members: the answers (GUILD_MEMBERS_CHUNK
 * dispatches carrying our nonce) are collected until `chunk_count`, or the request fails on
 * RATE_LIMITED.
 *
 * @since 0.1.0
 */
import type {
  APIGuildMember,
  GatewayGuildMembersChunkDispatchData,
  GatewayGuildMembersChunkPresence,
  GatewayRateLimitedDispatchData
} from "discord-api-types/v10"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Commands from "../protocol/Commands.ts"
import type { GatewayEvent } from "../protocol/Event.ts"
import * as Intents from "../protocol/Intents.ts"

/**
 * The answer to one Request Guild Members.
 *
 * @since 0.1.0
 */
export interface GuildMembers {
  readonly guildId: string
  readonly members: ReadonlyArray<APIGuildMember>
  /** The requested user ids that are not members. */
  readonly notFound: ReadonlyArray<string>
  /** Presences, when they were asked for. */
  readonly presences: ReadonlyArray<GatewayGuildMembersChunkPresence>
}

/**
 * Request Guild Members failed: the gateway rate limited it (retry after `retryAfter` seconds),
 * or the answer did not complete in time.
 *
 * @since 0.1.0
 */
export class MemberRequestError extends Data.TaggedError("MemberRequestError")<{
  readonly reason: "RateLimited" | "Timeout"
  readonly guildId: string
  readonly retryAfter?: number
}> {
  override get message(): string {
    return this.reason === "RateLimited"
      ? `request guild members for ${this.guildId} was rate limited; retry after ${this.retryAfter} s`
      : `request guild members for ${this.guildId} did not complete in time`
  }
}

/**
 * Refuses a request the gateway would not answer as asked on a session with `intents`: the whole
 * member list (`query: ""`) needs GuildMembers, without which no answer ever comes, and presences
 * need GuildPresences, without which they are quietly left out.
 *
 * @since 0.1.0
 */
export const checkIntents = (
  request: { readonly query?: string | undefined; readonly presences?: boolean | undefined },
  intents: number
): Either.Either<void, Commands.InvalidCommand> => {
  const missing = request.query === "" && (intents & Intents.GuildMembers) === 0
    ? "the whole member list (query \"\") needs the GuildMembers intent"
    : request.presences === true && (intents & Intents.GuildPresences) === 0
    ? "presences need the GuildPresences intent"
    : undefined
  return missing === undefined
    ? Either.void
    : Either.left(new Commands.InvalidCommand({ reason: "Invalid", command: "RequestGuildMembers", message: `RequestGuildMembers: ${missing}` }))
}

interface Collector {
  readonly guildId: string
  readonly members: Array<APIGuildMember>
  readonly notFound: Array<string>
  readonly presences: Array<GatewayGuildMembersChunkPresence>
  readonly seen: Set<number>
  readonly done: Deferred.Deferred<GuildMembers, MemberRequestError>
}

/**
 * The requests in flight, by nonce.
 *
 * @since 0.1.0
 */
export interface MemberRequests {
  /** Starts collecting for `nonce`; the returned effect waits for the whole answer. */
  readonly register: (nonce: string, guildId: string) => Effect.Effect<Effect.Effect<GuildMembers, MemberRequestError>>
  /** Forgets `nonce` (after completion, failure or interruption). */
  readonly unregister: (nonce: string) => Effect.Effect<void>
  /** Whether any request waits for its answer. */
  readonly waiting: () => boolean
  /** Looks at one delivered event; answers to a request in flight complete it. Synchronous. */
  readonly observe: (event: GatewayEvent) => void
}

/**
 * Makes an empty registry.
 *
 * @since 0.1.0
 */
export const make = (): MemberRequests => {
  const inFlight = new Map<string, Collector>()

  const chunk = (data: GatewayGuildMembersChunkDispatchData) => {
    const collector = data.nonce === undefined ? undefined : inFlight.get(data.nonce)
    if (collector === undefined || collector.seen.has(data.chunk_index)) return
    collector.seen.add(data.chunk_index)
    collector.members.push(...data.members)
    if (data.not_found) collector.notFound.push(...data.not_found.map(String))
    if (data.presences) collector.presences.push(...data.presences)
    if (collector.seen.size >= data.chunk_count) {
      inFlight.delete(data.nonce!)
      Deferred.unsafeDone(collector.done, Effect.succeed({
        guildId: collector.guildId,
        members: collector.members,
        notFound: collector.notFound,
        presences: collector.presences
      }))
    }
  }

  const rateLimited = (data: GatewayRateLimitedDispatchData) => {
    const nonce = data.meta.nonce
    const collector = nonce === undefined ? undefined : inFlight.get(nonce)
    if (collector === undefined) return
    inFlight.delete(nonce!)
    Deferred.unsafeDone(
      collector.done,
      Effect.fail(new MemberRequestError({ reason: "RateLimited", guildId: collector.guildId, retryAfter: data.retry_after }))
    )
  }

  return {
    register: (nonce, guildId) =>
      Effect.map(Deferred.make<GuildMembers, MemberRequestError>(), (done) => {
        inFlight.set(nonce, { guildId, members: [], notFound: [], presences: [], seen: new Set(), done })
        return Deferred.await(done)
      }),
    unregister: (nonce) => Effect.sync(() => void inFlight.delete(nonce)),
    waiting: () => inFlight.size > 0,
    observe: (event) => {
      if (inFlight.size === 0) return
      if (event.t === "GUILD_MEMBERS_CHUNK") chunk(event.d)
      else if (event.t === "RATE_LIMITED") rateLimited(event.d)
    }
  }
}
