/**
 * The benchmark gateway, run in its own process: `GET /prepare?kind=&compression=&warmup=&events=`
 * builds a workload's whole stream ahead of time (Hello, READY, the warm-up events, the start
 * marker, the measured events, the end marker,
 * compressed in one zlib-stream or zstd-stream context, then framed as websocket frames); every
 * connection to `/bench` with that `compress` query then gets Hello at once and, after its
 * Identify, the rest of the bytes as fast as the socket drains. The same bytes serve every
 * connection: each one starts a new decompression context, as the stream expects.
 *
 * Heartbeats are not acknowledged: Hello asks for one per hour, so no client misses an ACK
 * within a run. Prints `{"port":N}` on stdout once it listens.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type * as Net from "node:net"
import * as Compress from "../src/codec/Compress.ts"
import type { Compression } from "../src/codec/Compression.ts"
import * as Wire from "./wire.ts"
import * as Workloads from "./workloads.ts"

/** What one prepared workload looks like on the wire (reported to the runner). */
interface Prepared {
  readonly key: string
  readonly compression: Compression
  readonly hello: Buffer
  /** Everything after Identify (READY, events, markers), in slices of at most 4 MiB. */
  readonly rest: ReadonlyArray<Buffer>
  /** What the measured events (after the start marker) look like. */
  readonly summary: {
    readonly events: number
    readonly jsonBytes: number
    readonly payloadBytes: number
    readonly byType: Record<string, number>
    /** The types of the warm-up events, by count. */
    readonly warmupByType: Record<string, number>
  }
}

const HEARTBEAT_INTERVAL = 3_600_000
const SLICE_BYTES = 4 * 1024 * 1024

const isCompression = (value: string | null): value is Compression =>
  value === "none" || value === "zlib-stream" || value === "zstd-stream"
const isKind = (value: string | null): value is Workloads.Kind => value === "small" || value === "large" || value === "mixed"

let port = 0
let current: Prepared | undefined

const prepare = (kind: Workloads.Kind, compression: Compression, warmup: number, events: number): Prepared => {
  const key = `${kind}/${compression}/${warmup}/${events}`
  if (current?.key === key) return current
  current = undefined
  const compressor = Compress.unsafeMake(compression)
  const opcode = compression === "none" ? Wire.Opcode.text : Wire.Opcode.binary
  const encode = (payload: unknown) => Wire.frame(opcode, compressor.compress(JSON.stringify(payload)))
  const hello = encode({ op: 10, d: { heartbeat_interval: HEARTBEAT_INTERVAL }, s: null, t: null })
  const frames: Array<Buffer> = [
    encode({
      op: 0,
      s: 1,
      t: "READY",
      d: {
        v: 10,
        session_id: "bench0000000000000000000000000000",
        resume_gateway_url: `ws://127.0.0.1:${port}/bench`,
        user: { id: "100000000000000001", username: "bench", discriminator: "0", bot: true },
        guilds: [],
        shard: [0, 1],
        application: { id: "100000000000000002", flags: 0 }
      }
    })
  ]
  const byType: Record<string, number> = {}
  const warmupByType: Record<string, number> = {}
  let jsonBytes = 0
  let payloadBytes = 0
  let sequence = 1
  Workloads.dispatches(kind, warmup + events).forEach(([t, d], i) => {
    if (i === warmup) frames.push(encode({ op: 0, s: ++sequence, t: Workloads.startMarker, d: {} }))
    const json = JSON.stringify({ op: 0, s: ++sequence, t, d })
    const bytes = compressor.compress(json)
    if (i < warmup) warmupByType[t] = (warmupByType[t] ?? 0) + 1
    else {
      jsonBytes += Buffer.byteLength(json)
      payloadBytes += bytes.length
      byType[t] = (byType[t] ?? 0) + 1
    }
    frames.push(Wire.frame(opcode, bytes))
  })
  frames.push(encode({ op: 0, s: ++sequence, t: Workloads.endMarker, d: {} }))
  const rest: Array<Buffer> = []
  let batch: Array<Buffer> = []
  let batchBytes = 0
  for (const frame of frames) {
    batch.push(frame)
    batchBytes += frame.length
    if (batchBytes >= SLICE_BYTES) {
      rest.push(Buffer.concat(batch, batchBytes))
      batch = []
      batchBytes = 0
    }
  }
  if (batch.length > 0) rest.push(Buffer.concat(batch, batchBytes))
  current = { key, compression, hello, rest, summary: { events, jsonBytes, payloadBytes, byType, warmupByType } }
  return current
}

/** Writes the slices in order, waiting for the socket to drain between them. */
const stream = (socket: Net.Socket, slices: ReadonlyArray<Buffer>): void => {
  let next = 0
  const pump = (): void => {
    while (next < slices.length && !socket.destroyed) {
      if (!socket.write(slices[next++]!)) {
        socket.once("drain", pump)
        return
      }
    }
  }
  pump()
}

const serve = (request: Http.IncomingMessage, socket: Net.Socket): void => {
  const url = new URL(request.url ?? "/", "http://127.0.0.1")
  const compression = url.searchParams.get("compress") ?? "none"
  const prepared = current
  if (!Wire.accept(request, socket)) return
  socket.on("error", () => socket.destroy())
  if (prepared === undefined || prepared.compression !== compression) {
    socket.end(Wire.closeFrame(4000))
    return
  }
  socket.write(prepared.hello)
  let identified = false
  socket.on("data", Wire.reader((opcode, payload) => {
    if (opcode === Wire.Opcode.close) {
      socket.end(Wire.closeFrame(1000))
      return
    }
    if (opcode !== Wire.Opcode.text || identified) return
    const message = JSON.parse(payload.toString("utf8")) as { readonly op?: unknown }
    if (message.op !== 2) return
    identified = true
    stream(socket, prepared.rest)
  }))
}

const server = Http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://127.0.0.1")
  const kind = url.searchParams.get("kind")
  const compression = url.searchParams.get("compression")
  const events = Number(url.searchParams.get("events"))
  const warmup = Number(url.searchParams.get("warmup") ?? 0)
  if (
    url.pathname !== "/prepare" || !isKind(kind) || !isCompression(compression) ||
    !Number.isSafeInteger(events) || events < 1 || !Number.isSafeInteger(warmup) || warmup < 0
  ) {
    response.writeHead(404).end()
    return
  }
  const prepared = prepare(kind, compression, warmup, events)
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(prepared.summary))
})
server.on("upgrade", serve)
server.listen(0, "127.0.0.1", () => {
  port = (server.address() as AddressInfo).port
  process.stdout.write(`${JSON.stringify({ port })}\n`)
})
process.on("SIGTERM", () => process.exit(0))
