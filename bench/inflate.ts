/**
 * Receive-path benchmark: CPU time per message for decompression + JSON.parse.
 *
 * Run with `npx tsx bench/inflate.ts`; writes bench/INFLATE.md. 50,000 MESSAGE_CREATE-like frames
 * of about 1 KB JSON, compressed in one zlib-stream context (and one zstd-stream context for the
 * zstd rows); process CPU time (user + system) per message, median of 3 runs. pako, fflate,
 * zlib-sync and fzstd rows appear only when installed outside the project in /tmp/inflate-bench
 * (`npm install --no-save --prefix /tmp/inflate-bench pako fflate zlib-sync fzstd@0.1.1`).
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as Zlib from "node:zlib"
import * as Compress from "../src/codec/Compress.ts"
import * as Decompress from "../src/codec/Decompress.ts"
import * as Json from "../src/codec/Json.ts"
import { cpuMicros } from "./cpu.ts"

const COUNT = 50_000
const RUNS = 3

let seed = 42
const random = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}
const snowflake = (): string => String(1_000_000_000_000_000_000n + BigInt(Math.floor(random() * 1e15)) * 4_194_304n)
const words = ["the", "gateway", "shard", "effect", "stream", "hello", "world", "message", "discord", "bot", "ping"]
const sentence = (n: number): string => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(" ")
const guildId = snowflake()
const channels = [snowflake(), snowflake(), snowflake()]
const users = Array.from({ length: 20 }, (_, i) => ({ id: snowflake(), username: `user${i}`, global_name: `User ${i}` }))

const messageCreate = (s: number): string => {
  const user = users[Math.floor(random() * users.length)]!
  return JSON.stringify({
    t: "MESSAGE_CREATE",
    s,
    op: 0,
    d: {
      type: 0, tts: false, timestamp: new Date(1_700_000_000_000 + s * 1000).toISOString(), pinned: false,
      nonce: snowflake(), mentions: [], mention_roles: [], mention_everyone: false,
      member: { roles: [snowflake()], premium_since: null, pending: false, nick: null, mute: false,
        joined_at: "2023-01-01T00:00:00.000000+00:00", flags: 0, deaf: false, communication_disabled_until: null, avatar: null },
      id: snowflake(), flags: 0, embeds: [], edited_timestamp: null, content: sentence(5 + Math.floor(random() * 25)),
      components: [], channel_id: channels[s % channels.length], attachments: [],
      author: { username: user.username, public_flags: 0, id: user.id, global_name: user.global_name,
        discriminator: "0", clan: null, avatar_decoration_data: null, avatar: "a1b2c3d4e5f60718293a4b5c6d7e8f90" },
      guild_id: guildId
    }
  })
}

const messages = Array.from({ length: COUNT }, (_, i) => messageCreate(i + 1))
const zlibCompressor = Compress.unsafeMake("zlib-stream")
const zlibFrames = messages.map((m) => Buffer.from(zlibCompressor.compress(m)))
const zstdCompressor = Compress.unsafeMake("zstd-stream")
const zstdFrames = messages.map((m) => Buffer.from(zstdCompressor.compress(m)))
const average = (xs: ReadonlyArray<{ length: number }>) => xs.reduce((a, x) => a + x.length, 0) / xs.length

let sink = 0
const consume = (value: unknown): void => {
  if (typeof value === "object" && value !== null && "op" in value) sink += 1
  else throw new Error(`not an envelope: ${String(value)}`)
}
const decodeBytes = (bytes: Uint8Array | undefined | Decompress.Decompressor | unknown): void => {
  if (!(bytes instanceof Uint8Array)) throw new Error(`no message: ${String(bytes)}`)
  consume(Json.decode(bytes))
}

type Case = () => void | Promise<void>
const measure = async (make: () => Case): Promise<number> => {
  const samples: Array<number> = []
  for (let run = 0; run < RUNS; run++) {
    const body = make()
    const start = cpuMicros()
    await body()
    samples.push((cpuMicros() - start) / COUNT)
  }
  return samples.sort((a, b) => a - b)[1]!
}

const decompressorCase = (compression: "zlib-stream" | "zstd-stream", frames: ReadonlyArray<Uint8Array>, options: Decompress.Options): Case => {
  const decompressor = Decompress.make(compression, options)
  return () => {
    for (const frame of frames) decodeBytes(decompressor.push(frame))
  }
}

const nodeStreamCase = (): Case => async () => {
  const inflate = Zlib.createInflate({ flush: Zlib.constants.Z_SYNC_FLUSH, chunkSize: 65_535 })
  const chunks: Array<Buffer> = []
  inflate.on("data", (chunk: Buffer) => chunks.push(chunk))
  for (const frame of zlibFrames) {
    await new Promise<void>((resolve, reject) => inflate.write(frame, (error) => (error ? reject(error) : resolve())))
    decodeBytes(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
    chunks.length = 0
  }
  inflate.destroy()
}

const optional = createRequire("/tmp/inflate-bench/node_modules/")
const tryLoad = (name: string): unknown => {
  try {
    return optional(name)
  } catch {
    return undefined
  }
}

interface Row {
  readonly name: string
  readonly micros: number
}
const rows: Array<Row> = []
const add = async (name: string, make: () => Case) => {
  const micros = await measure(make)
  rows.push({ name, micros })
  console.log(`${name}: ${micros.toFixed(2)} us/msg`)
}

await add("JSON.parse alone (no inflate; TextDecoder + JSON.parse + envelope check)", () => {
  const bytes = messages.map((m) => Buffer.from(m))
  return () => {
    for (const b of bytes) consume(Json.decode(b))
  }
})
await add("zlib-stream: node's zlib handle driven synchronously (engine `auto`, the default)", () =>
  decompressorCase("zlib-stream", zlibFrames, { zlibEngine: "auto" }))
await add("zlib-stream: portable fallback (inflateRawSync + 32 KiB dictionary)", () =>
  decompressorCase("zlib-stream", zlibFrames, { zlibEngine: "portable" }))
await add("zlib-stream: node:zlib asynchronous stream", nodeStreamCase)

const pako = tryLoad("pako") as {
  Inflate: new(options?: object) => { push(d: Uint8Array, flush: number): void; onData: (chunk: Uint8Array) => void; err: number }
} | undefined
if (pako !== undefined) {
  await add("zlib-stream: pako Inflate (pure JS)", () => () => {
    const chunks: Array<Uint8Array> = []
    const inflate = new pako.Inflate({ chunkSize: 128 * 1024 })
    inflate.onData = (chunk) => chunks.push(chunk)
    for (const frame of zlibFrames) {
      inflate.push(frame, Zlib.constants.Z_SYNC_FLUSH)
      if (inflate.err) throw new Error("pako")
      decodeBytes(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
      chunks.length = 0
    }
  })
}
const fflate = tryLoad("fflate") as { Unzlib: new(ondata: (chunk: Uint8Array) => void) => { push(d: Uint8Array): void } } | undefined
if (fflate !== undefined) {
  await add("zlib-stream: fflate streaming Unzlib (pure JS)", () => () => {
    const chunks: Array<Uint8Array> = []
    const inflate = new fflate.Unzlib((chunk) => chunks.push(chunk))
    for (const frame of zlibFrames) {
      inflate.push(frame)
      decodeBytes(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
      chunks.length = 0
    }
  })
}
const zlibSync = tryLoad("zlib-sync") as { Inflate: new(options?: object) => { push(d: Uint8Array, flush: number): void; result: Uint8Array | undefined; err: number }; Z_SYNC_FLUSH: number } | undefined
if (zlibSync !== undefined) {
  await add("zlib-stream: zlib-sync (native addon, compiler at install)", () => () => {
    const inflate = new zlibSync.Inflate({ chunkSize: 128 * 1024 })
    for (const frame of zlibFrames) {
      inflate.push(frame, zlibSync.Z_SYNC_FLUSH)
      if (inflate.err) throw new Error("zlib-sync")
      decodeBytes(inflate.result)
    }
  })
}
await add("zstd-stream: zstd-napi decompressStream (native, optional dependency; the only engine)", () =>
  decompressorCase("zstd-stream", zstdFrames, {}))
const fzstd = tryLoad("fzstd") as { Decompress: new(ondata: (chunk: Uint8Array) => void) => { push(d: Uint8Array): void } } | undefined
if (fzstd !== undefined) {
  await add("zstd-stream: fzstd streaming Decompress (pure JS; not used, for comparison)", () => () => {
    const chunks: Array<Uint8Array> = []
    const decompress = new fzstd.Decompress((chunk) => chunks.push(chunk))
    for (const frame of zstdFrames) {
      decompress.push(frame)
      decodeBytes(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
      chunks.length = 0
    }
  })
}

const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown"
const nodeVersion = execFileSync(process.execPath, ["-v"], { encoding: "utf8" }).trim()
const micros = (prefix: string): number | undefined => rows.find((row) => row.name.startsWith(prefix))?.micros
const fzstdMicros = micros("zstd-stream: fzstd")
const napiMicros = micros("zstd-stream: zstd-napi")
const fzstdNote = fzstdMicros === undefined || napiMicros === undefined
  ? ""
  : `: fzstd is ${(fzstdMicros / napiMicros).toFixed(0)}x slower here (it shifts its whole window
  for every block, which dominates with small flushed messages)`
const table = rows.map((row) => `| ${row.name} | ${row.micros.toFixed(2)} |`).join("\n")
writeFileSync(
  new URL("./INFLATE.md", import.meta.url),
  `# Receive path: decompression + JSON.parse

Generated by \`npx tsx bench/inflate.ts\` (${sink > 0 ? "all messages decoded" : "no output"}).

- Machine: node ${nodeVersion}, ${cpuModel}
- ${COUNT} MESSAGE_CREATE-like messages, ${average(messages).toFixed(0)} B JSON on average;
  ${average(zlibFrames).toFixed(0)} B compressed (one zlib-stream context), ${average(zstdFrames).toFixed(0)} B (one zstd-stream context, zstd-napi level 3)
- Process CPU time (user + system) per message, median of ${RUNS} runs; every row includes the JSON.parse.

| decode path | us/msg |
|---|---|
${table}

Choices (src/codec):
- zlib-stream: node's own zlib handle driven synchronously is the default; it needs no compiler and is
  on par with zlib-sync. It relies on node internals, so it is feature-detected and checked against a
  known answer once per process; without it the portable fallback (public API only) is used: correct,
  but several times slower, since every message builds a new inflate state with a 32 KiB dictionary.
- zstd-stream: decoded only by zstd-napi (native), an optional dependency. Without it a session
  refuses zstd-stream up front with a clear error (\`Decompress.isAvailable\`). No pure JS fallback
  is shipped${fzstdNote}.
- zlib-stream is the default compression: it needs nothing beyond node.
- The synthetic messages repeat a small vocabulary, so they compress better than real traffic
  (Discord's MESSAGE_CREATE averages about 138 B in zlib-stream).
`
)
