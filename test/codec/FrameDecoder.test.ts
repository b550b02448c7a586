import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Zlib from "node:zlib"
import * as Compress from "../../src/codec/Compress.ts"
import type { Compression } from "../../src/codec/Compression.ts"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Decompress from "../../src/codec/Decompress.ts"
import { type Encoding, Skipped } from "../../src/codec/Encoding.ts"
import * as Etf from "../../src/codec/Etf.ts"
import * as FrameDecoder from "../../src/codec/FrameDecoder.ts"
import * as Json from "../../src/codec/Json.ts"
import { TextFrame } from "../../src/codec/TextFrame.ts"
import { anyControl } from "../controls.ts"
import { collectGarbage } from "../gc.ts"

type Engines = Pick<FrameDecoder.Options, "zlibEngine">

const setups: ReadonlyArray<{ readonly name: string; readonly compression: Compression; readonly engines: Engines }> = [
  { name: "none", compression: "none", engines: {} },
  { name: "zlib-stream (node handle)", compression: "zlib-stream", engines: { zlibEngine: "auto" } },
  { name: "zlib-stream (portable)", compression: "zlib-stream", engines: { zlibEngine: "portable" } },
  { name: "zstd-stream (zstd-napi)", compression: "zstd-stream", engines: {} }
]

const decoder = (compression: Compression, engines: Engines, maxMessageBytes?: number) =>
  FrameDecoder.make({ compression, encoding: Json.encoding, maxMessageBytes, ...engines })

/** `message` as `term_to_binary`'s `compressed` option writes it: tag 80, the term's size, zlib data. */
const compressedTerm = (message: Uint8Array): Uint8Array => {
  const term = message.subarray(1)
  const zipped = Zlib.deflateSync(term)
  const out = new Uint8Array(6 + zipped.length)
  out[0] = Etf.version
  out[1] = 80
  new DataView(out.buffer).setUint32(2, term.length)
  out.set(zipped, 6)
  return out
}

const reasonOf = (result: unknown): string | undefined => result instanceof DecodeError ? result.reason : undefined

const hello = JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null })
const dispatch = (s: number) => JSON.stringify({ op: 0, d: { content: "héllo 🎉", n: s }, s, t: "MESSAGE_CREATE" })

describe("FrameDecoder", () => {
  for (const { compression, engines, name } of setups) {
    describe(name, () => {
      it("decodes envelopes in order", () => {
        const compressor = Compress.unsafeMake(compression)
        const frames = decoder(compression, engines)
        expect(frames.push(compressor.compress(hello))).toEqual({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null })
        for (let s = 1; s <= 20; s++) {
          expect(frames.push(compressor.compress(dispatch(s)))).toEqual(JSON.parse(dispatch(s)))
        }
      })

      it("lastMessageSize is the size of the last whole message, once decompressed", () => {
        const compressor = Compress.unsafeMake(compression)
        const frames = decoder(compression, engines)
        expect(frames.lastMessageSize).toBe(0)
        const big = JSON.stringify({ op: 0, d: { content: "x".repeat(50_000) }, s: 1, t: "MESSAGE_CREATE" })
        frames.push(compressor.compress(big))
        expect(frames.lastMessageSize).toBe(big.length)
        frames.push(compressor.compress(hello))
        expect(frames.lastMessageSize).toBe(hello.length)
      })

      it("bad JSON and bad envelopes give typed errors, and the decoder stays dead", () => {
        for (const [payload, reason] of [
          ["{\"op\":", "Json"],
          ["[1,2]", "Envelope"],
          ["{\"op\":\"0\",\"d\":null}", "Envelope"],
          ["{\"op\":0,\"s\":\"1\",\"t\":null}", "Envelope"],
          ["{\"op\":0,\"s\":1,\"t\":5}", "Envelope"],
          ["null", "Envelope"]
        ] as const) {
          const compressor = Compress.unsafeMake(compression)
          const frames = decoder(compression, engines)
          const error = frames.push(compressor.compress(payload))
          expect(reasonOf(error)).toBe(reason)
          expect(frames.push(compressor.compress(hello))).toBe(error)
        }
      })

      it("a message over maxMessageBytes is TooLarge", () => {
        const compressor = Compress.unsafeMake(compression)
        const frames = decoder(compression, engines, 10_000)
        expect(frames.push(compressor.compress(hello))).toMatchObject({ op: 10 })
        const big = JSON.stringify({ op: 0, d: "x".repeat(20_000), s: 1, t: "X" })
        expect(reasonOf(frames.push(compressor.compress(big)))).toBe("TooLarge")
      })

      it("an ETF compressed term (tag 80) that inflates past maxMessageBytes is TooLarge, as the same message in JSON is; one within it counts its inflated size", () => {
        const maxMessageBytes = 64 * 1024
        const event = { op: 0, s: 1, t: "MESSAGE_CREATE", d: { content: "x".repeat(1_000_000) } }
        const json = decoder(compression, engines, maxMessageBytes).push(Compress.unsafeMake(compression).compress(JSON.stringify(event)))
        expect(reasonOf(json)).toBe("TooLarge")
        // about 1 KB on the wire, 1 MB once inflated
        const term = compressedTerm(Etf.encodeWith({ ...event, t: new Etf.Atom(event.t) }, Etf.gatewayStyle))
        expect(term.length).toBeLessThan(maxMessageBytes)
        const etf = FrameDecoder.make({ compression, encoding: Etf.encoding, maxMessageBytes, ...engines })
        expect(etf.push(Compress.unsafeMake(compression).compress(term))).toMatchObject({
          _tag: "DecodeError",
          reason: "TooLarge",
          message: `message over ${maxMessageBytes} bytes (a compressed term of ${Etf.decodedSize(term)})`
        })
        const within = FrameDecoder.make({ compression, encoding: Etf.encoding, maxMessageBytes: 2_000_000, ...engines })
        expect(within.push(Compress.unsafeMake(compression).compress(term))).toEqual(event)
        expect(within.lastMessageSize).toBeGreaterThan(1_000_000)
      })

      it("corrupt input (random bytes, flipped bits, truncation) never throws; an error is final", () => {
        FastCheck.assert(
          FastCheck.property(
            FastCheck.array(FastCheck.uint8Array({ maxLength: 200 }), { maxLength: 4 }),
            FastCheck.nat(),
            FastCheck.integer({ min: 0, max: 7 }),
            FastCheck.boolean(),
            (garbage, position, bit, truncate) => {
              const compressor = Compress.unsafeMake(compression)
              const frames = decoder(compression, engines)
              const valid = [hello, dispatch(1), dispatch(2)].map((m) => Buffer.from(compressor.compress(m)))
              const victim = valid[1]!
              const index = position % victim.length
              if (truncate) valid[1] = victim.subarray(0, index)
              else victim[index] = victim[index]! ^ (1 << bit)
              let error: DecodeError | undefined
              for (const frame of [...valid, ...garbage.map((g) => Buffer.concat([g, Buffer.from([0, 0, 0xff, 0xff])]))]) {
                const result = frames.push(frame)
                if (error !== undefined) expect(result).toBe(error)
                else if (result instanceof DecodeError) error = result
                else if (result !== undefined) expect(typeof result.op).toBe("number")
              }
            }
          ),
          { numRuns: 150 }
        )
      })
    })
  }

  it("random bytes as a zlib-stream start are an Inflate error on both engines", () => {
    for (const zlibEngine of ["auto", "portable"] as const) {
      const frames = decoder("zlib-stream", { zlibEngine })
      expect(reasonOf(frames.push(Uint8Array.of(1, 2, 3, 4, 5, 0, 0, 0xff, 0xff)))).toBe("Inflate")
    }
  })

  // the engines part ways on a damaged flush: the node handle keeps the block it leaves open and
  // fails at the next message, the fallback starts each message from the window and may go on
  it("zlib-stream: a damaged flush never gets a wrong event delivered, on either engine: the events before an error are the ones sent", () => {
    const sent = Array.from({ length: 5 }, (_, i) => ({ op: 0, s: i + 1, t: "MESSAGE_CREATE", d: { content: "abc".repeat(i * 7) + "héllo \u2028" } }))
    for (const zlibEngine of ["auto", "portable"] as const) {
      const frames = ((zip) => sent.map((message) => Buffer.from(zip.compress(JSON.stringify(message)))))(Compress.unsafeMake("zlib-stream"))
      for (let f = 0; f < frames.length - 1; f++) {
        // the last block's end and the empty stored block's header, before `00 00 ff ff`
        for (let at = frames[f]!.length - 6; at < frames[f]!.length - 4; at++) {
          for (let value = 0; value < 256; value++) {
            const damaged = frames.map((frame, i) => i === f ? Buffer.from(frame).fill(value, at, at + 1) : frame)
            const decoder = FrameDecoder.make({ compression: "zlib-stream", encoding: Json.encoding, zlibEngine })
            const delivered: Array<unknown> = []
            for (const frame of damaged) {
              const result = decoder.push(frame)
              if (result instanceof DecodeError) break
              delivered.push(result)
            }
            expect(delivered).toEqual(sent.slice(0, delivered.length))
          }
        }
      }
    }
  })

  it("zlib-stream: a message sent as many tiny frames is TooLarge long before it holds many times maxMessageBytes", () => {
    const maxMessageBytes = 1024 * 1024
    const frames = decoder("zlib-stream", {}, maxMessageBytes)
    collectGarbage()
    const before = process.memoryUsage().heapUsed
    // every websocket message is a Buffer of its own: 1-byte frames held about 100 bytes each
    let pushed = 0
    let result: unknown
    // (a stream that begins as zlib's: its header's two bytes, one frame each)
    while (result === undefined && pushed < 1_000_000) {
      result = frames.push(Buffer.from([pushed === 1 ? 0x9c : 0x78]))
      pushed++
    }
    collectGarbage()
    expect(reasonOf(result)).toBe("TooLarge")
    expect((result as DecodeError).message).toBe(
      `zlib-stream message over ${maxMessageBytes} bytes, counting 128 more for each of its ${pushed} frames`
    )
    expect(pushed).toBeLessThan(maxMessageBytes / 100)
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * maxMessageBytes)
  })

  it("a message of no bytes (a bare flush marker once decompressed, an empty text or binary message) is no message, and the stream goes on", () => {
    // zlib: an empty stored block and the suffix; zstd: an empty raw block. Both were decode errors
    // (JSON of nothing), and a reconnect
    // (a compressor given nothing writes no bytes at all: the empty block is written out here)
    for (const zlibEngine of ["auto", "portable"] as const) {
      const zlib = Compress.unsafeMake("zlib-stream")
      const zlibDecoder = FrameDecoder.make({ compression: "zlib-stream", encoding: Json.encoding, zlibEngine })
      expect(zlibDecoder.push(zlib.compress(`{"op":11,"d":null}`))).toMatchObject({ op: 11 })
      expect(zlibDecoder.push(Uint8Array.of(0, 0, 0, 0xff, 0xff))).toBeUndefined()
      expect(zlibDecoder.push(zlib.compress(`{"op":11,"d":1}`))).toMatchObject({ op: 11, d: 1 })
    }
    const zstd = Compress.unsafeMake("zstd-stream")
    const zstdDecoder = FrameDecoder.make({ compression: "zstd-stream", encoding: Json.encoding })
    expect(zstdDecoder.push(zstd.compress(`{"op":11,"d":null}`))).toMatchObject({ op: 11 })
    expect(zstdDecoder.push(Uint8Array.of(0, 0, 0))).toBeUndefined()
    expect(zstdDecoder.push(zstd.compress(`{"op":11,"d":1}`))).toMatchObject({ op: 11, d: 1 })
    // uncompressed, an empty binary message likewise
    expect(FrameDecoder.make({ compression: "none", encoding: Etf.encoding }).push(new Uint8Array(0))).toBeUndefined()
    // and an empty text message, the kind Discord's JSON comes in (it was a Json decode error, and
    // a reconnect, where the same message in a binary frame was none)
    const text = FrameDecoder.make({ compression: "none", encoding: Json.encoding })
    expect(text.push("")).toBeUndefined()
    expect(text.push(new TextFrame(new Uint8Array(0)))).toBeUndefined()
    expect(text.push(`{"op":11,"d":1}`)).toMatchObject({ op: 11, d: 1 })
    // under ETF too, which refuses a text frame with something in it
    const etf = FrameDecoder.make({ compression: "none", encoding: Etf.encoding })
    expect(etf.push("")).toBeUndefined()
    expect(etf.push(new TextFrame(new Uint8Array(0)))).toBeUndefined()
  })

  it("a leading byte order mark is dropped from a text frame given as a string, as from one given as bytes (it was a Json error and a reconnect as a string)", () => {
    const text = `\uFEFF{"t":"MESSAGE_CREATE","s":1,"op":0,"d":{"a":1}}`
    for (const frame of [text, new TextFrame(Buffer.from(text))]) {
      for (const skip of [undefined, () => true]) {
        const decoded = FrameDecoder.make({ compression: "none", encoding: Json.encoding, skip }).push(frame)
        // the header reader gives up on it: it is parsed whole, never skipped
        expect(decoded).toMatchObject({ op: 0, s: 1, t: "MESSAGE_CREATE", d: { a: 1 } })
      }
    }
  })

  it("zstd-stream: garbage is a Zstd error", () => {
    const frames = decoder("zstd-stream", {})
    const error = frames.push(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19))
    expect(reasonOf(error)).toBe("Zstd")
    expect(frames.push(Compress.unsafeMake("zstd-stream").compress(hello))).toBe(error)
  })

  // TooLarge, twice at one point, ended the session asking for a larger maxMessageBytes, which no
  // value fixes: the window is no message's size
  it("zstd-stream: a frame header asking for a window over 2^27 bytes is a Zstd error, not TooLarge, and final", () => {
    // magic, descriptor without single segment, window descriptor: exponent 10 + e, mantissa 0
    const header = (windowLog: number) => Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3)
    for (const windowLog of [28, 31, 41]) {
      const frames = decoder("zstd-stream", {})
      const error = frames.push(header(windowLog))
      expect(error).toMatchObject({ _tag: "DecodeError", reason: "Zstd", message: "zstd: frame window over 2^27 bytes" })
      expect(frames.push(Compress.unsafeMake("zstd-stream").compress(hello))).toBe(error)
    }
    // the limit itself is accepted: the header alone decompresses to nothing, without an error
    const atLimit = Decompress.make("zstd-stream").push(header(27))
    expect(atLimit).toBeInstanceOf(Uint8Array)
    expect((atLimit as Uint8Array).length).toBe(0)
  })

  it("zstd-stream: a single-segment frame declaring content over 2^27 bytes is a Zstd error (its window)", () => {
    // descriptor: single segment, 4-byte content size = 2^28
    const header = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x00, 0x10)
    expect(reasonOf(decoder("zstd-stream", {}).push(header))).toBe("Zstd")
  })

  it("zlib-stream: buffered frames without the suffix over the limit are TooLarge", () => {
    const frames = decoder("zlib-stream", {}, 1000)
    // (a stream that begins as zlib's)
    expect(frames.push(Uint8Array.of(0x78, 0x9c, ...new Uint8Array(598)))).toBeUndefined()
    expect(reasonOf(frames.push(new Uint8Array(600)))).toBe("TooLarge")
  })

  it("text frames are whole JSON messages, as strings or as undecoded bytes", () => {
    expect(decoder("zlib-stream", {}).push(hello)).toMatchObject({ op: 10, s: null, t: null })
    const bytes = new TextFrame(Buffer.from(dispatch(3)))
    expect(decoder("zlib-stream", {}).push(bytes)).toEqual({ op: 0, s: 3, t: "MESSAGE_CREATE", d: { content: "héllo 🎉", n: 3 } })
    expect(decoder("none", {}).push(bytes)).toEqual({ op: 0, s: 3, t: "MESSAGE_CREATE", d: { content: "héllo 🎉", n: 3 } })
  })

  // its optional members copied as they are, `undefined` included (a type error where optional
  // properties are exact, for `decodedSize`)
  it("an encoding of the program's own, wrapping a shipped one member by member, decodes as it does", () => {
    for (const inner of [Json.encoding, Etf.encoding]) {
      const wrapped: Encoding = {
        name: inner.name,
        decode: (message, max) => inner.decode(message, max),
        encode: (payload) => inner.encode(payload),
        decodedSize: inner.decodedSize,
        header: inner.header,
        binaryOnly: inner.binaryOnly
      }
      const message = inner.encode({ op: 0, s: 3, t: "MESSAGE_CREATE", d: { content: "héllo" } })
      const [mine, theirs] = [wrapped, inner].map((encoding) => FrameDecoder.make({ compression: "none", encoding, maxMessageBytes: undefined }).push(message))
      expect(mine).toEqual(theirs)
      expect(mine).toMatchObject({ op: 0, s: 3, t: "MESSAGE_CREATE" })
    }
  })

  it("ETF refuses a text frame, as a string or as bytes that would read as an ETF envelope, and stays failed", () => {
    const envelope = Etf.encode({ op: 11, d: null, s: null, t: null })
    for (const frame of [new TextFrame(envelope), "{\"op\":11}"]) {
      const frames = FrameDecoder.make({ compression: "none", encoding: Etf.encoding })
      const refused = frames.push(frame)
      expect(refused).toMatchObject({ _tag: "DecodeError", message: "ETF gateway messages come in binary frames, got a text frame" })
      expect(frames.push(envelope)).toBe(refused)
    }
    expect(FrameDecoder.make({ compression: "none", encoding: Etf.encoding }).push(envelope)).toEqual({ op: 11, d: null, s: null, t: null })
  })

  it("a text frame over maxMessageBytes is TooLarge, counted in bytes", () => {
    const text = dispatch(4)
    const bytes = Buffer.byteLength(text)
    expect(bytes).toBeGreaterThan(text.length)
    expect(reasonOf(decoder("zlib-stream", {}, bytes - 1).push(new TextFrame(Buffer.from(text))))).toBe("TooLarge")
    expect(decoder("zlib-stream", {}, bytes).push(new TextFrame(Buffer.from(text)))).toMatchObject({ s: 4 })
  })

  it("missing s and t read as null", () => {
    expect(Json.decode("{\"op\":11}")).toEqual({ op: 11, s: null, t: null })
  })

  it("a DecodeError is tagged, with its reason in a clear message", () => {
    const error = Json.decode("{")
    expect(error).toBeInstanceOf(DecodeError)
    expect(error).toMatchObject({ _tag: "DecodeError", reason: "Json" })
    expect((error as DecodeError).message).toMatch(/not valid JSON/)
  })

  it("a DecodeError's message shows the piece of text V8 quotes without its control characters", () => {
    const message = (Json.decode("{\"a\":\u009b2J\u001b[2J}") as DecodeError).message
    expect(message).toMatch(/not valid JSON/)
    expect(message).not.toMatch(anyControl)
    expect(message).toContain("\\u009b2J\\u001b[2J")
  })

  it("skips unwanted dispatches without parsing them, where the header can be read", () => {
    const frames = FrameDecoder.make({ compression: "none", encoding: Json.encoding, skip: (t) => t !== "MESSAGE_CREATE" })
    expect(frames.push(`{"t":"TYPING_START","s":7,"op":0,"d":{not json at all}`)).toEqual({ op: 0, s: 7, t: "TYPING_START", d: Skipped })
    expect(frames.push(`{"t":"MESSAGE_CREATE","s":8,"op":0,"d":{"a":1}}`)).toEqual({ op: 0, s: 8, t: "MESSAGE_CREATE", d: { a: 1 } })
    expect(frames.push(`{"op":0,"d":{"a":2},"s":9,"t":"TYPING_START"}`)).toEqual({ op: 0, s: 9, t: "TYPING_START", d: { a: 2 } })
    expect(frames.push(`{"t":null,"s":null,"op":11,"d":null}`)).toEqual({ op: 11, s: null, t: null, d: null })
    expect(frames.push(new TextFrame(Buffer.from(`{"t":"TYPING_START","s":10,"op":0,"d":{not json}\n`)))).toEqual({
      op: 0,
      s: 10,
      t: "TYPING_START",
      d: Skipped
    })
  })

  it("a skipped message cut short is not skipped: it fails as a wanted one would", () => {
    for (const frame of [`{"t":"TYPING_START","s":7,"op":0,"d":{"a":`, new TextFrame(Buffer.from(`{"t":"TYPING_START","s":7,"op":0,"d":{ `))]) {
      const frames = FrameDecoder.make({ compression: "none", encoding: Json.encoding, skip: () => true })
      expect(frames.push(frame)).toMatchObject({ _tag: "DecodeError", reason: "Json" })
    }
  })

  it("holds a text frame given as a string to maxMessageBytes in UTF-8 bytes, as one given as bytes", () => {
    const text = JSON.stringify({ op: 0, s: 1, t: "MESSAGE_CREATE", d: { content: "🎉".repeat(40) } })
    const make = () => FrameDecoder.make({ compression: "none", encoding: Json.encoding, maxMessageBytes: Buffer.byteLength(text) - 1 })
    expect(make().push(new TextFrame(Buffer.from(text)))).toMatchObject({ _tag: "DecodeError", reason: "TooLarge" })
    expect(make().push(text)).toMatchObject({ _tag: "DecodeError", reason: "TooLarge" })
    // within the limit in bytes, a string is taken
    const fits = FrameDecoder.make({ compression: "none", encoding: Json.encoding, maxMessageBytes: Buffer.byteLength(text) })
    expect(fits.push(text)).toMatchObject({ op: 0, s: 1, t: "MESSAGE_CREATE" })
  })
})
