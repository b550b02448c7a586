/**
 * Gateway intents: the bit field that chooses which events a session receives.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { commaList } from "../internal/commaList.ts"
import { isQuotable, notShown } from "../internal/printable.ts"
import { show } from "./internal/schema.ts"

/** Guilds, channels, threads, roles and stage instances. @since 0.1.0 */
export const Guilds = 1 << 0
/** Member joins, updates and leaves (privileged). @since 0.1.0 */
export const GuildMembers = 1 << 1
/** Bans and audit log entries. @since 0.1.0 */
export const GuildModeration = 1 << 2
/** Emojis, stickers and soundboard sounds. @since 0.1.0 */
export const GuildExpressions = 1 << 3
/** Integrations. @since 0.1.0 */
export const GuildIntegrations = 1 << 4
/** Webhook updates. @since 0.1.0 */
export const GuildWebhooks = 1 << 5
/** Invite creation and deletion. @since 0.1.0 */
export const GuildInvites = 1 << 6
/** Voice states and voice channel effects. @since 0.1.0 */
export const GuildVoiceStates = 1 << 7
/** Presence updates (privileged). @since 0.1.0 */
export const GuildPresences = 1 << 8
/** Messages in guilds. @since 0.1.0 */
export const GuildMessages = 1 << 9
/** Reactions in guilds. @since 0.1.0 */
export const GuildMessageReactions = 1 << 10
/** Typing in guilds. @since 0.1.0 */
export const GuildMessageTyping = 1 << 11
/** Direct messages. @since 0.1.0 */
export const DirectMessages = 1 << 12
/** Reactions in direct messages. @since 0.1.0 */
export const DirectMessageReactions = 1 << 13
/** Typing in direct messages. @since 0.1.0 */
export const DirectMessageTyping = 1 << 14
/** Message content, embeds, attachments and components (privileged). @since 0.1.0 */
export const MessageContent = 1 << 15
/** Scheduled events. @since 0.1.0 */
export const GuildScheduledEvents = 1 << 16
/** Auto moderation rule changes. @since 0.1.0 */
export const AutoModerationConfiguration = 1 << 20
/** Auto moderation actions. @since 0.1.0 */
export const AutoModerationExecution = 1 << 21
/** Poll votes in guilds. @since 0.1.0 */
export const GuildMessagePolls = 1 << 24
/** Poll votes in direct messages. @since 0.1.0 */
export const DirectMessagePolls = 1 << 25

/**
 * Every intent by its PascalCase name, in bit order.
 *
 * @since 0.1.0
 */
export const byName = {
  Guilds,
  GuildMembers,
  GuildModeration,
  GuildExpressions,
  GuildIntegrations,
  GuildWebhooks,
  GuildInvites,
  GuildVoiceStates,
  GuildPresences,
  GuildMessages,
  GuildMessageReactions,
  GuildMessageTyping,
  DirectMessages,
  DirectMessageReactions,
  DirectMessageTyping,
  MessageContent,
  GuildScheduledEvents,
  AutoModerationConfiguration,
  AutoModerationExecution,
  GuildMessagePolls,
  DirectMessagePolls
} as const

/**
 * The PascalCase name of an intent.
 *
 * @since 0.1.0
 */
export type IntentName = keyof typeof byName

const entries = Object.entries(byName) as ReadonlyArray<readonly [IntentName, number]>

/**
 * The intents Discord grants only when enabled in the developer portal:
 * GuildMembers, GuildPresences and MessageContent.
 *
 * @since 0.1.0
 */
export const privileged = GuildMembers | GuildPresences | MessageContent

/**
 * Every known intent.
 *
 * @since 0.1.0
 */
export const all = entries.reduce((bits, [, bit]) => bits | bit, 0)

/**
 * Every known intent that is not privileged.
 *
 * @since 0.1.0
 */
export const nonPrivileged = all & ~privileged

/**
 * Why a value is not a set of intents: a name no intent has, bits no intent uses, a number that is
 * no whole non-negative one, or a list of commas with no name (`NoNames`).
 *
 * @since 0.1.0
 */
export class InvalidIntents extends Data.TaggedError("InvalidIntents")<{
  readonly reason: "UnknownName" | "UnknownBits" | "NotABitField" | "NoNames"
  /**
   * The offending name or number, as given; one over 40 characters or not printable ASCII only by
   * its length (the token, put where intents go by mistake, was kept whole and shown wherever the
   * error was inspected).
   */
  readonly input: string
  readonly message: string
}> {}

/**
 * Whether `bits` is a non-negative integer made only of known intents.
 *
 * @since 0.1.0
 */
export const isValid = (bits: number): boolean => Number.isInteger(bits) && bits >= 0 && bits <= all && (bits & ~all) === 0

/**
 * Whether `bits` contains at least one privileged intent.
 *
 * @since 0.1.0
 */
export const hasPrivileged = (bits: number): boolean => (bits & privileged) !== 0

/**
 * The names of the known intents set in `bits`, in bit order. Unknown bits are left out
 * (see {@link isValid}).
 *
 * @since 0.1.0
 */
export const names = (bits: number): Array<IntentName> => entries.filter(([, bit]) => (bits & bit) !== 0).map(([name]) => name)

/**
 * `bits` as a comma list of PascalCase names, the form {@link parse} reads back.
 * Unknown bits are left out.
 *
 * @since 0.1.0
 */
export const format = (bits: number): string => names(bits).join(",")

const normalize = (name: string): string => name.replaceAll("_", "").toLowerCase()

const lookup = new Map<string, number>([
  ...entries.map(([name, bit]) => [normalize(name), bit] as const),
  // The names these intents had before Discord renamed them.
  [normalize("GuildBans"), GuildModeration],
  [normalize("GuildEmojisAndStickers"), GuildExpressions]
])

/**
 * The bits of `bits` that no intent uses, as a short text: `bits 0x...`, or `bits above 1 << 25`
 * for a number with a bit set above every intent's.
 *
 * @since 0.1.0
 */
export const unknownBits = (bits: number): string => bits >= 2 ** 26 ? "bits above 1 << 25" : `bits 0x${(bits & ~all).toString(16)}`

// the input as a message shows it: a number's text as it is (NaN, 1e+21), anything else quoted and cut short
const echo = (input: string): string => /^(-?[\d.e+-]{1,24}|NaN|-?Infinity)$/.test(input) ? input : show(input)

// the input as the error keeps it
const given = (input: string): string => isQuotable(input) ? input : notShown(input)

const fromNumber = (bits: number, text: string): Either.Either<number, InvalidIntents> => {
  const input = given(text)
  // an integer past 2^53 is one still, with bits no intent uses (it was told it was no integer)
  if (!Number.isInteger(bits) || bits < 0) {
    return Either.left(
      new InvalidIntents({ reason: "NotABitField", input, message: `intents must be a non-negative integer, got ${echo(text)}` })
    )
  }
  if (!isValid(bits)) {
    return Either.left(
      new InvalidIntents({ reason: "UnknownBits", input, message: `intents ${echo(text)} has unknown ${unknownBits(bits)}` })
    )
  }
  return Either.right(bits)
}

/**
 * The intents named in `list`, each in PascalCase (`GuildMessages`) or SCREAMING_SNAKE
 * (`GUILD_MESSAGES`); fails on the first unknown name. A blank name (two commas in a row, or one
 * at an end, in a list split at commas) names nothing, as in `EventNames.config` and the fleet's
 * shard lists.
 *
 * @since 0.1.0
 */
export const fromNames = (list: Iterable<string>): Either.Either<number, InvalidIntents> => {
  let bits = 0
  for (const raw of list) {
    const name = raw.trim()
    if (name === "") continue
    const bit = lookup.get(normalize(name))
    if (bit === undefined) {
      return Either.left(new InvalidIntents({ reason: "UnknownName", input: given(name), message: `unknown intent name ${show(name)}` }))
    }
    bits |= bit
  }
  return Either.right(bits)
}

// what a list of commas alone is told
const onlyCommas = "no intent names, only commas"

/**
 * Reads intents from a number, a decimal string (`"513"`), or a comma list of names
 * (`"GUILD_MESSAGES,Guilds"`, a comma at an end or two in a row taken as one). An empty or blank
 * text means no intents, but commas alone are refused (a list whose names went missing); a
 * negative number is refused as a number, not as a name.
 *
 * @since 0.1.0
 */
export const parse = (text: string | number): Either.Either<number, InvalidIntents> => {
  if (typeof text === "number") return fromNumber(text, String(text))
  const trimmed = text.trim()
  if (trimmed === "") return Either.right(0)
  const listed = commaList(trimmed)
  if (Either.isLeft(listed)) return Either.left(new InvalidIntents({ reason: "NoNames", input: given(trimmed), message: onlyCommas }))
  const parts = listed.right
  // one item, a comma at an end or not (`513,` is 513): a number, or a name
  const single = parts.length === 1 ? parts[0] : undefined
  if (single !== undefined && /^-?\d+$/.test(single)) {
    // digits past what a number holds are a whole number still, past every intent (not Infinity)
    const number = Number(single)
    return fromNumber(number === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : number, single)
  }
  // no intent's name starts with a digit, a sign or a point: a number that is no whole number in
  // digits (1.5, 0x201, 1e3), not an unknown name
  if (single !== undefined && /^[-+.\d]/.test(single)) return fromNumber(Number.NaN, single)
  return fromNames(parts)
}

const expected = "Expected intents (a number, or names such as GUILDS,GUILD_MESSAGES)"

/**
 * Intents read from the config value `name` as {@link parse} reads them, a number or names:
 * `intents: Intents.config("DISCORD_INTENTS")`. An empty or blank value is a `ConfigError`, not
 * no intents, as a secret a CI run lacks arrives empty (`Config.integer` reads it as 0); a value
 * over 40 characters, or not printable ASCII, is not quoted.
 *
 * @since 0.1.0
 */
export const config = (name: string): Config.Config<number> =>
  Config.nested(
    Config.mapOrFail(Config.string(), (text) => {
      if (text.trim() === "") return Either.left(ConfigError.InvalidData([], `${expected} but received an empty value`))
      return Either.mapLeft(parse(text), (error) =>
        ConfigError.InvalidData(
          [],
          error.reason === "NoNames"
            ? `${expected} but received only commas`
            // a long value (the token, put in the wrong variable by mistake) only by its length
            : isQuotable(text)
            ? error.message
            : `${expected} but received ${notShown(text)}`
        ))
    }),
    name
  )
