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
    expect(options.intents).toBe(Intents.nonPrivileged)
    expect(options.logLevel).toBe(LogLevel.Info)
    expect(options.shards).toBeUndefined()
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

  it("parses every flag, with = or a separate value", () => {
    const options = Either.getOrThrow(parse([
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

  it("names the problem with a bad flag", () => {
    expect(error(["--nope"])).toContain("--nope")
    expect(error(["--shards"])).toContain("--shards needs a value")
    expect(error(["--shards", "3-1"])).toContain("backwards")
    expect(error(["--shards", "a"])).toContain("--shards")
    expect(error(["--shards", "0-4", "--shard-count", "4"])).toContain("below --shard-count 4")
    expect(error(["--shard-count", "0"])).toContain("--shard-count")
    expect(error(["--compress", "gzip"])).toContain("zlib-stream, zstd-stream, none")
    expect(error(["--intents", "Guildz"])).toContain("Guildz")
    expect(error(["--duration", "-1"])).toContain("--duration")
    expect(error(["--log-level", "loud"])).toContain("--log-level")
    expect(error(["--gateway", "not a url"])).toContain("--gateway")
  })
})
