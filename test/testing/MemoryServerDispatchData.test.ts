/**
 * `MemoryServer.dispatch` takes the data as JSON writes it at the call: what the intents judge,
 * what each session is sent and what a Resume replays (a `toJSON` applied, later changes unseen).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import * as MemoryApi from "../../src/testing/MemoryApi.ts"
import * as MemoryServer from "../../src/testing/MemoryServer.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { settle } from "../settle.ts"

const layer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 1, maxConcurrency: 1 }))
const token = Redacted.make("test-token")
const guildId = "81384788765712384"

// a message as a test's fixture builds it: a wrapper whose JSON is the message (discord.js-style
// builders and models write themselves through toJSON)
class WireMessage {
  constructor(private readonly fields: Record<string, unknown>) {}
  toJSON() {
    return this.fields
  }
}

describe("MemoryServer.dispatch: the data as JSON writes it", () => {
  // README (MemoryServer, `dispatch`): "Only where the session's intents open it, a guild message's
  // content emptied without MessageContent (`Visibility`)"; README (Sending events): "each session is
  // sent what JSON writes of the data (a class's `toJSON` applied), shaped by its intents" and "So a
  // bot that forgot an intent gets nothing here, as from Discord" (and a bot that has it gets it).
  it.scoped("a guild message given with toJSON reaches a bot without MessageContent with its content emptied", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      // GuildMessages and DirectMessages, no MessageContent
      const session = yield* Session.make({
        token,
        intents: Intents.Guilds | Intents.GuildMessages | Intents.DirectMessages,
        compression: "none",
        events: ["MESSAGE_CREATE"]
      })
      yield* TestClock.adjust("1 second")
      const sent = yield* served.dispatch(
        0,
        "MESSAGE_CREATE",
        new WireMessage({ id: "5", guild_id: guildId, channel_id: "7", content: "the user's secret", author: { id: "99" }, mentions: [] })
      )
      yield* settle
      expect(sent).toBe(1)
      const [event] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(session.events, 1)))
      expect(event!.d.guild_id).toBe(guildId)
      // Discord empties it: the bot has no MessageContent, the message is neither by nor mentioning it
      expect(event!.d.content).toBe("")
    }).pipe(Effect.provide(layer)))

  // Same README lines: a bot with the intent the guild message needs (GuildMessages) is sent it.
  it.scoped("a guild message given with toJSON reaches a bot with GuildMessages (it went to none: judged a direct message)", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      yield* Session.make({ token, intents: Intents.Guilds | Intents.GuildMessages, compression: "none" })
      yield* TestClock.adjust("1 second")
      const sent = yield* served.dispatch(
        0,
        "MESSAGE_CREATE",
        new WireMessage({ id: "5", guild_id: guildId, channel_id: "7", content: "hi", author: { id: "99" }, mentions: [] })
      )
      expect(sent).toBe(1)
    }).pipe(Effect.provide(layer)))

  // README (MemoryServer, `dispatch`): "Numbered next in the session ... kept for its Resume while its
  // connection is down". A Resume replays what was dispatched, as Discord does, not what the test's
  // object became afterwards.
  it.scoped("a dispatch kept for the Resume is replayed as it was dispatched, not as the object was changed since", () =>
    Effect.gen(function*() {
      const served = yield* MemoryServer.serve()
      const session = yield* Session.make({ token, intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent, compression: "none" })
      yield* TestClock.adjust("1 second")
      const peer = (yield* served.peers).get(0)!
      yield* peer.drop
      yield* settle
      // one fixture object, changed between two dispatches while the connection is down
      const message = { id: "1", guild_id: guildId, channel_id: "7", content: "first", author: { id: "99" }, mentions: [] }
      yield* served.dispatch(0, "MESSAGE_CREATE", message)
      message.id = "2"
      message.content = "second"
      yield* served.dispatch(0, "MESSAGE_CREATE", message)
      // the session resumes and the server replays the two
      yield* TestClock.adjust("10 seconds")
      yield* settle
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(session.events, 4)))
      const messages = events.filter((event) => event.t === "MESSAGE_CREATE").map((event) => event.t === "MESSAGE_CREATE" ? event.d.content : "")
      expect(messages).toEqual(["first", "second"])
    }).pipe(Effect.provide(layer)))
})
