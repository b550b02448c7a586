/**
 * Idle shards, @discordjs/ws: one `WebSocketManager` running `task.shards` shards in this process
 * (zlib-stream through zlib-sync when installed, else node:zlib), with an identify throttler
 * spaced as the memory gateway allows (its default waits 5 s per key). Reports memory once all
 * are READY and settled.
 *
 * @since 0.1.0
 */
import type { REST } from "@discordjs/rest"
import { CompressionMethod, type IIdentifyThrottler, WebSocketManager } from "@discordjs/ws"
import { GatewayIntentBits } from "discord-api-types/v10"
import { setTimeout as sleep } from "node:timers/promises"
import * as Task from "../clients/task.ts"
import * as Shards from "./shards.ts"

const task = Shards.read()

/** One identify per key per `spacingMs`, counted from the previous identify's release. */
class SpacedThrottler implements IIdentifyThrottler {
  private readonly last = new Map<number, Promise<number>>()
  constructor(private readonly maxConcurrency: number, private readonly spacingMs: number) {}

  async waitForIdentify(shardId: number): Promise<void> {
    const key = shardId % this.maxConcurrency
    const previous = this.last.get(key) ?? Promise.resolve(Number.NEGATIVE_INFINITY)
    let release: (at: number) => void = () => {}
    this.last.set(key, new Promise((resolve) => (release = resolve)))
    const wait = (await previous) + this.spacingMs - Date.now()
    if (wait > 0) await sleep(wait)
    release(Date.now())
  }
}

const main = async (): Promise<Shards.Result> => {
  // made in the baseline run too: a process's first fetch loads and compiles Node's HTTP client
  // (megabytes), which is no shard's (made only with shards, it was charged to them)
  const response = await fetch(`${task.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${Shards.token}` } })
  const gatewayBot: unknown = await response.json()
  if (task.shards === 0) return Shards.measure(task, 0)
  const started = performance.now()
  const manager = new WebSocketManager({
    token: Shards.token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    shardCount: task.shards,
    compression: (await Task.hasZlibSync()) ? CompressionMethod.ZlibSync : CompressionMethod.ZlibNative,
    rest: { get: async () => gatewayBot } as unknown as REST,
    buildIdentifyThrottler: () => new SpacedThrottler(task.maxConcurrency, task.spacingMs)
  })
  await manager.connect()
  return Shards.measure(task, performance.now() - started)
}

main().then(Shards.report, Shards.fail)
