import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as JsonHeader from "../../src/codec/JsonHeader.ts"

const encoder = new TextEncoder()

describe("JsonHeader", () => {
  it("reads op, s and t written before d, from text and from bytes", () => {
    const text = `{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"t":"NOT_THIS","s":1,"content":"{\\"op\\":9}"}}`
    expect(JsonHeader.read(text)).toEqual({ op: 0, s: 42, t: "MESSAGE_CREATE" })
    expect(JsonHeader.read(encoder.encode(text))).toEqual({ op: 0, s: 42, t: "MESSAGE_CREATE" })
    expect(JsonHeader.read(` { "op" : 11 , "s" : null , "t" : null , "d" : null }`)).toEqual({ op: 11, s: null, t: null })
  })

  it("gives up when a field comes after d, is missing, or is unusual", () => {
    for (
      const text of [
        `{"op":0,"d":{},"s":1,"t":"READY"}`,
        `{"t":"READY","op":0,"d":{}}`,
        `{"t":"RE\\u0041DY","s":1,"op":0,"d":{}}`,
        `{"t":"READY","s":-1,"op":0,"d":{}}`,
        `{"t":"READY","s":1.5,"op":0,"d":{}}`,
        `{"t":"READY","s":1,"op":0,"x":1,"d":{}}`,
        `{"t":"READY","s":1,"op":null,"d":{}}`,
        `{"t":"READY","s":1,"o":0,"d":{}}`,
        `{"t":"READY","s":1,"opx":0,"d":{}}`,
        `{"t":"READY","s":1,"\\u006fp":0,"d":{}}`,
        `{"t":"READY","s":1,"op":0,"dx":{}}`,
        `{"tt":"READY","s":1,"op":0,"d":{}}`,
        `{"t":"READY","s":9999999999999999,"op":0,"d":{}}`,
        // leading zeros, which JSON.parse refuses (they read as 7 and 0)
        `{"t":"READY","s":007,"op":0,"d":{}}`,
        `{"t":"READY","s":7,"op":00,"d":{}}`,
        `{"t":"READY","s":1,"op":0,${" ".repeat(600)}"d":{}}`,
        `[1,2,3]`,
        ``,
        `{"t":"READY","s":1,"op":0`,
        `{"t":"READY","s":1,"op":0,"d":{"a":1}}`.slice(0, -2),
        `{"t":"READY","s":1,"op":0,"d":"}`.slice(0, -1),
        `{"t":"READY","s":1,"op":0,"d":{}} x`
      ]
    ) expect(JsonHeader.read(text)).toBeUndefined()
  })

  it("never disagrees with JSON.parse: whatever it reads is what the message says", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.record({
          op: FastCheck.oneof(FastCheck.integer({ min: 0, max: 50 }), FastCheck.constant(null)),
          s: FastCheck.oneof(FastCheck.nat(), FastCheck.maxSafeNat(), FastCheck.constant(null), FastCheck.double()),
          t: FastCheck.oneof(
            FastCheck.string(),
            FastCheck.string({ unit: "binary" }),
            FastCheck.constantFrom("MESSAGE_CREATE", "READY"),
            FastCheck.constant(null)
          ),
          d: FastCheck.jsonValue()
        }),
        FastCheck.shuffledSubarray(["op", "s", "t", "d"], { minLength: 0, maxLength: 4 }),
        FastCheck.boolean(),
        (envelope, order, asBytes) => {
          const text = `{${order.map((key) => `${JSON.stringify(key)}:${JSON.stringify(envelope[key as keyof typeof envelope])}`).join(",")}}`
          const header = JsonHeader.read(asBytes ? encoder.encode(text) : text)
          if (header === undefined) return
          const parsed = JSON.parse(text)
          expect(header).toEqual({ op: parsed.op, s: parsed.s, t: parsed.t })
        }
      ),
      { seed: 42, numRuns: 2000 }
    ))

  it("a message cut short just after a } of its d is read (README: it is skipped with events), cut elsewhere it is not", () => {
    const whole = `{"t":"TYPING_START","s":4,"op":0,"d":{"member":{"user":{"id":"1"}},"user_id":"1"}}`
    expect(JsonHeader.read(whole.slice(0, -1))).toEqual({ op: 0, s: 4, t: "TYPING_START" })
    expect(JsonHeader.read(whole.slice(0, whole.indexOf("}}") + 2))).toEqual({ op: 0, s: 4, t: "TYPING_START" })
    expect(JsonHeader.read(whole.slice(0, -3))).toBeUndefined()
  })

  it("reads integers of up to 15 digits, exact, and text whose header starts the message", () => {
    expect(JsonHeader.read(`{"t":"A","s":999999999999999,"op":0,"d":{}}`)).toEqual({ op: 0, s: 999999999999999, t: "A" })
    const long = `{"t":"A","s":1,"op":0,"d":"${"x".repeat(2000)}"}`
    expect(JsonHeader.read(long)).toEqual({ op: 0, s: 1, t: "A" })
    expect(JsonHeader.read(encoder.encode(long))).toEqual({ op: 0, s: 1, t: "A" })
  })

  it("names read from bytes are right when their hashes collide (\"Aa\" and \"BB\")", () => {
    const header = (t: string) => JsonHeader.read(encoder.encode(`{"t":"${t}","s":1,"op":0,"d":{}}`))
    for (const t of ["Aa", "BB", "Aa", "BB", "AaBB", "BBAa"]) expect(header(t)).toEqual({ op: 0, s: 1, t })
  })
})
