import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Etf from "../../src/codec/Etf.ts"
import * as Commands from "../../src/protocol/Commands.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Zlib from "node:zlib"
import { collectGarbage } from "../gc.ts"
import { binaryToTerm, clientTerm, Erlang, fromClientTerm, termToBinary, termToCompressedBinary } from "./erlang.ts"

const bytes = (...values: ReadonlyArray<number>) => Uint8Array.of(Etf.version, ...values)
const decoded = (...values: ReadonlyArray<number>) => Etf.decodeTerm(bytes(...values))
const failure = (value: unknown): DecodeError => {
  expect(value).toBeInstanceOf(DecodeError)
  expect((value as DecodeError).reason).toBe("Etf")
  return value as DecodeError
}
const smallBig = (value: bigint): Array<number> => {
  const digits: Array<number> = []
  for (let rest = value < 0n ? -value : value; rest > 0n; rest >>= 8n) digits.push(Number(rest & 0xffn))
  return [110, digits.length, value < 0n ? 1 : 0, ...digits]
}
const binary = (text: string) => {
  const utf8 = [...Buffer.from(text, "utf8")]
  return [109, 0, 0, utf8.length >> 8, utf8.length & 0xff, ...utf8]
}
const smallAtom = (name: string) => [119, name.length, ...Buffer.from(name, "latin1")]

describe("Etf.decodeTerm", () => {
  it("decodes integers, floats, atoms, binaries and containers into JSON's shapes", () => {
    expect(decoded(97, 200)).toBe(200)
    expect(decoded(98, 0xff, 0xff, 0xff, 0xfe)).toBe(-2)
    expect(decoded(70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)).toBe(1.5)
    expect(decoded(...smallAtom("nil"))).toBeNull()
    expect(decoded(...smallAtom("true"))).toBe(true)
    expect(decoded(100, 0, 5, ...Buffer.from("false"))).toBe(false)
    expect(decoded(115, 4, 0x63, 0x61, 0x66, 0xe9)).toBe("café")
    expect(decoded(118, 0, 5, ...Buffer.from("READY"))).toBe("READY")
    expect(decoded(...binary("héllo 👋"))).toBe("héllo 👋")
    expect(decoded(106)).toEqual([])
    expect(decoded(108, 0, 0, 0, 2, 97, 1, ...binary("x"), 106)).toEqual([1, "x"])
    expect(decoded(104, 2, 97, 1, 97, 2)).toEqual([1, 2])
    expect(decoded(105, 0, 0, 0, 1, ...smallAtom("ok"))).toEqual(["ok"])
    expect(decoded(116, 0, 0, 0, 2, ...smallAtom("id"), ...binary("1"), ...binary("n"), 97, 3)).toEqual({ id: "1", n: 3 })
  })

  it("decodes STRING_EXT (Erlang's byte lists, e.g. shard: [0, 1]) as an array of numbers, as JSON has it", () => {
    expect(decoded(107, 0, 2, 0, 1)).toEqual([0, 1])
  })

  it("gives big integers as numbers up to 2^53 - 1 and as decimal strings beyond, so snowflakes stay strings", () => {
    expect(decoded(...smallBig(1_700_000_000_123n))).toBe(1_700_000_000_123)
    expect(decoded(...smallBig(2n ** 53n - 1n))).toBe(Number.MAX_SAFE_INTEGER)
    expect(decoded(...smallBig(2n ** 53n))).toBe("9007199254740992")
    expect(decoded(...smallBig(80351110224678912n))).toBe("80351110224678912")
    expect(decoded(...smallBig(2n ** 64n - 1n))).toBe("18446744073709551615")
    expect(decoded(...smallBig(-(2n ** 60n)))).toBe(`-${2n ** 60n}`)
    expect(decoded(...smallBig(-(2n ** 40n)))).toBe(-(2 ** 40))
    expect(decoded(111, 0, 0, 0, 9, 0, ...Array(8).fill(0), 1)).toBe(`${2n ** 64n}`)
    expect(decoded(110, 0, 0)).toBe(0)
  })

  it("decodes FLOAT_EXT (the old 31-byte text float)", () => {
    const text = Buffer.alloc(31)
    text.write("1.50000000000000000000e+00", "latin1")
    expect(decoded(99, ...text)).toBe(1.5)
  })

  it("ends a FLOAT_EXT's text at its first NUL or after 31 bytes, whatever the padding", () => {
    const spaced = Buffer.alloc(31, " ")
    spaced.write("2.50000000000000000000e+00", "latin1")
    expect(decoded(108, 0, 0, 0, 2, 99, ...spaced, 99, ...spaced, 106)).toEqual([2.5, 2.5])
  })

  it("refuses a FLOAT_EXT whose text is no number as a whole (parseFloat read `1.5abc` as 1.5)", () => {
    for (const text of ["1.5abc", "1.5e+00 junk", "2.0.0", "3x", "0x10", "", "e5", "Infinity"]) {
      const padded = Buffer.alloc(31)
      padded.write(text, "latin1")
      expect(failure(decoded(99, ...padded)).message).toContain("FLOAT_EXT at offset 2 is not a number")
    }
  })

  it("keeps a leading U+FEFF in a binary, as JSON.parse keeps it in a string", () => {
    for (const text of ["\uFEFF", "\uFEFFhi", `\uFEFF${"x".repeat(40)}`]) {
      expect(Etf.decodeTerm(Uint8Array.of(Etf.version, ...binary(text)))).toBe(text)
      expect(Etf.decodeTerm(Etf.encode({ [text]: text }))).toEqual({ [text]: text })
    }
  })

  it("keeps a __proto__ key as data, as JSON.parse does", () => {
    const value = decoded(116, 0, 0, 0, 1, ...binary("__proto__"), ...binary("x")) as Record<string, unknown>
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.keys(value)).toEqual(["__proto__"])
  })

  it("takes integer map keys as decimal strings and refuses other keys", () => {
    expect(decoded(116, 0, 0, 0, 1, 97, 7, 97, 1)).toEqual({ 7: 1 })
    failure(decoded(116, 0, 0, 0, 1, 106, 97, 1))
  })

  it("refuses atom keys when asked (what the gateway does with a client's payload)", () => {
    const message = bytes(116, 0, 0, 0, 1, ...smallAtom("op"), 97, 1)
    expect(Etf.decodeTerm(message)).toEqual({ op: 1 })
    expect(failure(Etf.decodeTerm(message, { rejectAtomKeys: true })).message).toContain("atom")
    const name = Buffer.from("o\u009b2J", "utf8")
    const hostile = bytes(116, 0, 0, 0, 1, 119, name.length, ...name, 97, 1)
    expect(failure(Etf.decodeTerm(hostile, { rejectAtomKeys: true })).message).toContain(`map key "o\\u009b2J" is an atom`)
  })

  it("refuses malformed messages with a DecodeError: version, truncation, improper lists, trailing bytes, unknown tags", () => {
    failure(Etf.decodeTerm(Uint8Array.of(130, 97, 1)))
    failure(Etf.decodeTerm(new Uint8Array(0)))
    failure(decoded(98, 0, 0))
    failure(decoded(109, 0, 0, 0, 9, 1, 2))
    expect(failure(decoded(108, 0, 0, 0, 1, 97, 1, 97, 2)).message).toContain("improper")
    expect(failure(decoded(97, 1, 97, 2)).message).toContain("trailing")
    failure(decoded(80, 0, 0, 0, 1, 0x78))
    failure(decoded(110, 1, 2, 5))
  })

  it("reads bytes that are not UTF-8 as U+FFFD, as a JSON message's are, in binaries and atom names alike", () => {
    const json = (bytes: ReadonlyArray<number>) => JSON.parse(new TextDecoder().decode(Uint8Array.from([0x22, ...bytes, 0x22])))
    for (const text of [[0xc3, 0x28], [0x61, 0xed, 0xa0, 0x80, 0x62], [0xff], [0xe2, 0x82]]) {
      expect(decoded(109, 0, 0, 0, text.length, ...text)).toBe(json(text))
      expect(decoded(118, 0, text.length, ...text)).toBe(json(text))
    }
    expect(decoded(109, 0, 0, 0, 2, 0xc3, 0x28)).toBe("\ufffd(")
  })

  it("refuses a compressed term (tag 80) whose size is not what it inflates to, or over 64 MiB, before inflating more", () => {
    const term = [...binary("hello")]
    const compressed = (size: number, data: Uint8Array) => decoded(80, size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff, ...data)
    const deflated = Zlib.deflateSync(Uint8Array.from(term))
    expect(compressed(term.length, deflated)).toBe("hello")
    // zlib stops at its stream's end: what follows is trailing bytes, refused as after a plain term
    expect(failure(compressed(term.length, Uint8Array.from([...deflated, 0xde, 0xad]))).message).toContain("2 trailing bytes after the compressed term")
    expect(failure(compressed(term.length + 1, deflated)).message).toContain(`inflates to ${term.length} bytes`)
    // a small message that would inflate to far more than it says (a zlib bomb) stops at its size
    expect(failure(compressed(term.length, Zlib.deflateSync(new Uint8Array(10_000_000)))).message).toContain("does not inflate")
    failure(decoded(80, 0, 0))
  })

  it("holds a compressed term (tag 80) to maxMessageBytes (default 64 MiB) once inflated: TooLarge, nothing inflated; decodedSize says its inflated size", () => {
    const term = Uint8Array.from(binary("x".repeat(1000)))
    const message = (size: number) =>
      bytes(80, size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff, ...Zlib.deflateSync(term))
    const tooLarge = (value: unknown) => {
      expect(value).toBeInstanceOf(DecodeError)
      expect((value as DecodeError).reason).toBe("TooLarge")
      return (value as DecodeError).message
    }
    expect(tooLarge(Etf.decodeTerm(message(64 * 1024 * 1024 + 1)))).toBe("message over 67108864 bytes (a compressed term of 67108865)")
    expect(tooLarge(Etf.decodeTerm(message(term.length), { maxMessageBytes: 999 }))).toBe(`message over 999 bytes (a compressed term of ${term.length})`)
    expect(Etf.decodeTerm(message(term.length), { maxMessageBytes: term.length })).toBe("x".repeat(1000))
    expect(Etf.decodedSize(message(term.length))).toBe(term.length)
    expect(Etf.decodedSize(bytes(109, 0, 0, 0, 0))).toBe(6)
  })

  it("checks counts against the message before allocating", () => {
    expect(failure(decoded(108, 0xff, 0xff, 0xff, 0xff, 106)).message).toContain("longer than the message")
    failure(decoded(116, 0x7f, 0xff, 0xff, 0xff))
    failure(decoded(105, 0xff, 0xff, 0xff, 0xff))
    failure(decoded(111, 0xff, 0xff, 0xff, 0xff, 0))
  })

  it("bounds nesting: a deeply nested message is a DecodeError, not a stack overflow", () => {
    const depth = 100_000
    const message = new Uint8Array(1 + depth * 6 + 1)
    message[0] = Etf.version
    for (let i = 0; i < depth; i++) message.set([108, 0, 0, 0, 1], 1 + i * 5)
    message[1 + depth * 5] = 106
    message.fill(106, 2 + depth * 5)
    expect(failure(Etf.decodeTerm(message)).message).toContain(`deeper than ${Etf.maxDepth}`)
  })

  it("never throws on random bytes or on mutations of valid messages", () => {
    const valid = Etf.encodeWith({ t: new Etf.Atom("MESSAGE_CREATE"), s: 1, op: 0, d: { id: "80351110224678912", a: [1, 2.5, "x", null], b: { c: true } } }, Etf.gatewayStyle)
    FastCheck.assert(
      FastCheck.property(
        FastCheck.oneof(
          FastCheck.uint8Array({ maxLength: 64 }).map((tail) => Uint8Array.of(Etf.version, ...tail)),
          FastCheck.tuple(FastCheck.nat(valid.length - 1), FastCheck.integer({ min: 0, max: 255 }), FastCheck.nat(valid.length)).map(([at, byte, cut]) => {
            const copy = valid.slice(0, Math.max(at + 1, cut))
            copy[at] = byte
            return copy
          })
        ),
        (message) => {
          const value = Etf.decodeTerm(message)
          return value instanceof DecodeError ? value.reason === "Etf" || value.reason === "TooLarge" : true
        }
      ),
      { numRuns: 3000 }
    )
  })
})

describe("Etf.decodeTerm: what a message may cost once decoded", () => {
  const list = (count: number, item: ReadonlyArray<number>) =>
    Uint8Array.from([Etf.version, 108, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff, ...Array.from({ length: count }, () => item).flat(), 106])

  // each empty list is one byte made an array: a message of them held about 40 times its size, a
  // 64 MiB one some 2.6 GB (chaos2)
  it("refuses more lists, tuples and maps than one per two bytes of the message, and takes real data's", () => {
    expect(failure(Etf.decodeTerm(list(10_000, [106]))).message).toContain("more lists, tuples and maps than one per two bytes")
    // a map with a key and a value per entry
    const maps = Etf.decodeTerm(list(10_000, [116, 0, 0, 0, 1, ...binary("a"), 106]))
    expect(Array.isArray(maps) && maps.length).toBe(10_000)
    // a small term of empty lists
    expect(decoded(104, 3, 106, 106, 106)).toEqual([[], [], []])
  })

  // `levels` containers (list 108, large tuple 105, map 116) inside each other, each declaring
  // `count` items, then empty lists to the end of a term of `size` bytes: each count alone is
  // below what is left of the term
  const nested = (tag: 105 | 108 | 116, levels: number, count: number, size: number) => {
    const term = new Uint8Array(size).fill(106)
    const view = new DataView(term.buffer)
    for (let level = 0, at = 0; level < levels; level++, at += tag === 116 ? 11 : 5) {
      term[at] = tag
      view.setUint32(at + 1, count)
      // a map's first key, a one-byte binary, before the value that nests
      if (tag === 116) term.set(binary("k"), at + 5)
    }
    return term
  }
  const heapGrowth = (run: () => unknown) => {
    collectGarbage()
    const before = process.memoryUsage().heapUsed
    const result = run()
    return { result, grown: process.memoryUsage().heapUsed - before }
  }

  // each container's count was checked alone against the bytes left, and made an array that
  // long: 64 lists of 60,000 items in a 64 KiB message asked for about 30 MB, and a compressed term
  // of about 1 KiB stating 1 MiB, 512 lists deep, for 4 GB (a process with a 128 MB heap died;
  // the test nests 32, 256 MB on that code)
  // (fuzz1)
  for (const tag of [108, 105, 116] as const) {
    it(`counts what the open containers still owe: nested ${tag === 108 ? "lists" : tag === 105 ? "tuples" : "maps"} declaring more items than the message holds together are refused at once`, () => {
      const message = new Uint8Array(64 * 1024)
      message[0] = Etf.version
      message.set(nested(tag, 64, 30_000, message.length - 1), 1)
      const { grown, result } = heapGrowth(() => Etf.decodeTerm(message))
      expect(failure(result).message).toContain("is longer than the message")
      expect(grown).toBeLessThan(16 * message.length)
    })
  }

  it("counts what the open containers still owe in a compressed term too: a 1 KiB frame stating 1 MiB costs no more than a small multiple of it", () => {
    const term = nested(108, 32, 1024 * 1024 - 3000, 1024 * 1024)
    const zipped = Zlib.deflateSync(term, { level: 9 })
    const frame = Uint8Array.from([Etf.version, 80, ...[24, 16, 8, 0].map((shift) => (term.length >>> shift) & 0xff), ...zipped])
    expect(frame.length).toBeLessThan(2048)
    const { grown, result } = heapGrowth(() => Etf.decodeTerm(frame))
    expect(failure(result).message).toContain("is longer than the message")
    expect(grown).toBeLessThan(16 * term.length)
  })

  it("takes items that fill the message exactly, nested or side by side", () => {
    // [[[]], [[]]]: two lists of one list each, and their tails
    expect(decoded(108, 0, 0, 0, 2, 108, 0, 0, 0, 1, 106, 106, 108, 0, 0, 0, 1, 106, 106, 106)).toEqual([[[]], [[]]])
    // #{"a" => {1, 2}}: a map's key and value, a tuple in it
    expect(decoded(116, 0, 0, 0, 1, ...binary("a"), 104, 2, 97, 1, 97, 2)).toEqual({ a: [1, 2] })
    // a list whose one item declares as many items as bytes are left after it
    expect(decoded(108, 0, 0, 0, 1, 104, 3, 97, 1, 97, 2, 106, 106)).toEqual([[1, 2, []]])
  })
})

describe("Etf.decode", () => {
  it("decodes a gateway envelope with atom keys and an atom event name, as Discord sends it", () => {
    const message = Etf.encodeWith({ t: new Etf.Atom("READY"), s: 1, op: 0, d: { shard: [0, 1], guild_id: "80351110224678912" } }, Etf.gatewayStyle)
    expect(Etf.decode(message)).toEqual({ t: "READY", s: 1, op: 0, d: { shard: [0, 1], guild_id: "80351110224678912" } })
    expect(Etf.decode(Etf.encodeWith({ op: 11 }, Etf.gatewayStyle))).toEqual({ op: 11, s: null, t: null })
  })

  it("writes as the gateway would a map key too long for an atom (over 255 characters) as a binary; one of 255, an atom", () => {
    const [fits, over, huge] = ["a".repeat(255), "b".repeat(256), "c".repeat(70_000)]
    const d = { [fits]: 1, [over]: 2, [huge]: 3 }
    const message = Buffer.from(Etf.encodeWith({ t: new Etf.Atom("X"), s: 1, op: 0, d }, Etf.gatewayStyle))
    expect(Etf.decode(message)).toEqual({ t: "X", s: 1, op: 0, d })
    // SMALL_ATOM_UTF8_EXT of 255 bytes; BINARY_EXT of 256 and of 70,000
    expect(message.includes(Buffer.from([119, 255, 0x61]))).toBe(true)
    expect(message.includes(Buffer.from([109, 0, 0, 1, 0, 0x62]))).toBe(true)
    expect(message.includes(Buffer.from([109, 0, 1, 0x11, 0x70, 0x63]))).toBe(true)
  })

  it("refuses text frames and values that are not envelopes", () => {
    // refused as a connection's decoder refuses it
    expect(Etf.decode("{\"op\":1}")).toMatchObject({ reason: "Envelope", message: "ETF gateway messages come in binary frames, got a text frame" })
    expect(Etf.decode(bytes(97, 1))).toMatchObject({ reason: "Envelope" })
    expect(Etf.decode(Etf.encode({ op: "x" }))).toMatchObject({ reason: "Envelope" })
  })

  it("refuses a NEW_FLOAT_EXT that is NaN or infinite, as it does a FLOAT_EXT one (Erlang has neither)", () => {
    const bytes = Buffer.from(Etf.encodeWith({ op: 0, s: 1, t: "MESSAGE_CREATE", d: { x: 1.5 } }, Etf.gatewayStyle))
    const at = bytes.indexOf(Buffer.from([70, 0x3f, 0xf8])) // NEW_FLOAT_EXT 1.5
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      bytes.writeDoubleBE(value, at + 1)
      expect(Etf.decode(bytes)).toMatchObject({ _tag: "DecodeError", reason: "Etf", message: `gateway message is not valid ETF: NEW_FLOAT_EXT at offset ${at + 1} is not a finite number` })
    }
  })
})

describe("Etf.encode", () => {
  it("writes what a client must send: binary keys, nil, boolean atoms, integers by size, floats, binaries, lists", () => {
    expect([...Etf.encode({ a: null })]).toEqual([131, 116, 0, 0, 0, 1, ...binary("a"), ...smallAtom("nil")])
    expect([...Etf.encode([true, 7, -1, 2 ** 31, 0.5, "é", []])]).toEqual([
      131, 108, 0, 0, 0, 7,
      ...smallAtom("true"),
      97, 7,
      98, 0xff, 0xff, 0xff, 0xff,
      110, 4, 0, 0, 0, 0, 0x80,
      70, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0,
      ...binary("é"),
      106,
      106
    ])
  })

  it("leaves out undefined fields and writes non-finite numbers and undefined items as nil, like JSON.stringify", () => {
    expect(Etf.decodeTerm(Etf.encode({ a: undefined, b: [undefined, Number.NaN], c: () => 1 }))).toEqual({ b: [null, null] })
  })

  it("takes values as JSON.stringify does: toJSON called once with its key, boxed primitives unboxed", () => {
    const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown
    const values: ReadonlyArray<unknown> = [
      { a: new Number(5), b: new String("x"), c: new Boolean(false), d: [new Number(1.5)] },
      { a: { toJSON: (key: string) => `key:${key}` }, b: [{ toJSON: (key: string) => `at ${key}` }] },
      { once: { toJSON: () => ({ toJSON: () => 7 }) }, gone: { toJSON: () => undefined }, boxed: { toJSON: () => new String("s") } },
      { toJSON: (key: string) => ({ root: key }) },
      { when: new Date(0) }
    ]
    for (const value of values) expect(Etf.decodeTerm(Etf.encode(value))).toEqual(asJson(value))
    // a boxed bigint as the bigint it holds, as one unboxed is written (JSON throws on both)
    expect(Etf.decodeTerm(Etf.encode({ b: Object(5n) }))).toEqual({ b: 5 })
  })

  // it wrote the cycle over and over down to the depth limit first (a 64 KiB string in it grew the
  // writer to 48 MiB, kept until the next encoding)
  it("throws a RangeError on a cycle at once, as JSON.stringify throws", () => {
    let reads = 0
    const cyclic: Record<string, unknown> = { op: 1 }
    Object.defineProperty(cyclic, "self", { enumerable: true, get: () => (reads++, cyclic) })
    expect(() => Etf.encode(cyclic)).toThrow("ETF: cyclic value")
    expect(reads).toBe(1)
    expect(Etf.decodeTerm(Etf.encode({ still: "works" }))).toEqual({ still: "works" })
    // an object met twice, not inside itself, is no cycle
    const shared = { id: "1" }
    expect(Etf.decodeTerm(Etf.encode({ a: shared, b: [shared] }))).toEqual({ a: { id: "1" }, b: [{ id: "1" }] })
  })

  // NaN compared false with every depth and wrote any depth; a fraction or a negative is no depth
  it("refuses a maxDepth that is no depth, and still encodes after", () => {
    for (const given of [NaN, -1, 2.5, -Infinity]) {
      expect(() => Etf.encodeWith({ a: [1] }, { maxDepth: given })).toThrow(`ETF: maxDepth must be a non-negative integer or Infinity, got ${given}`)
    }
    expect(() => Etf.encodeWith({ a: [1] }, { maxDepth: 1 })).toThrow("ETF: value nested deeper than 1")
    expect(Etf.decodeTerm(Etf.encodeWith({ a: [1] }, { maxDepth: Infinity }))).toEqual({ a: [1] })
    // integers past 2^53 - 1 are depths too (they were refused as none)
    expect(Etf.decodeTerm(Etf.encodeWith({ a: [1] }, { maxDepth: 2 ** 53 }))).toEqual({ a: [1] })
    expect(Etf.decodeTerm(Etf.encodeWith({ a: [1] }, { maxDepth: Number.MAX_VALUE }))).toEqual({ a: [1] })
    expect(Etf.decodeTerm(Etf.encode({ still: "works" }))).toEqual({ still: "works" })
  })

  // the one writer every encoding reuses was started over by the inner one: "op" gone, the inner
  // payload's key in its place
  it("encodes whole while a toJSON of the value encodes in turn", () => {
    const field = {
      toJSON: () => {
        Etf.encode({ cached: "bytes-of-something" })
        return "ok"
      }
    }
    expect(Etf.decodeTerm(Etf.encode({ op: 1, d: field, x: 5 }))).toEqual({ op: 1, d: "ok", x: 5 })
  })

  it("writes long and non-ASCII strings and keys exactly", () => {
    const long = "ünïcødé ".repeat(500)
    expect(Etf.decodeTerm(Etf.encode({ [long]: long, k: "x".repeat(70_000) }))).toEqual({ [long]: long, k: "x".repeat(70_000) })
  })

  it("writes big integers as SMALL_BIG_EXT that decode by the rule", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (value) => {
        const encoded = Etf.encodeWith(value, {})
        const magnitude = value < 0n ? -value : value
        const expected = magnitude <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
        expect(Etf.decodeTerm(encoded)).toBe(expected)
        if (magnitude > 0x7fffffffn) expect([...encoded]).toEqual([131, ...smallBig(value)])
      }),
      { numRuns: 500 }
    )
  })

  it("in gateway style writes atom keys, snowflakes above 2^53 as integers and byte lists as STRING_EXT, all decoding to JSON's shapes", () => {
    const value = { id: "80351110224678912", small: "12345", shard: [0, 1], text: "1" }
    const encoded = Etf.encodeWith(value, Etf.gatewayStyle)
    expect([...encoded.subarray(0, 9)]).toEqual([131, 116, 0, 0, 0, 4, 119, 2, 0x69])
    expect(encoded).toContain(110)
    expect(encoded).toContain(107)
    expect(Etf.decodeTerm(encoded)).toEqual(value)
  })
})

describe("Commands.encode with Etf.encoding", () => {
  const identify = Commands.identify({
    token: Redacted.make("token-value"),
    properties: { os: "linux", browser: "b", device: "d" },
    intents: Intents.Guilds,
    shard: [0, 1]
  })

  it("encodes commands to bytes with binary keys only, equal to the JSON payload", () => {
    const etf = Either.getOrThrow(Commands.encode(identify, Etf.encoding))
    const json = Either.getOrThrow(Commands.encode(identify))
    expect(etf).toBeInstanceOf(Uint8Array)
    expect(Etf.decodeTerm(etf as Uint8Array, { rejectAtomKeys: true })).toEqual(JSON.parse(json))
    expect(fromClientTerm(binaryToTerm(etf as Uint8Array))).toEqual(JSON.parse(json))
  })

  it("checks the 4096-byte limit on the encoded bytes", () => {
    const presence = Commands.presenceUpdate({
      since: null,
      activities: [{ name: "x".repeat(4100), type: 0 }],
      status: "online",
      afk: false
    })
    expect(Either.getLeft(Commands.encode(presence, Etf.encoding))).toMatchObject({ _tag: "Some", value: { reason: "TooLarge" } })
  })
})

/** JSON-shaped values as commands carry them; integers kept to int32 (erlang_js writes no larger ones). */
const { json } = FastCheck.letrec<{ json: unknown }>((tie) => ({
  json: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    FastCheck.constant(null),
    FastCheck.boolean(),
    FastCheck.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    FastCheck.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
    FastCheck.fullUnicodeString({ maxLength: 20 }),
    FastCheck.array(tie("json"), { maxLength: 5 }),
    FastCheck.dictionary(FastCheck.fullUnicodeString({ maxLength: 8 }).filter((key) => key !== "__proto__"), tie("json"), { maxKeys: 5 })
  )
}))

/** Erlang terms as Discord may send them, each with the JavaScript value it must decode to. */
interface Case {
  readonly term: unknown
  readonly expected: unknown
}
const atomName = FastCheck.constantFrom("nil", "true", "false", "READY", "online", "id", "ok")
const atomValue = (name: string): unknown => (name === "nil" ? null : name === "true" ? true : name === "false" ? false : name)
const { term } = FastCheck.letrec<{ term: Case }>((tie) => ({
  term: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    FastCheck.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n): Case => ({ term: n, expected: n })),
    FastCheck.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)).map((n): Case => ({ term: n, expected: n })),
    FastCheck.tuple(atomName, FastCheck.boolean()).map(([name, utf8]): Case => ({ term: new Erlang.OtpErlangAtom(name, utf8), expected: atomValue(name) })),
    FastCheck.fullUnicodeString({ maxLength: 20 }).map((text): Case => ({ term: new Erlang.OtpErlangBinary(Buffer.from(text, "utf8")), expected: text })),
    FastCheck.array(FastCheck.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 10 }).map((codes): Case => ({
      term: String.fromCharCode(...codes),
      expected: codes
    })),
    FastCheck.array(tie("term"), { maxLength: 5 }).map((items): Case => ({
      term: new Erlang.OtpErlangList(items.map((item) => item.term)),
      expected: items.map((item) => item.expected)
    })),
    FastCheck.array(tie("term"), { maxLength: 5 }).map((items): Case => ({
      term: items.map((item) => item.term),
      expected: items.map((item) => item.expected)
    })),
    FastCheck.array(
      FastCheck.tuple(
        FastCheck.oneof(
          FastCheck.stringMatching(/^[a-z_]{1,8}$/).map((key) => [new Erlang.OtpErlangAtom(key), key] as const),
          FastCheck.fullUnicodeString({ maxLength: 8 }).filter((key) => key !== "__proto__").map((key) => [new Erlang.OtpErlangBinary(Buffer.from(key, "utf8")), key] as const),
          FastCheck.integer({ min: -1000, max: 1000 }).map((key) => [key, String(key)] as const)
        ),
        tie("term")
      ),
      { maxLength: 5 }
    ).map((entries): Case => {
      const expected: Record<string, unknown> = {}
      for (const [[, key], item] of entries) expected[key] = item.expected
      return { term: new Erlang.OtpErlangMap(new Map(entries.map(([[key], item]) => [key, item.term]))), expected }
    })
  )
}))

describe("Etf against erlang_js (the oracle)", () => {
  it("decodes every term erlang_js writes into the documented JavaScript value", () => {
    FastCheck.assert(
      FastCheck.property(term, ({ expected, term }) => {
        expect(Etf.decodeTerm(termToBinary(term))).toEqual(expected)
      }),
      { numRuns: 1000 }
    )
  })

  it.effect("decodes every term erlang_js writes compressed (term_to_binary's compressed option) as it does uncompressed", () =>
    Effect.promise(() =>
      FastCheck.assert(
        FastCheck.asyncProperty(term, async ({ expected, term }) => {
          expect(Etf.decodeTerm(await termToCompressedBinary(term))).toEqual(expected)
        }),
        { numRuns: 200 }
      )
    ))

  it("writes the same bytes erlang_js writes for the same client term", () => {
    FastCheck.assert(
      FastCheck.property(json, (value) => {
        expect(Etf.encode(value)).toEqual(termToBinary(clientTerm(value)))
      }),
      { numRuns: 1000 }
    )
  })

  it("writes the same bytes erlang_js writes for values far larger than the encoder's first buffer", () => {
    const value = Array.from({ length: 3000 }, (_, i) => ({ i, f: i + 0.5, s: "é".repeat(i % 7), n: null, b: i % 2 === 0, l: [i, -i - 1] }))
    expect(Etf.encode(value)).toEqual(termToBinary(clientTerm(value)))
    expect(Etf.decodeTerm(Etf.encode(value))).toEqual(value)
  })

  it("round-trips: what we write, erlang_js reads back as the same value (binary keys only), and so do we", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.oneof(json, FastCheck.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })),
        (value) => {
          const encoded = Etf.encode(value)
          expect(fromClientTerm(binaryToTerm(encoded))).toEqual(value)
          expect(Etf.decodeTerm(encoded, { rejectAtomKeys: true })).toEqual(value)
        }
      ),
      { numRuns: 1000 }
    )
  })

  // in gateway style a list whose every present item was a byte was taken for a byte list
  // (`every` skips holes), and each hole went out as the byte 0 where JSON says null
  it("gateway style writes a hole in an array as nil (JSON's null), not as the integer 0", () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3]
    const viaJson = JSON.parse(JSON.stringify({ list: sparse, holes: new Array(3) }))
    expect(viaJson).toEqual({ list: [1, null, 3], holes: [null, null, null] })
    expect(Etf.decodeTerm(Etf.encode({ list: sparse, holes: new Array(3) }))).toEqual(viaJson)
    expect(Etf.decodeTerm(Etf.encodeWith({ list: sparse, holes: new Array(3) }, Etf.gatewayStyle))).toEqual(viaJson)
  })
})
