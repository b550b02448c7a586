/**
 * A session's commands and stops called from JavaScript with values the types refuse: each fails
 * with its typed error, or dies naming the call, at once; nothing is thrown at the call, the
 * session goes on, and no message quotes the token.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import type * as Commands from "../../src/protocol/Commands.ts"
import { acceptAndHello, options, readySession, receiveOp, secret, sentPayloads, Session, settle, TestLayer } from "./harness.ts"

const online = { since: null, activities: [], status: "online", afk: false } as const

const throwing = (): never => {
  throw new Error("the program's getter threw")
}

/** An activity whose field refers back to it, as objects of a program's own model may. */
const cyclic = (): Commands.Presence => {
  const activity: Record<string, unknown> = { name: "the gateway", type: 3 }
  activity["parent"] = activity
  return { ...online, activities: [activity as unknown as Commands.Activity] }
}

/** The typed error's tag, or how it died. */
const outcome = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "success"
    : Cause.isFailType(exit.cause)
    ? (exit.cause.error as { readonly _tag: string })._tag
    : `died: ${Cause.pretty(exit.cause).split("\n")[0]}`

describe("a session's commands given what they cannot read", () => {
  // each recursed until the stack overflowed: a RangeError defect
  it.scoped("a presence that refers to itself: updatePresence fails with InvalidCommand, Session.make with InvalidOptions", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      expect(outcome(yield* Effect.exit(session.updatePresence(cyclic())))).toBe("InvalidCommand")
      expect(outcome(yield* Effect.exit(Session.make(options({ presence: cyclic() }))))).toBe("InvalidOptions")
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(TestLayer)))

  // the builders' spread threw at the call, before any Effect: no catchAll around it could see it
  it.scoped("a getter that throws: updatePresence, updateVoiceState and requestChannelInfo return an Effect failing with InvalidCommand", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      const presence = Object.defineProperty({ since: null, activities: [], afk: false }, "status", { get: throwing, enumerable: true })
      const voice = Object.defineProperty({ channel_id: null, self_mute: false, self_deaf: false }, "guild_id", { get: throwing, enumerable: true })
      const info = Object.defineProperty({ fields: ["status"] }, "guild_id", { get: throwing, enumerable: true })
      const calls = [
        () => session.updatePresence(presence as unknown as Commands.Presence),
        () => session.updateVoiceState(voice as unknown as Omit<Commands.VoiceStateUpdate, "_tag">),
        () => session.requestChannelInfo(info as unknown as Omit<Commands.RequestChannelInfo, "_tag">)
      ]
      for (const call of calls) {
        const made = call()
        expect(outcome(yield* Effect.exit(made))).toBe("InvalidCommand")
      }
      const proxy = new Proxy({}, { get: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, has: throwing })
      expect(outcome(yield* Effect.exit(session.requestGuildMembers(proxy as unknown as Commands.MemberRequest)))).toBe("InvalidCommand")
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a getter that throws the token: the InvalidCommand and the InvalidOptions never quote it", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      const activity = Object.defineProperty({ type: 0 }, "name", {
        get: () => {
          throw new Error(`bad ${secret}`)
        },
        enumerable: true
      }) as unknown as Commands.Activity
      const given = { ...online, activities: [activity] }
      const refused = yield* Effect.exit(session.updatePresence(given))
      expect(outcome(refused)).toBe("InvalidCommand")
      const made = yield* Effect.exit(Session.make(options({ presence: given })))
      expect(outcome(made)).toBe("InvalidOptions")
      for (const exit of [refused, made] as ReadonlyArray<Exit.Exit<unknown, unknown>>) {
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("could not be read (bad <token>")
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).not.toContain(secret.slice(0, 12))
      }
    }).pipe(Effect.provide(TestLayer)))

  // a value read from the wrong variable: the message quoted 44 of its characters
  it.scoped("a guild id holding the token: the InvalidCommand's message masks it", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      const error = yield* Effect.flip(session.updateVoiceState({ guild_id: `https://bot.test/${secret}`, channel_id: null, self_mute: false, self_deaf: false }))
      expect(error.message).toContain("<token>")
      expect(error.message).not.toContain(secret.slice(0, 12))
    }).pipe(Effect.provide(TestLayer)))
})

describe("a session's stop given a timeout that is no duration", () => {
  // it died with Effect's bare "Invalid DurationInput", after the close had gone out
  // a negative or NaN number, which the types allow, is none, as Effect reads it (it still stops)
  it.scoped("disconnect('5 secondz') dies at once naming the call and the value, stopping nothing", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      const exit = yield* Effect.exit(session.disconnect("5 secondz" as unknown as "5 seconds"))
      expect(outcome(exit)).toBe(`died: RuntimeException: Session.disconnect: the timeout must be a duration ("5 seconds", or milliseconds), got "5 secondz"`)
      yield* settle
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect(outcome(yield* Effect.exit(session.end({ seconds: 5 } as unknown as "5 seconds")))).toBe(
        `died: RuntimeException: Session.end: the timeout must be a duration ("5 seconds", or milliseconds), got an object`
      )
    }).pipe(Effect.provide(TestLayer)))

  // it died as "no duration" for a round: the types allow -1, which Effect's timeout reads as none
  it.scoped("disconnect(-1) stops the session, with no time given to the gateway's answer", () =>
    Effect.gen(function*() {
      const { session } = yield* readySession()
      const point = yield* session.disconnect(-1)
      expect(point._tag).toBe("Some")
      expect((yield* session.state)._tag).toBe("Disconnected")
    }).pipe(Effect.provide(TestLayer)))

})

describe("a session's commands given a getter that answers each read anew", () => {
  // checked on one answer, the op 3 took another and the next Identify a third
  it.scoped("a presence whose getter answers each read anew: the op 3 and the next Identify carry the one name that was checked", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession()
      let reads = 0
      const activity = Object.defineProperty({ type: 0 }, "name", { get: () => `answer ${++reads}`, enumerable: true })
      yield* session.updatePresence({ ...online, activities: [activity as unknown as Commands.Activity] })
      const sent = (yield* receiveOp(peer, 3)) as { d: { activities: ReadonlyArray<{ name: string }> } }
      yield* peer.close(4007)
      // the backoff and the in-memory identify limiter's spacing pass
      const next = yield* Effect.fork(acceptAndHello(3_600_000))
      yield* TestClock.adjust("10 seconds")
      const { first } = yield* Fiber.join(next)
      const identified = first as unknown as { d: { presence: { activities: ReadonlyArray<{ name: string }> } } }
      expect(identified.d.presence.activities[0]!.name).toBe(sent.d.activities[0]!.name)
    }).pipe(Effect.provide(TestLayer)))

  // the payload was the checked copy, the shard check read the program's array again
  it.scoped("a soundboard request whose guild's getter answers anew goes out for the guild that was checked for this shard", () =>
    Effect.gen(function*() {
      // guilds of shards 0 and 1 of 2: (id >> 22) % 2
      const [onZero, onOne] = [2000n, 2001n].map((high) => String((high << 22n) | 4242n))
      const { peer, session } = yield* readySession({ shard: [0, 2] })
      let reads = 0
      const guildIds: Array<string> = []
      Object.defineProperty(guildIds, 0, { enumerable: true, get: () => reads++ < 2 ? onOne : onZero })
      const refused = yield* Effect.flip(session.requestSoundboardSounds(guildIds))
      expect(refused.message).toMatch(/^RequestSoundboardSounds: guild \d+ is on shard 1 of 2/)
      yield* settle
      expect((yield* sentPayloads(peer)).filter((payload) => payload.op === 31)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))
})
