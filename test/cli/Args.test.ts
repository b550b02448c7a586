import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Args from "../../src/cli/Args.ts"
import * as Intents from "../../src/protocol/Intents.ts"

const parse = (argv: ReadonlyArray<string>, env: Record<string, string> = {}, terminal = false) =>
  Args.parse(argv, env, terminal)

const error = (argv: ReadonlyArray<string>) => {
  const result = parse(argv)
  if (Either.isRight(result)) throw new Error(`expected a usage error for ${argv.join(" ")}`)
  return result.left.message
}

describe("Args", () => {
  it("has defaults that run the embedded gateway", () => {
    const options = Either.getOrThrow(parse([]))
    expect(options.token).toBeUndefined()
    expect(options.api).toBe("https://discord.com/api/v10")
    expect(options.compress).toBe("zlib-stream")
    expect(options.encoding).toBe("json")
    expect(options.format).toBe("ndjson")
    // the embedded gateway enables the privileged intents; a bot's token gets the others by default
    expect(options.intents).toBe(Intents.all)
    expect(Either.getOrThrow(parse([], { DISCORD_TOKEN: "abc" })).intents).toBe(Intents.nonPrivileged)
    expect(options.logLevel).toBe(LogLevel.Info)
    expect(options.shards).toBeUndefined()
    expect(options.maxMessageBytes).toBeUndefined()
  })

  it("formats pretty on a terminal unless told otherwise", () => {
    expect(Either.getOrThrow(parse([], {}, true)).format).toBe("pretty")
    expect(Either.getOrThrow(parse(["--format", "ndjson"], {}, true)).format).toBe("ndjson")
  })

  it("takes the token from --token, else DISCORD_TOKEN, always redacted", () => {
    const fromEnv = Either.getOrThrow(parse([], { DISCORD_TOKEN: "abc" }))
    expect(Redacted.value(fromEnv.token!)).toBe("abc")
    const fromFlag = Either.getOrThrow(parse(["--token", "xyz"], { DISCORD_TOKEN: "abc" }))
    expect(Redacted.value(fromFlag.token!)).toBe("xyz")
    expect(JSON.stringify(fromFlag)).not.toContain("xyz")
  })

  it("drops surrounding whitespace and a leading \"Bot \" from the token", () => {
    for (const given of [" abc.def \n", "Bot abc.def", "bot  abc.def"]) {
      expect(Redacted.value(Either.getOrThrow(parse(["--token", given])).token!)).toBe("abc.def")
      expect(Redacted.value(Either.getOrThrow(parse([], { DISCORD_TOKEN: given })).token!)).toBe("abc.def")
    }
  })

  it("never quotes a malformed --api or --gateway that may carry a password (a short one was printed)", () => {
    for (const [flag, url] of [["--api", "https://bot:hunter2@disc ord.com/api"], ["--gateway", "wss://bot:hunter2@gate way/"]] as const) {
      const result = Args.parse(["--token", "abc", flag, url], {}, false)
      expect(Either.isLeft(result) ? result.left.message : undefined).toBe(
        `${flag}: the URL given (not shown: it may carry a password) is not a URL`
      )
    }
    const plain = Args.parse(["--token", "abc", "--api", "not a url"], {}, false)
    expect(Either.isLeft(plain) ? plain.left.message : undefined).toBe(`--api: "not a url" is not a URL`)
  })

  it("refuses a flag given twice, whichever form each takes (the last one won, silently)", () => {
    for (const argv of [["--shards", "0-3", "--shards", "8"], ["--format=pretty", "--format", "ndjson"], ["--duration", "5", "--duration=5"]]) {
      const result = Args.parse(argv, {}, false)
      expect(Either.isLeft(result) ? result.left.message : undefined).toBe(`${argv[0]!.split("=")[0]} is given twice (give it once)`)
    }
  })

  it("refuses an empty token instead of falling back to the embedded gateway", () => {
    for (const argv of [["--token", ""], ["--token="], ["--token", "  "]]) {
      expect(error(argv)).toBe("--token is empty; leave the flag out to run the embedded local gateway")
      // an explicit empty flag is refused even when the variable has a token
      expect(Either.isLeft(parse(argv, { DISCORD_TOKEN: "abc" }))).toBe(true)
    }
    const emptyVariable = parse([], { DISCORD_TOKEN: "" })
    expect(Either.isLeft(emptyVariable) && emptyVariable.left.message).toBe(
      "DISCORD_TOKEN is set but empty; unset it to run the embedded local gateway"
    )
    // `Bot` alone is a prefix with no token after it: it was called empty
    expect(error(["--token", "Bot "])).toBe("--token holds the `Bot ` prefix and no token after it")
    const prefixOnly = parse([], { DISCORD_TOKEN: "Bot" })
    expect(Either.isLeft(prefixOnly) && prefixOnly.left.message).toBe("DISCORD_TOKEN holds the `Bot ` prefix and no token after it")
    // a token on the command line is used whatever the variable holds
    expect(Redacted.value(Either.getOrThrow(parse(["--token", "xyz"], { DISCORD_TOKEN: "" })).token!)).toBe("xyz")
  })

  // refused later by the Identify's check, naming neither the flag nor the variable
  it("refuses a token that is no printable ASCII without spaces, naming where it came from and never showing it", () => {
    expect(error(["--token", "abc def"])).toBe("--token: the token must be printable ASCII without spaces, as Discord's tokens are")
    const twoLines = parse([], { DISCORD_TOKEN: "first-line\nsecond-line" })
    expect(Either.isLeft(twoLines) && twoLines.left.message).toBe(
      "DISCORD_TOKEN: the token must be printable ASCII without spaces, as Discord's tokens are"
    )
    expect(error(["--token", "tökén"])).not.toContain("tökén")
  })

  it("refuses --events without a type, and names the types it does not know", () => {
    expect(error(["--events", ""])).toContain("--events: no dispatch type given")
    expect(error(["--events", " , "])).toContain("--events: no dispatch type given")
    // warned of as passed on, then refused by the session's options once the gateway was up
    expect(error(["--events", "ready,message-create,MESSAGE.CREATE"])).toBe(
      `--events: "message-create", "MESSAGE.CREATE": not a dispatch type name (A-Z, 0-9 and _, at most 64)`
    )
    // upper-cased, ſ is S and ß is SS: taken as MESSAGE_CREATE, unwarned
    for (const name of ["meſſage_create", "guıld_create", "meßage_create"]) expect(error(["--events", name])).toContain("not a dispatch type name")
    expect(error(["--events", "X".repeat(65)])).toContain("not a dispatch type name")
    const options = Either.getOrThrow(parse(["--events", "message_create,MESAGE_CREATE,READY,FUTURE_EVENT"]))
    expect(Args.warnings(options)).toEqual([
      "--events: MESAGE_CREATE, FUTURE_EVENT: not a dispatch type this version knows; passed on as given"
    ])
    expect(Args.warnings(Either.getOrThrow(parse(["--events", "GUILD_CREATE,RESUMED,INTERACTION_CREATE"])))).toEqual([])
  })

  it("warns when the token would travel unencrypted to another machine, or the day's budget go unknown", () => {
    const warned = (argv: ReadonlyArray<string>) => Args.warnings(Either.getOrThrow(parse(["--token", "abc", ...argv])))
    // a real gateway's URL given: the identify limiter never hears of the day's session starts
    const skipped =
      "--gateway: GET /gateway/bot is skipped, so the day's session-start budget is unknown and a reconnect loop could spend it all; without --gateway, the URL comes from --api"
    expect(warned(["--api", "http://proxy.internal:8080/api/v10"])).toEqual([
      "--api: the token goes unencrypted to proxy.internal:8080; use https:// unless that network is yours"
    ])
    // with --gateway the fleet is given a shard count, so --api is never asked: nothing goes there
    // (it was warned of all the same)
    expect(warned(["--api", "http://proxy.internal:8080/api/v10", "--gateway", "ws://gateway.example"])).toEqual([
      "--gateway: the token goes unencrypted to gateway.example; use wss:// unless that network is yours",
      skipped
    ])
    expect(warned(["--api", "http://proxy.internal:8080/api/v10", "--gateway", "wss://gateway.example"])).toEqual([skipped])
    for (const local of ["http://localhost:1/api", "http://127.0.0.1:1/api", "http://[::1]:1/api"]) {
      expect(warned(["--api", local, "--gateway", local.replace("http", "ws")])).toEqual([])
    }
    // this machine by other names (each was warned of)
    for (const local of ["ws://[::ffff:127.0.0.1]:1", "ws://0.0.0.0:1", "ws://[::]:1", "ws://localhost.:1"]) {
      expect(warned(["--gateway", local])).toEqual([])
    }
    expect(warned(["--gateway", "ws://localhost.example:1"])).toHaveLength(2)
    // a subdomain of localhost the system's resolver may ask DNS for (glibc does): warned of
    expect(warned(["--gateway", "ws://gateway.localhost:1"])).toHaveLength(2)
    expect(warned(["--api", "https://discord.com/api/v10"])).toEqual([])
    expect(warned(["--gateway", "wss://gateway.discord.gg"])).toEqual([skipped])
    // no token given: the embedded gateway runs, so another gateway would get its placeholder token
    expect(error(["--api", "http://proxy.internal/api"])).toBe("--api needs a token (--token or DISCORD_TOKEN)")
    expect(error(["--gateway", "ws://gateway.example"])).toBe("--gateway needs a token (--token or DISCORD_TOKEN)")
  })

  // the fleet refused them in words that named no flag, showing 50 characters of a long value
  it("refuses a --gateway or --api of the wrong kind, and --shards past the embedded gateway's, naming the flag", () => {
    expect(error(["--token", "abc", "--gateway", "https://gateway.discord.gg"])).toBe(
      `--gateway: expected a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "https://gateway.discord.gg"`
    )
    expect(error(["--token", "abc", "--gateway", "wss://gateway.discord.gg/#fragment"])).toContain("--gateway: expected a ws:// or wss://")
    expect(error(["--token", "abc", "--api", "ftp://discord.com/api/v10"])).toBe(
      `--api: expected an http:// or https:// URL without credentials, of at most 2048 characters, got "ftp://discord.com/api/v10"`
    )
    const long = `https://gateway.discord.gg/?v=10&encoding=json&x=${"Zm9vYmFy".repeat(5)}`
    expect(error(["--token", "abc", "--gateway", long])).toBe(
      `--gateway: expected a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got <${long.length} characters, not shown>`
    )
    expect(error(["--shards", "0-7"])).toBe("--shards: ids must be below the embedded gateway's 4 shards (--shard-count runs more)")
    expect(Either.isRight(parse(["--shards", "0-7", "--shard-count", "8"]))).toBe(true)
    expect(Either.isRight(parse(["--token", "abc", "--shards", "0-7"]))).toBe(true)
  })

  it("parses every flag, with = or a separate value", () => {
    const options = Either.getOrThrow(parse([
      "--token",
      "abc",
      "--api=http://127.0.0.1:1/api/v10",
      "--gateway",
      "ws://127.0.0.1:2",
      "--shards",
      "0-2,5",
      "--shard-count",
      "8",
      "--intents",
      "Guilds,GUILD_MESSAGES",
      "--compress",
      "none",
      "--events",
      "message_create,READY",
      "--duration",
      "2.5",
      "--log-level",
      "debug"
    ]))
    expect(options.api).toBe("http://127.0.0.1:1/api/v10")
    expect(options.gateway).toBe("ws://127.0.0.1:2")
    expect(options.shards).toEqual([0, 1, 2, 5])
    expect(options.shardCount).toBe(8)
    expect(options.intents).toBe(Intents.Guilds | Intents.GuildMessages)
    expect(options.compress).toBe("none")
    expect([...options.events!]).toEqual(["MESSAGE_CREATE", "READY"])
    expect(options.duration).toBe(2.5)
    expect(options.logLevel).toBe(LogLevel.Debug)
  })

  it("takes --max-message-bytes in bytes, KiB or MiB, and refuses less than a Hello needs", () => {
    const bytes = (value: string) => Either.getOrThrow(parse(["--max-message-bytes", value])).maxMessageBytes
    expect([bytes("4096"), bytes("65536KiB"), bytes("128mib"), bytes(" 2MiB ")]).toEqual([4096, 64 * 1024 * 1024, 128 * 1024 * 1024, 2 * 1024 * 1024])
    const refused = (value: string) => `--max-message-bytes: expected a number of bytes of at least 4096 (or KiB, MiB), got ${value}`
    expect(error(["--max-message-bytes", "4095"])).toBe(refused(`"4095"`))
    expect(error(["--max-message-bytes", "0x10000"])).toBe(refused(`"0x10000"`))
    expect(error(["--max-message-bytes", "1.5MiB"])).toBe(refused(`"1.5MiB"`))
    expect(error(["--max-message-bytes", "64MB"])).toBe(refused(`"64MB"`))
    // past 2^53 bytes no count is exact: said as too large (it said "at least 4096"), in bytes too
    expect(error(["--max-message-bytes", "999999999999999MiB"])).toBe(`--max-message-bytes: at most 9007199254740991 bytes, got "999999999999999MiB"`)
    expect(error(["--max-message-bytes", "9007199254740993"])).toBe(`--max-message-bytes: at most 9007199254740991 bytes, got "9007199254740993"`)
    expect(bytes("9007199254740991")).toBe(2 ** 53 - 1)
  })

  it("takes the values of --compress, --encoding, --format and --log-level in any case", () => {
    const options = Either.getOrThrow(parse(["--compress", "NONE", "--encoding", "Etf", "--format", "NDJSON", "--log-level", "Warning"], {}, true))
    expect([options.compress, options.encoding, options.format, options.logLevel]).toEqual(["none", "etf", "ndjson", LogLevel.Warning])
    // the error still repeats the value as given
    expect(error(["--compress", "GZIP"])).toBe(`--compress: expected one of zlib-stream, zstd-stream, none, got "GZIP"`)
  })

  it("prints the help when asked, whatever else is wrong (a bad flag, an empty DISCORD_TOKEN)", () => {
    for (const [argv, env] of [[["--help"], {}], [["--nope", "-h"], {}], [["--shards", "x", "--help"], {}], [["--help"], { DISCORD_TOKEN: "" }]] as const) {
      expect(Either.map(parse(argv, env), (options) => options.help)).toEqual(Either.right(true))
    }
    expect(Either.map(parse([]), (options) => options.help)).toEqual(Either.right(false))
  })

  it("names the problem with a bad flag", () => {
    expect(error(["--nope"])).toContain("--nope")
    // it said "unknown flag --help"
    expect(error(["--help=1"])).toBe("--help takes no value")
    expect(error(["--shards"])).toContain("--shards needs a value")
    expect(error(["--shards", "3-1"])).toContain("backwards")
    // a comma at an end is taken as one, as in --intents and --events; commas alone are no list
    expect(Either.getOrThrow(parse(["--shards", "0,2,", "--shard-count", "4"])).shards).toEqual([0, 2])
    expect(error(["--shards", ","])).toBe("--shards: no shard id given (e.g. 0-3 or 0,2,5)")
    // spaces around a range's dash, as FleetOptions.shardsConfig reads them (it was refused)
    expect(Either.getOrThrow(parse(["--shards", "0 - 2, 3", "--shard-count", "4"])).shards).toEqual([0, 1, 2, 3])
    // one character, not "1 characters"
    expect(error(["--intents", "\u200b"])).toContain("<1 character, not shown>")
    // a number with a comma at its end is the number (it was called an unknown intent name)
    expect(Either.getOrThrow(parse(["--intents", "513,"])).intents).toBe(513)
    expect(error(["--shards", "a"])).toContain("--shards")
    expect(error(["--shards", "0-4", "--shard-count", "4"])).toContain("below --shard-count 4")
    expect(error(["--shard-count", "0"])).toContain("--shard-count")
    expect(error(["--compress", "gzip"])).toContain("zlib-stream, zstd-stream, none")
    expect(error(["--intents", "Guildz"])).toContain("Guildz")
    // a number is repeated only as a short one: past 40 digits it is not shown
    // a whole number past 2^53 is one still (it was told it was none)
    expect(error(["--intents", "9".repeat(20)])).toBe(`--intents: "${"9".repeat(20)}" has bits above 1 << 25, which no intent uses`)
    expect(error(["--intents", "9007199254740993"])).toBe(`--intents: "9007199254740993" has bits above 1 << 25, which no intent uses`)
    expect(error(["--intents", "9".repeat(60)])).toBe("--intents: <60 characters, not shown> has bits above 1 << 25, which no intent uses")
    expect(error(["--intents", "9".repeat(400)])).toBe("--intents: <400 characters, not shown> has bits above 1 << 25, which no intent uses")
    expect(error(["--intents", String(2 ** 40)])).toBe(`--intents: "${2 ** 40}" has bits above 1 << 25, which no intent uses`)
    expect(error(["--intents", String(1 | 2 ** 17 | 2 ** 22)])).toBe(`--intents: "4325377" has bits 0x420000, which no intent uses`)
    // with a comma at its end, the same bits (it said "bits 0x0") (cli4-4)
    expect(error(["--intents", "131072,"])).toBe(`--intents: "131072," has bits 0x20000, which no intent uses`)
    // a comma too many, and a negative number, said as such (they read `unknown intent name ""` and `"-1"`)
    expect(error(["--intents", ","])).toBe("--intents: no intent names, only commas")
    expect(Either.getOrThrow(parse(["--intents", "Guilds,"])).intents).toBe(Intents.Guilds)
    expect(error(["--intents", "-1"])).toBe(`--intents: expected a non-negative integer or intent names, got "-1"`)
    // a number in another base is no name (it read `unknown intent name "0x3"`)
    expect(error(["--intents", "0x3"])).toBe(`--intents: expected a non-negative integer or intent names, got "0x3"`)
    // a number among names: that part named, not the whole list as if it were one name
    expect(error(["--intents", "Guilds,513"])).toBe(`--intents: unknown intent name "513"`)
    expect(error(["--intents", "1, Guilds"])).toBe(`--intents: unknown intent name "1"`)
    expect(error(["--intents", `Guilds,${"x".repeat(50)}`])).toBe("--intents: unknown intent name <50 characters, not shown>")
    expect(error(["--duration", "-1"])).toContain("--duration")
    // Number read these as 16 s and 0 intents
    expect(error(["--duration", "0x10"])).toBe(`--duration: expected a positive number of seconds, got "0x10"`)
    expect(error(["--intents", ""])).toBe("--intents: no intents given (0 for none)")
    expect(Either.getOrThrow(parse(["--duration", "1.5e1", "--intents", "0"])).duration).toBe(15)
    expect(error(["--log-level", "loud"])).toContain("--log-level")
    // names every object inherits were taken as levels (and the run logged nothing)
    for (const inherited of ["constructor", "__proto__", "CONSTRUCTOR", "hasOwnProperty"]) {
      expect(error(["--log-level", inherited])).toBe(
        `--log-level: expected one of trace, debug, info, warning, warn, error, none, got "${inherited}"`
      )
    }
    expect(error(["--gateway", "not a url"])).toContain("--gateway")
  })

  it("refuses a shard count or shard id no Identify carries, with the reason", () => {
    const tooMany = `--shard-count: at most 65535 (the most an Identify carries), got`
    expect(error(["--shard-count", "5000000000"])).toBe(`${tooMany} "5000000000"`)
    expect(error(["--shard-count", "65536"])).toBe(`${tooMany} "65536"`)
    expect(error(["--shard-count", "9".repeat(400)])).toBe(`${tooMany} <400 characters, not shown>`)
    expect(error(["--shards", "65535"])).toBe(
      `--shards: shard ids go up to 65534 (an Identify carries at most 65535 shards), got "65535"`
    )
    expect(error(["--shards", "0,70000-70001"])).toContain(`got "70000-70001"`)
    expect(Either.getOrThrow(parse(["--shard-count", "65535", "--shards", "65534"])).shardCount).toBe(65_535)
  })

  // some flags took spaces around a value and some refused them
  it("takes the spaces around any flag's value as no part of it", () => {
    const spaced = Either.getOrThrow(parse(["--shard-count", " 4 ", "--shards", " 1", "--compress", " none", "--format", "ndjson ", "--duration", " 2 "]))
    const plain = Either.getOrThrow(parse(["--shard-count", "4", "--shards", "1", "--compress", "none", "--format", "ndjson", "--duration", "2"]))
    expect(spaced).toEqual(plain)
    expect(error(["--duration", "  "])).toBe(error(["--duration="]))
  })

  // a wrapper may pass POSIX's end of flags on (npm drops it): it was refused as an unknown flag
  it("takes a last `--` as the end of the flags; anything after one is an unexpected argument", () => {
    expect(Either.isRight(parse(["--format", "ndjson", "--"]))).toBe(true)
    expect(error(["--", "--duration", "1"])).toBe("unexpected argument #2 (flags start with --; see --help)")
    expect(error(["--format", "ndjson", "--", "x"])).toBe("unexpected argument #4 (flags start with --; see --help)")
  })

  // after `--`, `--help` and `-h` are operands (POSIX), as any argument there: they printed the help
  it("takes --help or -h after a `--` as an unexpected argument, not as asking for the help", () => {
    for (const operand of ["--help", "-h"]) {
      expect(error(["--", operand])).toBe("unexpected argument #2 (flags start with --; see --help)")
    }
    expect(Either.getOrThrow(parse(["--help", "--", "x"])).help).toBe(true)
  })

  it("never repeats a token given in the wrong place, nor an argument that is no flag", () => {
    const token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"
    const secret = token.split(".")[2]!
    // what stderr would show: the usage error, or the warnings
    const shown = (argv: ReadonlyArray<string>) =>
      Either.match(parse(argv), { onLeft: (e) => e.message, onRight: (options) => Args.warnings(options).join("\n") })
    expect(error([token])).toBe("unexpected argument #1 (flags start with --; see --help)")
    expect(error(["--format", "ndjson", `Bot ${token}`])).toBe("unexpected argument #3 (flags start with --; see --help)")
    expect(error(["--token", "abc", token])).toBe("unexpected argument #3 (flags start with --; see --help)")
    expect(error([`-${token}`])).toBe("unknown flag <60 characters, not shown> (see --help)")
    expect(error([`--tokn=${token}`])).toBe(`unknown flag "--tokn" (see --help)`)
    expect(error([`-t=${token}`])).toBe(`unknown flag "-t" (see --help)`)
    expect(error(["--shards", token])).toBe("--shards: <59 characters, not shown> is not a shard id or range (e.g. 0-3 or 0,2,5)")
    const placed = [
      ...["--shards", "--shard-count", "--intents", "--compress", "--encoding", "--format", "--duration", "--log-level", "--gateway", "--api", "--events"]
        .flatMap((flag) => [[flag, token], [`${flag}=${token}`], [flag, `1,${token}`]]),
      [`--${token}`],
      [`--${token}=${token}`],
      ["--intents", `Guilds,${token}`],
      ["--token", "abc", "--events", `READY,${token}`]
    ]
    for (const argv of placed) {
      const text = shown(argv)
      expect(text).not.toBe("")
      expect(text.toLowerCase()).not.toContain(secret.toLowerCase())
    }
    // short printable names are still named, control characters never
    expect(error(["--nope"])).toBe(`unknown flag "--nope" (see --help)`)
    expect(error(["--no\u001b]0;x\u0007"])).toBe("unknown flag <10 characters, not shown> (see --help)")
  })
})
