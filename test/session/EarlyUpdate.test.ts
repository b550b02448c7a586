/**
 * A presence update made before the first connection is ready, as the README's first program makes
 * it: the Identify carries it, and its wait ends once the Identify went out, so a session the
 * gateway then ends (a refused token, a privileged intent) ends the program with its own error. One
 * the session ended before (nothing went out) fails with `SessionClosed` saying why it ended.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { hello, options, programLimiter, secret, sentPayloads, Session, settle, TestLayer, token } from "./harness.ts"

const presence = { since: null, activities: [{ name: "the gateway", type: 3 }], status: "online", afk: false } as const

// the README's first program: an update, then the events
const firstProgram = (overrides: Parameters<typeof options>[0] = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* Session.make(options({ intents: Intents.Guilds | Intents.MessageContent, ...overrides }))
    yield* session.updatePresence(presence)
    yield* Stream.runForEach(session.events, () => Effect.void)
  }))

describe("a presence update made before the first connection is ready", () => {
  it.scoped("is done once the Identify that carried it went out, READY not come yet", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options())
      const update = yield* Effect.fork(session.updatePresence(presence))
      yield* settle
      const peer = yield* gateway.accept
      const identify = yield* peer.handshake(60_000)
      expect(identify.op === 2 && identify.d.presence).toEqual(presence)
      yield* settle
      expect(update.unsafePoll()).toEqual(Exit.void)
    }).pipe(Effect.provide(TestLayer)))

  // a write that failed (the socket gone as the limiter let the Identify go) was taken for one that
  // went out: the update was done though nothing was written (rereview100)
  it.scoped("is not done when the Identify carrying it could not be written", () =>
    Effect.gen(function*() {
      const peerOf = yield* Deferred.make<MemoryTransport.MemoryPeer>()
      const scope = yield* Scope.make()
      const { final, written, whenDropped } = yield* Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const session = yield* Scope.extend(Session.make(options()), scope)
        const update = yield* Effect.fork(session.updatePresence(presence))
        yield* settle
        const peer = yield* gateway.accept
        yield* peer.sendJson(hello(41_250))
        yield* Deferred.succeed(peerOf, peer)
        yield* settle
        const written = (yield* sentPayloads(peer)).filter((payload) => payload.op === 2)
        const whenDropped = update.unsafePoll()
        yield* Scope.close(scope, Exit.void)
        return { final: yield* Fiber.await(update), written, whenDropped }
      }).pipe(Effect.provide(programLimiter({
        // the socket is gone just before the limiter lets the Identify go
        identify: (_shard, send) => Effect.zipRight(Effect.flatMap(Deferred.await(peerOf), (peer) => peer.drop), send(Effect.void))
      })))
      expect({ written, whenDropped }).toEqual({ written: [], whenDropped: null })
      expect(final).toEqual(Exit.fail(expect.objectContaining({ _tag: "SessionClosed" })))
    }))

  // the update's wait ended only when an answered connection's writer found it moot: the session's
  // fatal end failed it with SessionClosed first, and the program ended with that, the 4014 unsaid
  for (const [code, reason] of [[4014, "Disallowed intent(s)."], [4004, "Authentication failed."]] as const) {
    it.scoped(`lets the first program end with the gateway's own error: FatalClose ${code}`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const run = yield* Effect.fork(firstProgram())
        const peer = yield* gateway.accept
        yield* peer.handshake(41_250)
        yield* settle
        yield* peer.close(code, reason)
        expect(yield* Effect.flip(Fiber.join(run))).toMatchObject({ _tag: "FatalClose", code })
      }).pipe(Effect.provide(TestLayer)))
  }

  it.effect("fails with SessionClosed saying why the session ended when it ended before anything went out (a 401 from GET /gateway/bot)", () => {
    const unauthorized = HttpClient.make((request) =>
      Effect.sync(() =>
        HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ message: `401: Unauthorized ${secret}`, code: 0 }), { status: 401, headers: { "content-type": "application/json" } })
        )
      )
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(firstProgram({ token, gateway: undefined }))
      expect(error).toMatchObject({ _tag: "SessionClosed", shards: [0], guildIds: [] })
      expect(error.message).toMatch(/^session closed: shard 0 was disconnected or ended before the command went out; it ended with: .*401/)
      expect(error.message).not.toContain(secret)
    }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, unauthorized))))
  })

  // the README: the typed error the session ended with is what `session.await` fails with
  it.effect("leaves the typed error the session ended with to session.await", () => {
    const unauthorized = HttpClient.make((request) =>
      Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ message: "401: Unauthorized", code: 0 }), { status: 401 })))
    )
    return Effect.gen(function*() {
      const session = yield* Session.make(options({ token, gateway: undefined }))
      const closed = yield* Effect.flip(session.updatePresence(presence))
      expect(closed._tag).toBe("SessionClosed")
      expect(yield* Effect.flip(session.await)).toMatchObject({ _tag: "GatewayInfoError", reason: "Unauthorized" })
    }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, unauthorized))))
  })
})
