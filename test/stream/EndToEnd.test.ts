/**
 * How events reach the program end to end: a session's listed events through a full buffer and a
 * resume, and a `for await` loop over validated events that stops at a bad one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Event from "../../src/protocol/Event.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import * as ForAwait from "../../src/stream/ForAwait.ts"
import * as Validated from "../../src/stream/Validated.ts"
import { MemoryApi, MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { advance } from "../fleet/harness.ts"
import { settle } from "../settle.ts"

const token = Redacted.make("test-token")
const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 1, maxConcurrency: 1 }))

describe("events end to end", () => {
  // every listed event once and in order: the reader waits for room (never drops), and the
  // sequence the Resume names is that of the last event in the buffer
  it.scoped("a full buffer, an events list and a dropped connection: the resumed session delivers each listed event once, in order", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve({ heartbeatInterval: 10_000 })
      const session = yield* Session.make({
        token,
        intents: Intents.Guilds | Intents.GuildMessages,
        gateway: "ws://gateway.test",
        compression: "none",
        bufferSize: 2,
        events: ["GUILD_CREATE", "READY"]
      })
      yield* advance(1_000)
      for (let i = 0; i < 8; i++) {
        yield* served.dispatch(0, "GUILD_CREATE", { id: String(100 + i) })
        yield* served.dispatch(0, "CHANNEL_CREATE", { id: String(200 + i), guild_id: String(100 + i) })
      }
      yield* settle
      yield* (yield* served.peers).get(0)!.drop
      yield* advance(10_000)
      for (let i = 8; i < 10; i++) yield* served.dispatch(0, "GUILD_CREATE", { id: String(100 + i) })
      yield* settle
      const got: Array<string> = []
      const run = yield* Effect.fork(Stream.runForEach(session.events, (event) =>
        Effect.sync(() => got.push(event.t === "GUILD_CREATE" ? event.d.id : event.t))))
      yield* advance(20_000)
      yield* Fiber.interrupt(run)
      expect((yield* served.resumes).length).toBeGreaterThan(0)
      expect(got).toEqual(["READY", ...Array.from({ length: 10 }, (_, i) => String(100 + i))])
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // a loop that stops at the first bad event rejects with the error itself, and the rest of its
  // chunk goes with it: a later run starts after that chunk
  it.live("for await over Validated with onInvalid: Effect.fail rejects with the InvalidEvent itself, and a later run starts after that chunk", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<Event.GatewayEvent, never>(16)
      for (const [s, id] of [[1, "1"], [2, 2], [3, "3"]] as const) buffer.sink.unsafeOffer(Event.make(0, s, "MESSAGE_CREATE", { id }))
      const stream = buffer.stream.pipe(Validated.events({ MESSAGE_CREATE: Schema.Struct({ id: Schema.String }) }, { onInvalid: Effect.fail }))
      const out = yield* Effect.promise(async () => {
        const seen: Array<number> = []
        try {
          for await (const event of ForAwait.iterate(stream)) seen.push(event.sequence)
          return { seen, error: undefined as unknown }
        } catch (error) {
          return { seen, error }
        }
      })
      expect(out.seen).toEqual([1])
      expect(out.error).toBeInstanceOf(Validated.InvalidEvent)
      expect((out.error as Validated.InvalidEvent).sequence).toBe(2)
      buffer.sink.unsafeOffer(Event.make(0, 4, "MESSAGE_CREATE", { id: "4" }))
      yield* buffer.done(Exit.void)
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(buffer.stream)).map((event) => event.sequence)).toEqual([4])
    }))
})
