// The README's examples, run as tests so they stay true.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { expect, expectTypeOf, it } from "@effect/vitest"
import { Config, Effect, Fiber, Layer, Redacted, Schema, Stream, TestClock } from "effect"
import { IdentifyLimiter, Intents, Live, Session, Validated } from "../../src/index.ts"
import { MemoryTransport } from "../../src/testing/index.ts"
import { acceptAndHello, options, ready } from "../session/harness.ts"

// README: "Testing your bot" — a heartbeat timeout under TestClock, on the in-memory transport.
const TestServices = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer)

it.scoped("a connection whose heartbeats go unanswered is replaced, and the session resumes", () =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    yield* Session.make({
      token: Redacted.make("test-token"),
      intents: Intents.Guilds,
      gateway: "ws://gateway.test",
      compression: "none"
    })

    const first = yield* gateway.accept
    yield* first.sendJson({ op: 10, d: { heartbeat_interval: 10_000 }, s: null, t: null })
    yield* first.receivedJson // Identify
    yield* first.sendJson({
      op: 0, s: 1, t: "READY",
      d: { v: 10, session_id: "abc", resume_gateway_url: "ws://resume.test", user: { id: "1" }, application: { id: "2" }, guilds: [] }
    })

    // Never acknowledge a heartbeat: within two intervals the session gives up on the connection.
    yield* TestClock.adjust("20 seconds")
    expect((yield* first.closed).by).toBe("client")

    // ... and resumes on the resume URL after its backoff.
    yield* TestClock.adjust("1 second")
    const second = yield* gateway.accept
    expect(second.url).toMatch(/^ws:\/\/resume\.test/)
    yield* second.sendJson({ op: 10, d: { heartbeat_interval: 10_000 }, s: null, t: null })
    let resume = (yield* second.receivedJson) as { op: number; d: unknown }
    while (resume.op === 1) resume = (yield* second.receivedJson) as { op: number; d: unknown }
    expect(resume).toEqual({ op: 6, d: { token: "test-token", session_id: "abc", seq: 1 } })
  }).pipe(Effect.provide(TestServices)))

// README: "The library" — the first example, checked by the compiler: composed with `Live.layer`, it
// needs nothing more, and its errors are the typed ones the README names.
it("the library example composes with Live.layer into a runnable program", () => {
  const program = Effect.gen(function*() {
    const session = yield* Session.make({
      token: yield* Config.redacted("DISCORD_TOKEN"),
      intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent
    })
    yield* session.updatePresence({ since: null, activities: [{ name: "the gateway", type: 3 }], status: "online", afk: false })
    yield* Stream.runForEach(session.events, (event) =>
      event.t === "MESSAGE_CREATE"
        ? Effect.log(`${event.d.author.username}: ${event.d.content}`)
        : Effect.void)
  })
  const runnable = program.pipe(Effect.scoped, Effect.provide(Live.layer))
  expectTypeOf<Effect.Effect.Context<typeof runnable>>().toEqualTypeOf<never>()
  expectTypeOf<Effect.Effect.Error<typeof runnable>["_tag"]>().toEqualTypeOf<
    // reading config, bad options, a bad command, a closed session, and what ends a session for good
    "ConfigError" | "InvalidOptions" | "InvalidCommand" | "SessionClosed" | "FatalClose" | "IdentifyBudgetExhausted" | "GatewayInfoError"
  >()
  expect(Effect.isEffect(runnable)).toBe(true)
})

// README: "Checking event data (opt-in)" — the example's stream, over a session on the in-memory transport.
it.scoped("the validation example decodes MESSAGE_CREATE data with its schema, other events pass", () =>
  Effect.gen(function*() {
    const session = yield* Session.make(options())

    const MessageCreate = Schema.Struct({
      id: Schema.BigInt,
      content: Schema.String,
      author: Schema.Struct({ id: Schema.BigInt, username: Schema.String })
    })
    const events = session.events.pipe(Validated.events({ MESSAGE_CREATE: MessageCreate }))
    const logged: Array<string> = []
    const handled = yield* Effect.fork(Stream.runForEach(Stream.take(events, 2), (event) =>
      event.t === "MESSAGE_CREATE" // d: the schema's output
        ? Effect.sync(() => logged.push(`${event.d.author.username} (${event.d.author.id}): ${event.d.content}`))
        : Effect.void))
    const messages = session.events.pipe(Validated.only({ MESSAGE_CREATE: MessageCreate }))
    expectTypeOf<Stream.Stream.Success<typeof messages>["d"]["author"]["id"]>().toEqualTypeOf<bigint>()

    const { peer } = yield* acceptAndHello()
    yield* peer.sendJson(ready())
    yield* peer.sendJson({
      op: 0, s: 2, t: "MESSAGE_CREATE",
      d: { id: "20", content: "hi", author: { id: "30", username: "ana", discriminator: "0" }, channel_id: "4" }
    })
    yield* Fiber.join(handled)
    expect(logged).toEqual(["ana (30): hi"])
  }).pipe(Effect.provide(TestServices)))
