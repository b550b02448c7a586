/**
 * Request Guild Members as a call that returns the members: the answers (GUILD_MEMBERS_CHUNK
 * dispatches carrying our nonce) are collected until `chunk_count`, or the request fails on
 * RATE_LIMITED, on an answer whose data is not what the protocol says, or when the gateway session
 * it was sent on ends (`Lost`).
 *
 * @since 0.1.0
 */
import type {
  APIGuildMember,
  GatewayGuildMembersChunkDispatchData,
  GatewayGuildMembersChunkPresence,
  GatewayRateLimitedDispatchData
} from "discord-api-types/v10"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { identity } from "effect/Function"
import * as Predicate from "effect/Predicate"
import { monotonicMillis } from "../internal/due.ts"
import { timeoutFailPastStalls } from "../internal/stall.ts"
import { TaggedError } from "../internal/taggedError.ts"
import * as Commands from "../protocol/Commands.ts"
import type { GatewayEvent } from "../protocol/Event.ts"
import * as Intents from "../protocol/Intents.ts"
import { isInt, show } from "../protocol/internal/schema.ts"

/**
 * The answer to one Request Guild Members.
 *
 * @since 0.1.0
 */
export interface GuildMembers {
  readonly guildId: string
  /** The members of every chunk, in the chunks' `chunk_index` order. */
  readonly members: ReadonlyArray<APIGuildMember>
  /** The requested user ids that are not members. */
  readonly notFound: ReadonlyArray<string>
  /** Presences, when they were asked for. */
  readonly presences: ReadonlyArray<GatewayGuildMembersChunkPresence>
}

/**
 * Request Guild Members failed: the gateway rate limited it (retry after `retryAfter` seconds),
 * the answer stalled (no chunk of it within the members timeout), the gateway answered it with
 * data that is no valid answer (`Malformed`; `detail` says what was wrong), or the gateway session
 * it was sent on ended before the answer came (`Lost`: an op 9 that allows no resume, a close that
 * allows none, or a new Identify; no answer can come, ask again).
 *
 * @since 0.1.0
 */
export class MemberRequestError extends TaggedError("MemberRequestError")<{
  readonly reason: "RateLimited" | "Timeout" | "Malformed" | "Lost"
  readonly guildId: string
  readonly retryAfter?: number | undefined
  /**
   * With `Malformed`: what was wrong with the answer; with `Timeout`, where the request was never
   * sent: why (a fleet's shard that did not start within the members timeout).
   */
  readonly detail?: string | undefined
}> {
  override get message(): string {
    switch (this.reason) {
      case "RateLimited":
        return `request guild members for ${this.guildId} was rate limited` + (this.retryAfter === undefined ? "" : `; retry after ${this.retryAfter} s`)
      case "Timeout":
        return this.detail === undefined
          ? `request guild members for ${this.guildId} got no answer in time (no chunk within the members timeout)`
          : `request guild members for ${this.guildId} was not sent in time: ${this.detail}`
      case "Malformed":
        return `request guild members for ${this.guildId} got a malformed answer` + (this.detail === undefined ? "" : `: ${this.detail}`)
      case "Lost":
        return `request guild members for ${this.guildId} was sent on a gateway session that ended before its answer came; ask again`
    }
  }
}

/**
 * Refuses a request the gateway would not answer as asked on a session with `intents`: the whole
 * member list (`query: ""`) needs GuildMembers, without which no answer ever comes, and presences
 * need GuildPresences, without which they are quietly left out.
 *
 * @internal
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
    : Either.left(Commands.InvalidCommand.of("Invalid", "RequestGuildMembers", [missing]))
}

/**
 * The nonce of a session's `count`th member request, with a `random` part (an integer below 2^31)
 * that no other session likely draws: of one width (14 characters) up to the 78 billionth
 * request, so the size of the op 8 it goes into is known before it is drawn (a fleet checks a
 * request with the widest nonce (`widestNonce`) before its shard starts; a request near the
 * 4096-byte limit was refused or not by the draw).
 *
 * @since 0.1.0
 */
export const nonce = (random: number, count: number): string =>
  `${random.toString(36).padStart(6, "0")}.${count.toString(36).padStart(7, "0")}`

/**
 * A nonce as wide as {@link nonce} makes them: what a command is checked with before its nonce is drawn.
 *
 * @internal
 * @since 0.1.0
 */
export const widestNonce: string = nonce(2 ** 31 - 1, 36 ** 7 - 1)

/** One chunk's part of an answer. */
interface Part {
  readonly members: ReadonlyArray<APIGuildMember>
  readonly notFound: ReadonlyArray<string | number | bigint>
  readonly presences: ReadonlyArray<GatewayGuildMembersChunkPresence>
}

interface Collector {
  readonly nonce: string
  readonly guildId: string
  /** The user ids asked for, if any: a `not_found` id JSON rounded is told as the one asked for. */
  readonly userIds: ReadonlyArray<string>
  /** The chunks seen so far, by `chunk_index`: put together in that order once all came. */
  readonly parts: Map<number, Part>
  /** The chunk_count of the first chunk: every later one must say the same. */
  count: number | undefined
  /** Whether it went out, on the gateway session of the moment. */
  sent: boolean
  readonly done: Deferred.Deferred<GuildMembers, MemberRequestError>
  /**
   * Completed by the next chunk of the answer, or by a reader that waited for room getting it
   * (then replaced).
   */
  progress: Deferred.Deferred<void>
}

/** Tells the request's timeout of progress towards its answer. */
const progressed = (collector: Collector): void => {
  const progress = collector.progress
  collector.progress = Deferred.unsafeMake(FiberId.none)
  Deferred.unsafeDone(progress, Exit.void)
}

/**
 * How many members timeouts a request waits at most for its next chunk while a held-back reader
 * keeps getting room: the answer may wait unread behind a slow program's events, but a gateway that
 * never answers must not be waited on for as long as the program stays slow.
 *
 * @internal
 * @since 0.1.0
 */
export const backlogTimeouts = 10

/** Event data as it may come from the network: the fields discord-api-types names, any values. */
type Unchecked<A> = { readonly [K in keyof A]?: unknown }

/** One GUILD_MEMBERS_CHUNK, checked: its part of the answer, and where it goes. */
interface Chunk extends Part {
  readonly index: number
  readonly count: number
}

/**
 * The most chunks one answer may have. At up to 1000 members a chunk that is a billion members,
 * more than Discord has accounts: a larger chunk_count is no real answer, and waiting for it would
 * hold the request (and all it collected) until the members timeout, or forever without one.
 */
const maxChunks = 1_000_000

// a snowflake: a string in JSON, an integer in ETF
const isId = (value: unknown): value is string | number | bigint =>
  typeof value === "string" || typeof value === "number" || typeof value === "bigint"

const isGuild = (value: unknown, guildId: string): boolean => isId(value) && String(value) === guildId

/**
 * Checks a GUILD_MEMBERS_CHUNK's fields against the protocol (and against the request: its guild,
 * and `count`, the chunk_count of an earlier chunk): the chunk, or what is wrong with it. The
 * members themselves are not checked, as no event's data is.
 */
const readChunk = (
  data: Unchecked<GatewayGuildMembersChunkDispatchData>,
  guildId: string,
  count: number | undefined
): Either.Either<Chunk, string> => {
  const { chunk_count, chunk_index, guild_id, members, not_found, presences } = data
  // another guild's members, taken, were the requested guild's answer
  if (!isGuild(guild_id, guildId)) return Either.left(`guild_id ${show(guild_id)} is not the requested guild ${guildId}`)
  if (!isInt(chunk_count, 1, maxChunks)) {
    return Either.left(`chunk_count ${show(chunk_count)} is not a whole number from 1 to ${maxChunks}`)
  }
  if (count !== undefined && chunk_count !== count) {
    return Either.left(`chunk_count ${chunk_count} differs from the ${count} of an earlier chunk`)
  }
  if (!isInt(chunk_index, 0, chunk_count - 1)) {
    return Either.left(`chunk_index ${show(chunk_index)} is not a whole number from 0 to ${chunk_count - 1}`)
  }
  if (!Array.isArray(members)) return Either.left(`members is ${show(members)}, not an array`)
  // not_found and presences are optional: absent (or null) is none
  if (not_found != null && !Array.isArray(not_found)) return Either.left(`not_found is ${show(not_found)}, not an array`)
  const notFound: ReadonlyArray<unknown> = not_found ?? []
  const bad = notFound.findIndex((id) => !isId(id))
  if (bad >= 0) return Either.left(`not_found holds ${show(notFound[bad])}, not a user id`)
  if (presences != null && !Array.isArray(presences)) return Either.left(`presences is ${show(presences)}, not an array`)
  return Either.right({
    index: chunk_index,
    count: chunk_count,
    members,
    notFound: notFound as ReadonlyArray<string | number | bigint>,
    presences: presences ?? []
  })
}

// a loop, not push(...from): a spread passes every element as an argument, and one chunk with
// a few hundred thousand members overflows the stack
const append = <A, B>(into: Array<B>, from: ReadonlyArray<A>, f: (a: A) => B): void => {
  for (let i = 0; i < from.length; i++) into.push(f(from[i]!))
}

// the answer of `count` chunks, in their `chunk_index` order whatever order they came in (a gateway
// may send them out of order; a resume's replay may resend some)
const answer = (collector: Collector, count: number): GuildMembers => {
  const members: Array<APIGuildMember> = []
  const notFound: Array<string> = []
  const presences: Array<GatewayGuildMembersChunkPresence> = []
  for (let index = 0; index < count; index++) {
    const part = collector.parts.get(index)!
    append(members, part.members, identity)
    append(presences, part.presences, identity)
  }
  const asked = (id: string | number | bigint): string => askedId(collector.userIds, members, notFound, id)
  for (let index = 0; index < count; index++) append(notFound, collector.parts.get(index)!.notFound, asked)
  return { guildId: collector.guildId, members, notFound, presences }
}

// a `not_found` id as the request named it: Discord writes ids from 2^63 up as plain JSON numbers,
// which JSON reads as the nearest double (9223372036854775809 as ...776000), so such a number is
// the asked id it rounds from, one neither told yet nor among the members found where several
// round alike
const askedId = (
  userIds: ReadonlyArray<string>,
  members: ReadonlyArray<APIGuildMember>,
  told: ReadonlyArray<string>,
  id: string | number | bigint
): string => {
  if (typeof id !== "number" || Number.isSafeInteger(id)) return String(id)
  // (members are the gateway's data, unchecked one by one: a null among them is no member)
  const found = (asked: string): boolean => members.some((member) => (member as Partial<APIGuildMember> | null)?.user?.id === asked)
  return userIds.find((asked) => Number(asked) === id && !told.includes(asked) && !found(asked)) ?? String(id)
}

/**
 * The requests in flight, by nonce. Its members are methods: call them on it (one taken off it has
 * no `this`).
 *
 * @since 0.1.0
 */
export interface MemberRequests {
  /**
   * Starts collecting for `nonce`, a request for `guildId`'s members (those of `userIds`, if it names
   * them); the returned effect waits for the whole answer.
   */
  register(nonce: string, guildId: string, userIds?: ReadonlyArray<string>): Effect.Effect<Effect.Effect<GuildMembers, MemberRequestError>>
  /**
   * Fails with `Timeout` once `timeout` passes without a chunk of the answer to `nonce`: counted
   * from now (the request went out), then from each chunk (a large guild's answer takes as long as
   * its chunks keep coming), and only while a connection is answered: a drop pauses it, and the
   * next one's answer goes on from where it stood, or from a chunk of its replay before it (no
   * chunk can come without one, and a resume's replay may bring the answer; a count begun anew at
   * each answer let connections that kept dropping put it off for ever). A reader that waited for
   * room in the events buffer and got it starts the count over too: the answer may wait unread
   * behind events a slow program takes one by one (it timed out though it came at once), up to
   * ten timeouts (`backlogTimeouts`) after the last chunk (or the send), so that a request the
   * gateway never answers is not waited on for as long as the program stays slow; a program that
   * takes no event, waiting on its own request, still gets `Timeout` at the timeout.
   */
  stalled(nonce: string, timeout: Duration.DurationInput): Effect.Effect<never, MemberRequestError>
  /**
   * Whether a connection is answered (READY or RESUMED read, or a replayed event held up by a full
   * events buffer), the only one chunks can come on:
   * told `true` as it is, `false` once it ended. Synchronous.
   */
  connected(answered: boolean): void
  /**
   * The connection's reader waited for room in the events buffer and got it: the program took an
   * event, and what waits unread behind it, a chunk perhaps, came nearer. Synchronous.
   */
  backlogMoved(): void
  /** Forgets `nonce` (after completion, failure or interruption). */
  unregister(nonce: string): Effect.Effect<void>
  /** The request of `nonce` went out, on the gateway session of the moment. */
  sent(nonce: string): Effect.Effect<void>
  /**
   * The gateway session ended (an op 9 that allows no resume, a close that allows none, or a new
   * Identify): the requests sent on it fail with `Lost`,
   * since their answers cannot come; those not sent yet go out on the next.
   */
  readonly lost: Effect.Effect<void>
  /** Whether any request waits for its answer. */
  waiting(): boolean
  /**
   * Looks at one delivered event; answers to a request in flight complete it. Synchronous, and it
   * runs inside the connection's reader, so it never throws: a malformed answer fails its request
   * with `Malformed`, and one that names no request in flight is ignored.
   */
  observe(event: GatewayEvent): void
}

/**
 * Makes an empty registry: the one a session makes for itself. Its members are methods, shared by
 * every session's registry: call them on it (taken off it, or spread, they lose it).
 *
 * @since 0.1.0
 */
export const make = (): MemberRequests => new Registry()

// A class, its methods shared by every session's registry: a thousand idle shards should not each
// keep a dozen closures for requests they may never make.
class Registry implements MemberRequests {
  private readonly inFlight = new Map<string, Collector>()
  // whether a connection is answered, and what completes when that changes (made once a request
  // waits for it)
  private online = false
  private onlineChange: Deferred.Deferred<void> | undefined = undefined

  private nextOnlineChange(): Effect.Effect<void> {
    return Deferred.await(this.onlineChange ??= Deferred.unsafeMake(FiberId.none))
  }

  backlogMoved(): void {
    for (const collector of this.inFlight.values()) progressed(collector)
  }

  connected(answered: boolean): void {
    if (this.online === answered) return
    this.online = answered
    const change = this.onlineChange
    this.onlineChange = undefined
    if (change !== undefined) Deferred.unsafeDone(change, Exit.void)
  }

  register(nonce: string, guildId: string, userIds: ReadonlyArray<string> = []): Effect.Effect<Effect.Effect<GuildMembers, MemberRequestError>> {
    return Effect.map(Deferred.make<GuildMembers, MemberRequestError>(), (done) => {
      this.inFlight.set(nonce, {
        nonce,
        guildId,
        userIds,
        parts: new Map(),
        count: undefined,
        sent: false,
        done,
        progress: Deferred.unsafeMake(FiberId.none)
      })
      return Deferred.await(done)
    })
  }

  stalled(nonce: string, timeout: Duration.DurationInput): Effect.Effect<never, MemberRequestError> {
    const limit = Duration.toMillis(timeout)
    return Effect.clockWith((clock) => {
      // how long connections were answered since the last chunk (or the send, or a held-back reader
      // getting room), and since the last chunk (or the send) alone: a drop pauses both
      let quiet = 0
      let sinceChunk = 0
      // the chunks seen so far: one seen since the last look starts both over, whatever woke the
      // count (a chunk and a move of the backlog told in one step wake it once)
      let chunks = 0
      return Effect.forever(Effect.suspend(() => {
        const collector = this.inFlight.get(nonce)
        // answered, or failed: that outcome is the request's
        if (collector === undefined) return Effect.never
        if (collector.parts.size !== chunks) {
          chunks = collector.parts.size
          quiet = 0
          sinceChunk = 0
        }
        const online = this.online
        const since = monotonicMillis(clock)
        const progress = Effect.map(Deferred.await(collector.progress), () => {
          if (online) sinceChunk += monotonicMillis(clock) - since
          quiet = 0
        })
        // the time counts on at the next answer, but a chunk of a Resume's replay, before it, starts
        // it over as any chunk does
        if (!online) return Effect.raceFirst(progress, this.nextOnlineChange())
        const drop = Effect.zipLeft(
          this.nextOnlineChange(),
          Effect.sync(() => {
            quiet += monotonicMillis(clock) - since
            sinceChunk += monotonicMillis(clock) - since
          })
        )
        return Effect.raceFirst(
          timeoutFailPastStalls(progress, {
            duration: Duration.millis(Math.max(0, Math.min(limit - quiet, backlogTimeouts * limit - sinceChunk))),
            onTimeout: () => new MemberRequestError({ reason: "Timeout", guildId: collector.guildId })
          }),
          drop
        )
      }))
    })
  }

  unregister(nonce: string): Effect.Effect<void> {
    return Effect.sync(() => void this.inFlight.delete(nonce))
  }

  sent(nonce: string): Effect.Effect<void> {
    return Effect.sync(() => {
      const collector = this.inFlight.get(nonce)
      if (collector !== undefined) collector.sent = true
    })
  }

  get lost(): Effect.Effect<void> {
    return Effect.sync(() => {
      for (const collector of [...this.inFlight.values()]) {
        if (collector.sent) this.complete(collector, Exit.fail(new MemberRequestError({ reason: "Lost", guildId: collector.guildId })))
      }
    })
  }

  waiting(): boolean {
    return this.inFlight.size > 0
  }

  observe(event: GatewayEvent): void {
    if (this.inFlight.size === 0) return
    if (event.t === "GUILD_MEMBERS_CHUNK") this.chunk(event.d)
    else if (event.t === "RATE_LIMITED") this.rateLimited(event.d)
  }

  // a nonce that is no string is none we sent
  private inFlightFor(nonce: unknown): Collector | undefined {
    return typeof nonce === "string" ? this.inFlight.get(nonce) : undefined
  }

  private complete(collector: Collector, exit: Exit.Exit<GuildMembers, MemberRequestError>): void {
    this.inFlight.delete(collector.nonce)
    Deferred.unsafeDone(collector.done, exit)
  }

  private malformed(collector: Collector, detail: string): void {
    this.complete(collector, Exit.fail(new MemberRequestError({ reason: "Malformed", guildId: collector.guildId, detail })))
  }

  // `d` is checked before it is read: a throw here would end the session
  private chunk(d: unknown): void {
    if (!Predicate.isRecord(d)) return
    const data: Unchecked<GatewayGuildMembersChunkDispatchData> = d
    const collector = this.inFlightFor(data.nonce)
    if (collector === undefined) return
    const read = readChunk(data, collector.guildId, collector.count)
    if (Either.isLeft(read)) return this.malformed(collector, `GUILD_MEMBERS_CHUNK: ${read.left}`)
    const { count, index, ...part } = read.right
    if (collector.parts.has(index)) return
    collector.parts.set(index, part)
    collector.count = count
    progressed(collector)
    // chunk indexes are distinct and below count: count of them is all of them
    if (collector.parts.size === count) this.complete(collector, Exit.succeed(answer(collector, count)))
  }

  private rateLimited(d: unknown): void {
    if (!Predicate.isRecord(d)) return
    const data: Unchecked<GatewayRateLimitedDispatchData> = d
    const meta = data.meta
    if (!Predicate.isRecord(meta)) return
    const collector = this.inFlightFor(meta["nonce"])
    // a limit on another opcode, or on another guild's request, is none of this request's
    if (collector === undefined || data.opcode !== 8 || !isGuild(meta["guild_id"], collector.guildId)) return
    const retryAfter = data.retry_after
    if (!(typeof retryAfter === "number" && retryAfter >= 0 && retryAfter < Infinity)) {
      return this.malformed(collector, `RATE_LIMITED: retry_after ${show(retryAfter)} is not a number of seconds`)
    }
    this.complete(collector, Exit.fail(new MemberRequestError({ reason: "RateLimited", guildId: collector.guildId, retryAfter })))
  }
}
