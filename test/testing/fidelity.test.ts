import { describe, expect, it } from "@effect/vitest"
import { REST } from "@discordjs/rest"
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from "@discordjs/ws"
import type { SessionInfo } from "@discordjs/ws"
import { GatewayIntentBits } from "discord-api-types/v10"
import type { GatewayDispatchPayload } from "discord-api-types/v10"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Log from "../../src/testing/Log.ts"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"

const token = "fidelity-token"

/** Runs @discordjs/ws 2.0.4 against a gateway for the scope's lifetime, recording every dispatch per shard. */
const startClient = (gateway: LocalGateway.LocalGateway, compression: CompressionMethod | null) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const sessions = new Map<number, SessionInfo>()
      const received = new Map<number, Array<GatewayDispatchPayload>>()
      const manager = new WebSocketManager({
        token,
        intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
        rest: new REST({ api: gateway.apiUrl, version: "10" }).setToken(token),
        compression,
        retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
        updateSessionInfo: (shardId, info) => {
          if (info === null) sessions.delete(shardId)
          else sessions.set(shardId, info)
        }
      })
      manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
        const list = received.get(shardId) ?? []
        list.push(payload)
        received.set(shardId, list)
      })
      await manager.connect()
      return { manager, received }
    }),
    ({ manager }) => Effect.promise(async () => manager.destroy())
  )

const eventually = (check: () => boolean) =>
  Effect.gen(function*() {
    while (!check()) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeout("5 seconds"), Effect.orDie)

const lastSeq = (log: Log.Snapshot, sessionId: string) =>
  Math.max(...log.dispatches.filter((d) => d.sessionId === sessionId).map((d) => d.seq))

const scenario = (compression: CompressionMethod | null) =>
  Effect.gen(function*() {
    const gateway = yield* LocalGateway.make({
      token: Redacted.make(token),
      shards: 2,
      sessionStartLimit: { maxConcurrency: 2 },
      // at 250 ms, a loaded machine (the suite beside other work) delayed one beat's arrival until
      // the next's, and the gateway counted the second too early: 500 ms needs a stall of 250
      heartbeatInterval: "500 millis",
      guilds: 4
    })
    const { received } = yield* startClient(gateway, compression)
    const types = (shard: number) => (received.get(shard) ?? []).map((p) => p.t)
    yield* eventually(() => types(0).filter((t) => t === "GUILD_CREATE").length === 2 && types(1).filter((t) => t === "GUILD_CREATE").length === 2)
    expect(types(0)[0]).toBe("READY")
    expect(types(1)[0]).toBe("READY")
    const before = yield* gateway.gatewayBot
    expect(before.session_start_limit.remaining).toBe(998)

    yield* gateway.startTraffic(100)
    yield* Effect.sleep("150 millis")
    yield* gateway.reconnect({ shard: 0 })
    yield* gateway.awaitLog((log) => log.resumes.some((r) => r.outcome === "resumed")).pipe(Effect.timeout("5 seconds"))
    yield* Effect.sleep("150 millis")
    yield* gateway.setAcks({ shard: 1 }, false)
    yield* gateway.awaitLog((log) => log.resumes.filter((r) => r.outcome === "resumed").length === 2).pipe(Effect.timeout("5 seconds"))
    yield* Effect.sleep("150 millis")
    yield* gateway.stopTraffic

    const log = yield* gateway.log
    const sessionIds = log.identifies.filter((i) => i.outcome === "ready").map((i) => [i.shard[0], i.sessionId!] as const)
    expect(sessionIds).toHaveLength(2)
    for (const [shard, sessionId] of sessionIds) {
      const last = lastSeq(log, sessionId)
      yield* eventually(() => (received.get(shard) ?? []).some((p) => p.s === last))
      const seqs = (received.get(shard) ?? []).map((p) => p.s)
      expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1))
      expect(types(shard)).toContain("RESUMED")
    }
    const closes = log.connections.filter((c) => c.closedBy === "client").map((c) => c.closeCode)
    expect(closes).toEqual([4200, 4200])
    expect(log.resumes.map((r) => r.outcome)).toEqual(["resumed", "resumed"])
    expect(log.resumes.every((r) => r.replayed > 0)).toBe(true)
    // two or more a shard
    expect(log.heartbeats.length).toBeGreaterThanOrEqual(4)
    expect(log.violations).toEqual([])
  })

describe("fidelity: @discordjs/ws against the local gateway", () => {
  it.live("identifies, streams, resumes after op 7 and after a zombie connection, without a violation", () =>
    Effect.scoped(scenario(null)))

  it.live("does the same over zlib-stream (node:zlib inflate)", () =>
    Effect.scoped(scenario(CompressionMethod.ZlibNative)))
})
