/**
 * How faithfully the local gateway stands in for Discord's (developers/events/gateway.mdx,
 * gateway-events.mdx, opcodes-and-status-codes.mdx): each test is a behaviour where a bot used to
 * pass against the local gateway and fail against Discord, or the reverse.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { CloseCode } from "../../src/protocol/CloseCode.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { connect, dispatch, hello, type RawClient } from "./rawClient.ts"

const token = "secret-token-value"
const query = "?v=10&encoding=json"

const gatewayWith = (options: Partial<LocalGateway.Options> = {}) =>
  LocalGateway.make({ token: Redacted.make(token), heartbeatInterval: "10 seconds", ...options })

const identifyPayload = (intents: number, extra: Record<string, unknown> = {}) => ({
  op: 2,
  d: { token, intents, properties: { os: "linux", browser: "test", device: "test" }, shard: [0, 1], ...extra }
})

/** Connects, waits for Hello, identifies with `intents` and waits for READY. */
const ready = (gateway: LocalGateway.LocalGateway, intents: number, extra: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const client = yield* connect(gateway.url + query)
    yield* client.next(hello)
    yield* client.send(identifyPayload(intents, extra))
    const readyFrame = yield* client.next(dispatch("READY"))
    return { client, ready: readyFrame }
  })

let markers = 0
/** A marker dispatch: everything the gateway sent the session before it has been received once it arrives. */
const flush = (gateway: LocalGateway.LocalGateway, client: RawClient) =>
  Effect.gen(function*() {
    const n = ++markers
    yield* gateway.dispatch("all", "TEST_MARKER", { n })
    yield* client.next((f) => f.op === 0 && f.t === "TEST_MARKER" && f.d.n === n)
  })

describe("local gateway: intents decide what a session receives (gateway.mdx, List of Intents)", () => {
  it.scopedLive("synthetic traffic sends a session only the events its intents ask for (Guilds only: no messages, presences, typing, reactions)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1 })
      const { client } = yield* ready(gateway, Intents.Guilds)
      yield* client.next(dispatch("GUILD_CREATE"))
      yield* gateway.startTraffic(200)
      yield* Effect.sleep("400 millis")
      yield* gateway.stopTraffic
      yield* flush(gateway, client)
      const types = new Set(client.frames.filter((f) => f.op === 0).map((f) => f.t))
      // Discord: MESSAGE_CREATE needs GUILD_MESSAGES, PRESENCE_UPDATE GUILD_PRESENCES, TYPING_START
      // GUILD_MESSAGE_TYPING, MESSAGE_REACTION_ADD GUILD_MESSAGE_REACTIONS
      expect([...types].sort()).toEqual(["GUILD_CREATE", "READY", "TEST_MARKER"])
    }))

  it.scopedLive("MESSAGE_CREATE without the MESSAGE_CONTENT intent carries an empty content", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1 })
      const { client } = yield* ready(gateway, Intents.Guilds | Intents.GuildMessages)
      yield* gateway.startTraffic(200)
      const message = yield* client.next(dispatch("MESSAGE_CREATE"))
      yield* gateway.stopTraffic
      expect(message.d.mentions).toEqual([]) // not a message mentioning the bot, nor a DM
      expect(message.d.content).toBe("")
    }))

  it.scopedLive("Update Voice State without GUILD_VOICE_STATES gets VOICE_SERVER_UPDATE but no VOICE_STATE_UPDATE", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1 })
      const { client } = yield* ready(gateway, Intents.Guilds | Intents.GuildMessages)
      const guild = gateway.world.guilds[0]!
      yield* client.send({ op: 4, d: { guild_id: guild.id, channel_id: guild.voiceChannelIds[0], self_mute: false, self_deaf: false } })
      yield* client.next(dispatch("VOICE_SERVER_UPDATE"))
      expect(client.frames.filter(dispatch("VOICE_STATE_UPDATE"))).toEqual([])
    }))

  it.scopedLive("GUILD_CREATE without GUILD_PRESENCES lists only the bot's own member (and members in voice)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1, membersPerGuild: 5 })
      const { client } = yield* ready(gateway, Intents.Guilds | Intents.GuildMessages)
      const create = yield* client.next(dispatch("GUILD_CREATE"))
      expect(create.d.voice_states).toEqual([])
      expect(create.d.members.map((m: { user: { id: string } }) => m.user.id)).toEqual([gateway.world.user.id])
    }))

  it.scopedLive("the bot's own GUILD_MEMBER_UPDATE comes without GUILD_MEMBERS (gateway.mdx, Caveats); VOICE_CHANNEL_STATUS_UPDATE needs GUILDS", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 1 })
      const { client } = yield* ready(gateway, Intents.GuildMessages)
      const guild = gateway.world.guilds[0]!
      const member = { guild_id: guild.id, roles: [], joined_at: "2020-01-01T00:00:00.000Z", deaf: false, mute: false }
      expect(yield* gateway.dispatch("all", "GUILD_MEMBER_UPDATE", { ...member, user: gateway.world.user })).toBe(1)
      expect(yield* gateway.dispatch("all", "GUILD_MEMBER_UPDATE", { ...member, user: guild.members[1]!.user })).toBe(0)
      expect(yield* gateway.dispatch("all", "VOICE_CHANNEL_STATUS_UPDATE", { id: guild.voiceChannelIds[0], guild_id: guild.id, status: "x" })).toBe(0)
      const update = yield* client.next(dispatch("GUILD_MEMBER_UPDATE"))
      expect(update.d.user.id).toBe(gateway.world.user.id)
    }))

  it.scopedLive("no GUILD_CREATE without the GUILDS intent", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 2 })
      const { client } = yield* ready(gateway, Intents.GuildMessages)
      yield* flush(gateway, client)
      expect(client.frames.filter(dispatch("GUILD_CREATE"))).toEqual([])
    }))
}, 20_000)

describe("local gateway: handshake and close codes", () => {
  it.scopedLive("an Identify for a shard that would hold more than 2500 guilds is closed with 4011 (sharding required)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 2501, membersPerGuild: 0, shards: 1 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send(identifyPayload(Intents.Guilds))
      const outcome = yield* Effect.race(
        Effect.map(client.closed, (closed) => ({ closed: closed.code })),
        Effect.map(client.next(dispatch("READY")), () => ({ ready: true }))
      )
      expect(outcome).toEqual({ closed: CloseCode.ShardingRequired })
      // refused before it counted: a second Identify at once is not rate-limited (op 9), but refused the same way
      const again = yield* connect(gateway.url + query)
      yield* again.next(hello)
      yield* again.send(identifyPayload(Intents.Guilds))
      expect((yield* again.closed).code).toBe(CloseCode.ShardingRequired)
      expect((yield* gateway.log).identifies.map((identify) => identify.outcome)).toEqual(["refused", "refused"])
    }))

  it.scopedLive("after op 9 d=true the session is invalidated on that connection: a Resume sent on it resumes, not 4005", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client, ready: readyFrame } = yield* ready(gateway, Intents.Guilds)
      yield* gateway.invalidateSession("all", true)
      yield* client.next((f) => f.op === 9)
      yield* client.send({ op: 6, d: { token, session_id: readyFrame.d.session_id, seq: readyFrame.s } })
      const outcome = yield* Effect.race(
        Effect.map(client.closed, (closed) => ({ closed: closed.code })),
        Effect.map(client.next(dispatch("RESUMED")), () => ({ resumed: true }))
      )
      expect(outcome).toEqual({ resumed: true })
    }))

  it.scopedLive("READY carries `shard` only when the Identify sent one", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send({ op: 2, d: { token, intents: Intents.Guilds, properties: { os: "linux", browser: "t", device: "t" } } })
      const readyFrame = yield* client.next(dispatch("READY"))
      expect(Object.keys(readyFrame.d)).not.toContain("shard")
    }))
}, 20_000)

describe("local gateway: what a test tool must not get wrong", () => {
  it.scopedLive("gateway.dispatch of data JSON has no value for sends d null, and data JSON cannot hold takes no sequence number", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const { client } = yield* ready(gateway, Intents.Guilds)
      // `d: unknown` in the API: undefined type-checks; Discord sends d null
      yield* gateway.dispatch("all", "CUSTOM_EVENT", undefined)
      const custom = yield* client.next(dispatch("CUSTOM_EVENT"))
      expect([custom.s, custom.d]).toEqual([2, null])
      yield* Effect.exit(gateway.dispatch("all", "BIGINT", { n: 1n }))
      yield* gateway.dispatch("all", "AFTER", { n: 1 })
      expect((yield* client.next(dispatch("AFTER"))).s).toBe(3)
      expect(client.malformed).toEqual([])
    }))

  it.scopedLive("an Identify with an intent bit above 2^31 (2^32 + 513) is closed with 4013, as any unknown bit", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send(identifyPayload(2 ** 32 + 513))
      expect((yield* client.closed).code).toBe(CloseCode.InvalidIntents)
    }))

  it.scopedLive("an Identify whose shard count is a whole number past 2^53 is closed with 4010 (it threw a RangeError out of the socket handler)", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send(identifyPayload(Intents.Guilds, { shard: [0, 1e300] }))
      expect((yield* client.closed).code).toBe(CloseCode.InvalidShard)
      expect((yield* gateway.violations).map((v) => v.kind)).toEqual(["InvalidShard"])
    }))

  it.scopedLive("a Hello held back by a stall is no missed heartbeat before the client got it", () =>
    Effect.gen(function*() {
      // a beat is missed 3.3 s after Hello reached the client: time for a loaded machine to get this
      // fiber's beat and check in; counted from Hello's going out (500 ms) it was missed at 3.8 s,
      // before the stall lets Hello through (5 s): both are timers of this process, fired in order
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "200 millis", heartbeatSlack: "3 seconds" })
      // 500 ms: time for the stall to start before Hello goes out, on a loaded machine too
      yield* gateway.delayNextHello("500 millis")
      const client = yield* connect(gateway.url + query)
      // Hello goes out (into the stall) at 500 ms and reaches the client at about 5 s
      yield* gateway.stall("all", "5 seconds")
      // longer than the 3 s `next` waits
      yield* Effect.gen(function*() {
        while (!client.frames.some(hello)) yield* Effect.sleep("10 millis")
      }).pipe(Effect.timeout("15 seconds"))
      yield* client.send({ op: 1, d: null })
      yield* client.next((frame) => frame.op === 11)
      expect((yield* gateway.violations).map((v) => v.kind)).toEqual([])
    }))

  it.scopedLive("two op 1 requests, each answered at once, are both answers and draw no HeartbeatTooEarly", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "2 seconds" })
      const { client } = yield* ready(gateway, Intents.Guilds)
      // as GATEWAY.md asks: on a received op 1, beat at once
      client.socket.on("message", (data: Buffer) => {
        if ((JSON.parse(data.toString("utf8")) as { op: number }).op === 1) client.socket.send(JSON.stringify({ op: 1, d: 1 }))
      })
      yield* client.send({ op: 1, d: 1 })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 1)
      yield* Effect.sleep("100 millis")
      yield* gateway.requestHeartbeat("all")
      yield* gateway.requestHeartbeat("all")
      const log = yield* gateway.awaitLog((log) => log.heartbeats.length === 3)
      expect(log.heartbeats.map((beat) => beat.requested)).toEqual([false, true, true])
      expect(log.violations.map((v) => v.kind)).toEqual([])
    }))

  it.scopedLive("sessions of shard 0 under two shard counts (a reshard's old and new set) never get two different messages with one id", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWith({ seed: 5, shards: 2, guilds: 4, identifyCooldown: "1 millis" })
      const intents = Intents.Guilds | Intents.GuildMessages
      const old = yield* ready(gateway, intents, { shard: [0, 1] })
      yield* Effect.sleep("10 millis")
      const next = yield* ready(gateway, intents, { shard: [0, 2] })
      yield* gateway.startTraffic(20)
      const a = yield* old.client.next(dispatch("MESSAGE_CREATE"))
      const b = yield* next.client.next(dispatch("MESSAGE_CREATE"))
      yield* gateway.stopTraffic
      expect(b.d.id).not.toBe(a.d.id)
    }))

  it.scopedLive("READY's application.flags has the limited flag of each privileged intent the application is allowed", () =>
    Effect.gen(function*() {
      const flagsWith = (privilegedIntents: number | undefined) =>
        Effect.gen(function*() {
          const gateway = yield* gatewayWith({ guilds: 0, privilegedIntents })
          return (yield* ready(gateway, Intents.Guilds)).ready.d.application.flags as number
        })
      // GATEWAY_PRESENCE_LIMITED, GATEWAY_GUILD_MEMBERS_LIMITED, GATEWAY_MESSAGE_CONTENT_LIMITED
      expect(yield* flagsWith(undefined)).toBe((1 << 13) | (1 << 15) | (1 << 19))
      expect(yield* flagsWith(Intents.GuildMembers)).toBe(1 << 15)
      expect(yield* flagsWith(0)).toBe(0)
    }))
})
