import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as GatewayBot from "../../src/protocol/GatewayBot.ts"

const right = <A, E>(either: Either.Either<A, E>): A => Either.getOrThrowWith(either, (e) => new Error(String(e)))
const left = <A, E>(either: Either.Either<A, E>): E => Either.getOrThrowWith(Either.flip(either), () => new Error("expected a failure"))

const body = {
  url: "wss://gateway.discord.gg",
  shards: 9,
  session_start_limit: { total: 1000, remaining: 999, reset_after: 14400000, max_concurrency: 1 }
}

describe("GatewayBot.decode", () => {
  it("decodes Discord's answer", () => {
    expect(right(GatewayBot.decode(body))).toEqual(body)
    expect(right(GatewayBot.decode({ ...body, extra: true }))).toEqual(body)
  })

  it.each([
    [{ url: "https://gateway.discord.gg" }, `url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "https://gateway.discord.gg"`],
    [{ shards: 0 }, "shards must be an integer between 1 and 65535, got 0"],
    [{ session_start_limit: { ...body.session_start_limit, max_concurrency: 0 } }, "session_start_limit.max_concurrency must be an integer between 1 and 65535, got 0"],
    [{ session_start_limit: { ...body.session_start_limit, remaining: -1 } }, "session_start_limit.remaining must be a non-negative integer, got -1"],
    [{ session_start_limit: undefined }, "session_start_limit must be an object, got undefined"]
  ])("rejects %j", (patch, message) => {
    const error = left(GatewayBot.decode({ ...body, ...patch }))
    expect(error).toMatchObject({ _tag: "ProtocolError", reason: "InvalidGatewayBot" })
    expect(error.message).toBe(`invalid GET /gateway/bot answer: ${message}`)
  })

  it("rejects a body that is not an object", () => {
    expect(left(GatewayBot.decode("<html>")).message).toBe(`invalid GET /gateway/bot answer: must be an object, got "<html>"`)
  })

  it("says what is wrong with several fields at once", () => {
    expect(left(GatewayBot.decode({ url: 1, shards: 1.5 })).message).toBe(
      "invalid GET /gateway/bot answer: url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got 1; shards must be an integer between 1 and 65535, got 1.5; session_start_limit is missing"
    )
  })
})
