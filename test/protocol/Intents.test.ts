import { describe, expect, it } from "@effect/vitest"
import { GatewayIntentBits } from "discord-api-types/v10"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Intents from "../../src/protocol/Intents.ts"

const right = <A, E>(either: Either.Either<A, E>): A => Either.getOrThrowWith(either, (e) => new Error(String(e)))
const left = <A, E>(either: Either.Either<A, E>): E => Either.getOrThrowWith(Either.flip(either), () => new Error("expected a failure"))

describe("Intents", () => {
  it("matches every bit of discord-api-types' GatewayIntentBits", () => {
    for (const [name, bit] of Object.entries(Intents.byName)) {
      expect(GatewayIntentBits[name as keyof typeof GatewayIntentBits]).toBe(bit)
    }
    const known = Object.entries(GatewayIntentBits).filter(([, v]) => typeof v === "number").reduce((all, [, v]) => all | (v as number), 0)
    expect(Intents.all).toBe(known)
  })

  it("combines with bitwise or and splits into privileged / non-privileged", () => {
    expect(Intents.Guilds | Intents.GuildMessages).toBe(513)
    expect(Intents.privileged).toBe(Intents.GuildMembers | Intents.GuildPresences | Intents.MessageContent)
    expect(Intents.nonPrivileged | Intents.privileged).toBe(Intents.all)
    expect(Intents.nonPrivileged & Intents.privileged).toBe(0)
    expect(Intents.hasPrivileged(Intents.nonPrivileged)).toBe(false)
    expect(Intents.hasPrivileged(Intents.Guilds | Intents.MessageContent)).toBe(true)
  })

  it("parses names in PascalCase and SCREAMING_SNAKE, with spaces", () => {
    expect(right(Intents.parse("GUILD_MESSAGES,Guilds"))).toBe(Intents.Guilds | Intents.GuildMessages)
    expect(right(Intents.parse(" MessageContent , DIRECT_MESSAGE_POLLS "))).toBe(Intents.MessageContent | Intents.DirectMessagePolls)
    expect(right(Intents.parse("GUILD_BANS,GuildEmojisAndStickers"))).toBe(Intents.GuildModeration | Intents.GuildExpressions)
    expect(right(Intents.fromNames(["AutoModerationExecution"]))).toBe(1 << 21)
    expect(right(Intents.fromNames([]))).toBe(0)
    expect(right(Intents.parse(""))).toBe(0)
  })

  // as EventNames.config and a fleet's shard list take them (a trailing comma was refused here)
  it("takes a comma at an end, or two in a row, as one", () => {
    expect(right(Intents.parse("Guilds,"))).toBe(Intents.Guilds)
    expect(right(Intents.parse("Guilds,,GuildMessages"))).toBe(Intents.Guilds | Intents.GuildMessages)
    expect(right(Intents.parse(", GUILDS , "))).toBe(Intents.Guilds)
    expect(right(Intents.fromNames(["", "Guilds", " "]))).toBe(Intents.Guilds)
    // a number too (it was called an unknown intent name), and a number that is none as such
    expect(right(Intents.parse("513,"))).toBe(513)
    expect(right(Intents.parse(", 0 ,"))).toBe(0)
    expect(left(Intents.parse("1.5,")).reason).toBe("NotABitField")
    // a number among names is a name no intent has, as before
    expect(left(Intents.parse("Guilds,513")).message).toBe('unknown intent name "513"')
  })

  it("parses numbers and decimal text", () => {
    expect(right(Intents.parse(513))).toBe(513)
    expect(right(Intents.parse("513"))).toBe(513)
    expect(right(Intents.parse(Intents.all))).toBe(Intents.all)
  })

  it("names the unknown name", () => {
    const error = left(Intents.parse("Guilds,GUILD_MESAGES"))
    expect(error._tag).toBe("InvalidIntents")
    expect(error.reason).toBe("UnknownName")
    expect(error.input).toBe("GUILD_MESAGES")
    expect(error.message).toBe('unknown intent name "GUILD_MESAGES"')
    // commas alone are no list (not `unknown intent name ""`)
    expect(left(Intents.parse(",")).message).toBe("no intent names, only commas")
    expect(left(Intents.parse(" , ,")).reason).toBe("NoNames")
    // a long name is cut in the message
    expect(left(Intents.fromNames(["x".repeat(100_000)])).message.length).toBeLessThan(100)
  })

  it("rejects unknown bits and non bit fields", () => {
    expect(left(Intents.parse(1 << 17)).reason).toBe("UnknownBits")
    expect(left(Intents.parse(1 << 17)).message).toBe("intents 131072 has unknown bits 0x20000")
    expect(left(Intents.parse(2 ** 40)).message).toContain("above")
    // past every intent's value, but with no bit above 25: the unused bit is named
    expect(Intents.unknownBits(Intents.all | (1 << 19))).toBe("bits 0x80000")
    expect(left(Intents.parse(String(Intents.all | (1 << 19)))).message).toBe(`intents ${Intents.all | (1 << 19)} has unknown bits 0x80000`)
    expect(Intents.unknownBits(2 ** 26)).toBe("bits above 1 << 25")
    // a whole number past 2^53 is one still: its bits are unknown (it was told it was no integer)
    expect(left(Intents.parse("9007199254740993")).message).toBe("intents 9007199254740993 has unknown bits above 1 << 25")
    expect(left(Intents.parse(2 ** 60)).reason).toBe("UnknownBits")
    expect(left(Intents.parse(Number.POSITIVE_INFINITY)).reason).toBe("NotABitField")
    // digits past what a number holds (it was Infinity, no integer)
    expect(left(Intents.parse("1" + "0".repeat(400))).reason).toBe("UnknownBits")
    expect(left(Intents.parse(-1)).reason).toBe("NotABitField")
    // a negative number given as text is a number, not an unknown name
    expect(left(Intents.parse("-1")).message).toBe("intents must be a non-negative integer, got -1")
    expect(left(Intents.parse(1.5)).reason).toBe("NotABitField")
    expect(left(Intents.parse(Number.NaN)).reason).toBe("NotABitField")
    // text that is a number but no whole number in digits: no intent's name starts so (it was an
    // unknown intent name "1.5")
    expect(left(Intents.parse("1.5")).message).toBe("intents must be a non-negative integer, got 1.5")
    expect(left(Intents.parse(" 1e3 ")).message).toBe("intents must be a non-negative integer, got 1e3")
    expect(left(Intents.parse("0x201")).message).toBe("intents must be a non-negative integer, got \"0x201\"")
    expect(left(Intents.parse("+513")).reason).toBe("NotABitField")
    expect(left(Intents.parse("1,Guilds")).reason).toBe("UnknownName")
    // a token put where intents go: the error keeps it by its length only, in `input` as in its
    // message (`input` held it whole, shown wherever the error was inspected)
    const token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.SECRET.token-value-xyz-abcdefghijklmnop"
    for (const text of [token, `Guilds,${token}`, "9".repeat(60)]) {
      const error = left(Intents.parse(text))
      expect(error.input).toBe(`a value of ${text.split(",").at(-1)!.length} characters (not shown)`)
      expect(JSON.stringify(error) + error.message).not.toContain(text.split(",").at(-1)!.slice(0, 20))
    }
    expect(left(Intents.parse("GUILD_MESAGES")).input).toBe("GUILD_MESAGES")
  })

  it("checks validity", () => {
    expect(Intents.isValid(0)).toBe(true)
    expect(Intents.isValid(Intents.all)).toBe(true)
    expect(Intents.isValid(Intents.all + 1)).toBe(false)
    expect(Intents.isValid(1 << 18)).toBe(false)
    expect(Intents.isValid(-1)).toBe(false)
    expect(Intents.isValid(0.5)).toBe(false)
  })

  it("names bits in bit order, leaving out unknown ones", () => {
    expect(Intents.names(Intents.GuildMessages | Intents.Guilds | (1 << 30))).toEqual(["Guilds", "GuildMessages"])
    expect(Intents.format(Intents.privileged)).toBe("GuildMembers,GuildPresences,MessageContent")
    expect(Intents.format(0)).toBe("")
  })

  const validBits = FastCheck.subarray(Object.values(Intents.byName)).map((bits) => bits.reduce((a, b) => a | b, 0))

  it.prop("format then parse gives the same bits", [validBits], ([bits]) => {
    expect(right(Intents.parse(Intents.format(bits)))).toBe(bits)
    expect(right(Intents.fromNames(Intents.names(bits)))).toBe(bits)
    expect(right(Intents.parse(String(bits)))).toBe(bits)
  })

  it.prop("SCREAMING_SNAKE names parse like PascalCase ones", [validBits], ([bits]) => {
    const snake = Intents.names(bits).map((name) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase())
    expect(right(Intents.fromNames(snake))).toBe(bits)
  })
})

describe("Intents.config", () => {
  const read = (value: string | undefined) =>
    Intents.config("DISCORD_INTENTS").pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(value === undefined ? [] : [["DISCORD_INTENTS", value]]))),
      Effect.either
    )
  const message = (result: Either.Either<number, ConfigError.ConfigError>) => Either.isLeft(result) ? String(result.left) : undefined

  it.effect("reads a number or names, as parse does", () =>
    Effect.gen(function*() {
      expect(yield* read("513")).toEqual(Either.right(513))
      expect(yield* read(" GUILDS, GuildMessages ")).toEqual(Either.right(Intents.Guilds | Intents.GuildMessages))
      // a trailing comma, as EventNames.config and FleetOptions.shardsConfig take it (it was refused)
      expect(yield* read("GUILDS,GUILD_MESSAGES,")).toEqual(Either.right(Intents.Guilds | Intents.GuildMessages))
      expect(message(yield* read(" ,, "))).toContain("Expected intents (a number, or names such as GUILDS,GUILD_MESSAGES) but received only commas")
      expect(yield* read("513,")).toEqual(Either.right(513))
    }))

  it.effect("refuses an empty value (a secret a CI run lacks arrives empty: Config.integer reads it as 0), naming the key", () =>
    Effect.gen(function*() {
      for (const empty of ["", "  "]) {
        expect(message(yield* read(empty))).toContain("DISCORD_INTENTS")
        expect(message(yield* read(empty))).toContain("but received an empty value")
      }
      expect(message(yield* read(undefined))).toContain("Expected DISCORD_INTENTS to exist")
    }))

  it.effect("quotes a value that is not intents only when short: the token, put there by mistake, is not", () =>
    Effect.gen(function*() {
      expect(message(yield* read("GUILDZ"))).toContain(`unknown intent name "GUILDZ"`)
      expect(message(yield* read("1099511627776"))).toContain("unknown bits above 1 << 25")
      const token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"
      const refused = message(yield* read(token))
      expect(refused).toContain(`a value of ${token.length} characters (not shown)`)
      expect(refused).not.toContain(token.slice(0, 12))
    }))
})
