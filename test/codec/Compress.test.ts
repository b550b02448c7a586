import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Zlib from "node:zlib"
import * as Compress from "../../src/codec/Compress.ts"

describe("Compress", () => {
  it.effect("make builds each compressor", () =>
    Effect.gen(function*() {
      for (const compression of ["none", "zlib-stream", "zstd-stream"] as const) {
        const compressor = yield* Compress.make(compression)
        expect(compressor.compression).toBe(compression)
      }
    }))

  for (const zlibEngine of ["auto", "portable"] as const) {
    it(`zlib-stream (${zlibEngine}): every message ends with 00 00 ff ff and the stream inflates in one piece`, () => {
      const compressor = Compress.unsafeMake("zlib-stream", { zlibEngine })
      const messages = ["first", "second ".repeat(10_000), "third é🎉"]
      const frames = messages.map((m) => compressor.compress(m))
      for (const frame of frames) expect([...frame.subarray(-4)]).toEqual([0, 0, 0xff, 0xff])
      const all = Zlib.inflateSync(Buffer.concat(frames), { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
      expect(all.toString("utf8")).toBe(messages.join(""))
    })
  }

  it("zstd-stream: messages share one frame (only the first carries the magic number)", () => {
    const compressor = Compress.unsafeMake("zstd-stream")
    const first = compressor.compress("hello hello hello")
    const second = compressor.compress("hello hello hello")
    expect([...first.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd])
    expect([...second.subarray(0, 4)]).not.toEqual([0x28, 0xb5, 0x2f, 0xfd])
    expect(second.length).toBeLessThan(first.length)
  })
})
