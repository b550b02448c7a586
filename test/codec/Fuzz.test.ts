/**
 * Fixed-seed fuzzing of the codec: the JSON header against JSON.parse, and zlib-stream messages cut
 * into frames anywhere, on both engines and both encodings.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Compress from "../../src/codec/Compress.ts"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Etf from "../../src/codec/Etf.ts"
import * as FrameDecoder from "../../src/codec/FrameDecoder.ts"
import * as Json from "../../src/codec/Json.ts"
import * as JsonHeader from "../../src/codec/JsonHeader.ts"

const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x80000000
}

describe("codec: fixed-seed fuzz", () => {
  // a skipped dispatch carries the header's s and t: whatever the header reads must be what
  // JSON.parse reads
  it("JsonHeader never reads an op, s or t that JSON.parse and the envelope check disagree with (unusual whitespace, escapes, duplicates, odd numbers)", () => {
    const rnd = random(72)
    const pick = <T>(items: ReadonlyArray<T>): T => items[Math.floor(rnd() * items.length)]!
    const space = () => rnd() < 0.97 ? pick(["", "", "", " ", "\t", "\n", "\r\n"]) : pick(["\u00a0", "\f", "\v", "\u2028", "\ufeff"])
    const keys = [`"op"`, `"s"`, `"t"`, `"d"`, `"x"`, `"\\u0074"`, `"o\\u0070"`, `"t "`, `"T"`]
    const extra = keys.filter((key) => key !== `"d"`)
    const values = ["0", "1", "-1", "1.0", "1e2", "00", "null", "true", `"A"`, `"READY"`, `"A\\"B"`, `"\\u0041"`, `"é"`, `""`, "999999999999999", "9999999999999999", "{}", "[]", `{"op":1}`, "-0", "0.0", "NaN", "+1"]
    const encoder = new TextEncoder()
    let read = 0
    for (let n = 0; n < 40_000; n++) {
      let text = `${space()}{`
      // mostly op, s and t before d (what the header reads), in any order, sometimes repeated
      const order = [...pick([[`"op"`, `"s"`, `"t"`], [`"t"`, `"s"`, `"op"`], [`"s"`, `"op"`, `"t"`]]), ...(rnd() < 0.3 ? [pick(extra)] : []), `"d"`]
      if (rnd() < 0.3) order.splice(Math.floor(rnd() * order.length), 0, pick(extra))
      // d itself valid: what follows d is documented as not read
      const value = (key: string) =>
        key === `"d"` ? pick(["0", "{}", "[]", "null", `"x"`, `{"op":1,"t":"B"}`]) : rnd() < 0.5 ? (key === `"t"` ? pick([`"A"`, `"READY"`, "null"]) : key === `"s"` ? pick(["1", "42", "null"]) : key === `"op"` ? "0" : pick(values)) : pick(values)
      order.forEach((key, k) => {
        if (k > 0) text += `${space()}${rnd() < 0.98 ? "," : ""}${space()}`
        // after d's colon only JSON's own whitespace: what follows the colon is documented as unread
        text += key === `"d"` ? `${space()}${key}${space()}: ${value(key)}\n}` : `${space()}${key}${space()}:${space()}${value(key)}${space()}`
      })
      for (const input of [text, encoder.encode(text)]) {
        const header = JsonHeader.read(input)
        // FrameDecoder uses a header only for a dispatch with a name: op 0, t not null
        if (header === undefined || header.op !== 0 || header.t === null) continue
        read++
        const envelope = Json.decode(input)
        expect(envelope instanceof DecodeError ? envelope.message : { op: envelope.op, s: envelope.s, t: envelope.t }, text).toEqual(header)
      }
    }
    expect(read).toBeGreaterThan(100)
  })

  // frames are buffered until the `00 00 ff ff` suffix, then inflated, on either engine alike
  it("zlib-stream messages cut into frames anywhere decode to what was sent, on both engines, JSON and ETF, text split through its characters", () => {
    const rnd = random(7272)
    const text = (length: number) => {
      let out = ""
      for (let i = 0; i < length; i++) {
        const r = rnd()
        out += r < 0.7 ? String.fromCharCode(32 + Math.floor(rnd() * 90)) : r < 0.85 ? "😀" : "é中"
      }
      return out
    }
    for (const engine of ["auto", "portable"] as const) {
      for (const encoding of [Json.encoding, Etf.encoding]) {
        const compressor = Compress.unsafeMake("zlib-stream", { zlibEngine: engine })
        const decoder = FrameDecoder.make({ compression: "zlib-stream", encoding, zlibEngine: engine })
        for (let m = 0; m < 60; m++) {
          const payload = { op: 0, s: m + 1, t: "MESSAGE_CREATE", d: { content: text(m % 10 === 0 ? 40_000 : Math.floor(rnd() * 400)), id: "1234567890123456789" } }
          const bytes = compressor.compress(encoding === Json.encoding ? JSON.stringify(payload) : Etf.encodeWith(payload, Etf.gatewayStyle))
          const cuts = Array.from({ length: Math.floor(rnd() * 5) }, () => Math.floor(rnd() * bytes.length)).sort((a, b) => a - b)
          let from = 0
          let got: unknown
          for (const to of [...cuts, bytes.length]) {
            const result = decoder.push(bytes.subarray(from, to))
            from = to
            if (result !== undefined) {
              expect(to).toBe(bytes.length)
              got = result
            }
          }
          expect(got).toEqual(payload)
        }
        decoder.close()
      }
    }
  })
})
