import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Compress from "../../src/codec/Compress.ts"
import { type Compression, compressions } from "../../src/codec/Compression.ts"
import * as Decompress from "../../src/codec/Decompress.ts"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as ZlibHandle from "../../src/codec/ZlibHandle.ts"
import * as ZstdDecompress from "../../src/codec/ZstdDecompress.ts"
import { collectGarbage, nextJob } from "../gc.ts"
import * as Zlib from "node:zlib"

const text = (bytes: Uint8Array | undefined | DecodeError): string => {
  if (!(bytes instanceof Uint8Array)) throw new Error(`expected bytes, got ${String(bytes)}`)
  return Buffer.from(bytes).toString("utf8")
}

const endsWithSuffix = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && Buffer.from(bytes.subarray(-4)).equals(Buffer.from([0, 0, 0xff, 0xff]))

/** Cuts `bytes` into frames at the given fractions; a zlib frame never ends with the suffix early. */
const cut = (bytes: Uint8Array, fractions: ReadonlyArray<number>, compression: Compression): Array<Uint8Array> => {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))]
    .filter((p) => p > 0 && p < bytes.length)
    .filter((p) => compression !== "zlib-stream" || !endsWithSuffix(bytes.subarray(0, p)))
    .sort((a, b) => a - b)
  const frames: Array<Uint8Array> = []
  let start = 0
  for (const p of [...points, bytes.length]) {
    frames.push(bytes.subarray(start, p))
    start = p
  }
  return frames
}

const largeMessage = FastCheck.tuple(
  FastCheck.integer({ min: 65 * 1024, max: 150 * 1024 }),
  FastCheck.uint8Array({ minLength: 64, maxLength: 2048 })
).map(([size, seed]) => Buffer.from(seed).toString("base64").repeat(Math.ceil(size / (seed.length * 1.3))).slice(0, size) + "é🎉")

/** Gateway messages are never empty. */
const message = FastCheck.oneof(
  { weight: 8, arbitrary: FastCheck.string({ unit: "grapheme", minLength: 1, maxLength: 300 }) },
  { weight: 1, arbitrary: largeMessage },
  { weight: 1, arbitrary: FastCheck.uint8Array({ minLength: 70_000, maxLength: 70_000 }).map((b) => Buffer.from(b).toString("base64")) }
)

const scenario = FastCheck.array(
  FastCheck.tuple(message, FastCheck.array(FastCheck.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 })),
  { minLength: 1, maxLength: 12 }
)

const variants: ReadonlyArray<{
  readonly name: string
  readonly compression: Compression
  readonly compressor: Compress.Options
  readonly decompressor: Decompress.Options
}> = [
  { name: "none", compression: "none", compressor: {}, decompressor: {} },
  { name: "zlib-stream (node handle)", compression: "zlib-stream", compressor: {}, decompressor: { zlibEngine: "auto" } },
  {
    name: "zlib-stream (portable fallback)",
    compression: "zlib-stream",
    compressor: { zlibEngine: "portable" },
    decompressor: { zlibEngine: "portable" }
  },
  { name: "zstd-stream (zstd-napi)", compression: "zstd-stream", compressor: {}, decompressor: {} }
]

const messageLength = (message: Uint8Array | DecodeError | undefined) => message instanceof Uint8Array ? message.length : message

/** Heap and buffer memory after a full collection, once the current job ended. */
const heldMemory = Effect.map(nextJob, () => {
  collectGarbage()
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
})

describe("Decompress", () => {
  for (const variant of variants) {
    it(`${variant.name}: messages compressed in one context and cut into frames decode in order`, () => {
      FastCheck.assert(
        FastCheck.property(scenario, (messages) => {
          const compressor = Compress.unsafeMake(variant.compression, variant.compressor)
          const decompressor = Decompress.make(variant.compression, variant.decompressor)
          for (const [original, fractions] of messages) {
            const compressed = compressor.compress(original)
            // zstd-stream and none: one websocket message per gateway message.
            const frames = variant.compression === "zlib-stream" ? cut(compressed, fractions, "zlib-stream") : [compressed]
            frames.slice(0, -1).forEach((frame) => expect(decompressor.push(frame)).toBeUndefined())
            expect(text(decompressor.push(frames[frames.length - 1]!))).toBe(original)
          }
        }),
        { numRuns: 25 }
      )
    })
  }

  it("the node handle engine is available on this node version", () => {
    expect(ZlibHandle.isAvailable()).toBe(true)
  })

  it("zlib-stream: a suffix split across frames still completes the message", () => {
    const compressed = Compress.unsafeMake("zlib-stream").compress("split suffix")
    const decompressor = Decompress.make("zlib-stream")
    expect(decompressor.push(compressed.subarray(0, compressed.length - 2))).toBeUndefined()
    expect(decompressor.push(compressed.subarray(compressed.length - 2, compressed.length - 1))).toBeUndefined()
    expect(text(decompressor.push(compressed.subarray(compressed.length - 1)))).toBe("split suffix")
  })

  it("zlib-stream: both engines inflate a long shared-context stream identically", () => {
    const compressor = Compress.unsafeMake("zlib-stream")
    const fast = Decompress.make("zlib-stream", { zlibEngine: "auto" })
    const portable = Decompress.make("zlib-stream", { zlibEngine: "portable" })
    for (let i = 0; i < 300; i++) {
      const original = JSON.stringify({ op: 0, s: i, t: "MESSAGE_CREATE", d: { content: `message ${i} `.repeat(i % 40) } })
      const frame = compressor.compress(original)
      expect(text(fast.push(frame))).toBe(original)
      expect(text(portable.push(frame))).toBe(original)
    }
  })

  it("zlib-stream: a stream that ends (a final block) with a wrong checksum is an Inflate error on both engines (the fallback took it)", () => {
    const finished = Zlib.deflateSync(Buffer.from(`{"op":11,"d":null}`))
    finished[finished.length - 1]! ^= 1
    const message = Buffer.concat([finished, Buffer.from([0, 0, 0xff, 0xff])])
    for (const zlibEngine of ["auto", "portable"] as const) {
      expect(Decompress.make("zlib-stream", { zlibEngine }).push(message), zlibEngine).toMatchObject({ _tag: "DecodeError", reason: "Inflate" })
    }
  })

  // after the end it gave nothing, and every later frame went unread: the connection deaf until a
  // zombie check
  it("zlib-stream: a stream that ends with a good checksum, first or after other messages, gives the same on both engines: the message, then an Inflate error", async () => {
    const outcome = (result: unknown): string =>
      result instanceof Uint8Array ? `bytes ${text(result)}` : (result as { readonly _tag?: string })._tag ?? String(result)
    const whole = Buffer.concat([Zlib.deflateSync(Buffer.from(`{"op":11,"d":null}`)), Buffer.from([0, 0, 0xff, 0xff])])
    const deflate = Zlib.createDeflate()
    const chunks: Array<Buffer> = []
    deflate.on("data", (chunk: Buffer) => chunks.push(chunk))
    deflate.write(Buffer.from(`{"op":10,"d":{"heartbeat_interval":41250}}`))
    await new Promise<void>((resolve) => deflate.flush(Zlib.constants.Z_SYNC_FLUSH, () => resolve()))
    const first = Buffer.concat(chunks.splice(0))
    await new Promise<void>((resolve) => {
      deflate.on("end", () => resolve())
      deflate.end(Buffer.from(`{"op":11,"d":null}`))
    })
    const last = Buffer.concat([...chunks, Buffer.from([0, 0, 0xff, 0xff])])
    const after = Compress.unsafeMake("zlib-stream").compress("{}")
    const results = (["auto", "portable"] as const).map((zlibEngine) => {
      const alone = Decompress.make("zlib-stream", { zlibEngine })
      const stream = Decompress.make("zlib-stream", { zlibEngine })
      // read at once: the fast engine's output is a view of a buffer the next push reuses
      return [outcome(alone.push(whole)), outcome(stream.push(first)), outcome(stream.push(last)), outcome(stream.push(after))]
    })
    expect(results[0]).toEqual([`bytes {"op":11,"d":null}`, `bytes {"op":10,"d":{"heartbeat_interval":41250}}`, `bytes {"op":11,"d":null}`, "DecodeError"])
    expect(results[1]).toEqual(results[0])
  })

  // a gateway or proxy sending plain messages on a zlib-stream connection: no suffix ever came, and
  // the connection waited deaf for its Hello timeout, nothing saying why
  it("zlib-stream: a stream that does not begin with a zlib header is an Inflate error at its first frame, on both engines", () => {
    for (const zlibEngine of ["auto", "portable"] as const) {
      // plain JSON, plain ETF, and zstd (its first byte passes for a zlib one, not its second)
      const streams: ReadonlyArray<readonly [Uint8Array, string]> = [
        [Buffer.from(`{"op":10,"d":{"heartbeat_interval":41250}}`), "0x7b"],
        [Uint8Array.of(131, 116, 0, 0, 0, 0), "0x83"],
        [Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x2a, 0x51, 0x01, 0x00, 0x7b), "0x28 0xb5"]
      ]
      for (const [first, begins] of streams) {
        const decompressor = Decompress.make("zlib-stream", { zlibEngine })
        const refused = decompressor.push(first)
        expect(refused).toBeInstanceOf(DecodeError)
        expect(refused).toMatchObject({
          reason: "Inflate",
          message: `zlib-stream: the stream does not begin with a zlib header (it begins ${begins}): the gateway is not compressing it with zlib`
        })
      }
      // the header's two bytes in two frames: the second checked as it comes
      const split = Decompress.make("zlib-stream", { zlibEngine })
      expect(split.push(Uint8Array.of(0x28))).toBeUndefined()
      expect(split.push(Uint8Array.of(0xb5, 0x2f))).toMatchObject({ reason: "Inflate" })
      // a stream cut into one-byte frames begins well
      const decompressor = Decompress.make("zlib-stream", { zlibEngine })
      const deflate = ZlibHandle.open("deflate", Number.MAX_SAFE_INTEGER)!
      const bytes = Uint8Array.from(deflate.process(Buffer.from(`{"op":11}`), Zlib.constants.Z_SYNC_FLUSH) as Uint8Array)
      const results = Array.from(bytes, (byte) => decompressor.push(Uint8Array.of(byte)))
      expect(text(results.at(-1))).toBe(`{"op":11}`)
      expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true)
    }
  })

  // the fast engine took a frame that ended the stream with nothing to give for one after the end
  it("zlib-stream: a stream ended by an empty final block is no message on both engines, the frame after it an Inflate error", () => {
    const outcome = (result: unknown): string =>
      result instanceof Uint8Array ? `bytes ${text(result)}` : (result as { readonly reason?: string }).reason ?? String(result)
    const results = (["auto", "portable"] as const).map((zlibEngine) => {
      const decompressor = Decompress.make("zlib-stream", { zlibEngine })
      const deflate = ZlibHandle.open("deflate", Number.MAX_SAFE_INTEGER)!
      const first = Uint8Array.from(deflate.process(Buffer.from(`{"op":11}`), Zlib.constants.Z_SYNC_FLUSH) as Uint8Array)
      const end = Buffer.concat([deflate.process(new Uint8Array(0), Zlib.constants.Z_FINISH) as Uint8Array, Uint8Array.of(0, 0, 0xff, 0xff)])
      const after = Uint8Array.of(0x12, 0, 0, 0xff, 0xff)
      return [outcome(decompressor.push(first)), outcome(decompressor.push(end)), outcome(decompressor.push(after))]
    })
    expect(results[0]).toEqual([`bytes {"op":11}`, "bytes ", "Inflate"])
    expect(results[1]).toEqual(results[0])
  })

  // each took every later message in as part of what it left open, giving nothing, no error: the
  // connection deaf until a zombie check
  // zstd's own words named no cause: "zstd: Unknown frame descriptor"
  it("zstd-stream: a stream that does not begin with a zstd frame is a Zstd error at its first frame, saying so", () => {
    const zlib = Zlib.deflateSync("{\"op\":10}", { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    for (const [first, begins] of [[zlib, "0x78 0x9c 0xaa 0x56"], [Buffer.from("{\"op\":10}"), "0x7b 0x22 0x6f 0x70"]] as const) {
      const decompressor = Decompress.make("zstd-stream")
      expect(decompressor.push(first)).toMatchObject({
        reason: "Zstd",
        message: `zstd-stream: the stream does not begin with a zstd frame (it begins ${begins}): the gateway is not compressing it with zstd`
      })
    }
    // a skippable frame first is zstd's
    const compressor = Compress.unsafeMake("zstd-stream")
    const skippable = Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 1, 0, 0, 0, 9)
    const decompressor = Decompress.make("zstd-stream")
    expect(text(decompressor.push(Buffer.concat([skippable, compressor.compress("{}")])))).toBe("{}")
  })

  it("zstd-stream: a message that ends inside a block or a skippable frame is a Zstd error at once", () => {
    const ack = JSON.stringify({ op: 11, d: null })
    const skippable = Uint8Array.of(0x01, 0x00, 0x00, 0x50, 0x2a, 0x4d, 0x18, 0xff, 0xff, 0xff, 0xff)
    const blockHeader = ((value) => Uint8Array.of(value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff))((100_000 << 3) | (2 << 1))
    for (const cut of [skippable, blockHeader]) {
      const compressor = Compress.unsafeMake("zstd-stream")
      const decompressor = Decompress.make("zstd-stream")
      expect(text(decompressor.push(compressor.compress(ack)))).toBe(ack)
      const result = decompressor.push(cut)
      expect(result instanceof DecodeError && [result.reason, result.message]).toEqual(["Zstd", "zstd: the message ends inside a block or a skippable frame"])
      expect(decompressor.push(compressor.compress(ack))).toBe(result)
    }
  })

  it("zlib-stream: both engines take a maxMessageBytes over the largest buffer node makes (Number.MAX_SAFE_INTEGER for no limit)", () => {
    const compressor = Compress.unsafeMake("zlib-stream")
    const engines = (["auto", "portable"] as const).map((zlibEngine) =>
      Decompress.make("zlib-stream", { zlibEngine, maxMessageBytes: Number.MAX_SAFE_INTEGER })
    )
    const frame = compressor.compress("no limit")
    for (const engine of engines) expect(text(engine.push(frame))).toBe("no limit")
  })

  it("zlib-stream: many interleaved contexts (one shared output buffer) each inflate their own stream", () => {
    const streams = Array.from({ length: 5 }, () => ({ compressor: Compress.unsafeMake("zlib-stream"), decompressor: Decompress.make("zlib-stream") }))
    for (let i = 0; i < 200; i++) {
      for (const [k, { compressor, decompressor }] of streams.entries()) {
        // sizes around and over the 64 KiB output chunk
        const original = `stream ${k} message ${i} `.repeat(1 + ((i * 7 + k * 13) % 50) * 150)
        expect(text(decompressor.push(compressor.compress(original)))).toBe(original)
      }
    }
  })

  it("every compression is available here (zstd-napi is installed)", () => {
    expect(compressions.map(Decompress.isAvailable)).toEqual([true, true, true])
    expect(ZstdDecompress.isAvailable()).toBe(true)
  })

  it("an empty websocket message is no message with zlib-stream and zstd-stream, and costs the stream nothing", () => {
    for (const compression of ["zlib-stream", "zstd-stream"] as const) {
      const compressor = Compress.unsafeMake(compression)
      const decompressor = Decompress.make(compression)
      expect(decompressor.push(new Uint8Array(0))).toBeUndefined()
      expect(text(decompressor.push(compressor.compress("after")))).toBe("after")
    }
  })

  // zstd-stream kept the copies of a message's output chunks until the next message: a quiet shard
  // held its last GUILD_CREATE whole, up to a heartbeat interval
  it.effect("keeps nothing of a large message once it is handed over, with every compression", () =>
    Effect.gen(function*() {
      const original = JSON.stringify({ op: 0, s: 2, t: "GUILD_CREATE", d: { description: "x".repeat(24 * 1024 * 1024) } })
      for (const compression of compressions) {
        const compressor = Compress.unsafeMake(compression)
        const decompressor = Decompress.make(compression)
        const frame = compressor.compress(original)
        const before = yield* heldMemory
        // the message is handed over and let go at once: only the decompressor may hold it now
        expect(messageLength(decompressor.push(frame))).toBe(original.length)
        const after = yield* heldMemory
        // (24 MiB with zstd-stream before)
        expect(after - before, `${compression}: bytes held`).toBeLessThan(4 * 2 ** 20)
      }
    }), 30_000)

  // one output buffer serves every connection of a kind (a thousand idle zstd connections held
  // 128 KiB each): each message is whole as long as it is read before the next push, of any of them
  it("connections of one compression decoding in turn each get their own messages whole", () => {
    for (const compression of ["zlib-stream", "zstd-stream"] as const) {
      const pairs = [0, 1, 2].map(() => ({ compressor: Compress.unsafeMake(compression), decompressor: Decompress.make(compression) }))
      for (let round = 0; round < 4; round++) {
        pairs.forEach(({ compressor, decompressor }, index) => {
          // large enough to take several chunks of output, then small
          const original = `${index}:${round}:` + (round % 2 === 0 ? `{"members":${"[1,2,3]".repeat(40_000)}}` : "x")
          expect(text(decompressor.push(compressor.compress(original)))).toBe(original)
        })
      }
    }
  })

  it("zstd-stream: tiny messages are returned at once", () => {
    const compressor = Compress.unsafeMake("zstd-stream")
    const decompressor = Decompress.make("zstd-stream")
    for (const original of ["a", "bc", "hello world ".repeat(50), "d"]) {
      expect(text(decompressor.push(compressor.compress(original)))).toBe(original)
    }
  })
})
