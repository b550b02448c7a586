import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Json from "../../src/codec/Json.ts"
import * as Receive from "../../src/protocol/Receive.ts"
import { envelopeOf } from "./envelope.ts"

const right = <A, E>(either: Either.Either<A, E>): A => Either.getOrThrowWith(either, (e) => new Error(String(e)))
const left = <A, E>(either: Either.Either<A, E>): E => Either.getOrThrowWith(Either.flip(either), () => new Error("expected a failure"))

const frame = (op: number, d: unknown, s: number | null = null, t: string | null = null) => ({ op, d, s, t })

const ready = {
  v: 10,
  user: { id: "80351110224678912", username: "bot", discriminator: "0", avatar: null },
  guilds: [{ id: "1", unavailable: true }],
  session_id: "0f6f6b0c2d2a",
  resume_gateway_url: "wss://gateway-us-east1-b.discord.gg",
  shard: [0, 1],
  application: { id: "80351110224678912", flags: 0 }
}

describe("Json.toEnvelope (the envelope's cheap check) against the protocol's schema", () => {
  it("passes a well-formed frame through without copying it, and fills in missing s and t", () => {
    const input = frame(0, { content: "hi" }, 5, "MESSAGE_CREATE")
    expect(Json.toEnvelope(input)).toBe(input)
    expect(Json.toEnvelope({ op: 11 })).toEqual({ op: 11, s: null, t: null })
  })

  const envelopeLike = FastCheck.record({
    op: FastCheck.oneof(FastCheck.integer({ min: -2, max: 300 }), FastCheck.double(), FastCheck.string()),
    d: FastCheck.jsonValue(),
    s: FastCheck.oneof(FastCheck.constant(null), FastCheck.integer({ min: -2 }), FastCheck.string()),
    t: FastCheck.oneof(FastCheck.constant(null), FastCheck.string(), FastCheck.integer())
  })

  it.prop("takes exactly what the schema takes", [envelopeLike], ([input]) => {
    const expected = envelopeOf(input)
    const checked = Json.toEnvelope(input)
    if (expected === undefined) expect(checked).toBeInstanceOf(DecodeError)
    else expect(checked).toEqual(expected)
  })
})

describe("Receive: Hello, Invalid Session and READY", () => {
  it("Hello", () => {
    expect(right(Receive.decodeHello({ heartbeat_interval: 41250 }))).toEqual({ heartbeat_interval: 41250 })
    expect(right(Receive.decodeHello({ heartbeat_interval: 3_600_000 }))).toEqual({ heartbeat_interval: 3_600_000 })
    expect(right(Receive.decodeHello({ heartbeat_interval: 1 }))).toEqual({ heartbeat_interval: 1 })
  })

  it.each([0, -41250, 41250.5, 3_600_001, Number.POSITIVE_INFINITY, Number.NaN, "41250", null])(
    "rejects heartbeat_interval %s",
    (interval) => {
      const error = left(Receive.decodeHello({ heartbeat_interval: interval }))
      expect(error.reason).toBe("InvalidHello")
      expect(error.message).toMatch(/^invalid Hello \(op 10\): heartbeat_interval must be a positive integer number of milliseconds, at most 3600000, got /)
    }
  )

  it("shows a malformed value it received with its control characters escaped", () => {
    const error = left(Receive.decodeHello({ heartbeat_interval: "\u009b2J\u007f" }))
    expect(error.message).toBe(
      "invalid Hello (op 10): heartbeat_interval must be a positive integer number of milliseconds, at most 3600000, got \"\\u009b2J\\u007f\""
    )
  })

  it("rejects a Hello without data", () => {
    expect(left(Receive.decodeHello(null)).message).toBe("invalid Hello (op 10): must be an object, got null")
    expect(left(Receive.decodeHello({})).message).toBe("invalid Hello (op 10): heartbeat_interval is missing")
  })

  it("Invalid Session", () => {
    expect(right(Receive.decodeInvalidSession(true))).toBe(true)
    expect(right(Receive.decodeInvalidSession(false))).toBe(false)
    for (const d of [null, 0, "false", {}]) {
      const error = left(Receive.decodeInvalidSession(d))
      expect(error.reason).toBe("InvalidInvalidSession")
      expect(error.message).toMatch(/^invalid Invalid Session \(op 9\): d must be a boolean, got /)
    }
  })

  it("READY: the parts the session needs", () => {
    expect(right(Receive.decodeReady(ready))).toEqual({
      v: 10,
      session_id: ready.session_id,
      user: { id: ready.user.id },
      application: { id: ready.application.id },
      shard: [0, 1]
    })
    const { shard: _, ...withoutShard } = ready
    expect(right(Receive.decodeReady(withoutShard))).not.toHaveProperty("shard")
    // null names none too, as a serializer may write a field it leaves out
    expect(right(Receive.decodeReady({ ...ready, shard: null })).shard).toBeNull()
    expect(right(Receive.decodeResumeUrl(ready))).toBe(ready.resume_gateway_url)
    expect(right(Receive.decodeResumeUrl({ ...ready, resume_gateway_url: "ws://127.0.0.1:9000/?x=1" }))).toBe("ws://127.0.0.1:9000/?x=1")
  })

  // read apart: a READY whose resume URL cannot be dialled still started a session
  it("READY's resume URL: refused alone, the READY taken", () => {
    const d = { ...ready, resume_gateway_url: "https://gateway.discord.gg" }
    expect(right(Receive.decodeReady(d)).session_id).toBe(ready.session_id)
    const error = left(Receive.decodeResumeUrl(d))
    expect(error.reason).toBe("InvalidReady")
    expect(error.message).toBe(
      `READY's resume_gateway_url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "https://gateway.discord.gg"`
    )
  })

  it.each([
    [{ resume_gateway_url: "https://gateway.discord.gg" }, `resume_gateway_url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "https://gateway.discord.gg"`],
    [{ resume_gateway_url: "not a url" }, `resume_gateway_url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "not a url"`],
    // one that ws refuses to open, and one of megabytes kept and shown with every transition
    [{ resume_gateway_url: "wss://gateway.discord.gg/#x" }, `resume_gateway_url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "wss://gateway.discord.gg/#x"`],
    [{ resume_gateway_url: `wss://gateway.discord.gg/${"a".repeat(2048)}` }, `resume_gateway_url must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got "wss://gateway.discord.gg/${"a".repeat(31)}...`],
    [{ session_id: "" }, `session_id must be a non-empty string of at most 256 characters, got ""`],
    [{ session_id: "s".repeat(257) }, `session_id must be a non-empty string of at most 256 characters, got a value of 257 characters (not shown)`],
    [{ session_id: undefined }, "session_id is missing"],
    [{ user: { id: 5 } }, "user.id must be a snowflake (up to 20 digits, no leading zero, below 2^64), got 5"],
    [{ application: {} }, "application.id is missing"],
    [{ shard: [1, 1] }, "shard must have shard_id below shard_count, got [1, 1]"],
    [{ v: "10" }, `v must be a non-negative integer, got "10"`]
  ])("rejects READY (or, read apart, its resume URL) with %j", (patch, message) => {
    const d = JSON.parse(JSON.stringify({ ...ready, ...patch }))
    const ofUrl = "resume_gateway_url" in patch
    const error = ofUrl ? left(Receive.decodeResumeUrl(d)) : left(Receive.decodeReady(d))
    expect(error.reason).toBe("InvalidReady")
    expect(error.message).toBe(`${ofUrl ? "READY's " : "invalid READY: "}${message}`)
  })
})
