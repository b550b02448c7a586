import { describe, expect, it } from "@effect/vitest"
import { ActivityType, type GatewayPresenceUpdateData, PresenceUpdateStatus } from "discord-api-types/v10"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as util from "node:util"
import * as Zlib from "node:zlib"
import type { Encoding } from "../../src/codec/Encoding.ts"
import * as Etf from "../../src/codec/Etf.ts"
import * as Json from "../../src/codec/Json.ts"
import * as Commands from "../../src/protocol/Commands.ts"
import * as Intents from "../../src/protocol/Intents.ts"

const secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.SECRET.token-value-xyz"
const token = Redacted.make(secret)

const right = <A, E>(either: Either.Either<A, E>): A => Either.getOrThrowWith(either, (e) => new Error(String(e)))
const failure = (command: Commands.Command): Commands.InvalidCommand =>
  Either.getOrThrowWith(Either.flip(Commands.encode(command)), () => new Error("expected a failure"))
const messageOf = (command: Commands.Command): string => failure(command).message

const identify = (overrides: Partial<Omit<Commands.Identify, "_tag">> = {}) =>
  Commands.identify({
    token,
    properties: { os: "linux", browser: "effect-discord-gateway", device: "effect-discord-gateway" },
    intents: Intents.Guilds | Intents.GuildMessages,
    ...overrides
  })

const members = (fields: Omit<Commands.RequestGuildMembers, "_tag">) => Commands.requestGuildMembers(fields)

describe("Commands.encode: exact wire JSON", () => {
  it("Identify", () => {
    expect(right(Commands.encode(identify({ shard: [1, 4], large_threshold: 100, compress: false })))).toBe(
      `{"op":2,"d":{"token":"${secret}","properties":{"os":"linux","browser":"effect-discord-gateway","device":"effect-discord-gateway"},"intents":513,"shard":[1,4],"large_threshold":100,"compress":false}}`
    )
  })

  it("Identify with a presence", () => {
    const presence = { since: null, activities: [{ name: "chess", type: 0 }], status: "idle", afk: false } as const
    expect(JSON.parse(right(Commands.encode(identify({ presence })))).d.presence).toEqual(presence)
  })

  it("Resume", () => {
    expect(right(Commands.encode(Commands.resume({ token, session_id: "abc", seq: 42 })))).toBe(
      `{"op":6,"d":{"token":"${secret}","session_id":"abc","seq":42}}`
    )
  })

  it("Heartbeat", () => {
    expect(right(Commands.encode(Commands.heartbeat(null)))).toBe(`{"op":1,"d":null}`)
    expect(right(Commands.encode(Commands.heartbeat(251)))).toBe(`{"op":1,"d":251}`)
  })

  it("Presence Update", () => {
    const command = Commands.presenceUpdate({
      since: 91879201,
      activities: [{ name: "Save the Oxford Comma", type: 0 }, { name: "s", type: 1, url: "https://twitch.tv/x", state: "live" }],
      status: "online",
      afk: false
    })
    expect(right(Commands.encode(command))).toBe(
      `{"op":3,"d":{"since":91879201,"activities":[{"name":"Save the Oxford Comma","type":0},{"name":"s","type":1,"state":"live","url":"https://twitch.tv/x"}],"status":"online","afk":false}}`
    )
  })

  it("Voice State Update", () => {
    const join = Commands.voiceStateUpdate({ guild_id: "41771983423143937", channel_id: "127121515262115840", self_mute: false, self_deaf: true })
    expect(right(Commands.encode(join))).toBe(
      `{"op":4,"d":{"guild_id":"41771983423143937","channel_id":"127121515262115840","self_mute":false,"self_deaf":true}}`
    )
    const leave = Commands.voiceStateUpdate({ guild_id: "1", channel_id: null, self_mute: false, self_deaf: false })
    expect(right(Commands.encode(leave))).toBe(`{"op":4,"d":{"guild_id":"1","channel_id":null,"self_mute":false,"self_deaf":false}}`)
  })

  it("Request Guild Members", () => {
    expect(right(Commands.encode(members({ guild_id: "41771983444115456", query: "", limit: 0 })))).toBe(
      `{"op":8,"d":{"guild_id":"41771983444115456","query":"","limit":0}}`
    )
    expect(right(Commands.encode(members({ guild_id: "1", user_ids: ["2", "3"], presences: true, nonce: "n1" })))).toBe(
      `{"op":8,"d":{"guild_id":"1","user_ids":["2","3"],"presences":true,"nonce":"n1"}}`
    )
  })

  it("Request Soundboard Sounds and Request Channel Info", () => {
    expect(right(Commands.encode(Commands.requestSoundboardSounds(["613425648685547541", "81384788765712384"])))).toBe(
      `{"op":31,"d":{"guild_ids":["613425648685547541","81384788765712384"]}}`
    )
    expect(right(Commands.encode(Commands.requestChannelInfo({ guild_id: "5", fields: ["status", "voice_start_time"] })))).toBe(
      `{"op":43,"d":{"guild_id":"5","fields":["status","voice_start_time"]}}`
    )
  })

  // a misspelt field (`presence` for `presences`) was dropped unseen, the request sent without it
  it("refuses fields a command does not have, naming the field, never its value", () => {
    const sneaky = { ...Commands.heartbeat(1), extra: secret } as Commands.Command
    const refused = Either.flip(Commands.encode(sneaky))
    expect(Either.isRight(refused) && refused.right.message).toBe(`Heartbeat: extra is unexpected, expected: "_tag" | "seq"`)
    const misspelt = Commands.requestGuildMembers({ guild_id: "81384788765712384", query: "", limit: 0, ...{ presence: true } })
    expect(Either.getLeft(Commands.validate(misspelt)).pipe(Option.map((error) => error.message))).toEqual(Option.some(
      `RequestGuildMembers: presence is unexpected, expected: "_tag" | "guild_id" | "query" | "limit" | "user_ids" | "presences" | "nonce"`
    ))
    // what is never sent is no unexpected field: one holding undefined, a symbol key (a state
    // library's, hidden): they were refused as such
    const tracked = Object.defineProperty({ name: "chess", type: 0, ...{ details: undefined } }, Symbol("store"), { value: {}, enumerable: false })
    const presence = Commands.presenceUpdate({ since: null, activities: [tracked], status: "idle", afk: false })
    expect(right(Commands.encode(presence))).toBe(`{"op":3,"d":{"since":null,"activities":[{"name":"chess","type":0}],"status":"idle","afk":false}}`)
  })

  it("takes an optional field given as undefined as absent, and leaves it out in JSON and in ETF", () => {
    // what a program passes whose optional value may be missing (without exactOptionalPropertyTypes,
    // TypeScript's default, a field typed `string | undefined` may go into an optional field)
    const missing = <A>(value?: A): A | undefined => value
    const activity: Commands.Activity = { name: "chess", type: 0, state: missing<string>(), url: missing<string>() }
    const pairs: ReadonlyArray<readonly [Commands.Command, Commands.Command]> = [
      [
        Commands.presenceUpdate({ since: null, activities: [activity], status: "idle", afk: false }),
        Commands.presenceUpdate({ since: null, activities: [{ name: "chess", type: 0 }], status: "idle", afk: false })
      ],
      [
        identify({
          shard: missing<readonly [number, number]>(),
          large_threshold: missing<number>(),
          compress: missing<boolean>(),
          presence: { since: null, activities: [activity], status: "online", afk: false }
        }),
        identify({ presence: { since: null, activities: [{ name: "chess", type: 0 }], status: "online", afk: false } })
      ],
      [identify({ presence: missing<Commands.Presence>() }), identify()],
      [
        members({ guild_id: "5", query: "", limit: 0, user_ids: missing<ReadonlyArray<string>>(), presences: missing<boolean>(), nonce: missing<string>() }),
        members({ guild_id: "5", query: "", limit: 0 })
      ],
      [members({ guild_id: "5", query: missing<string>(), limit: missing<number>(), user_ids: ["1"] }), members({ guild_id: "5", user_ids: ["1"] })]
    ]
    for (const [given, absent] of pairs) {
      const json = right(Commands.encode(given))
      expect(json).toBe(right(Commands.encode(absent)))
      expect(right(Commands.encode(given, Etf.encoding))).toEqual(right(Commands.encode(absent, Etf.encoding)))
    }
    expect(right(Commands.encode(pairs[0]![0]))).toBe(
      `{"op":3,"d":{"since":null,"activities":[{"name":"chess","type":0}],"status":"idle","afk":false}}`
    )
    // a value that is there is still checked, with one reason
    expect(messageOf(Commands.presenceUpdate({ since: null, activities: [{ name: "chess", type: 0, state: 5 as unknown as string }], status: "idle", afk: false })))
      .toBe("PresenceUpdate: activities[0].state must be a string or null, got 5")
  })

  it("an activity's state and url may be null, as Discord's ?string and discord-api-types have them", () => {
    const presence: GatewayPresenceUpdateData = {
      since: null,
      activities: [{ name: "stream", type: ActivityType.Streaming, state: null, url: null }],
      status: PresenceUpdateStatus.Online,
      afk: false
    }
    expect(right(Commands.encode(Commands.presenceUpdate(presence)))).toBe(
      `{"op":3,"d":{"since":null,"activities":[{"name":"stream","type":1,"state":null,"url":null}],"status":"online","afk":false}}`
    )
  })
})

describe("Commands.encode: text Discord can read", () => {
  // a name cut with .slice through an emoji went out as the escape "\ud83c", which no UTF-8
  // reader takes (a 4002 decode error; a presence kept for the next Identify would be refused
  // again), where ETF sent U+FFFD: both send U+FFFD now
  it("a lone surrogate goes out as U+FFFD over JSON, as over ETF; a pair, and a backslash before a 'u', as given", () => {
    const cut = "chess ♟️🏆".slice(0, -1)
    const command = Commands.presenceUpdate({ since: null, activities: [{ name: cut, type: 0, state: "\\ud800 is text" }], status: "idle", afk: false })
    const sent = JSON.parse(right(Commands.encode(command))).d.activities[0]
    expect(sent).toEqual({ name: "chess ♟️\ufffd", type: 0, state: "\\ud800 is text" })
    const etf = Etf.decode(right(Commands.encode(command, Etf.encoding)) as Uint8Array) as { d: { activities: ReadonlyArray<unknown> } }
    expect(etf.d.activities[0]).toEqual(sent)
    // lone halves anywhere: both orders, side by side, before a pair, after a backslash
    for (
      const [text, expected] of [
        ["\ud83c", "\ufffd"],
        ["\udfc6", "\ufffd"],
        ["a\udfc6\ud83cb", "a\ufffd\ufffdb"],
        ["\udfc6\ud83c🏆", "\ufffd\ufffd🏆"],
        ["\\\ud83c\\\\\udfc6", "\\\ufffd\\\\\ufffd"]
      ]
    ) {
      const json = right(Commands.encode(members({ guild_id: "1", query: text!, limit: 1 })))
      expect(JSON.parse(json).d.query).toBe(expected)
    }
  })
})

describe("Commands: validation", () => {
  it("large_threshold 50 to 250", () => {
    expect(Either.isRight(Commands.encode(identify({ large_threshold: 50 })))).toBe(true)
    expect(Either.isRight(Commands.encode(identify({ large_threshold: 250 })))).toBe(true)
    expect(messageOf(identify({ large_threshold: 49 }))).toBe("Identify: large_threshold must be an integer between 50 and 250, got 49")
    expect(messageOf(identify({ large_threshold: 251 }))).toBe("Identify: large_threshold must be an integer between 50 and 250, got 251")
    expect(messageOf(identify({ large_threshold: 300 }))).toContain("got 300")
    expect(failure(identify({ large_threshold: 300 }))).toMatchObject({ _tag: "InvalidCommand", reason: "Invalid", command: "Identify" })
  })

  it("shard id below the count", () => {
    expect(Either.isRight(Commands.encode(identify({ shard: [0, 1] })))).toBe(true)
    expect(Either.isRight(Commands.encode(identify({ shard: [15, 16] })))).toBe(true)
    expect(messageOf(identify({ shard: [3, 3] }))).toBe("Identify: shard must have shard_id below shard_count, got [3, 3]")
    expect(messageOf(identify({ shard: [-1, 3] }))).toContain("shard must be a [shard_id, shard_count] pair")
    expect(messageOf(identify({ shard: [0, 0] }))).toContain("shard must be a [shard_id, shard_count] pair")
    // values cast past the types are named, not serialized (JSON.stringify threw on bigints)
    expect(messageOf(identify({ shard: [0n, 1n] as never }))).toBe(
      "Identify: shard must be a [shard_id, shard_count] pair of non-negative integers, got [bigint, bigint]"
    )
  })

  it("intents with unknown bits", () => {
    expect(messageOf(identify({ intents: 1 << 17 }))).toBe("Identify: intents must be a bit field of known intents, got 131072")
    expect(Either.isRight(Commands.encode(identify({ intents: 0 })))).toBe(true)
  })

  it("a token that is not Redacted is refused without being shown", () => {
    const raw = { ...identify(), token: secret } as unknown as Commands.Command
    const error = failure(raw)
    expect(error.message).toBe("Identify: token must be a non-empty Redacted<string> (Redacted.make(token))")
    expect(messageOf(identify({ token: Redacted.make("") }))).toContain("token must be a non-empty")
  })

  it("a token with its REST prefix, surrounding whitespace or a character no token has is refused, and not shown", () => {
    for (const given of [`Bot ${secret}`, `bot\t${secret}`]) {
      const message = messageOf(identify({ token: Redacted.make(given) }))
      expect(message).toBe("Identify: token must be the bare token, without the \"Bot \" prefix of the REST header (Session.token(text) drops it)")
    }
    for (const given of [`${secret}\n`, ` ${secret}`]) {
      expect(messageOf(Commands.resume({ token: Redacted.make(given), session_id: "s", seq: 1 }))).toBe(
        "Resume: token must not begin or end with whitespace"
      )
    }
    // an invisible or control character inside: no HTTP client would send it in a header
    for (const given of [`${secret}\u200b`, `${secret.slice(0, 10)}\n${secret.slice(10)}`, `${secret.slice(0, 10)} x`, `\u0001${secret}`]) {
      expect(messageOf(identify({ token: Redacted.make(given) }))).toBe(
        "Identify: token must be printable ASCII without spaces, as Discord's tokens are"
      )
    }
    // a token that merely starts with the letters is a token
    expect(Either.isRight(Commands.encode(identify({ token: Redacted.make(`Bot${secret}`) })))).toBe(true)
  })

  it("presence rules", () => {
    const presence = (p: Partial<Commands.Presence>) =>
      Commands.presenceUpdate({ since: null, activities: [], status: "online", afk: false, ...p })
    expect(messageOf(presence({ status: "away" as Commands.Status }))).toBe(
      `PresenceUpdate: status must be one of online, dnd, idle, invisible, offline, got "away"`
    )
    expect(messageOf(presence({ activities: [{ name: "x", type: 6 }] }))).toBe(
      "PresenceUpdate: activities[0].type must be an integer between 0 and 5, got 6"
    )
    expect(messageOf(presence({ since: -5 }))).toBe("PresenceUpdate: since must be null or a Unix time in milliseconds, got -5")
    for (const type of [0, 1, 2, 3, 4, 5]) {
      expect(Either.isRight(Commands.encode(presence({ activities: [{ name: "x", type }] })))).toBe(true)
    }
  })

  it("snowflakes are strings of up to 20 digits that fit in 64 bits", () => {
    const voice = (guild_id: string, channel_id: string | null) =>
      Commands.voiceStateUpdate({ guild_id, channel_id, self_mute: false, self_deaf: false })
    expect(messageOf(voice("12a", null))).toBe(`VoiceStateUpdate: guild_id must be a snowflake (up to 20 digits, no leading zero, below 2^64), got "12a"`)
    expect(messageOf(voice("", null))).toContain("guild_id must be a snowflake")
    expect(messageOf(voice("1", "x"))).toContain("channel_id must be a snowflake (up to 20 digits, no leading zero, below 2^64) or null")
    expect(messageOf(voice(123 as unknown as string, null))).toContain("got 123")
    // 64 bits, as the fleet's routing counts them
    expect(Either.isRight(Commands.encode(voice(String(2n ** 64n - 1n), null)))).toBe(true)
    expect(messageOf(voice(String(2n ** 64n), null))).toContain("guild_id must be a snowflake (up to 20 digits, no leading zero, below 2^64)")
    // Discord names an id without one: a member request's answers, naming "81...", were refused
    // as another guild's than "081..."
    expect(messageOf(voice("081384788765712384", null))).toContain("guild_id must be a snowflake (up to 20 digits, no leading zero, below 2^64)")
    expect(Either.isRight(Commands.encode(voice("0", null)))).toBe(true)
  })

  it("Request Guild Members: exactly one of query or user_ids", () => {
    expect(messageOf(members({ guild_id: "1", query: "a", limit: 1, user_ids: ["2"] }))).toBe(
      "RequestGuildMembers: must have either query (with limit) or user_ids, not both"
    )
    expect(messageOf(members({ guild_id: "1" }))).toBe("RequestGuildMembers: must have either query (with limit) or user_ids")
    expect(messageOf(members({ guild_id: "1", query: "a" }))).toBe("RequestGuildMembers: limit is required with query")
    expect(messageOf(members({ guild_id: "1", user_ids: ["2"], limit: 3 }))).toBe("RequestGuildMembers: limit is only allowed with query")
  })

  it("Request Guild Members: 100 user ids at most", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(100000 + i))
    expect(Either.isRight(Commands.encode(members({ guild_id: "1", user_ids: ids(100) })))).toBe(true)
    expect(messageOf(members({ guild_id: "1", user_ids: ids(101) }))).toBe("RequestGuildMembers: user_ids must list 1 to 100 user ids, got 101")
    expect(messageOf(members({ guild_id: "1", user_ids: [] }))).toBe("RequestGuildMembers: user_ids must list 1 to 100 user ids, got 0")
    expect(messageOf(members({ guild_id: "1", user_ids: ["1", "x"] }))).toBe(
      `RequestGuildMembers: user_ids[1] must be a snowflake (up to 20 digits, no leading zero, below 2^64), got "x"`
    )
  })

  // checked item by item, 2^20 holes took about 4 s to refuse (a running bot's presence update
  // stalled that long), and 2^32 - 1 ran out of memory (rereview104)
  it("a list longer than a payload holds is refused before its items are read", () => {
    const activities = new Array(2 ** 32 - 1) as unknown as Commands.Presence["activities"]
    const presence = Commands.presenceUpdate({ since: null, activities, status: "online", afk: false })
    expect(messageOf(presence)).toBe("PresenceUpdate: activities lists 4294967295 items, over the 4096 a payload holds")
    expect(messageOf(members({ guild_id: "1", user_ids: new Array<string>(5000).fill("1") }))).toBe(
      "RequestGuildMembers: user_ids lists 5000 items, over the 4096 a payload holds"
    )
    // and counted over the whole value: many lists within the bound, an object of many keys
    const wide = Object.fromEntries(Array.from({ length: 2 ** 17 }, (_, i) => [`k${i}`, i]))
    const many = Array.from({ length: 8 }, () => ({ name: "x", type: 0, extra: new Array(1000) }))
    for (const activities of [[{ name: "x", type: 0, ...wide }], many]) {
      expect(messageOf(Commands.presenceUpdate({ since: null, activities: activities as never, status: "online", afk: false }))).toBe(
        "PresenceUpdate: the value holds more than 4096 list items and keys in all, over what a payload holds"
      )
    }
  })

  it("Request Guild Members: nonce of at most 32 UTF-8 bytes", () => {
    const withNonce = (nonce: string) => members({ guild_id: "1", query: "", limit: 0, nonce })
    expect(Either.isRight(Commands.encode(withNonce("a".repeat(32))))).toBe(true)
    expect(messageOf(withNonce("a".repeat(33)))).toBe("RequestGuildMembers: nonce must be at most 32 bytes of UTF-8, got 33")
    // "é" is 2 bytes, "😀" 4: 16 x "é" = 32 bytes, 8 x "😀" = 32 bytes.
    expect(Either.isRight(Commands.encode(withNonce("é".repeat(16))))).toBe(true)
    expect(Either.isRight(Commands.encode(withNonce("😀".repeat(8))))).toBe(true)
    expect(messageOf(withNonce("é".repeat(16) + "a"))).toContain("got 33")
    expect(messageOf(withNonce("😀".repeat(8) + "a"))).toContain("got 33")
    expect(messageOf(withNonce("a".repeat(30) + "€"))).toContain("got 33")
  })

  it("Request Soundboard Sounds and Request Channel Info need at least one entry", () => {
    expect(messageOf(Commands.requestSoundboardSounds([]))).toBe("RequestSoundboardSounds: guild_ids must list at least 1 guild ids, got none")
    expect(messageOf(Commands.requestChannelInfo({ guild_id: "1", fields: [] }))).toBe(
      "RequestChannelInfo: fields must list at least 1 fields, got none"
    )
    expect(messageOf(Commands.requestChannelInfo({ guild_id: "1", fields: ["topic" as Commands.ChannelInfoField] }))).toBe(
      `RequestChannelInfo: fields[0] must be "status" or "voice_start_time", got "topic"`
    )
  })

  it("Resume and Heartbeat rules", () => {
    expect(messageOf(Commands.resume({ token, session_id: "", seq: 1 }))).toBe(
      "Resume: session_id must be a non-empty string of at most 256 characters, got \"\""
    )
    expect(messageOf(Commands.resume({ token, session_id: "s".repeat(257), seq: 1 }))).toBe("Resume: session_id must be a non-empty string of at most 256 characters, got a value of 257 characters (not shown)")
    expect(messageOf(Commands.resume({ token, session_id: "s", seq: -1 }))).toBe("Resume: seq must be a non-negative integer, got -1")
    expect(messageOf(Commands.heartbeat(1.5))).toBe("Heartbeat: seq must be null or a non-negative integer, got 1.5")
  })

  it("a command with an unknown _tag", () => {
    const bogus = { _tag: "Shutdown" } as unknown as Commands.Command
    expect(failure(bogus)).toMatchObject({ command: "Shutdown", message: "Shutdown: not a gateway command" })
    expect(failure(secret as unknown as Commands.Command).message).toBe("command: not a gateway command")
  })
})

describe("Commands: the builders' tags", () => {
  // a `_tag` among the fields (from JavaScript) chose the opcode: a voice state given a heartbeat's
  // tag went out as op 1, channel info given Identify's fields and tag as a second op 2
  it("a builder's command is its own whatever `_tag` its fields carry, and the fields it does not take are refused", () => {
    const smuggle = <F>(fields: object): F => fields as F
    const voice = Commands.voiceStateUpdate(smuggle({ _tag: "Heartbeat", seq: 12345 }))
    expect(voice._tag).toBe("VoiceStateUpdate")
    expect(failure(voice).command).toBe("VoiceStateUpdate")
    const identifyFields = { _tag: "Identify", token, properties: { os: "l", browser: "b", device: "d" }, intents: 1 }
    const channelInfo = Commands.requestChannelInfo(smuggle(identifyFields))
    expect(channelInfo._tag).toBe("RequestChannelInfo")
    expect(failure(channelInfo).command).toBe("RequestChannelInfo")
    expect(Commands.presenceUpdate(smuggle({ _tag: "Resume", since: null, activities: [], status: "online", afk: false }))._tag).toBe("PresenceUpdate")
    expect(Commands.requestGuildMembers(smuggle({ _tag: "Identify", guild_id: "1", query: "", limit: 0, nonce: "n" }))._tag).toBe("RequestGuildMembers")
    expect(Commands.identify(smuggle({ ...identifyFields, _tag: "Resume" }))._tag).toBe("Identify")
    expect(Commands.resume(smuggle({ _tag: "Identify", token, session_id: "s", seq: 1 }))._tag).toBe("Resume")
  })
})

describe("Commands: payload size", () => {
  it("a Resume with the longest session id taken fits in a payload, whatever its characters", () => {
    for (const unit of ["\u0000", "\u2028", "é", "x"]) {
      const resume = Commands.resume({ token, session_id: unit.repeat(Commands.maxSessionIdLength), seq: Number.MAX_SAFE_INTEGER })
      expect(Either.isRight(Commands.encode(resume))).toBe(true)
      expect(Either.isRight(Commands.encode(resume, Etf.encoding))).toBe(true)
    }
  })

  const named = (name: string) => Commands.presenceUpdate({ since: null, activities: [{ name, type: 0 }], status: "online", afk: false })
  const base = right(Commands.encode(named(""))).length

  it("accepts 4096 bytes and refuses 4097", () => {
    expect(right(Commands.encode(named("x".repeat(4096 - base)))).length).toBe(4096)
    const error = failure(named("x".repeat(4097 - base)))
    expect(error.reason).toBe("TooLarge")
    expect(error.message).toBe("PresenceUpdate: payload is 4097 bytes, the limit is 4096")
  })

  it("refuses a long list of ids", () => {
    const ids = Array.from({ length: 250 }, (_, i) => String(10 ** 17 + i))
    expect(failure(Commands.requestSoundboardSounds(ids))).toMatchObject({ reason: "TooLarge", command: "RequestSoundboardSounds" })
  })

  // a list over 4096 bytes was refused: a bot asked for its sounds about 180 guilds at a time
  describe("a soundboard request's list in as many frames as it needs", () => {
    const ids = (count: number, digits = 18) => Array.from({ length: count }, (_, i) => String(10n ** BigInt(digits - 1) + BigInt(i)))
    const bytes = (payload: string | Uint8Array) => typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength
    // the most ids of `digits` digits one frame holds in `encoding`
    const perFrame = (encoding: Encoding, digits: number) => {
      let most = 1
      while (Either.isRight(Commands.encode(Commands.requestSoundboardSounds(ids(most + 1, digits)), encoding))) most++
      return most
    }

    it("a list that fits is one frame, as encode writes it", () => {
      const list = ids(3)
      expect(right(Commands.soundboardParts(list, Json.encoding))).toEqual([{
        checked: Commands.requestSoundboardSounds(list),
        payload: right(Commands.encode(Commands.requestSoundboardSounds(list)))
      }])
    })

    it("a longer one: the fewest frames that fit, each full but the last, each under the limit, the ids in order", () => {
      for (const encoding of [Json.encoding, Etf.encoding]) {
        for (const digits of [17, 19]) {
          const most = perFrame(encoding, digits)
          for (const count of [most + 1, 2500, 5 * most, 20_000]) {
            const list = ids(count, digits)
            const parts = right(Commands.soundboardParts(list, encoding))
            expect(parts).toHaveLength(Math.ceil(count / most))
            expect(parts.every((part) => bytes(part.payload) <= Commands.maxPayloadBytes)).toBe(true)
            expect(parts.flatMap((part) => part.checked.guild_ids)).toEqual(list)
            expect(parts.slice(0, -1).every((part) => part.checked.guild_ids.length === most)).toBe(true)
            for (const part of parts) {
              expect(part.payload).toEqual(right(Commands.encode(part.checked, encoding)))
            }
          }
        }
      }
    })

    // the list was cut into even parts, one more at a time, each try encoded whole: where the longer
    // ids came last (guilds sorted by id: old ones of 17 digits, new ones of 19), each try failed
    // only at its last parts, and a million ids held the event loop for over a minute
    it("ids of mixed lengths, the longer last: each id encoded about three times (the whole list, then each frame twice), frames full to the limit", () => {
      let encoded = 0
      const counting: Encoding = {
        ...Json.encoding,
        encode: (payload) => {
          encoded += (payload as { readonly d: { readonly guild_ids?: ReadonlyArray<string> } }).d.guild_ids?.length ?? 0
          return Json.encoding.encode(payload)
        }
      }
      const list = [...ids(90_000, 17), ...ids(10_000, 19)]
      const parts = right(Commands.soundboardParts(list, counting))
      expect(encoded / list.length).toBeLessThan(4)
      expect(parts.flatMap((part) => part.checked.guild_ids)).toEqual(list)
      // each frame but the last has no room for the next id
      for (let at = 0; at < parts.length - 1; at++) {
        const next = parts[at + 1]!.checked.guild_ids[0]!
        expect(bytes(parts[at]!.payload)).toBeLessThanOrEqual(Commands.maxPayloadBytes)
        expect(Commands.encode(Commands.requestSoundboardSounds([...parts[at]!.checked.guild_ids, next]))).toMatchObject({ _tag: "Left" })
      }
    })

    const fits = (list: ReadonlyArray<string>, encoding: Encoding) =>
      Either.isRight(Commands.encode(Commands.requestSoundboardSounds(list), encoding))
    // the fewest frames that fit, in the list's order: each frame filled until the next id no longer fits
    const fewest = (list: ReadonlyArray<string>, encoding: Encoding): number => {
      let frames = 0
      for (let from = 0; from < list.length; frames++) {
        let to = from + 1
        while (to < list.length && fits(list.slice(from, to + 1), encoding)) to++
        from = to
      }
      return frames
    }

    // encodings of the program's own whose sizes do not add up exactly, as the README allows
    // (`encoding`: "an encoding of the program's own")
    // - JSON sent as base64 text (a proxy or relay that only carries 7-bit text): 4 bytes per 3
    const base64: Encoding = { ...Json.encoding, encode: (payload) => Buffer.from(Json.encoding.encode(payload) as string).toString("base64") }
    // - JSON padded to 256-byte blocks (a framing that aligns its records)
    const blocks: Encoding = {
      ...Json.encoding,
      encode: (payload) => {
        const text = Json.encoding.encode(payload) as string
        return text.padEnd(Math.ceil(text.length / 256) * 256)
      }
    }
    // - JSON deflated, then base64 (repeats compress: [id, id] costs far less than two distinct ids)
    const deflated: Encoding = {
      ...Json.encoding,
      encode: (payload) => Zlib.deflateRawSync(Buffer.from(Json.encoding.encode(payload) as string)).toString("base64")
    }

    // a frame whose estimate overshot by a few bytes was halved, not trimmed: it went out half full,
    // and a list took up to twice the frames (each waiting for a send slot)
    it("an encoding whose sizes do not add up exactly (base64 text, 256-byte blocks), ids of 17 and 20 digits: the fewest frames that fit", () => {
      const list = [...ids(2000, 17), ...ids(2000, 20)]
      const counts = [base64, blocks].map((encoding) => ({
        frames: Either.getOrThrow(Commands.soundboardParts(list, encoding)).length,
        fewest: fewest(list, encoding)
      }))
      expect(counts).toEqual(counts.map(({ fewest }) => ({ frames: fewest, fewest })))
    })

    // with a block padded encoding, [id] and [id, id] were the same size: every id was counted at 0
    // bytes, the whole list was one frame, and halving encoded the whole list once per level (about
    // 13 times for 10^5)
    it("an encoding padded to blocks: a long list is encoded about three times, not once per halving", () => {
      let encoded = 0
      const counting: Encoding = {
        ...blocks,
        encode: (payload) => {
          encoded += (payload as { readonly d: { readonly guild_ids?: ReadonlyArray<string> } }).d.guild_ids?.length ?? 0
          return blocks.encode(payload)
        }
      }
      const list = ids(100_000, 18)
      const parts = Either.getOrThrow(Commands.soundboardParts(list, counting))
      expect(parts.flatMap((part) => part.checked.guild_ids)).toEqual(list)
      expect(encoded / list.length).toBeLessThan(4)
    })

    it("every frame fits and the ids go out once each, in order: JSON, ETF, and encodings whose sizes do not add up", () => {
      // lengths 17 to 20, interleaved: `empty` re-measured at each new length
      const mixed = Array.from({ length: 3000 }, (_, i) => String(10n ** BigInt(16 + (i * 7) % 4) + BigInt(i)))
      for (const encoding of [Json.encoding, Etf.encoding, base64, blocks, deflated]) {
        const parts = Either.getOrThrow(Commands.soundboardParts(mixed, encoding))
        expect(parts.flatMap((part) => part.checked.guild_ids)).toEqual(mixed)
        expect(parts.every((part) => bytes(part.payload) <= Commands.maxPayloadBytes)).toBe(true)
        for (const part of parts) expect(part.payload).toEqual(Either.getOrThrow(Commands.encode(part.checked, encoding)))
      }
    })

    it("JSON and ETF, ids of 17 to 20 digits interleaved: each frame full (the next id does not fit)", () => {
      const mixed = Array.from({ length: 3000 }, (_, i) => String(10n ** BigInt(16 + (i * 7) % 4) + BigInt(i)))
      for (const encoding of [Json.encoding, Etf.encoding]) {
        const parts = Either.getOrThrow(Commands.soundboardParts(mixed, encoding))
        for (let at = 0; at < parts.length - 1; at++) {
          expect(fits([...parts[at]!.checked.guild_ids, parts[at + 1]!.checked.guild_ids[0]!], encoding)).toBe(false)
        }
      }
    })

    it("refuses a list without ids, with one that is no snowflake, or of more than maxSoundboardGuildIds", () => {
      const refused = (list: ReadonlyArray<string>) => Either.getLeft(Commands.soundboardParts(list, Json.encoding)).pipe(Option.getOrThrow)
      expect(refused([]).message).toBe("RequestSoundboardSounds: guild_ids must list at least 1 guild ids, got none")
      const bad = [...ids(300), "12x"]
      expect(refused(bad)).toMatchObject({ reason: "Invalid", problems: [expect.stringMatching(/^guild_ids\[300\] must be a snowflake/)] })
      const tooMany = ids(Commands.maxSoundboardGuildIds + 1)
      expect(refused(tooMany).message).toBe(
        `RequestSoundboardSounds: guild_ids must list at most ${Commands.maxSoundboardGuildIds} guild ids, got ${Commands.maxSoundboardGuildIds + 1}`
      )
      expect(Either.isRight(Commands.validate(Commands.requestSoundboardSounds(ids(Commands.maxSoundboardGuildIds))))).toBe(true)
    })

    it("an encoding that cannot fit one id in a frame is refused, as too large", () => {
      const wide: Encoding = { ...Json.encoding, encode: (payload) => JSON.stringify(payload).padEnd(5000) }
      expect(Either.getLeft(Commands.soundboardParts(ids(2), wide)).pipe(Option.getOrThrow)).toMatchObject({ reason: "TooLarge" })
    })
  })

  it("counts UTF-8 bytes, not characters", () => {
    const presence = Commands.presenceUpdate({ since: null, activities: [{ name: "€".repeat(1400), type: 0 }], status: "online", afk: false })
    expect(failure(presence).message).toBe(`PresenceUpdate: payload is ${base + 4200} bytes, the limit is 4096`)
  })

  it.prop("utf8Length agrees with TextEncoder", [FastCheck.string({ unit: "binary" })], ([text]) => {
    expect(Commands.utf8Length(text)).toBe(new TextEncoder().encode(text).length)
  })

  it.prop("utf8Length agrees with TextEncoder on lone surrogates", [FastCheck.string({ unit: FastCheck.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) })], ([text]) => {
    expect(Commands.utf8Length(text)).toBe(new TextEncoder().encode(text).length)
  })
})

describe("Commands: the token never leaks", () => {
  const tooLarge = identify({
    presence: { since: null, activities: [{ name: "x".repeat(5000), type: 0 }], status: "online", afk: false }
  })
  const invalid = identify({ large_threshold: 300 })
  const raw = { ...identify({ large_threshold: 1 }), token: secret } as unknown as Commands.Command

  it.each([["too large", tooLarge], ["invalid", invalid], ["raw token", raw]] as const)("%s", (_, command) => {
    const error = failure(command)
    for (const text of [String(error), error.message, JSON.stringify(error), util.inspect(error), util.inspect(error, { depth: 10, showHidden: true }), error.stack ?? ""]) {
      expect(text).not.toContain(secret)
    }
  })

  it("an inspected or stringified command shows no token", () => {
    const command = identify()
    for (const text of [util.inspect(command, { depth: 10 }), JSON.stringify(command), String(command.token), `${command.token}`]) {
      expect(text).not.toContain(secret)
    }
    expect(right(Commands.encode(command))).toContain(secret)
  })
})

describe("Commands: kinds", () => {
  it("knows their opcodes", () => {
    const presence = Commands.presenceUpdate({ since: null, activities: [], status: "online", afk: false })
    expect(Commands.opcode(presence)).toBe(3)
    expect(Commands.opcode(identify())).toBe(2)
    expect(Commands.opcode(Commands.requestChannelInfo({ guild_id: "1", fields: ["status"] }))).toBe(43)
  })
})

describe("Commands: properties", () => {
  const activity = FastCheck.record(
    {
      name: FastCheck.string({ maxLength: 40, unit: "grapheme" }),
      type: FastCheck.integer({ min: 0, max: 5 }),
      state: FastCheck.string({ maxLength: 40 }),
      url: FastCheck.webUrl()
    },
    { requiredKeys: ["name", "type"] }
  )
  const presence: FastCheck.Arbitrary<Commands.Presence> = FastCheck.record({
    since: FastCheck.option(FastCheck.nat(), { nil: null }),
    activities: FastCheck.array(activity, { maxLength: 4 }),
    status: FastCheck.constantFrom(...(["online", "dnd", "idle", "invisible", "offline"] as const)),
    afk: FastCheck.boolean()
  })

  it.prop("any valid presence encodes to JSON that parses back to the same data", [presence], ([p]) => {
    const json = right(Commands.encode(Commands.presenceUpdate(p)))
    expect(JSON.parse(json)).toEqual({ op: 3, d: p })
  })

  it.prop("Identify round-trips every field but the token placement", [presence, FastCheck.integer({ min: 50, max: 250 }), FastCheck.integer({ min: 1, max: 64 })], ([p, threshold, count]) => {
    const command = identify({ presence: p, large_threshold: threshold, shard: [count - 1, count] })
    const wire = JSON.parse(right(Commands.encode(command)))
    expect(wire.op).toBe(2)
    expect(wire.d).toEqual({ ...command, _tag: undefined, token: secret })
  })

  it.prop("large_threshold outside 50-250 always names the value", [FastCheck.oneof(FastCheck.integer({ max: 49 }), FastCheck.integer({ min: 251 }))], ([threshold]) => {
    expect(messageOf(identify({ large_threshold: threshold }))).toBe(
      `Identify: large_threshold must be an integer between 50 and 250, got ${threshold}`
    )
  })
})

describe("Commands.MemberRequest", () => {
  it("the types refuse what the checks at run time refuse: limit with user_ids, a query without its limit, neither", () => {
    // @ts-expect-error limit goes with query only
    const limitWithIds: Commands.MemberRequest = { guild_id: "1", user_ids: ["2"], limit: 1 }
    // @ts-expect-error a query needs its limit
    const queryWithoutLimit: Commands.MemberRequest = { guild_id: "1", query: "a" }
    // @ts-expect-error by name or by id
    const neither: Commands.MemberRequest = { guild_id: "1" }
    // @ts-expect-error not both
    const both: Commands.MemberRequest = { guild_id: "1", query: "", limit: 0, user_ids: ["2"] }
    const byIds: Commands.MemberRequest = { guild_id: "1", user_ids: ["2"], presences: true }
    const byName: Commands.MemberRequest = { guild_id: "1", query: "ab", limit: 5 }
    for (const refused of [limitWithIds, queryWithoutLimit, neither, both]) {
      expect(Either.isLeft(Either.flatMap(Commands.memberRequest(refused, "n"), (command) => Commands.encode(command)))).toBe(true)
    }
    for (const taken of [byIds, byName]) expect(Either.isRight(Either.flatMap(Commands.memberRequest(taken, "n"), (command) => Commands.encode(command)))).toBe(true)
    // one user id, as Discord takes it too (it was refused: "must be an array"), sent as a list of one
    const byOneId: Commands.MemberRequest = { guild_id: "1", user_ids: "2" }
    expect(right(Either.flatMap(Commands.memberRequest(byOneId, "n"), (command) => Commands.encode(command)))).toBe(`{"op":8,"d":{"guild_id":"1","user_ids":["2"],"nonce":"n"}}`)
  })

  // the nonce was replaced by the session's, quietly: the answers to the program's own never found
  it("a member request from JavaScript with a nonce or a tag of its own is refused, naming the field; one holding undefined is none", () => {
    for (const field of ["nonce", "_tag"]) {
      const given = { guild_id: "1", user_ids: ["2"], [field]: "mine" } as unknown as Commands.MemberRequest
      const refused = Commands.memberRequest(given, "n")
      expect(Either.isLeft(refused) && refused.left.message).toBe(`RequestGuildMembers: ${field} is the session's to give, not a field of a member request`)
      // a field holding `undefined` is none, as in every other command (`{ ...request, nonce: opts.nonce }`)
      const none = { guild_id: "1", user_ids: ["2"], [field]: undefined } as unknown as Commands.MemberRequest
      expect(right(Either.flatMap(Commands.memberRequest(none, "n"), (command) => Commands.encode(command)))).toBe(`{"op":8,"d":{"guild_id":"1","user_ids":["2"],"nonce":"n"}}`)
    }
  })
})

describe("Commands: InvalidCommand.problems", () => {
  const problemsOf = (command: Commands.Command) => failure(command).problems

  it("one per fault, in the message's order, each as the message tells it after the command's name", () => {
    const error = failure(identify({ presence: { activities: [] } as never }))
    expect(error.problems).toEqual(["presence.since is missing", "presence.status is missing", "presence.afk is missing"])
    expect(error.message).toBe(`Identify: ${error.problems.join("; ")}`)
  })

  it("one for a command with one fault, and for one too large", () => {
    expect(problemsOf(identify({ large_threshold: 49 }))).toEqual(["large_threshold must be an integer between 50 and 250, got 49"])
    const tooLarge = Commands.presenceUpdate({ since: null, activities: [{ name: "x".repeat(5000), type: 0 }], status: "online", afk: false })
    expect(problemsOf(tooLarge)).toEqual([expect.stringMatching(/^payload is \d+ bytes, the limit is 4096$/)])
  })

  it("ten faults told, and a last problem counting those past them", () => {
    const problems = problemsOf(Commands.requestSoundboardSounds(Array.from({ length: 13 }, (_, i) => `x${i}`)))
    expect(problems).toHaveLength(11)
    expect(problems[9]).toMatch(/^guild_ids\[9\] must be a snowflake/)
    expect(problems[10]).toBe("and 3 more")
  })

  it("one for a command of no gateway's name, its name left out", () => {
    const refused = Commands.validate({ _tag: "Nope" } as never)
    expect(Either.isLeft(refused) && refused.left.problems).toEqual(["not a gateway command"])
  })

  it("the token masked in each problem, as in the message", () => {
    const run = secret.slice(0, 30)
    const error = failure(Commands.presenceUpdate({ since: null, activities: [], status: run as never, afk: 1 as never }))
    expect(error.problems).toHaveLength(2)
    const masked = Commands.maskingToken(token)(error)
    expect(masked.problems).toEqual(error.problems.map((problem) => problem.replace(run, "<token>")))
    expect(masked.message).toBe(`PresenceUpdate: ${masked.problems.join("; ")}`)
  })
})
