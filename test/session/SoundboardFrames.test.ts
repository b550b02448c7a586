/**
 * A soundboard request whose list does not fit in one frame (about 180 ids) goes out in several,
 * in order, on the session's connection.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Json from "../../src/codec/Json.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Commands from "../../src/protocol/Commands.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { readySession, sentPayloads, settle, TestLayer, writtenThrough } from "./harness.ts"

const ids = (count: number) => Array.from({ length: count }, (_, i) => String(10n ** 17n + BigInt(i)))
const sentIds = (payloads: ReadonlyArray<{ readonly op: number; readonly d: unknown }>) => guildIdsOf(payloads).flat()
const guildIdsOf = (payloads: ReadonlyArray<{ readonly op: number; readonly d: unknown }>) =>
  payloads.filter((payload) => payload.op === 31).map((payload) => (payload.d as { readonly guild_ids: ReadonlyArray<string> }).guild_ids)

// a transport whose op 31 writes, once `held` is set, reach the peer and then wait for it before
// they end: a write under way as the session ends
let held: Deferred.Deferred<void> | undefined
const HeldWrites = Layer.mergeAll(
  writtenThrough((op, plain) => op === 31 && held !== undefined ? Effect.zipLeft(plain, Deferred.await(held)) : plain).pipe(
    Layer.provideMerge(MemoryTransport.layer)
  ),
  IdentifyLimiter.layerMemory,
  FetchHttpClient.layer
)

describe("a soundboard request too long for one frame", () => {
  // it was refused as too large: a bot asked for its guilds' sounds about 180 at a time
  it.scoped("goes out in as many frames as it needs, in order, each within the limit, and the call ends once all went out", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const list = ids(2500)
      yield* session.requestSoundboardSounds(list)
      const frames = guildIdsOf(yield* sentPayloads(peer))
      expect(frames.length).toBe(Either.getOrThrow(Commands.soundboardParts(list, Json.encoding)).length)
      expect(frames.length).toBeGreaterThan(10)
      expect(frames.flat()).toEqual(list)
      expect(frames.every((part) => JSON.stringify({ op: 31, d: { guild_ids: part } }).length <= Commands.maxPayloadBytes)).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  // past the send limit (120 frames a minute, a few kept for heartbeats) the rest waits; the
  // session ending then names the guilds of the frames that did not go out, so a caller asks again
  // for those only
  it.scoped("the session ending part way fails the call with SessionClosed naming the guilds of the frames not sent", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const list = ids(200 * 150)
      const request = yield* Effect.fork(Effect.flip(session.requestSoundboardSounds(list)))
      yield* settle
      const sent = guildIdsOf(yield* sentPayloads(peer)).flat()
      expect(sent.length).toBeGreaterThan(0)
      expect(sent.length).toBeLessThan(list.length)
      expect(sent).toEqual(list.slice(0, sent.length))
      yield* session.end()
      const error = yield* Fiber.join(request)
      expect(error).toMatchObject({ _tag: "SessionClosed", shards: [0] })
      expect(error._tag === "SessionClosed" ? error.guildIds : []).toEqual(list.slice(sent.length))
    }).pipe(Effect.provide(TestLayer)))

  // each frame is queued once the one before went out: a caller that gives up sends no more
  it.scoped("a caller that gives up half way sends no later frame", () =>
    Effect.gen(function*() {
      const { peer, session } = yield* readySession({}, 3_600_000)
      const list = ids(200 * 150)
      const request = yield* Effect.fork(session.requestSoundboardSounds(list))
      yield* settle
      const before = sentIds(yield* sentPayloads(peer))
      expect(before.length).toBeGreaterThan(0)
      expect(before.length).toBeLessThan(list.length)
      yield* Fiber.interrupt(request)
      yield* settle
      const atInterrupt = sentIds(yield* sentPayloads(peer))
      // (a frame whose write was under way as the caller gave up may still have gone: at most one)
      expect([...before, ...atInterrupt]).toEqual(list.slice(0, before.length + atInterrupt.length))
      expect(atInterrupt.length).toBeLessThanOrEqual(200)
      yield* TestClock.adjust("5 minutes")
      yield* settle
      expect(sentIds(yield* sentPayloads(peer))).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  // the guilds a SessionClosed names are those to ask for again: one whose frame went out as the
  // session ended would be asked for twice
  it.scoped("a frame whose write was under way as the session ended, and went out, is not named by the SessionClosed", () =>
    Effect.gen(function*() {
      held = yield* Deferred.make<void>()
      const { peer, session } = yield* readySession({}, 3_600_000)
      const list = ids(400)
      const request = yield* Effect.fork(Effect.flip(session.requestSoundboardSounds(list)))
      yield* settle
      const ending = yield* Effect.fork(session.end())
      yield* settle
      yield* Deferred.succeed(held, undefined)
      yield* Fiber.join(ending)
      const error = yield* Fiber.join(request)
      const sent = sentIds(yield* sentPayloads(peer))
      expect(sent.length).toBeGreaterThan(0)
      expect(error).toMatchObject({ _tag: "SessionClosed", guildIds: list.slice(sent.length) })
    }).pipe(Effect.ensuring(Effect.sync(() => {
      held = undefined
    })), Effect.provide(HeldWrites)))
})
