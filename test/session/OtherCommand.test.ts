/**
 * `session.send(op, d)`: a command this version has no method for goes out as given, in the
 * session's encoding and within its limits; an opcode this version knows, data that cannot go out
 * and a frame over 4096 bytes are refused at once, naming what to use, and nothing is sent.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Vm from "node:vm"
import * as Etf from "../../src/codec/Etf.ts"
import * as Json from "../../src/codec/Json.ts"
import * as OtherCommand from "../../src/protocol/OtherCommand.ts"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { acceptAndHello, options, ready, readySession, secret, sentPayloads, Session, settle, TestLayer } from "./harness.ts"

const counted = (outcome: string) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(SessionMetrics.commands, [MetricLabel.make("command", "Other"), MetricLabel.make("outcome", outcome)])),
    (state) => state.count
  )

const refusal = <A>(effect: Effect.Effect<A, { readonly _tag: string; readonly message?: string; readonly reason?: string }>) =>
  Effect.map(Effect.flip(effect), (error) => ({ tag: error._tag, reason: error.reason, message: error.message }))

describe("a command of an opcode this version does not know", () => {
  it.scoped("goes out as given once the gateway answered, counted as an Other command", () =>
    Effect.gen(function*() {
      const before = yield* counted("done")
      const session = yield* Session.make(options())
      const { first, peer } = yield* acceptAndHello()
      expect(first.op).toBe(2)
      // made before READY: it waits for the answered connection, as every command does
      const sending = yield* Effect.fork(session.send(44, { guild_id: "81384788765712384", what: ["a", 1, null] }))
      yield* settle
      expect(yield* sentPayloads(peer)).toEqual([])
      yield* peer.sendJson(ready())
      yield* settle
      expect(yield* sentPayloads(peer)).toEqual([{ op: 44, d: { guild_id: "81384788765712384", what: ["a", 1, null] } }])
      // a key given as undefined is left out, as in the other commands; a plain object of another
      // realm (a `vm` context's) is plain data too
      yield* session.send(44, { guild_id: "81384788765712384", channel_id: undefined })
      yield* session.send(44, Vm.runInNewContext(`({ guild_ids: ["1"], nested: Object.create(null) })`))
      expect(yield* sentPayloads(peer)).toEqual([{ op: 44, d: { guild_id: "81384788765712384" } }, { op: 44, d: { guild_ids: ["1"], nested: {} } }])
      expect(yield* Fiber.await(sending)).toEqual(Exit.void)
      expect((yield* counted("done")) - before).toBe(3)
    }).pipe(Effect.provide(TestLayer)))

  it("is encoded in the session's encoding: ETF", () => {
    const frame = Either.getOrThrow(OtherCommand.encode(44, { guild_id: "81384788765712384", n: 7 }, Etf.encoding))
    expect(frame).toBeInstanceOf(Uint8Array)
    expect(Etf.encoding.decode(frame as Uint8Array)).toMatchObject({ op: 44, d: { guild_id: "81384788765712384", n: 7 } })
  })

  it.scoped("an opcode this version knows is refused, naming its method or who sends it; nothing goes out", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const before = yield* counted("InvalidCommand")
      const refused = yield* Effect.forEach([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 31, 43], (op) => refusal(session.send(op, {})))
      expect(refused.every(({ reason, tag }) => tag === "InvalidCommand" && reason === "Invalid")).toBe(true)
      expect(refused.map(({ message }) => message)).toEqual([
        "Other: op 0 is one the gateway sends (Dispatch)",
        "Other: op 1 is the session's own (Heartbeat)",
        "Other: op 2 is the session's own (Identify)",
        "Other: op 3 has a method of its own: use updatePresence (a new session identifies with it)",
        "Other: op 4 has a method of its own: use updateVoiceState",
        "Other: op 6 is the session's own (Resume)",
        "Other: op 7 is one the gateway sends (Reconnect)",
        "Other: op 8 has a method of its own: use requestGuildMembers (its answer is matched by its nonce)",
        "Other: op 9 is one the gateway sends (Invalid Session)",
        "Other: op 10 is one the gateway sends (Hello)",
        "Other: op 11 is one the gateway sends (Heartbeat ACK)",
        "Other: op 31 has a method of its own: use requestSoundboardSounds",
        "Other: op 43 has a method of its own: use requestChannelInfo"
      ])
      expect((yield* counted("InvalidCommand")) - before).toBe(13)
      yield* settle
      expect((yield* sentPayloads(peer)).filter((payload) => payload.op !== 1)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("an opcode that is no non-negative whole number, and data that is not plain data, are refused, naming where; the token is never quoted", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const cycle: Record<string, unknown> = {}
      cycle["self"] = cycle
      const quoting = Object.defineProperty({}, "field", {
        enumerable: true,
        get: () => {
          throw new Error(`no access with ${secret}`)
        }
      })
      const messages = yield* Effect.forEach(
        [
          [-1, {}],
          [1.5, {}],
          [Number.NaN, {}],
          ["44" as unknown as number, {}],
          [44, undefined],
          [44, () => 1],
          [44, 10n],
          [44, cycle],
          [44, quoting],
          // what JSON would write as something else, or leave out (a frame without its d went)
          [44, { guild_ids: new Set(["1"]) }],
          [44, { limit: Number.NaN }],
          [44, [new Date(0)]],
          [44, { toJSON: () => undefined }],
          [44, Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], null)],
          [44, { list: Object.assign([1, 2], { extra: "left out" }) }],
          [44, Array.from({ length: 5000 }, () => 0)]
        ] as const,
        ([op, d]) => Effect.map(refusal(session.send(op, d)), ({ message }) => message)
      )
      expect(messages.slice(0, 7)).toEqual([
        "Other: op must be a non-negative integer, got -1",
        "Other: op must be a non-negative integer, got 1.5",
        "Other: op must be a non-negative integer, got NaN",
        `Other: op must be a non-negative integer, got "44"`,
        "Other: d must be data (null for none), got undefined",
        "Other: d must be data (null for none), got a function",
        "Other: d must be data (null for none), got a bigint"
      ])
      expect(messages.slice(7)).toEqual([
        "Other: d.self refers to an object it is in",
        "Other: the command could not be read or encoded as json: no access with <token>",
        "Other: d.guild_ids must be a list or a plain object, got a Set",
        "Other: d.limit must be a finite number, got NaN",
        "Other: d[0] must be a list or a plain object, got a Date",
        "Other: d.toJSON must be data (null for none), got a function",
        `Other: d${"[0]".repeat(64)} is nested deeper than 64`,
        "Other: d.list.extra is a named property of a list, which JSON leaves out",
        "Other: payload has over 4096 values, the limit is 4096 bytes"
      ])
      yield* settle
      expect((yield* sentPayloads(peer)).filter((payload) => payload.op !== 1)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  // `Array.from` followed a list's own `Symbol.iterator`: what went out was what it yielded, where
  // JSON writes the list's indexes (rereview102)
  it("copies a list by its indexes, as JSON reads it, not through its own iterator", () => {
    const list = Object.defineProperty([1, 2], Symbol.iterator, { value: function*() { yield "not the list" } })
    const frame = Either.getOrThrow(OtherCommand.encode(44, { list }, Json.encoding))
    expect(frame).toBe(`{"op":44,"d":{"list":[1,2]}}`)
  })

  it.scoped("goes within the send limit as other commands do: 116 beside the Identify, the rest wait for the window", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const sending = yield* Effect.fork(Effect.forEach(Array.from({ length: 120 }, (_, i) => i), (i) => session.send(44, i), { concurrency: "unbounded" }))
      for (let i = 0; i < 10; i++) yield* settle
      // 120 places, 4 kept for control sends: the Identify's is one of them (once 115: the command
      // cap counted the Identify too)
      expect((yield* sentPayloads(peer)).filter((payload) => payload.op === 44)).toHaveLength(116)
      expect(sending.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(sending)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a frame over 4096 bytes is refused as TooLarge; one of 4096 goes out", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      const frameOf = (text: string) => JSON.stringify({ op: 44, d: text }).length
      const fits = "x".repeat(4096 - frameOf(""))
      expect(frameOf(fits)).toBe(4096)
      expect(yield* refusal(session.send(44, `${fits}x`))).toEqual({
        tag: "InvalidCommand",
        reason: "TooLarge",
        message: "Other: payload is 4097 bytes, the limit is 4096"
      })
      yield* session.send(44, fits)
      expect((yield* sentPayloads(peer)).filter((payload) => payload.op === 44)).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("fails with SessionClosed, naming the shard and the guild it is about, when the session ends before it went out", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ shard: [3, 4] }))
      yield* acceptAndHello()
      // (guild 3 << 22 is on shard 3 of 4)
      const guildId = String(3n << 22n)
      const bare = yield* Effect.fork(session.send(44, null))
      const about = yield* Effect.fork(session.send(44, null, guildId))
      yield* settle
      yield* Effect.fork(session.end("1 second"))
      yield* settle
      const [exit, aboutExit] = [yield* Fiber.await(bare), yield* Fiber.await(about)]
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "SessionClosed", shards: [3], guildIds: [] })))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("shard 3 was disconnected or ended before the command went out")
      expect(aboutExit).toEqual(Exit.fail(expect.objectContaining({ _tag: "SessionClosed", shards: [3], guildIds: [guildId] })))
      expect(Exit.isFailure(aboutExit) && String(aboutExit.cause)).toContain(`before the command for guild ${guildId} went out`)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("is refused for a guild id that is no snowflake or another shard's", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession({ shard: [0, 2] })
      const refusals = yield* Effect.forEach(["not a guild", String(1n << 22n)], (guildId) =>
        Effect.map(refusal(session.send(44, null, guildId)), ({ message }) => message))
      expect(refusals).toEqual([
        `Other: guildId must be a snowflake, got "not a guild"`,
        `Other: guild ${1n << 22n} is on shard 1 of 2, not on this session's shard 0`
      ])
    }).pipe(Effect.provide(TestLayer)))

})
