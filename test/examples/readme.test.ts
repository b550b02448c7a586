// The README's examples, run as tests so they stay true.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { expect, expectTypeOf, it } from "@effect/vitest"
import { Chunk, Config, ConfigProvider, Duration, Effect, Either, Exit, Fiber, GroupBy, Layer, ManagedRuntime, Option, Random, Redacted, Schema, Stream, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Fleet, ForAwait, IdentifyLimiter, Intents, Live, Session, SessionOptions, Validated } from "../../src/index.ts"
import type { GatewayEvent } from "../../src/index.ts"
import { MemoryApi, MemoryServer, MemoryTransport } from "../../src/testing/index.ts"
import { advance, everyShardReady, options as fleetOptions } from "../fleet/harness.ts"
import { acceptAndHello, dispatch, options, ready } from "../session/harness.ts"

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
    expect((yield* first.handshake(10_000)).op).toBe(2) // Hello sent; the session answered with its Identify (op 2)
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
    expect(yield* second.handshake(10_000)).toEqual({ op: 6, d: { token: "test-token", session_id: "abc", seq: 1 } })
  }).pipe(Effect.provide(TestServices)))

// README: "Testing your bot" — with every heartbeat acknowledged, an hour of virtual time keeps the one connection.
it.scoped("a connection whose heartbeats are acknowledged stays up for as long as the TestClock runs", () =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const session = yield* Session.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, gateway: "ws://gateway.test", compression: "none" })
    const peer = yield* gateway.accept
    yield* peer.autoAck(true)
    yield* peer.handshake(10_000)
    yield* peer.sendJson({
      op: 0, s: 1, t: "READY",
      d: { v: 10, session_id: "abc", resume_gateway_url: "ws://resume.test", user: { id: "1" }, application: { id: "2" }, guilds: [] }
    })
    yield* TestClock.adjust("1 hour")
    expect(yield* peer.isOpen).toBe(true)
    expect((yield* gateway.attempts).length).toBe(1)
    expect((yield* session.snapshot).latency).toBe(0)
  }).pipe(Effect.provide(TestServices)))

// README: "Testing your bot" — MemoryServer answers a fleet's two shards; no loop of the test's own.
it.scoped("a fleet's program sees each shard's events and its presence reaches every shard", () =>
  Effect.gen(function*() {
    const served = yield* MemoryServer.serve()
    const fleet = yield* Fleet.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, compression: "none" })
    yield* TestClock.adjust("1 second") // both shards identify (max_concurrency 2) and are READY

    const guilds = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(fleet.events, (event) => event.t === "GUILD_CREATE"), 2)))
    // each guild to the shard Discord puts it on: (id >> 22) % 2
    yield* served.dispatch("all", "GUILD_CREATE", { id: "81384788765712384" })
    yield* served.dispatch("all", "GUILD_CREATE", { id: "81384788769906688" })
    expect(Chunk.toReadonlyArray(yield* Fiber.join(guilds)).map((event) => event.shard).sort()).toEqual([0, 1])

    yield* fleet.updatePresence({ since: null, activities: [], status: "idle", afk: false })
    const presences = (yield* served.commands).filter(({ payload }) => payload.op === 3)
    expect(presences.map(({ shard: [id] }) => id).sort()).toEqual([0, 1])
  }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 2, maxConcurrency: 2 })))))

// README: "Many shards: the fleet", "Startup" — the wait for every shard ready once, over MemoryServer:
// 4 shards at max_concurrency 2 are READY in two rounds 5 s apart, and the wait ends only after the
// second; a fleet ended before that ends the wait with false (the README's code is harness.ts's
// `everyShardReady`).
const FourShards = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 4, maxConcurrency: 2 }))
const phaseOf = (status: { readonly state: { readonly _tag: string; readonly phase?: string } }) => status.state.phase ?? status.state._tag

it.scoped("the startup example's wait ends once every shard of the fleet has been ready, not before", () =>
  Effect.gen(function*() {
    yield* MemoryServer.serve()
    const fleet = yield* Fleet.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, compression: "none" })
    // the statuses as the wait ends, read in the same fiber
    const waiting = yield* Effect.fork(Effect.zip(everyShardReady(fleet), fleet.status))
    yield* advance(4_500)
    // shards 0 and 1 are READY; 2 and 3 wait for their keys' 5 s: the wait goes on
    expect((yield* fleet.status).map(phaseOf)).toEqual(["Ready", "Ready", "Identifying", "Identifying"])
    expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
    yield* advance(1_000)
    const [ready, statuses] = yield* Fiber.join(waiting)
    expect(ready).toBe(true)
    expect(statuses.map(phaseOf)).toEqual(["Ready", "Ready", "Ready", "Ready"])
  }).pipe(Effect.provide(FourShards)))

it.scoped("the startup example's wait gives false when the fleet ends before every shard was ready", () =>
  Effect.gen(function*() {
    yield* MemoryServer.serve()
    const fleet = yield* Fleet.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, compression: "none" })
    const waiting = yield* Effect.fork(everyShardReady(fleet))
    yield* advance(1_000)
    const ending = yield* Effect.fork(fleet.end())
    yield* advance(1_000)
    yield* Fiber.join(ending)
    expect(yield* Fiber.join(waiting)).toBe(false)
  }).pipe(Effect.provide(FourShards)))

// README: "Resume points and handoff" — the handoff example: stopped (Ctrl-C) at any turn while
// events flow, the program handles every event up to its point once, in order, and the next
// process resumes from there. (A loop of uninterruptible chunks, interrupted after a take and
// before its handler began, lost the chunk the point counted: interrupt1.)
it.effect("the handoff example hands the session over with no event lost or handled twice, stopped at any turn", () =>
  Effect.gen(function*() {
    const token = Redacted.make("test-token")
    const intents = Intents.Guilds
    for (const [ops, turns] of [16, 32].flatMap((ops) => Array.from({ length: 20 }, (_, turns) => [ops, turns] as const))) {
      yield* Effect.scoped(Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const handled: Array<number> = []
        let saved: Option.Option<SessionOptions.ResumePoint> = Option.none()
        const loadPoint = Effect.succeed(Option.none<SessionOptions.ResumePoint>())
        const savePoint = (point: SessionOptions.ResumePoint) => Effect.sync(() => void (saved = Option.some(point)))
        const handle = (event: GatewayEvent) => Effect.sync(() => void handled.push(event.sequence))
        const program = Effect.gen(function*() {
          const session = yield* Session.make({ token, intents, resume: Option.getOrUndefined(yield* loadPoint), gateway: "ws://gateway.test", compression: "none" })
          const loop = yield* Effect.forkScoped(Stream.runForEach(session.events, handle))
          yield* Effect.addFinalizer(() =>
            Effect.gen(function*() {
              const point = yield* session.disconnect()
              yield* Fiber.await(loop) // the loop takes what was buffered when the session stopped, then ends
              if (Option.isSome(point)) yield* savePoint(point.value) // none: nothing to resume
            })
          )
          yield* Fiber.join(loop)
        })
        // Effect looks for an interruption every few operations, as it does every 2048 by default
        const running = yield* Effect.fork(Effect.scoped(program).pipe(Effect.withMaxOpsBeforeYield(ops)))
        const peer = yield* gateway.accept
        yield* peer.handshake(10_000)
        yield* peer.sendJson(ready(1, "abc"))
        for (let s = 2; s <= 40; s++) yield* peer.sendJson({ op: 0, s, t: "TYPING_START", d: { channel_id: "1", user_id: "2", timestamp: 0 } })
        for (let turn = 0; turn < turns; turn++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(running)
        const point = Option.getOrThrow(saved)
        expect({ ops, turns, handled }).toEqual({ ops, turns, handled: Array.from({ length: point.sequence }, (_, i) => i + 1) })
        // the next process resumes there
        yield* Session.make({ token, intents, resume: point, gateway: "ws://gateway.test", compression: "none" })
        const next = yield* gateway.accept
        expect(yield* next.handshake(10_000)).toMatchObject({ op: 6, d: { session_id: "abc", seq: point.sequence } })
      }).pipe(Effect.provide(TestServices)))
    }
  }))

// README: "Handling events concurrently" — lanes by guild: each guild's events in order, lanes side
// by side (the code as the README gives it)
const lanes = 8n

const laneOf = (event: GatewayEvent): bigint => {
  const d: object = event.d ?? {}
  const guild = event.t === "GUILD_CREATE" || event.t === "GUILD_UPDATE" || event.t === "GUILD_DELETE"
    ? "id" in d ? d.id : undefined
    : "guild_id" in d ? d.guild_id : undefined
  return typeof guild === "string" && /^\d+$/.test(guild) ? BigInt(guild) % lanes : 0n
}

const handleConcurrently = (events: Stream.Stream<GatewayEvent, unknown>, handle: (event: GatewayEvent) => Effect.Effect<void>) =>
  events.pipe(
    Stream.groupByKey(laneOf, { bufferSize: 64 }),
    GroupBy.evaluate((_, lane) => Stream.mapEffect(lane, handle)),
    Stream.runDrain
  )

it.scoped("the concurrent handling example keeps each guild's events in order while handlers of several guilds run at once", () =>
  Effect.gen(function*() {
    const served = yield* MemoryServer.serve()
    const session = yield* Session.make({ token: Redacted.make("test-token"), intents: Intents.Guilds | Intents.GuildMessages, gateway: "ws://gateway.test", compression: "none" })
    const guilds = ["100", "101", "102", "103"]
    const handled = new Map<bigint, Array<number>>()
    let running = 0
    let mostAtOnce = 0
    // a handler that waits a second of the TestClock, as one calling REST would
    const handle = (event: GatewayEvent) =>
      Effect.gen(function*() {
        const lane = laneOf(event)
        running++
        mostAtOnce = Math.max(mostAtOnce, running)
        yield* Effect.sleep("1 second")
        running--
        handled.set(lane, [...handled.get(lane) ?? [], event.sequence])
      })
    const lanesRun = yield* Effect.fork(handleConcurrently(session.events, handle))
    yield* TestClock.adjust("1 second")
    for (const guild of guilds) yield* served.dispatch(0, "GUILD_CREATE", { id: guild })
    for (let round = 0; round < 3; round++) {
      for (const guild of guilds) yield* served.dispatch(0, "MESSAGE_CREATE", { id: `${guild}-${round}`, guild_id: guild, channel_id: "1", content: "" })
    }
    for (let second = 0; second < 10; second++) yield* TestClock.adjust("1 second")
    // every guild's events handled, in the order they came (a guild a lane of its own here)
    expect(guilds.map((guild) => BigInt(guild) % lanes)).toEqual([4n, 5n, 6n, 7n])
    expect(handled.get(0n)).toEqual([1]) // READY
    for (const guild of guilds) {
      const sequences = handled.get(BigInt(guild) % lanes) ?? []
      expect(sequences).toHaveLength(4)
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b))
    }
    // four guilds in four lanes: their handlers overlapped (one loop would have taken 16 seconds)
    expect(mostAtOnce).toBe(4)
    yield* Fiber.interrupt(lanesRun)
  }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

// README: "Handling events concurrently" — the lanes' handoff: stopped (Ctrl-C), the session
// disconnects, the lanes handle the events buffered, and the point counts every one of them
it.scoped("the lanes' handoff example saves a point only once the lanes handled every event it counts", () =>
  Effect.gen(function*() {
    const served = yield* MemoryServer.serve()
    const handled: Array<number> = []
    let saved: Option.Option<SessionOptions.ResumePoint> = Option.none()
    const savePoint = (point: SessionOptions.ResumePoint) => Effect.sync(() => void (saved = Option.some(point)))
    const handle = (event: GatewayEvent) => Effect.zipRight(Effect.sleep("10 millis"), Effect.sync(() => void handled.push(event.sequence)))
    const program = Effect.gen(function*() {
      const session = yield* Session.make({ token: Redacted.make("test-token"), intents: Intents.Guilds | Intents.GuildMessages, gateway: "ws://gateway.test", compression: "none" })
      const lanesRun = yield* Effect.forkScoped(handleConcurrently(session.events, handle))
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const point = yield* session.disconnect() // the events end after those buffered
          yield* Fiber.await(lanesRun) // the lanes handle them
          if (Option.isSome(point)) yield* savePoint(point.value)
        })
      )
      return yield* Effect.never
    })
    const running = yield* Effect.fork(Effect.scoped(program))
    yield* TestClock.adjust("1 second")
    for (let i = 0; i < 30; i++) yield* served.dispatch(0, "MESSAGE_CREATE", { id: `${i}`, guild_id: `${100 + (i % 5)}`, channel_id: "1", content: "" })
    yield* TestClock.adjust("20 millis")
    const stopping = yield* Effect.fork(Fiber.interrupt(running))
    for (let i = 0; i < 100; i++) yield* TestClock.adjust("10 millis")
    yield* Fiber.join(stopping)
    const point = Option.getOrThrow(saved)
    expect(point.sequence).toBe(31)
    expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1))
  }).pipe(Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer))))

// README: "The library" — the point stored as events are handled: a process killed between chunks
// is resumed from the last chunk it handled, and the next one goes on from that point.
it.scoped("the stored-as-it-goes example resumes a killed process after the last chunk it handled", () =>
  Effect.gen(function*() {
    const served = yield* MemoryServer.serve()
    const token = Redacted.make("test-token")
    const intents = Intents.Guilds
    let saved: SessionOptions.ResumePoint | undefined
    const handled: Array<string> = []
    const loadPoint = Effect.sync(() => Option.fromNullable(saved))
    const savePoint = (point: SessionOptions.ResumePoint) => Effect.sync(() => void (saved = point))
    const handle = (event: GatewayEvent) => Effect.sync(() => void handled.push(`${event.t} ${event.sequence}`))
    const program = Effect.gen(function*() {
      let point = Option.getOrUndefined(yield* loadPoint)
      const session = yield* Session.make({ token, intents, resume: point, gateway: "ws://gateway.test", compression: "none" })
      yield* Stream.runForEachChunk(session.events, (chunk) =>
        Effect.gen(function*() {
          // each chunk is followed by an empty one, which moves no point
          if (Chunk.isEmpty(chunk)) return
          yield* Effect.forEach(chunk, handle, { discard: true })
          point = Chunk.reduce(chunk, point, SessionOptions.pointAfter)
          if (point !== undefined) yield* savePoint(point)
        }))
    })
    const first = yield* Effect.fork(Effect.scoped(program))
    yield* TestClock.adjust("1 second")
    yield* served.dispatch(0, "GUILD_CREATE", { id: "1" })
    yield* TestClock.adjust("1 second")
    // killed: its connection drops, nothing more is handled or stored
    yield* (yield* served.peers).get(0)!.drop
    yield* Fiber.interrupt(first)
    yield* served.dispatch(0, "GUILD_CREATE", { id: "2" })
    expect(saved?.sequence).toBe(2)

    yield* Effect.fork(Effect.scoped(program))
    yield* TestClock.adjust("2 seconds")
    yield* served.dispatch(0, "GUILD_CREATE", { id: "3" })
    yield* TestClock.adjust("1 second")
    expect(handled).toEqual(["READY 1", "GUILD_CREATE 2", "GUILD_CREATE 3", "RESUMED 4", "GUILD_CREATE 5"])
    expect(saved?.sequence).toBe(5)
    expect(yield* served.identifies).toHaveLength(1)
  }).pipe(
    Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 1, maxConcurrency: 1 }))),
    Effect.withRandom(Random.fixed([0.5]))
  ))

// README: "The library" — a handler that sends commands: its loop on a fiber of the scope, the
// session stopped first, the point of the last event handled. The bot as one that looks up each
// message's author (a member request) after a while.
const moderationBot = (store: { point: SessionOptions.ResumePoint | undefined }, moderated: Array<string>) => {
  const token = Redacted.make("test-token")
  const intents = Intents.Guilds | Intents.GuildMessages | Intents.GuildMembers
  const loadPoint = Effect.sync(() => Option.fromNullable(store.point))
  const savePoint = (point: SessionOptions.ResumePoint) => Effect.sync(() => void (store.point = point))
  return Effect.gen(function*() {
    let point = Option.getOrUndefined(yield* loadPoint)
    const session = yield* Session.make({ token, intents, resume: point, gateway: "ws://gateway.test", compression: "none" })
    const handle = (event: GatewayEvent) =>
      event.t !== "MESSAGE_CREATE" ? Effect.void : Effect.sleep("100 millis").pipe(
        Effect.zipRight(session.requestGuildMembers({ guild_id: event.d.guild_id!, user_ids: [event.d.author.id] })),
        Effect.zipRight(Effect.sync(() => void moderated.push(event.d.id)))
      )
    const loop = yield* Effect.forkScoped(
      Stream.runForEach(session.events, (event) =>
        Effect.map(handle(event), () => {
          point = SessionOptions.pointAfter(point, event)
        }))
    )
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* session.disconnect() // a command still waiting fails with SessionClosed
        yield* Fiber.await(loop) // what was buffered, up to the first command that fails
        if (point !== undefined) yield* savePoint(point)
      })
    )
    yield* Fiber.join(loop)
  })
}
const author = { user: { id: "2", username: "someone", discriminator: "0", global_name: null, avatar: null }, roles: [], joined_at: "2020-01-01T00:00:00.000Z", deaf: false, mute: false, flags: 0 } as never
const guildMessage = (id: number) => ({ id: String(id), guild_id: "81384788765712384", channel_id: "3", author: { id: "2" }, content: `m${id}` })
const MemoryBot = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 1, maxConcurrency: 1 }))

it.scoped("the command-sending handoff acts on every message once across a stop and a restart, the stop during an outage too", () =>
  Effect.gen(function*() {
    const served = yield* MemoryServer.serve({ members: () => [author] })
    const gateway = yield* MemoryTransport.MemoryGateway
    const store: { point: SessionOptions.ResumePoint | undefined } = { point: undefined }
    const moderated: Array<string> = []
    const first = yield* Effect.fork(Effect.scoped(moderationBot(store, moderated)))
    yield* TestClock.adjust("1 second")
    for (let i = 1; i <= 5; i++) yield* served.dispatch(0, "MESSAGE_CREATE", guildMessage(i))
    yield* TestClock.adjust("150 millis")
    // buffered behind the chunk being handled when the stop comes
    for (let i = 6; i <= 10; i++) yield* served.dispatch(0, "MESSAGE_CREATE", guildMessage(i))
    const stopping = yield* Effect.fork(Fiber.interrupt(first))
    for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
    yield* Fiber.join(stopping)

    const second = yield* Effect.fork(Effect.scoped(moderationBot(store, moderated)))
    for (let i = 0; i < 5; i++) yield* TestClock.adjust("1 second")
    expect(moderated).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 1)))
    // an outage while a handler's member request waits for a connection: the stop ends all the same
    yield* served.dispatch(0, "MESSAGE_CREATE", guildMessage(11))
    yield* TestClock.adjust("10 millis")
    yield* gateway.failNextConnect(Infinity, { status: 503 })
    yield* (yield* served.peers).get(0)!.drop
    yield* TestClock.adjust("5 seconds")
    yield* served.dispatch(0, "MESSAGE_CREATE", guildMessage(12))
    // its request waits for a connection
    expect(moderated).toHaveLength(10)
    expect((yield* served.commands).filter(({ payload }) => payload.op === 8)).toHaveLength(10)
    const stoppingInOutage = yield* Effect.fork(Fiber.interrupt(second))
    for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
    expect(Option.isSome(yield* Fiber.poll(stoppingInOutage))).toBe(true)
    // the next process, the outage over, acts on what the first did not
    yield* gateway.acceptConnects
    yield* Effect.fork(Effect.scoped(moderationBot(store, moderated)))
    for (let i = 0; i < 5; i++) yield* TestClock.adjust("1 second")
    expect(moderated).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)))
    expect(yield* served.identifies).toHaveLength(1)
  }).pipe(Effect.provide(MemoryBot), Effect.withRandom(Random.fixed([0.5]))))

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
    "ConfigError" | "InvalidOptions" | "InvalidCommand" | "SessionClosed" | "FatalClose" | "IdentifyBudgetExhausted" | "GatewayInfoError" | "MessageTooLarge"
  >()
  expect(Effect.isEffect(runnable)).toBe(true)
})

// README: "Many shards: the fleet" — the layerConfig example, checked by the compiler, then built from
// a map of settings: SHARD_COUNT is optional.
it.scoped("the fleet's layerConfig example reads its settings, SHARD_COUNT optional", () =>
  Effect.gen(function*() {
    const BotLayer = Fleet.layerConfig({
      token: Config.redacted("DISCORD_TOKEN"),
      intents: Intents.config("DISCORD_INTENTS"),
      shardCount: Config.integer("SHARD_COUNT").pipe(Config.option, Config.map(Option.getOrUndefined))
    }).pipe(Layer.provide(Live.layer))
    expectTypeOf<Layer.Layer.Context<typeof BotLayer>>().toEqualTypeOf<never>()
    expectTypeOf<Layer.Layer.Error<typeof BotLayer>["_tag"]>().toEqualTypeOf<"ConfigError" | "InvalidOptions" | "GatewayInfoError">()
    // without a token the layer fails before anything is asked of Discord
    const settings = ConfigProvider.fromMap(new Map([["DISCORD_INTENTS", "513"]]))
    const failed = yield* Effect.flip(Layer.build(BotLayer).pipe(Effect.withConfigProvider(settings)))
    expect(failed._tag).toBe("ConfigError")
    expect(String(failed)).toContain("DISCORD_TOKEN")
    // an empty DISCORD_INTENTS (a secret a CI run lacks) is a mistake, not no intents
    const empty = ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", "a.b.c"], ["DISCORD_INTENTS", ""]]))
    const refused = yield* Effect.flip(Layer.build(BotLayer).pipe(Effect.withConfigProvider(empty)))
    expect(String(refused)).toContain("DISCORD_INTENTS")
  }))

// README: "Many shards: the fleet" — a layer's points handed on by a finalizer of the program, which
// runs before the layer's release, stopped (an interruption, as by Ctrl-C) at any turn with events
// still buffered: the program handles every event the points count, once (the first version of the
// example saved the points and left the buffered events unhandled: 37 of 40 lost)
it.effect("the finalizer example hands a layer's fleet over with no event lost or handled twice, stopped at any turn", () =>
  Effect.gen(function*() {
    for (let turns = 0; turns < 16; turns++) {
      yield* Effect.scoped(Effect.gen(function*() {
        let saved: ReadonlyArray<SessionOptions.ResumePoint> = []
        const handled: Array<number> = []
        const savePoints = (points: ReadonlyArray<SessionOptions.ResumePoint>) => Effect.sync(() => void (saved = points))
        // each event a step of the scheduler: the stop comes with most of them still buffered
        const handle = (event: GatewayEvent) => Effect.zipRight(Effect.yieldNow(), Effect.sync(() => void handled.push(event.sequence)))
        const services = yield* Layer.build(TestServices)
        const BotLayer = Fleet.layer(fleetOptions({ shardCount: 1 })).pipe(Layer.provide(Layer.succeedContext(services)))
        const program = Effect.gen(function*() {
          const fleet = yield* Fleet.Fleet
          const loop = yield* Effect.forkScoped(Stream.runForEach(fleet.events, handle))
          yield* Effect.addFinalizer(() =>
            Effect.gen(function*() {
              const points = yield* fleet.disconnect()
              yield* Fiber.await(loop) // the events the points count, then the stream's end
              yield* savePoints(points) // your store, its errors caught (`Effect.catchAll`): a finalizer cannot fail
            })
          )
          yield* Fiber.join(loop)
        })
        const running = yield* Effect.fork(program.pipe(Effect.scoped, Effect.provide(BotLayer), Effect.withMaxOpsBeforeYield(16)))
        const { peer } = yield* acceptAndHello(41_250).pipe(Effect.provide(services))
        yield* peer.sendJson(ready(1, "session-0", [0, 1]))
        for (let s = 2; s <= 40; s++) yield* peer.sendJson(dispatch(s, "TYPING_START", { channel_id: "1", user_id: "2", timestamp: s }))
        for (let turn = 0; turn < turns; turn++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(running)
        expect(saved.map((point) => [point.sessionId, point.shard])).toEqual([["session-0", [0, 1]]])
        expect({ turns, handled }).toEqual({ turns, handled: Array.from({ length: saved[0]!.sequence }, (_, i) => i + 1) })
      }))
    }
  }))

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

// README: "From code that is not all Effect" — the Promise program, on the in-memory transport.
it("the Promise example takes its session from a ManagedRuntime, reads events with for await, and disposes of it", async () => {
  const intents = Intents.Guilds | Intents.GuildMessages | Intents.MessageContent
  const runtime = ManagedRuntime.make(
    Session.layer({ token: Redacted.make("test-token"), intents, gateway: "ws://gateway.test", compression: "none" }).pipe(Layer.provideMerge(TestServices))
  )
  const session = await runtime.runPromise(Session.GatewaySession)
  const peer = await runtime.runPromise(Effect.flatMap(MemoryTransport.MemoryGateway, (gateway) => gateway.accept))
  await runtime.runPromise(Effect.zipRight(peer.autoAck(true), peer.handshake(41_250)))
  await runtime.runPromise(peer.sendJson(ready()))
  const presence = await runtime.runPromiseExit(session.updatePresence({ since: null, activities: [], status: "idle", afk: false }))
  expect(Exit.isSuccess(presence)).toBe(true)
  await runtime.runPromise(Effect.forEach([
    dispatch(2, "GUILD_CREATE", { id: "10", name: "a guild" }),
    dispatch(3, "MESSAGE_CREATE", { id: "11", channel_id: "12", content: "!stop" }),
    dispatch(4, "MESSAGE_CREATE", { id: "13", channel_id: "12", content: "after" })
  ], peer.sendJson))
  // a loop that waits for READY, then the main loop: READY ends its chunk, so nothing is lost
  // between them (Effect's own iterable took the next chunk before the first loop's break)
  const given = await runtime.runtime()
  for await (const event of ForAwait.iterate(session.events, given)) {
    if (event.t === "READY") break
  }
  const seen: Array<string> = []
  for await (const event of ForAwait.iterate(session.events, given)) {
    seen.push(event.t)
    if (event.t === "MESSAGE_CREATE" && event.d.content === "!stop") break
  }
  expect(seen).toEqual(["GUILD_CREATE", "MESSAGE_CREATE"])
  // a later loop takes the events after the chunk the first broke in (the rest of it, the
  // MESSAGE_CREATE of sequence 4 if it came in that chunk, went with the first loop)
  await runtime.runPromise(peer.sendJson(dispatch(5, "MESSAGE_CREATE", { id: "14", channel_id: "12", content: "later" })))
  const later: Array<number> = []
  for await (const event of ForAwait.iterate(session.events, given)) {
    later.push(event.sequence)
    if (event.sequence === 5) break
  }
  expect([[5], [4, 5]]).toContainEqual(later)
  await runtime.dispose()
  const closed = await Effect.runPromise(peer.closed)
  expect(closed.by).toBe("client")
  expect(closed.code).not.toBe(1000)
})

// README: "Options at a glance" — every option of SessionOptions listed once, the defaults as resolve fills them in.
it("the options table names every session option, with the defaults resolve gives", () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8")
  const table = readme.split("### Options at a glance")[1]!.split("\n\n")[2]!
  const rows = table.split("\n").slice(2).map((row) => row.split(" | ").map((cell) => cell.replace(/^\| /, "").replace(/ \|$/, "")))
  const resolved = Either.getOrThrow(SessionOptions.resolve({ token: Redacted.make("test-token"), intents: Intents.Guilds }))
  // the limits the session sets itself are no options
  const { presenceLimit: _presence, sendLimit: _send, ...options } = resolved
  expect(rows.map(([name]) => name).sort()).toEqual(Object.keys(options).map((name) => `\`${name}\``).sort())
  const defaults = Object.fromEntries(rows.map(([name, , shown]) => [name!.slice(1, -1), shown]))
  const seconds = (duration: Duration.DurationInput) => `${Duration.toSeconds(duration)} s`
  expect(defaults["shard"]).toBe(`\`[${resolved.shard.join(", ")}]\``)
  expect(defaults["api"]).toBe(`\`${resolved.api}\``)
  expect(defaults["gatewayInfoMaxAge"]).toBe(`${Duration.toHours(resolved.gatewayInfoMaxAge)} hour`)
  expect(defaults["compression"]).toBe(`\`"${resolved.compression}"\``)
  expect(defaults["encoding"]).toBe(`\`"${resolved.encoding.name}"\``)
  expect(defaults["largeThreshold"]).toBe(`${resolved.largeThreshold}`)
  const { connect, hello, ready: readyTimeout, members } = resolved.timeouts
  expect(defaults["timeouts"]).toBe([connect, hello, readyTimeout, members].map(seconds).join(", "))
  const { afterInvalidSession, factor, initial, max, stableAfter } = resolved.backoff
  expect(defaults["backoff"]).toBe(`${seconds(initial)}, ${seconds(max)}, ${factor}, ${seconds(stableAfter)}, \`[${afterInvalidSession.map(seconds).join(", ")}]\``)
  expect(defaults["bufferSize"]).toBe(`${resolved.bufferSize}`)
  expect(defaults["maxMessageBytes"]).toBe(`${resolved.maxMessageBytes / 2 ** 20} MiB`)
})
