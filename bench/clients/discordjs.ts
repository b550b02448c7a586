/**
 * @discordjs/ws 2.0.4 with its fastest settings available here: zlib-sync when it is installed
 * (else its node:zlib mode) for zlib-stream, no compression otherwise (it has no zstd-stream).
 * One shard, in this process (the default simple strategy).
 *
 * @since 0.1.0
 */
import type { REST } from "@discordjs/rest"
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from "@discordjs/ws"
import { GatewayIntentBits } from "discord-api-types/v10"
import * as Task from "./task.ts"

const task = Task.read()

const main = async (): Promise<void> => {
  if (task.compression === "zstd-stream") throw new Error("@discordjs/ws 2.0.4 has no zstd-stream")
  const zlibSync = await Task.hasZlibSync()
  const compression = task.compression === "none" ? null : zlibSync ? CompressionMethod.ZlibSync : CompressionMethod.ZlibNative
  const note = compression === null ? "no compression" : zlibSync ? "zlib-sync" : "node:zlib stream (zlib-sync missing)"
  const gatewayBot = {
    url: task.url,
    shards: 1,
    session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 }
  }
  const manager = new WebSocketManager({
    token: "bench-token",
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    shardCount: 1,
    compression,
    // GET /gateway/bot without a REST client: the only call the manager makes
    rest: { get: async () => gatewayBot } as unknown as REST
  })
  const count = Task.makeCounter(task, note)
  manager.on(WebSocketShardEvents.Dispatch, (payload) => count(payload.t))
  await manager.connect()
}

main().catch(Task.fail)
