import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Intents from "../../../src/protocol/Intents.ts"
import { Opcode } from "../../../src/protocol/Opcode.ts"
import * as Session from "../../../src/session/Session.ts"
import type * as Log from "../../../src/testing/Log.ts"
import { awaitLog, awaitTransition, ClientLayer, consume, sessionOptions, startGateway } from "./support.ts"

const ofOp = (log: Log.Snapshot, op: number) => log.commands.filter((command) => command.op === op)
const sends = (log: Log.Snapshot, connection: number) =>
  log.commands.filter((c) => c.connection === connection).length + log.heartbeats.filter((h) => h.connection === connection).length

const presence = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })

describe("Session against the local gateway: commands", () => {
  it.scopedLive("a command waits for READY; an oversize one fails at once and nothing is sent", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway()
      const guildId = gateway.world.guilds[0]!.id
      // Hello comes late: a command sent before Hello or before Identify would be a violation.
      yield* gateway.delayNextHello("400 millis")
      const intents = sessionOptions(gateway).intents | Intents.GuildVoiceStates
      const session = yield* Session.make(sessionOptions(gateway, { intents }))
      const received = yield* consume(session)
      const voice = yield* Effect.fork(session.updateVoiceState({ guild_id: guildId, channel_id: null, self_mute: true, self_deaf: false }))

      const tooLarge = yield* Effect.flip(session.updatePresence(presence("x".repeat(5000))))
      expect(tooLarge._tag).toBe("InvalidCommand")
      expect(tooLarge._tag === "InvalidCommand" && tooLarge.reason).toBe("TooLarge")
      expect(tooLarge.message).toContain("4096")
      // It failed before the session was even identified.
      expect((yield* gateway.log).commands).toEqual([])
      expect(Option.isNone(yield* Fiber.poll(voice))).toBe(true)

      yield* Fiber.join(voice)
      yield* received.until("VOICE_STATE_UPDATE", (events) => events.some((e) => e.t === "VOICE_STATE_UPDATE"))
      const log = yield* gateway.log
      expect(log.commands.map((c) => c.op)).toEqual([Opcode.Identify, Opcode.VoiceStateUpdate])
      expect(log.commands[1]!.d).toEqual({ guild_id: guildId, channel_id: null, self_mute: true, self_deaf: false })
      expect(received.events.map((e) => e.t).indexOf("READY")).toBe(0)
      expect(log.violations).toEqual([])
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("a command submitted while the session is reconnecting goes out once, after the Resume", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway()
      const guildId = gateway.world.guilds[0]!.id
      const session = yield* Session.make(sessionOptions(gateway, { backoff: { initial: "200 millis", max: "200 millis", afterInvalidSession: ["200 millis", "200 millis"] } }))
      yield* awaitTransition(session, "READY", (t) => t.to._tag === "Connected" && t.to.phase === "Ready")
      yield* gateway.drop("all")
      // Once the session saw the drop (a write before that would go into the dead socket).
      yield* awaitTransition(session, "the drop", (t) => !(t.to._tag === "Connected" && t.to.phase === "Ready"))
      const voice = yield* Effect.fork(session.updateVoiceState({ guild_id: guildId, channel_id: null, self_mute: false, self_deaf: true }))
      yield* Fiber.join(voice)
      const log = yield* awaitLog(gateway, "the command", (log) => log.commands.length === 3)
      expect(log.commands.map((c) => [c.connection, c.op])).toEqual([
        [1, Opcode.Identify],
        [2, Opcode.Resume],
        [2, Opcode.VoiceStateUpdate]
      ])
      expect(log.violations).toEqual([])
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("130 commands at once: the gateway gets no more than the send limit allows, the rest wait", () =>
    Effect.gen(function*() {
      // A 1 s heartbeat with the first beat at 0.9 s: the burst goes out before any beat.
      const gateway = yield* startGateway({ heartbeatInterval: "1 second" })
      const guildId = gateway.world.guilds[0]!.id
      const session = yield* Session.make(sessionOptions(gateway)).pipe(Effect.withRandom(Random.fixed([0.9])))
      yield* awaitTransition(session, "READY", (t) => t.to._tag === "Connected" && t.to.phase === "Ready")
      const burst = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 130 }), () => session.requestSoundboardSounds([guildId]), { concurrency: "unbounded" })
      )
      // 120 per 60 s, 4 of them kept for control sends: 116 commands besides the identify (115
      // while the command cap counted the beats and the identify as well, each taking a command's
      // place besides the one kept for it), then the two beats: 119.
      yield* awaitLog(gateway, "116 commands", (log) => ofOp(log, Opcode.RequestSoundboardSounds).length >= 116)
      yield* awaitLog(gateway, "two heartbeats after the burst", (log) => log.heartbeats.length >= 2)
      const log = yield* gateway.log
      expect(ofOp(log, Opcode.RequestSoundboardSounds)).toHaveLength(116)
      expect(sends(log, log.connections[0]!.id)).toBe(119)
      expect(log.heartbeats.map((h) => h.requested)).toEqual([false, false])
      expect(Option.isNone(yield* Fiber.poll(burst))).toBe(true)
      expect(log.connections).toHaveLength(1)
      expect(log.connections[0]!.closedAt).toBeUndefined()
      expect(log.violations).toEqual([])
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(ClientLayer)))

  it.scopedLive("presence updates: 5 go out, the 6th and 7th wait for the 20 s window", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway()
      const session = yield* Session.make(sessionOptions(gateway))
      yield* awaitTransition(session, "READY", (t) => t.to._tag === "Connected" && t.to.phase === "Ready")
      const updates = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 7 }, (_, i) => i), (i) => session.updatePresence(presence(`game ${i}`)))
      )
      yield* awaitLog(gateway, "5 presence updates", (log) => ofOp(log, Opcode.PresenceUpdate).length >= 5)
      const beats = (yield* gateway.log).heartbeats.length
      yield* awaitLog(gateway, "three more heartbeats", (log) => log.heartbeats.length >= beats + 3)
      const log = yield* gateway.log
      const sent = ofOp(log, Opcode.PresenceUpdate)
      expect(sent).toHaveLength(5)
      expect(sent.map((c) => (c.d as { activities: ReadonlyArray<{ name: string }> }).activities[0]!.name)).toEqual(
        ["game 0", "game 1", "game 2", "game 3", "game 4"]
      )
      expect(Option.isNone(yield* Fiber.poll(updates))).toBe(true)
      expect(log.violations).toEqual([])
    }).pipe(Effect.provide(ClientLayer)))
})
