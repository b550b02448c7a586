import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Decompress from "../../src/codec/Decompress.ts"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as FrameDecoder from "../../src/codec/FrameDecoder.ts"
import * as Json from "../../src/codec/Json.ts"
import * as ZstdDecompress from "../../src/codec/ZstdDecompress.ts"
import * as ZstdNative from "../../src/codec/ZstdNative.ts"

// As if zstd-napi (an optional dependency) were not installed.
vi.mock("../../src/codec/ZstdNative.ts", async (importOriginal) => ({
  ...(await importOriginal<typeof ZstdNative>()),
  load: () => undefined
}))

describe("zstd-stream without zstd-napi", () => {
  it("is reported unavailable up front; none and zlib-stream stay available", () => {
    expect(ZstdDecompress.isAvailable()).toBe(false)
    expect(Decompress.isAvailable("zstd-stream")).toBe(false)
    expect(Decompress.isAvailable("zlib-stream")).toBe(true)
    expect(Decompress.isAvailable("none")).toBe(true)
  })

  it("make does not throw; every push is the same Zstd error naming the missing package", () => {
    const decompressor = Decompress.make("zstd-stream")
    expect(decompressor.compression).toBe("zstd-stream")
    const error = decompressor.push(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd))
    expect(error).toBeInstanceOf(DecodeError)
    expect(error).toMatchObject({ reason: "Zstd", message: ZstdNative.unavailableMessage() })
    expect((error as DecodeError).message).toMatch(/zstd-napi/)
    expect(decompressor.push(new Uint8Array(10))).toBe(error)
  })

  it("a FrameDecoder for zstd-stream fails its first binary frame with that error", () => {
    const frames = FrameDecoder.make({ compression: "zstd-stream", encoding: Json.encoding })
    expect(frames.push(new Uint8Array(3))).toMatchObject({ _tag: "DecodeError", reason: "Zstd" })
  })
})
