/**
 * What a client sends: one tagged value per gateway command, checked and encoded to the
 * exact wire payload (JSON or ETF) by {@link encode}. The bot token stays `Redacted` until that payload is built.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Encoding } from "../codec/Encoding.ts"
import * as Json from "../codec/Json.ts"
import { clipped, kindOf, printable, thrownText } from "../internal/printable.ts"
import { isRecord } from "../internal/record.ts"
import { quotesToken, withoutToken } from "../internal/secret.ts"
import * as Intents from "./Intents.ts"
import { Opcode } from "./Opcode.ts"
import {
  Bool,
  checked,
  exactDecoder,
  intBetween,
  isSnowflake,
  maxSessionIdLength as sessionIdLimit,
  maxShardCount as shardCountLimit,
  NonNegativeInt,
  SessionId,
  ShardPair,
  show,
  Snowflake,
  Str,
  struct
} from "./internal/schema.ts"

/**
 * The largest payload the gateway accepts, in UTF-8 bytes; a larger one closes the
 * connection with 4002.
 *
 * @since 0.1.0
 */
export const maxPayloadBytes = 4096

/**
 * The most guild ids one soundboard request takes (`requestSoundboardSounds` of a session or a
 * fleet): about 5,500 frames of op 31. One frame holds about 180; a list that does not fit in one
 * goes out in several.
 *
 * @since 0.1.0
 */
export const maxSoundboardGuildIds = 1_000_000

/**
 * The largest shard count an Identify carries (its `shard` pair is `[id, count]`, with `id` below
 * `count`).
 *
 * @since 0.1.0
 */
export const maxShardCount: number = shardCountLimit

/**
 * The longest session id a Resume (and READY, and a resume point) may carry, in characters.
 * Discord's have 32; with at most this many, a Resume fits in a payload with a token of the
 * length Discord issues, not with every token an Identify could carry (a session whose Resume
 * would not fit is not resumed).
 *
 * @since 0.1.0
 */
export const maxSessionIdLength: number = sessionIdLimit

/**
 * The length of `text` in UTF-8 bytes, without encoding it (a lone surrogate counts 3, as
 * `TextEncoder` replaces it with U+FFFD).
 *
 * @since 0.1.0
 */
export const utf8Length = (text: string): number => {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

// `schema`, or `undefined`. `Schema.UndefinedOr` (and so `Schema.optional`) accepts the same values,
// but its union adds "Expected undefined, actual ..." to every failure of the field.
const orUndefined = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.declare<A | undefined, I | undefined, readonly [Schema.Schema<A, I>]>([schema], {
    decode: (item) => (input, options) =>
      input === undefined ? ParseResult.succeed(undefined) : ParseResult.decodeUnknown(item)(input, options),
    encode: (item) => (input, options) =>
      input === undefined ? ParseResult.succeed(undefined) : ParseResult.encodeUnknown(item)(input, options)
  })

// an optional field given as `undefined` (which TypeScript allows without exactOptionalPropertyTypes,
// its default) counts as absent: it passes, and the payload leaves it out
const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(orUndefined(schema), { exact: true })

const list = <S extends Schema.Schema.Any>(item: S, min: number, max: number, what: string) =>
  Schema.Array(item).annotations({ message: (issue) => `must be an array of ${what}, got ${show(issue.actual)}` }).pipe(
    Schema.filter((items) =>
      (items.length >= min && items.length <= max) ||
      (max === Infinity ? `must list at least ${min} ${what}, got none` : `must list ${min} to ${max} ${what}, got ${items.length}`)
    )
  )

/**
 * What is wrong with `u` as a bot token (a `Redacted` of the bare token), or `undefined`: said
 * without quoting it.
 *
 * @since 0.1.0
 */
export const tokenProblem = (u: unknown): string | undefined => {
  const token = Redacted.isRedacted(u) ? Redacted.value(u) : undefined
  if (typeof token !== "string" || token === "") return "must be a non-empty Redacted<string> (Redacted.make(token))"
  // what a token copied with its REST prefix, or from a file with its newline, looks like
  if (/^Bot\s/i.test(token)) return "must be the bare token, without the \"Bot \" prefix of the REST header (Session.token(text) drops it)"
  if (token.trim() !== token) return "must not begin or end with whitespace"
  // an invisible or control character copied with it would make a header no HTTP client sends
  if (!/^[\x21-\x7e]+$/.test(token)) return "must be printable ASCII without spaces, as Discord's tokens are"
  return undefined
}

const Token = checked<Redacted.Redacted<string>>(tokenProblem)

const IntentBits = checked<number>((u) =>
  typeof u === "number" && Intents.isValid(u) ? undefined : `must be a bit field of known intents, got ${show(u)}`
)

const StrOrNull = checked<string | null>((u) => u === null || typeof u === "string" ? undefined : `must be a string or null, got ${show(u)}`)

/**
 * An activity a bot can show: 0 Playing, 1 Streaming, 2 Listening, 3 Watching, 4 Custom, 5 Competing.
 *
 * @since 0.1.0
 */
export const Activity = struct({
  name: Str,
  type: intBetween(0, 5),
  // Discord's `?string`: absent, null or a string, as a PRESENCE_UPDATE shows an activity
  state: optional(StrOrNull),
  url: optional(StrOrNull)
})

/**
 * An activity a bot can show.
 *
 * @since 0.1.0
 */
export interface Activity extends Schema.Schema.Type<typeof Activity> {}

/**
 * A presence status a bot can set.
 *
 * @since 0.1.0
 */
export type Status = "online" | "dnd" | "idle" | "invisible" | "offline"

const statuses: ReadonlyArray<unknown> = ["online", "dnd", "idle", "invisible", "offline"]

const presenceFields = {
  since: checked<number | null>((u) =>
    u === null || (typeof u === "number" && Number.isSafeInteger(u) && u >= 0)
      ? undefined
      : `must be null or a Unix time in milliseconds, got ${show(u)}`
  ),
  activities: list(Activity, 0, Infinity, "activities"),
  status: checked<Status>((u) => statuses.includes(u) ? undefined : `must be one of ${statuses.join(", ")}, got ${show(u)}`),
  afk: Bool
}

/**
 * The presence a bot shows, in Identify and Presence Update.
 *
 * @since 0.1.0
 */
export const Presence = struct(presenceFields)

/**
 * The presence a bot shows.
 *
 * @since 0.1.0
 */
export interface Presence extends Schema.Schema.Type<typeof Presence> {}

/**
 * The presence of a session that identified with none: online, no activity.
 *
 * @since 0.1.0
 */
export const defaultPresence: Presence = { since: null, activities: [], status: "online", afk: false }

/**
 * Op 2: start a new session.
 *
 * @since 0.1.0
 */
export const Identify = Schema.TaggedStruct("Identify", {
  token: Token,
  properties: struct({ os: Str, browser: Str, device: Str }),
  intents: IntentBits,
  shard: optional(ShardPair),
  large_threshold: optional(intBetween(50, 250)),
  presence: optional(Presence),
  compress: optional(Bool)
})

/**
 * Op 2: start a new session.
 *
 * @since 0.1.0
 */
export interface Identify extends Schema.Schema.Type<typeof Identify> {}

/**
 * Op 6: resume a session after `seq`.
 *
 * @since 0.1.0
 */
export const Resume = Schema.TaggedStruct("Resume", {
  token: Token,
  session_id: SessionId,
  seq: NonNegativeInt
})

/**
 * Op 6: resume a session.
 *
 * @since 0.1.0
 */
export interface Resume extends Schema.Schema.Type<typeof Resume> {}

/**
 * Op 1: a heartbeat carrying the last sequence number received, or `null`.
 *
 * @since 0.1.0
 */
export const Heartbeat = Schema.TaggedStruct("Heartbeat", {
  seq: checked<number | null>((u) =>
    u === null || (typeof u === "number" && Number.isSafeInteger(u) && u >= 0)
      ? undefined
      : `must be null or a non-negative integer, got ${show(u)}`
  )
})

/**
 * Op 1: a heartbeat.
 *
 * @since 0.1.0
 */
export interface Heartbeat extends Schema.Schema.Type<typeof Heartbeat> {}

/**
 * Op 3: change the bot's presence.
 *
 * @since 0.1.0
 */
export const PresenceUpdate = Schema.TaggedStruct("PresenceUpdate", presenceFields)

/**
 * Op 3: change the bot's presence.
 *
 * @since 0.1.0
 */
export interface PresenceUpdate extends Schema.Schema.Type<typeof PresenceUpdate> {}

/**
 * Op 4: join, move to (`channel_id`) or leave (`null`) a voice channel of a guild.
 *
 * @since 0.1.0
 */
export const VoiceStateUpdate = Schema.TaggedStruct("VoiceStateUpdate", {
  guild_id: Snowflake,
  channel_id: checked<string | null>((u) =>
    u === null || isSnowflake(u) ? undefined : `must be a snowflake (up to 20 digits, no leading zero, below 2^64) or null, got ${show(u)}`
  ),
  self_mute: Bool,
  self_deaf: Bool
})

/**
 * Op 4: join, move or leave a voice channel.
 *
 * @since 0.1.0
 */
export interface VoiceStateUpdate extends Schema.Schema.Type<typeof VoiceStateUpdate> {}

const memberSelection = (request: {
  readonly query?: string | undefined
  readonly limit?: number | undefined
  readonly user_ids?: ReadonlyArray<string> | undefined
}): true | string => {
  const byQuery = request.query !== undefined
  const byIds = request.user_ids !== undefined
  if (byQuery && byIds) return "must have either query (with limit) or user_ids, not both"
  if (!byQuery && !byIds) return "must have either query (with limit) or user_ids"
  if (byQuery && request.limit === undefined) return "limit is required with query"
  if (byIds && request.limit !== undefined) return "limit is only allowed with query"
  return true
}

/**
 * Op 8: ask for members of a guild, by name prefix (`query`, `""` for all, with `limit`: `0` is
 * no limit with `""`, Discord answering a prefix with at most 100) or by id (`user_ids`, up to
 * 100). Answers arrive as GUILD_MEMBERS_CHUNK
 * dispatches carrying `nonce` (at most 32 UTF-8 bytes).
 *
 * @since 0.1.0
 */
export const RequestGuildMembers = Schema.TaggedStruct("RequestGuildMembers", {
  guild_id: Snowflake,
  query: optional(Str),
  limit: optional(NonNegativeInt),
  user_ids: optional(list(Snowflake, 1, 100, "user ids")),
  presences: optional(Bool),
  nonce: optional(checked<string>((u) =>
    typeof u !== "string"
      ? `must be a string, got ${show(u)}`
      : utf8Length(u) > 32
      ? `must be at most 32 bytes of UTF-8, got ${utf8Length(u)}`
      : undefined
  ))
}).pipe(Schema.filter(memberSelection))

/**
 * Op 8: ask for members of a guild.
 *
 * @since 0.1.0
 */
export interface RequestGuildMembers extends Schema.Schema.Type<typeof RequestGuildMembers> {}

/**
 * A Request Guild Members as a program asks it (the nonce is the session's): members whose name
 * starts with `query` (`""` for all) up to `limit` (`0` for no limit with `""`; Discord answers a
 * prefix with at most 100), or those `user_ids` names (one, or a list of up to 100, as Discord
 * takes them), never both. The types say what the checks at run time refuse: `limit` goes with
 * `query` only.
 *
 * @since 0.1.0
 */
export type MemberRequest =
  & { readonly guild_id: string; readonly presences?: boolean | undefined }
  & (
    | { readonly query: string; readonly limit: number; readonly user_ids?: undefined }
    | { readonly user_ids: string | ReadonlyArray<string>; readonly query?: undefined; readonly limit?: undefined }
  )

// what a member request from JavaScript may carry that is the session's to give: the answers to a
// nonce of the program's own were never found (it was replaced by the session's, quietly)
const notRequestFields = ["nonce", "_tag"] as const

/**
 * The Request Guild Members command of `request`, with `nonce`: one user id as a list of one.
 * Fails where `request` (from JavaScript) carries a nonce or a tag of its own.
 *
 * @since 0.1.0
 */
export const memberRequest = (request: MemberRequest, nonce: string): Either.Either<RequestGuildMembers, InvalidCommand> =>
  readOrRefuse("RequestGuildMembers", () => memberRequestRead(request, nonce))

/**
 * The member request a Request Guild Members command makes (its nonce and tag left out): what a
 * fleet hands the session of the guild's shard, as it checked it. A checked command without user
 * ids has a query and a limit: the defaults here only satisfy the type.
 *
 * @internal
 * @since 0.1.0
 */
export const requestOf = ({ guild_id, limit, presences, query, user_ids }: RequestGuildMembers): MemberRequest =>
  user_ids !== undefined ? { guild_id, user_ids, presences } : { guild_id, query: query ?? "", limit: limit ?? 0, presences }

const memberRequestRead = (request: MemberRequest, nonce: string): Either.Either<RequestGuildMembers, InvalidCommand> => {
  // read as given: a request from JavaScript may be no object, which the checks refuse
  const given: unknown = request
  // a field holding `undefined` is none, as in every other command (`{ ...request, nonce: undefined }`)
  const own = isRecord(given) ? notRequestFields.find((field) => given[field] !== undefined) : undefined
  if (own !== undefined) {
    return Either.left(
      InvalidCommand.of("Invalid", "RequestGuildMembers", [`${own} is the session's to give, not a field of a member request`])
    )
  }
  // each field read once: one user id is read as it is spread
  const fields: Fields<RequestGuildMembers> = { ...request as Fields<RequestGuildMembers> }
  const userIds: unknown = fields.user_ids
  return Either.right(requestGuildMembers({ ...fields, ...(typeof userIds === "string" ? { user_ids: [userIds] } : {}), nonce }))
}

/**
 * Op 31: ask for the soundboard sounds of guilds.
 *
 * @since 0.1.0
 */
export const RequestSoundboardSounds = Schema.TaggedStruct("RequestSoundboardSounds", {
  guild_ids: list(Snowflake, 1, Infinity, "guild ids")
})

/**
 * Op 31: ask for the soundboard sounds of guilds.
 *
 * @since 0.1.0
 */
export interface RequestSoundboardSounds extends Schema.Schema.Type<typeof RequestSoundboardSounds> {}

/**
 * A channel field Request Channel Info can ask for.
 *
 * @since 0.1.0
 */
export type ChannelInfoField = "status" | "voice_start_time"

const channelInfoFields: ReadonlyArray<unknown> = ["status", "voice_start_time"]

/**
 * Op 43: ask for ephemeral information (voice channel status, voice start time) of a
 * guild's channels.
 *
 * @since 0.1.0
 */
export const RequestChannelInfo = Schema.TaggedStruct("RequestChannelInfo", {
  guild_id: Snowflake,
  fields: list(
    checked<ChannelInfoField>((u) =>
      channelInfoFields.includes(u) ? undefined : `must be "status" or "voice_start_time", got ${show(u)}`
    ),
    1,
    Infinity,
    "fields"
  )
})

/**
 * Op 43: ask for ephemeral channel information.
 *
 * @since 0.1.0
 */
export interface RequestChannelInfo extends Schema.Schema.Type<typeof RequestChannelInfo> {}

/**
 * Every command a client sends.
 *
 * @since 0.1.0
 */
export type Command =
  | Identify
  | Resume
  | Heartbeat
  | PresenceUpdate
  | VoiceStateUpdate
  | RequestGuildMembers
  | RequestSoundboardSounds
  | RequestChannelInfo

/**
 * The commands that keep a connection alive and authenticated; a send limiter keeps room for these.
 *
 * @since 0.1.0
 */
export type ControlCommand = Identify | Resume | Heartbeat

/**
 * The commands a user sends.
 *
 * @since 0.1.0
 */
export type UserCommand = Exclude<Command, ControlCommand>

/**
 * The guilds a command is about (those its shard must hold): none for a presence update.
 *
 * @since 0.1.0
 */
export const guildIds = (command: UserCommand): ReadonlyArray<string> => {
  switch (command._tag) {
    case "PresenceUpdate":
      return []
    case "RequestSoundboardSounds":
      return command.guild_ids
    default:
      return [command.guild_id]
  }
}

const opcodes = {
  Identify: Opcode.Identify,
  Resume: Opcode.Resume,
  Heartbeat: Opcode.Heartbeat,
  PresenceUpdate: Opcode.PresenceUpdate,
  VoiceStateUpdate: Opcode.VoiceStateUpdate,
  RequestGuildMembers: Opcode.RequestGuildMembers,
  RequestSoundboardSounds: Opcode.RequestSoundboardSounds,
  RequestChannelInfo: Opcode.RequestChannelInfo
} as const satisfies Record<Command["_tag"], Opcode>

/**
 * The opcode `command` is sent with.
 *
 * @since 0.1.0
 */
export const opcode = <C extends Command>(command: C): (typeof opcodes)[C["_tag"]] => opcodes[command._tag as C["_tag"]]

type Fields<C extends Command> = Omit<C, "_tag">

// Each builder's tag is written after the fields: a `_tag` among them (from JavaScript) cannot
// choose another command's opcode (a voice state given Identify's fields and tag sent a second
// Identify); the checks then refuse the fields the command does not take.

/**
 * Builds an Identify command.
 *
 * @since 0.1.0
 */
export const identify = (fields: Fields<Identify>): Identify => ({ ...fields, _tag: "Identify" })

/**
 * Builds a Resume command.
 *
 * @since 0.1.0
 */
export const resume = (fields: Fields<Resume>): Resume => ({ ...fields, _tag: "Resume" })

/**
 * Builds a Heartbeat command carrying `seq`, the last sequence number received.
 *
 * @since 0.1.0
 */
export const heartbeat = (seq: number | null): Heartbeat => ({ _tag: "Heartbeat", seq })

/**
 * Builds a Presence Update command.
 *
 * @since 0.1.0
 */
export const presenceUpdate = (fields: Fields<PresenceUpdate>): PresenceUpdate => ({ ...fields, _tag: "PresenceUpdate" })

/**
 * Builds a Voice State Update command.
 *
 * @since 0.1.0
 */
export const voiceStateUpdate = (fields: Fields<VoiceStateUpdate>): VoiceStateUpdate => ({
  ...fields,
  _tag: "VoiceStateUpdate"
})

/**
 * Builds a Request Guild Members command.
 *
 * @since 0.1.0
 */
export const requestGuildMembers = (fields: Fields<RequestGuildMembers>): RequestGuildMembers => ({
  ...fields,
  _tag: "RequestGuildMembers"
})

/**
 * Builds a Request Soundboard Sounds command.
 *
 * @since 0.1.0
 */
export const requestSoundboardSounds = (guildIds: ReadonlyArray<string>): RequestSoundboardSounds => ({
  _tag: "RequestSoundboardSounds",
  guild_ids: guildIds
})

/**
 * Builds a Request Channel Info command.
 *
 * @since 0.1.0
 */
export const requestChannelInfo = (fields: Fields<RequestChannelInfo>): RequestChannelInfo => ({
  ...fields,
  _tag: "RequestChannelInfo"
})

/**
 * A command that cannot be sent: `Invalid` breaks a rule of the command, `TooLarge` encodes to
 * more than {@link maxPayloadBytes}. The message says what is wrong and never holds the token.
 *
 * @since 0.1.0
 */
export class InvalidCommand extends Data.TaggedError("InvalidCommand")<{
  readonly reason: "Invalid" | "TooLarge"
  /** The command's `_tag`; "Other" for one of an opcode this version does not know (`Session.send`). */
  readonly command: string
  readonly message: string
  /**
   * What is wrong, in the message's order, each problem as the message tells it after the
   * command's name (it joins them with "; "): one for most errors, one per fault for a command
   * with several (past ten, a last one says how many more).
   */
  readonly problems: ReadonlyArray<string>
}> {
  /**
   * An `InvalidCommand` of `command` whose message tells `problems` after a name: the message is
   * `${shownCommand}: ${problems.join("; ")}`. `shownCommand` is the name as the message shows it,
   * `command` unless that is the caller's value (escaped and cut short).
   *
   * @since 0.1.0
   */
  static of(
    reason: InvalidCommand["reason"],
    command: string,
    problems: ReadonlyArray<string>,
    shownCommand: string = command
  ): InvalidCommand {
    return new InvalidCommand({ reason, command, message: `${shownCommand}: ${problems.join("; ")}`, problems })
  }
}

/**
 * `error`, where it is an `InvalidCommand`, with every run of `token` in its message and its
 * problems masked: the message quotes the program's values, and one read from the wrong variable
 * may be the token.
 *
 * @internal
 * @since 0.1.0
 */
export const maskingToken = (token: unknown) => <E>(error: E): E =>
  error instanceof InvalidCommand && quotesToken(error.message, token)
    ? new InvalidCommand({
      reason: error.reason,
      command: error.command,
      message: withoutToken(error.message, token),
      problems: error.problems.map((problem) => withoutToken(problem, token))
    }) as E
    : error

const checkCommand = exactDecoder(
  Schema.Union(
    Identify,
    Resume,
    Heartbeat,
    PresenceUpdate,
    VoiceStateUpdate,
    RequestGuildMembers,
    RequestSoundboardSounds,
    RequestChannelInfo
  ),
  // each item of a list takes a byte of the payload at least
  maxPayloadBytes
)
// a soundboard request's list may fill many frames (`soundboardParts`), up to its own limit
const soundboardSchema = exactDecoder(RequestSoundboardSounds, maxSoundboardGuildIds + 2)
const checkSoundboard = (command: unknown): Either.Either<RequestSoundboardSounds, ReadonlyArray<string>> => {
  const listed = listLength(command, "guild_ids")
  return listed !== undefined && listed > maxSoundboardGuildIds
    ? Either.left([`guild_ids must list at most ${maxSoundboardGuildIds} guild ids, got ${listed}`])
    : soundboardSchema(command)
}

// the length of the array `value[key]` holds as plain data, without calling a getter of the
// program's (the check reads it, once); none where it is not known so
const listLength = (value: unknown, key: string): number | undefined => {
  try {
    const held: unknown = typeof value === "object" && value !== null ? Object.getOwnPropertyDescriptor(value, key)?.value : undefined
    return Array.isArray(held) ? held.length : undefined
  } catch {
    return undefined
  }
}

// `read()`, or, where a program's value threw as it was read (from JavaScript, a getter or a
// proxy), an InvalidCommand saying so
const readOrRefuse = <A>(name: string, read: () => Either.Either<A, InvalidCommand>): Either.Either<A, InvalidCommand> => {
  try {
    return read()
  } catch (thrown) {
    return Either.left(InvalidCommand.of("Invalid", name, [`the value could not be read (${thrownText(thrown)})`]))
  }
}

/**
 * The command `make` builds from a program's fields, or why they could not be read: from
 * JavaScript, a getter or a proxy among them may throw, which a builder's spread of them would
 * throw at the call, before any Effect.
 *
 * @internal
 * @since 0.1.0
 */
export const built = <C extends Command>(name: C["_tag"], make: () => C): Either.Either<C, InvalidCommand> =>
  readOrRefuse(name, () => Either.right(make()))

const nameOf = (command: unknown): string =>
  typeof command === "object" && command !== null && typeof (command as { _tag?: unknown })._tag === "string"
    ? (command as { _tag: string })._tag
    : "command"

/**
 * Checks every rule of `command` without encoding it, and returns it as checked: a copy of plain
 * data, each of its values read once from the program's object. A getter or a proxy may answer
 * each read differently (checked on one answer, another went out); the copy is checked again, and
 * is what {@link encode} writes and a session keeps.
 *
 * @since 0.1.0
 */
export const validate = <C extends Command>(command: C): Either.Either<C, InvalidCommand> =>
  readOrRefuse("command", () =>
    Either.flatMap(validateRead(command), (valid) => readOrRefuse(valid._tag, () => validateRead(copied(valid)))))

const validateRead = <C extends Command>(command: C): Either.Either<C, InvalidCommand> => {
  const name = nameOf(command)
  if (!Object.hasOwn(opcodes, name)) {
    // the name is the caller's value: the message escapes it and cuts it short
    return Either.left(
      InvalidCommand.of("Invalid", name, ["not a gateway command"], clipped(printable(name), 60))
    )
  }
  const checked = name === "RequestSoundboardSounds" ? checkSoundboard(command) : checkCommand(command)
  return Either.isRight(checked) ? Either.right(command) : Either.left(InvalidCommand.of("Invalid", name, checked.left))
}

/**
 * A presence's fields, copied: what a session keeps of a checked presence, so that a program that
 * changes its object afterwards (a refused update made by changing the one accepted before) cannot
 * change what the next Identify carries unchecked (such an Identify failed to encode, a defect
 * that ended the session). Also what a presence encodes to.
 *
 * @since 0.1.0
 */
export const copyPresence = (presence: Presence): Presence => ({
  since: presence.since,
  activities: presence.activities.map((activity) => ({
    name: activity.name,
    type: activity.type,
    state: activity.state,
    url: activity.url
  })),
  status: presence.status,
  afk: presence.afk
})

// `command` as plain data, each value read once (arrays copied too); a checked command's shape is
// taken as given, and a later read that breaks it throws (refused as not readable) or is refused
// by the second check
const copied = <C extends Command>(command: C): C => {
  const copy = ((): Command => {
    switch (command._tag) {
      case "Identify": {
        const { presence, properties, shard } = command
        return {
          _tag: "Identify",
          token: command.token,
          properties: { os: properties.os, browser: properties.browser, device: properties.device },
          intents: command.intents,
          shard: shard === undefined ? undefined : [shard[0], shard[1]],
          large_threshold: command.large_threshold,
          presence: presence === undefined ? undefined : copyPresence(presence),
          compress: command.compress
        }
      }
      case "Resume":
        return { _tag: "Resume", token: command.token, session_id: command.session_id, seq: command.seq }
      case "Heartbeat":
        return { _tag: "Heartbeat", seq: command.seq }
      case "PresenceUpdate":
        return { _tag: "PresenceUpdate", ...copyPresence(command) }
      case "VoiceStateUpdate":
        return {
          _tag: "VoiceStateUpdate",
          guild_id: command.guild_id,
          channel_id: command.channel_id,
          self_mute: command.self_mute,
          self_deaf: command.self_deaf
        }
      case "RequestGuildMembers": {
        const userIds = command.user_ids
        return {
          _tag: "RequestGuildMembers",
          guild_id: command.guild_id,
          query: command.query,
          limit: command.limit,
          user_ids: userIds === undefined ? undefined : Array.from(userIds),
          presences: command.presences,
          nonce: command.nonce
        }
      }
      case "RequestSoundboardSounds":
        return { _tag: "RequestSoundboardSounds", guild_ids: Array.from(command.guild_ids) }
      case "RequestChannelInfo":
        return { _tag: "RequestChannelInfo", guild_id: command.guild_id, fields: Array.from(command.fields) }
    }
  })()
  return copy as C
}

// what goes out as `d`: a checked copy's fields but its tag, the token revealed
const data = (checked: Command): unknown => {
  switch (checked._tag) {
    case "Identify":
    case "Resume": {
      const { _tag, token, ...fields } = checked
      return { token: Redacted.value(token), ...fields }
    }
    case "Heartbeat":
      return checked.seq
    default: {
      const { _tag, ...fields } = checked
      return fields
    }
  }
}

// how much of a too large payload is the token: a whole file read into the setting is no token
const tokenPart = (command: Command): string =>
  command._tag === "Identify" || command._tag === "Resume"
    ? ` (the token ${utf8Length(Redacted.value(command.token))} of them)`
    : ""

/**
 * Checks `command` and encodes it in `encoding` (JSON by default) to the frame sent on the wire,
 * `{"op":N,"d":{...}}` (a string for JSON, bytes for ETF), failing when a rule is broken or the
 * frame exceeds {@link maxPayloadBytes} bytes.
 *
 * @since 0.1.0
 */
export function encode(command: Command): Either.Either<string, InvalidCommand>
export function encode(command: Command, encoding: Encoding): Either.Either<string | Uint8Array, InvalidCommand>
export function encode(command: Command, encoding: Encoding = Json.encoding): Either.Either<string | Uint8Array, InvalidCommand> {
  return Either.map(encodeChecked(command, encoding), ({ payload }) => payload)
}

/**
 * {@link encode}, with the copy of `command` that was checked and encoded ({@link validate}): what
 * a session keeps of a program's command, such as the presence the next Identify carries.
 *
 * @internal
 * @since 0.1.0
 */
export const encodeChecked = <C extends Command>(
  command: C,
  encoding: Encoding
): Either.Either<{ readonly checked: C; readonly payload: string | Uint8Array }, InvalidCommand> =>
  Either.flatMap(validate(command), (checked) => Either.map(encodeValid(checked, encoding), (payload) => ({ checked, payload })))

/**
 * Op 31 for `guildIds`, checked ({@link validate}) and encoded in `encoding` in as few frames as
 * the list fits in, each of at most {@link maxPayloadBytes}, in the list's order: one frame holds
 * about 180 ids. Fails where the list breaks a rule (no id, one that is not a snowflake, more than
 * {@link maxSoundboardGuildIds}), or where one id alone would not fit (an encoding of the
 * program's own).
 *
 * @since 0.1.0
 */
export const soundboardParts = (
  guildIds: ReadonlyArray<string>,
  encoding: Encoding
): Either.Either<ReadonlyArray<SoundboardPart>, InvalidCommand> =>
  Either.flatMap(validate(requestSoundboardSounds(guildIds)), (checked) => {
    const ids = checked.guild_ids
    const whole = frameOf(checked, encoding)
    return whole.bytes <= maxPayloadBytes
      ? Either.right([{ checked, payload: whole.payload }])
      : packed(ids, Math.max(1, Math.floor(ids.length * maxPayloadBytes / whole.bytes)), encoding)
  })

/**
 * One frame of a soundboard request ({@link soundboardParts}): its command, as checked, and its
 * payload.
 *
 * @since 0.1.0
 */
export interface SoundboardPart {
  readonly checked: RequestSoundboardSounds
  readonly payload: string | Uint8Array
}

// `ids` filling one frame after another in the list's order, each with as many as fit: the count
// is searched from a guess (at first the whole list's average, then the frame before's count, the
// ids of one list being of much the same length), so most frames are encoded twice
const packed = (ids: ReadonlyArray<string>, guess: number, encoding: Encoding): Either.Either<Array<SoundboardPart>, InvalidCommand> => {
  const parts: Array<SoundboardPart> = []
  for (let from = 0, count = guess; from < ids.length; from += count) {
    const part = mostThatFit(ids, from, count, encoding)
    if (Either.isLeft(part)) return Either.left(part.left)
    parts.push(part.right)
    count = part.right.checked.guild_ids.length
  }
  return Either.right(parts)
}

// the frame of the most ids from `from` that fit (a frame grows with its ids), searched from
// `guess`: up by steps that double while they fit, then halving the range between the most known
// to fit and the fewest known not to; one id that does not fit alone is refused
const mostThatFit = (ids: ReadonlyArray<string>, from: number, guess: number, encoding: Encoding): Either.Either<SoundboardPart, InvalidCommand> => {
  let fit: SoundboardPart | undefined
  let fits = 0
  let over = ids.length - from + 1
  let refused: InvalidCommand | undefined
  const probe = (count: number): boolean => {
    const checked = requestSoundboardSounds(ids.slice(from, from + count))
    const payload = encodeValid(checked, encoding)
    if (Either.isLeft(payload)) {
      refused = payload.left
      over = count
      return false
    }
    fit = { checked, payload: payload.right }
    fits = count
    return true
  }
  if (probe(Math.min(guess, over - 1))) {
    for (let step = 1; fits + step < over && probe(fits + step); step *= 2);
  }
  while (over - fits > 1) probe((fits + over) >>> 1)
  return fit !== undefined ? Either.right(fit) : Either.left(refused!)
}

/**
 * `presence` as a Presence Update carries it: the command as checked (plain data, each value read
 * once), a copy of its presence, and its payload in `encoding`; or why it cannot go out.
 *
 * @since 0.1.0
 */
export const presenceChecked = (
  presence: Presence,
  encoding: Encoding
): Either.Either<{ readonly command: PresenceUpdate; readonly presence: Presence; readonly payload: string | Uint8Array }, InvalidCommand> =>
  Either.flatMap(built("PresenceUpdate", () => presenceUpdate(presence)), (command) =>
    Either.map(encodeChecked(command, encoding), ({ checked, payload }) => ({ command: checked, presence: copyPresence(checked), payload })))

/**
 * Whether a session of `sessionId` may send its Resume with `token` at any sequence it reaches:
 * the Resume at the highest, encoded, fails where it does not fit in {@link maxPayloadBytes} (a
 * session id of 256 characters fits with a token of the length Discord issues, not with every
 * token an Identify could carry). An encoding that cannot write that sequence (a custom one of
 * 32-bit integers) cannot tell: its Resumes are measured as they are made, as they were.
 *
 * @internal
 * @since 0.1.0
 */
export const resumeFits = (
  token: Redacted.Redacted<string>,
  sessionId: string,
  encoding: Encoding
): Either.Either<void, InvalidCommand> => {
  try {
    return Either.map(encode(resume({ token, session_id: sessionId, seq: Number.MAX_SAFE_INTEGER }), encoding), () => undefined)
  } catch {
    return Either.void
  }
}

// `valid` as the frame sent on the wire, and its size in bytes
const frameOf = (valid: Command, encoding: Encoding): { readonly payload: string | Uint8Array; readonly bytes: number } => {
  const payload: unknown = encoding.encode({ op: opcode(valid), d: data(valid) })
  // a program's own Encoding that gives no frame cannot work: a defect (at make, the options' fault)
  if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
    throw new TypeError(`the encoding's encode gave ${kindOf(payload)}, not a string or a Uint8Array`)
  }
  return { payload, bytes: typeof payload === "string" ? utf8Length(payload) : payload.byteLength }
}

const encodeValid = (valid: Command, encoding: Encoding): Either.Either<string | Uint8Array, InvalidCommand> => {
  const { bytes, payload } = frameOf(valid, encoding)
  return bytes <= maxPayloadBytes
    ? Either.right(payload)
    : Either.left(InvalidCommand.of("TooLarge", valid._tag, [`payload is ${bytes} bytes${tokenPart(valid)}, the limit is ${maxPayloadBytes}`]))
}
