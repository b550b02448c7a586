/**
 * The ETF encoding: Erlang's External Term Format, version 131, in plain TypeScript (no native
 * addon). Terms decode into the shapes the JSON encoding gives for the same payload, so the
 * discord-api-types event types hold for both:
 *
 * | term | JavaScript |
 * |---|---|
 * | SMALL_INTEGER_EXT, INTEGER_EXT | number |
 * | SMALL_BIG_EXT, LARGE_BIG_EXT | number when its magnitude is at most 2^53 - 1, else its decimal string |
 * | NEW_FLOAT_EXT, FLOAT_EXT | number |
 * | atom `nil` / `true` / `false` | `null` / `true` / `false` |
 * | any other atom | its name, a string |
 * | BINARY_EXT | string (UTF-8) |
 * | STRING_EXT | array of numbers (the bytes) |
 * | LIST_EXT, NIL_EXT | array (improper lists are refused) |
 * | SMALL_TUPLE_EXT, LARGE_TUPLE_EXT | array |
 * | MAP_EXT | object (keys: atom names, binaries, or integers as decimal strings) |
 *
 * A whole message may also come compressed (tag 80, `term_to_binary`'s `compressed` option, which
 * Discord's own erlpack reads too), its term inflated to at most 64 MiB.
 *
 * Why the integer rule gives JSON's shapes: every Discord id is a snowflake whose value passed 2^53
 * within 25 days of Discord's epoch (2015-01-01, months before the first id was made), so an id that
 * arrives as an integer becomes the same string JSON carries, while counts, flags and millisecond
 * timestamps (far below 2^53) stay numbers. Why STRING_EXT is a list of numbers: Erlang's
 * `term_to_binary` writes any list of integers 0-255 (`shard: [0, 1]`, say) as STRING_EXT, while
 * Discord's text is always a binary, so the JSON value for such a field is an array of numbers.
 *
 * Sending: maps with binary keys (the gateway closes with 4002 on atom keys), `null` as `nil`,
 * booleans as atoms, integers as SMALL_INTEGER_EXT / INTEGER_EXT / SMALL_BIG_EXT, other numbers as
 * NEW_FLOAT_EXT, strings as BINARY_EXT, arrays as LIST_EXT. Like `JSON.stringify`, `undefined`
 * fields are left out, `undefined` array items and non-finite numbers become `nil`.
 *
 * @since 0.1.0
 */
import * as Zlib from "node:zlib"
import { quoted } from "../internal/printable.ts"
import { DecodeError } from "./DecodeError.ts"
import { defaultMaxMessageBytes } from "./Decompress.ts"
import { type Encoding, type Envelope, textFrameRefused } from "./Encoding.ts"
import { toEnvelope } from "./Json.ts"

/**
 * The version byte every ETF message starts with.
 *
 * @since 0.1.0
 */
export const version = 131

/**
 * The deepest nesting of lists, tuples and maps accepted (decoding) or written (encoding).
 *
 * @since 0.1.0
 */
export const maxDepth = 512

// the text of a FLOAT_EXT: a decimal number, its exponent optional, padded with spaces or not
const floatText = /^ *[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)? *$/

const Tag = {
  Compressed: 80,
  NewFloat: 70,
  SmallInteger: 97,
  Integer: 98,
  Float: 99,
  Atom: 100,
  SmallAtom: 115,
  SmallTuple: 104,
  LargeTuple: 105,
  Nil: 106,
  String: 107,
  List: 108,
  Binary: 109,
  SmallBig: 110,
  LargeBig: 111,
  Map: 116,
  AtomUtf8: 118,
  SmallAtomUtf8: 119
} as const

/**
 * An atom to write (decoded atoms are plain strings): the local gateway sends event names this way.
 *
 * @since 0.1.0
 */
export class Atom {
  constructor(readonly name: string) {}
}

/**
 * Options for {@link decodeTerm}. `rejectAtomKeys` refuses maps with atom keys, as Discord does for
 * what clients send. `maxMessageBytes` (default 64 MiB) bounds a compressed term (tag 80) once
 * inflated: over it, a {@link DecodeError} with reason `TooLarge`, nothing inflated.
 *
 * @since 0.1.0
 */
export interface DecodeOptions {
  readonly rejectAtomKeys?: boolean | undefined
  readonly maxMessageBytes?: number | undefined
}

class Malformed {
  constructor(readonly message: string) {}
}

// `ignoreBOM`: a text that starts with U+FEFF keeps it, as it does in JSON; bytes that are not
// UTF-8 become U+FFFD, as in a JSON message (refused, one such string made its event a decode
// error, and its replay the same on every Resume, for ever)
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true })
const maxSafeBig = BigInt(Number.MAX_SAFE_INTEGER)
const hexByte = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))
/** Big integers longer than this (2048 bits) are refused: converting them costs quadratic time. */
const maxBigDigits = 256

class Reader {
  readonly view: DataView
  // lists, tuples and maps still to be made: one per two bytes of the term, and a few more for a
  // small one (`{[], []}`). An empty list is one byte that became an array of 32 bytes and its
  // place in another: a message of them held about 40 times its size (JSON's densest,
  // `[{},{},...]`, about 22 times); real data has a few bytes of keys and values per container
  private containersLeft: number
  // items the open lists, tuples and maps declared and have not begun: each takes a byte at least,
  // after the one being read, so a new container's items must fit in what is left beside them (each
  // container checked alone against the bytes left, nested ones were each made arrays of about the
  // whole message's length: a 1 KiB compressed term asked for gigabytes)
  private owed = 0
  constructor(readonly bytes: Uint8Array, readonly rejectAtomKeys: boolean, public pos: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.containersLeft = Math.floor(bytes.length / 2) + 64
  }

  /** Counts a list, tuple or map about to be made. */
  container(): void {
    if (--this.containersLeft < 0) throw new Malformed(`more lists, tuples and maps than one per two bytes of the message (at offset ${this.pos - 1})`)
  }

  need(count: number): number {
    const at = this.pos
    if (count > this.bytes.length - at) throw new Malformed(`truncated: ${count} bytes needed at offset ${at}`)
    this.pos = at + count
    return at
  }

  /**
   * A count of items that each take at least `size` bytes, checked against what is left once the
   * items the open containers still owe have their byte each.
   */
  count(length: number, size: number, what: string): number {
    if (length * size + this.owed > this.bytes.length - this.pos) {
      throw new Malformed(`${what} of ${length} items at offset ${this.pos} is longer than the message`)
    }
    return length
  }

  text(start: number, length: number): string {
    const bytes = this.bytes
    if (length < 32) {
      let out = ""
      for (let i = start; i < start + length; i++) {
        const byte = bytes[i]!
        if (byte >= 0x80) return this.utf8(start, length)
        out += String.fromCharCode(byte)
      }
      return out
    }
    return this.utf8(start, length)
  }

  utf8(start: number, length: number): string {
    return utf8.decode(this.bytes.subarray(start, start + length))
  }

  latin1(start: number, length: number): string {
    let out = ""
    for (let i = start; i < start + length; i++) out += String.fromCharCode(this.bytes[i]!)
    return out
  }

  /** An atom's name, or undefined when the next term is not an atom (nothing is consumed then). */
  atomName(tag: number): string | undefined {
    switch (tag) {
      case Tag.SmallAtomUtf8: {
        const length = this.bytes[this.need(1)]!
        return this.text(this.need(length), length)
      }
      case Tag.AtomUtf8: {
        const length = this.view.getUint16(this.need(2))
        return this.text(this.need(length), length)
      }
      case Tag.SmallAtom: {
        const length = this.bytes[this.need(1)]!
        return this.latin1(this.need(length), length)
      }
      case Tag.Atom: {
        const length = this.view.getUint16(this.need(2))
        return this.latin1(this.need(length), length)
      }
    }
    return undefined
  }

  big(digits: number): number | string {
    const sign = this.bytes[this.need(1)]!
    if (sign > 1) throw new Malformed(`big integer sign ${sign} at offset ${this.pos - 1}`)
    if (digits > maxBigDigits) throw new Malformed(`big integer of ${digits} bytes (at most ${maxBigDigits} accepted)`)
    const at = this.need(digits)
    const bytes = this.bytes
    let magnitude: bigint
    if (digits <= 8) {
      let low = 0
      let high = 0
      for (let i = Math.min(digits, 4) - 1; i >= 0; i--) low = low * 256 + bytes[at + i]!
      for (let i = digits - 1; i >= 4; i--) high = high * 256 + bytes[at + i]!
      // Below 2^21 * 2^32 = 2^53 the value is exact as a number.
      if (high < 0x200000) {
        const value = high * 0x100000000 + low
        return sign === 1 && value !== 0 ? -value : value
      }
      magnitude = (BigInt(high) << 32n) | BigInt(low)
    } else {
      let hex = ""
      for (let i = digits - 1; i >= 0; i--) hex += hexByte[bytes[at + i]!]
      magnitude = BigInt(`0x${hex}`)
      if (magnitude <= maxSafeBig) return sign === 1 && magnitude !== 0n ? -Number(magnitude) : Number(magnitude)
    }
    return sign === 1 ? `-${magnitude}` : magnitude.toString()
  }

  term(depth: number): unknown {
    const tag = this.bytes[this.need(1)]!
    switch (tag) {
      case Tag.SmallInteger:
        return this.bytes[this.need(1)]!
      case Tag.Integer:
        return this.view.getInt32(this.need(4))
      case Tag.NewFloat: {
        const at = this.need(8)
        const value = this.view.getFloat64(at)
        // Erlang has no NaN nor infinity (and JSON none): such bits are no term
        if (!Number.isFinite(value)) throw new Malformed(`NEW_FLOAT_EXT at offset ${at} is not a finite number`)
        return value
      }
      case Tag.Binary: {
        const length = this.view.getUint32(this.need(4))
        return this.text(this.need(length), length)
      }
      case Tag.SmallAtomUtf8:
      case Tag.AtomUtf8:
      case Tag.SmallAtom:
      case Tag.Atom: {
        const name = this.atomName(tag)!
        return name === "nil" ? null : name === "true" ? true : name === "false" ? false : name
      }
      case Tag.Map:
        return this.map(depth + 1)
      case Tag.Nil:
        this.container()
        return []
      case Tag.List: {
        const items = this.sequence(this.view.getUint32(this.need(4)), depth + 1, "list")
        if (this.bytes[this.need(1)] !== Tag.Nil) throw new Malformed(`improper list ending at offset ${this.pos - 1}`)
        return items
      }
      case Tag.SmallTuple:
        return this.sequence(this.bytes[this.need(1)]!, depth + 1, "tuple")
      case Tag.LargeTuple:
        return this.sequence(this.view.getUint32(this.need(4)), depth + 1, "tuple")
      case Tag.String: {
        const length = this.view.getUint16(this.need(2))
        return Array.from(this.bytes.subarray(this.need(length), this.pos))
      }
      case Tag.SmallBig:
        return this.big(this.bytes[this.need(1)]!)
      case Tag.LargeBig:
        return this.big(this.count(this.view.getUint32(this.need(4)), 1, "big integer"))
      case Tag.Float: {
        // the text ends at its first NUL, searched for within the term only: a search through the
        // rest of the message would make a message of floats padded otherwise cost quadratic time
        const at = this.need(31)
        const end = this.bytes.subarray(at, at + 31).indexOf(0)
        const text = this.latin1(at, end === -1 ? 31 : end)
        // the whole text a number, as Erlang writes it (`1.50000000000000000000e+00`): parseFloat
        // alone read `1.5abc` as 1.5
        const value = floatText.test(text) ? Number(text) : Number.NaN
        if (!Number.isFinite(value)) throw new Malformed(`FLOAT_EXT at offset ${at} is not a number`)
        return value
      }
    }
    throw new Malformed(`unsupported term tag ${tag} at offset ${this.pos - 1}`)
  }

  sequence(length: number, depth: number, what: string): Array<unknown> {
    if (depth > maxDepth) throw new Malformed(`nested deeper than ${maxDepth}`)
    this.container()
    const items = new Array<unknown>(this.count(length, 1, what))
    this.owed += length
    for (let i = 0; i < length; i++) {
      this.owed--
      items[i] = this.term(depth)
    }
    return items
  }

  key(): string {
    const tag = this.bytes[this.pos]
    if (tag === Tag.Binary) {
      this.pos++
      const length = this.view.getUint32(this.need(4))
      return this.text(this.need(length), length)
    }
    this.need(1)
    const name = this.atomName(tag!)
    if (name !== undefined) {
      if (this.rejectAtomKeys) throw new Malformed(`map key ${quoted(name)} is an atom; keys must be binaries`)
      return name
    }
    if (tag === Tag.SmallInteger || tag === Tag.Integer || tag === Tag.SmallBig || tag === Tag.LargeBig) {
      this.pos--
      return String(this.term(0))
    }
    throw new Malformed(`map key at offset ${this.pos - 1} is not an atom, binary or integer`)
  }

  map(depth: number): Record<string, unknown> {
    if (depth > maxDepth) throw new Malformed(`nested deeper than ${maxDepth}`)
    this.container()
    const length = this.count(this.view.getUint32(this.need(4)), 2, "map")
    const object: Record<string, unknown> = {}
    this.owed += 2 * length
    for (let i = 0; i < length; i++) {
      this.owed--
      const key = this.key()
      this.owed--
      const value = this.term(depth)
      if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
      else object[key] = value
    }
    return object
  }
}

/**
 * Whether a message is a compressed term (version, tag 80, its size, zlib data).
 *
 * @since 0.1.0
 */
export const isCompressed = (bytes: Uint8Array): boolean => bytes[1] === Tag.Compressed

/** The size a compressed message states for its term. */
const statedSize = (bytes: Uint8Array): number => {
  if (bytes.length < 6) throw new Malformed("truncated: a compressed term's size needed at offset 2")
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(2)
}

/**
 * The size of an ETF message once its term is inflated: the size a compressed term states (the
 * decoder holds it to that), else its own.
 *
 * @since 0.1.0
 */
export const decodedSize = (message: string | Uint8Array): number =>
  typeof message !== "string" && message.length >= 6 && isCompressed(message) ? statedSize(message) : message.length

/** The term of a compressed message of `size` bytes, of exactly that size. */
const inflated = (bytes: Uint8Array, size: number): Uint8Array => {
  const compressed = bytes.subarray(6)
  let term: Uint8Array
  let read: number
  try {
    const { buffer, engine } = Zlib.inflateSync(compressed, { maxOutputLength: Math.max(1, size), info: true }) as unknown as {
      readonly buffer: Buffer
      readonly engine: Zlib.Inflate
    }
    term = buffer
    read = engine.bytesWritten
  } catch {
    throw new Malformed(`compressed term at offset 6 does not inflate to its ${size} bytes`)
  }
  if (term.length !== size) throw new Malformed(`compressed term inflates to ${term.length} bytes, not its ${size}`)
  // zlib stops at the end of its stream: what follows it is trailing bytes, as after a term
  if (read !== compressed.length) throw new Malformed(`${compressed.length - read} trailing bytes after the compressed term`)
  return term
}

/**
 * Decodes one ETF message into a JavaScript value (see the table above), or a {@link DecodeError}
 * with reason `"Etf"`: never throws. (Its type reads as `unknown`: tell the error apart with
 * `DecodeError.isDecodeError`.) Lengths are checked against the message, nesting is bounded
 * by {@link maxDepth}, trailing bytes are refused.
 *
 * @since 0.1.0
 */
export const decodeTerm = (bytes: Uint8Array, options?: DecodeOptions): unknown | DecodeError => {
  if (bytes.length === 0 || bytes[0] !== version) {
    return new DecodeError({ reason: "Etf", message: `ETF message must start with version byte ${version}` })
  }
  const rejectAtomKeys = options?.rejectAtomKeys === true
  try {
    let reader: Reader
    if (isCompressed(bytes)) {
      const size = statedSize(bytes)
      const maxMessageBytes = options?.maxMessageBytes ?? defaultMaxMessageBytes
      if (size > maxMessageBytes) {
        return new DecodeError({ reason: "TooLarge", message: `message over ${maxMessageBytes} bytes (a compressed term of ${size})` })
      }
      reader = new Reader(inflated(bytes, size), rejectAtomKeys, 0)
    } else {
      reader = new Reader(bytes, rejectAtomKeys, 1)
    }
    const value = reader.term(0)
    if (reader.pos !== reader.bytes.length) throw new Malformed(`${reader.bytes.length - reader.pos} trailing bytes`)
    return value
  } catch (error) {
    const detail = error instanceof Malformed ? error.message : String(error)
    return new DecodeError({ reason: "Etf", message: `gateway message is not valid ETF: ${detail}` })
  }
}

/**
 * Decodes one ETF gateway message into its envelope. Text frames are refused: ETF comes in binary
 * frames.
 *
 * @since 0.1.0
 */
export const decode = (message: string | Uint8Array, maxMessageBytes?: number): Envelope | DecodeError => {
  if (typeof message === "string") {
    return textFrameRefused("etf")
  }
  const value = decodeTerm(message, { maxMessageBytes })
  if (value instanceof DecodeError) return value
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new DecodeError({ reason: "Envelope", message: "gateway message is not an ETF map" })
  }
  return toEnvelope(value)
}

/**
 * Options for {@link encodeWith}, for writing terms as Discord's own encoder does (the local
 * gateway uses them); a client sends with the defaults.
 *
 * @since 0.1.0
 */
export interface EncodeOptions {
  /**
   * Map keys as atoms (what Discord sends) instead of binaries (what a client must send); a key
   * too long for an atom (over 255 characters) stays a binary.
   */
  readonly atomKeys?: boolean | undefined
  /** Strings of digits above 2^53 - 1 and below 2^64 as big integers, as Discord sends some ids. */
  readonly snowflakesAsIntegers?: boolean | undefined
  /** Lists of integers 0-255 as STRING_EXT, as Erlang's `term_to_binary` writes them. */
  readonly byteListsAsStrings?: boolean | undefined
  /**
   * How deep lists and maps may nest: {@link maxDepth} (what the decoder takes) unless given. A
   * gateway of a test writes deeper ones, as Discord's erlpack would, for the client to refuse.
   * A non-negative integer or `Infinity`.
   */
  readonly maxDepth?: number | undefined
}

/**
 * The options that write terms as the gateway sends them.
 *
 * @since 0.1.0
 */
export const gatewayStyle: EncodeOptions = { atomKeys: true, snowflakesAsIntegers: true, byteListsAsStrings: true }

const textEncoder = new TextEncoder()
const snowflakePattern = /^[1-9][0-9]{15,19}$/
const twoTo64 = 1n << 64n

// the most characters an Erlang atom holds (UTF-16 units, never fewer than characters)
const maxAtomLength = 255

// whether every item is a byte: holes too are looked at (`every` skips them, and a hole went out as
// the byte 0 where JSON says null)
const isByteList = (items: ReadonlyArray<unknown>): boolean => {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (!Number.isInteger(item) || (item as number) < 0 || (item as number) > 255) return false
  }
  return true
}

class Writer {
  bytes = new Uint8Array(4096)
  view = new DataView(this.bytes.buffer)
  pos = 0
  atomKeys = false
  snowflakes = false
  byteLists = false
  depthLimit = maxDepth
  // the lists and maps being written, outermost first: one met again inside itself is a cycle
  readonly within: Array<object> = []

  reserve(count: number): number {
    const at = this.pos
    if (at + count > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + count))
      grown.set(this.bytes.subarray(0, at))
      this.bytes = grown
      this.view = new DataView(grown.buffer)
    }
    this.pos = at + count
    return at
  }

  /** Drops a buffer grown by a large payload. */
  shrink(): void {
    this.bytes = new Uint8Array(4096)
    this.view = new DataView(this.bytes.buffer)
  }

  byte(value: number): void {
    const at = this.reserve(1)
    this.bytes[at] = value
  }

  /** Writes `text` as UTF-8 after a length field of `lengthBytes` (1, 2 or 4). */
  text(text: string, lengthBytes: 1 | 2 | 4, limit: number): void {
    const at = this.reserve(lengthBytes)
    let length = 0
    let ascii = text.length < 64
    if (ascii) {
      const start = this.reserve(text.length)
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i)
        if (code >= 0x80) {
          ascii = false
          break
        }
        this.bytes[start + i] = code
      }
      if (ascii) length = text.length
      else this.pos = start
    }
    if (!ascii) {
      const start = this.reserve(text.length * 3)
      length = textEncoder.encodeInto(text, this.bytes.subarray(start)).written
      this.pos = start + length
    }
    if (length > limit) throw new RangeError(`ETF: ${length} bytes do not fit a ${lengthBytes}-byte length`)
    if (lengthBytes === 1) this.bytes[at] = length
    else if (lengthBytes === 2) this.view.setUint16(at, length)
    else this.view.setUint32(at, length)
  }

  float(value: number): void {
    const at = this.reserve(8)
    this.view.setFloat64(at, value)
  }

  atom(name: string): void {
    const short = name.length <= 85 || textEncoder.encode(name).length <= 255
    this.byte(short ? Tag.SmallAtomUtf8 : Tag.AtomUtf8)
    this.text(name, short ? 1 : 2, short ? 255 : 65535)
  }

  binary(text: string): void {
    this.byte(Tag.Binary)
    this.text(text, 4, 0xffffffff)
  }

  integer(value: number): void {
    if (value >= 0 && value <= 255) {
      this.byte(Tag.SmallInteger)
      this.byte(value)
    } else if (value >= -0x80000000 && value <= 0x7fffffff) {
      this.byte(Tag.Integer)
      const at = this.reserve(4)
      this.view.setInt32(at, value)
    } else this.big(BigInt(value))
  }

  big(value: bigint): void {
    if (value >= -0x80000000n && value <= 0x7fffffffn) return this.integer(Number(value))
    let magnitude = value < 0n ? -value : value
    const digits: Array<number> = []
    while (magnitude > 0n) {
      digits.push(Number(magnitude & 0xffn))
      magnitude >>= 8n
    }
    if (digits.length <= 255) {
      this.byte(Tag.SmallBig)
      this.byte(digits.length)
    } else {
      this.byte(Tag.LargeBig)
      const at = this.reserve(4)
      this.view.setUint32(at, digits.length)
    }
    this.byte(value < 0n ? 1 : 0)
    const at = this.reserve(digits.length)
    this.bytes.set(digits, at)
  }

  string(text: string): void {
    if (this.snowflakes && snowflakePattern.test(text)) {
      const value = BigInt(text)
      if (value > maxSafeBig && value < twoTo64) return this.big(value)
    }
    this.binary(text)
  }

  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        return this.string(value)
      case "number":
        if (Number.isInteger(value)) return this.integer(value)
        if (!Number.isFinite(value)) return this.atom("nil")
        this.byte(Tag.NewFloat)
        return this.float(value)
      case "boolean":
        return this.atom(value ? "true" : "false")
      case "bigint":
        return this.big(value)
      case "object":
        if (value === null) return this.atom("nil")
        if (depth >= this.depthLimit) throw new RangeError(`ETF: value nested deeper than ${this.depthLimit}`)
        if (value instanceof Atom) return this.atom(value.name)
        // at once, as JSON.stringify: written down to the depth limit, a cycle holding a long string
        // grew the buffer to tens of megabytes first
        if (this.within.includes(value)) throw new RangeError("ETF: cyclic value")
        this.within.push(value)
        if (Array.isArray(value)) this.list(value, depth + 1)
        else this.map(value as Record<string, unknown>, depth + 1)
        this.within.pop()
        return
    }
    return this.atom("nil")
  }

  list(items: ReadonlyArray<unknown>, depth: number): void {
    if (items.length === 0) return this.byte(Tag.Nil)
    if (this.byteLists && items.length <= 65535 && isByteList(items)) {
      this.byte(Tag.String)
      const length = this.reserve(2)
      this.view.setUint16(length, items.length)
      const at = this.reserve(items.length)
      for (let i = 0; i < items.length; i++) this.bytes[at + i] = items[i] as number
      return
    }
    this.byte(Tag.List)
    const at = this.reserve(4)
    this.view.setUint32(at, items.length)
    for (let i = 0; i < items.length; i++) this.value(asJson(items[i], String(i)), depth)
    this.byte(Tag.Nil)
  }

  map(object: Record<string, unknown>, depth: number): void {
    this.byte(Tag.Map)
    const at = this.reserve(4)
    let count = 0
    for (const key of Object.keys(object)) {
      const item = asJson(object[key], key)
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue
      count++
      // an atom holds at most 255 characters: a longer key is a binary, as Erlang would need it
      if (this.atomKeys && key.length <= maxAtomLength) this.atom(key)
      else this.binary(key)
      this.value(item, depth)
    }
    this.view.setUint32(at, count)
  }
}

/**
 * A value as `JSON.stringify` takes it before writing it: through its `toJSON` (called once, with
 * its key), and a boxed number, string, boolean or bigint as the primitive it holds (ETF writes a
 * bigint, where JSON throws).
 */
const asJson = (value: unknown, key: string): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key)
    if (typeof value !== "object" || value === null) return value
  }
  if (value instanceof Number) return Number(value)
  if (value instanceof String) return String(value)
  if (value instanceof Boolean) return value.valueOf()
  if (value instanceof BigInt) return value.valueOf()
  return value
}

// the writer every encoding reuses, and whether one is under way with it: a `toJSON` that encodes
// in turn gets a writer of its own (it wrote over the payload being encoded)
const shared = new Writer()
let sharedInUse = false

/**
 * Encodes `value` as an ETF message with `options` (see {@link EncodeOptions}). Throws a
 * `RangeError` only for a cyclic value, one nested deeper than the options' `maxDepth`, as
 * `JSON.stringify` throws on cycles, or a `maxDepth` that is no depth.
 *
 * @since 0.1.0
 */
export const encodeWith = (value: unknown, options: EncodeOptions): Uint8Array => {
  const depthLimit = options.maxDepth ?? maxDepth
  // NaN compared false with every depth: no limit at all
  if (!(depthLimit === Infinity || (Number.isInteger(depthLimit) && depthLimit >= 0))) {
    throw new RangeError(`ETF: maxDepth must be a non-negative integer or Infinity, got ${depthLimit}`)
  }
  const owns = !sharedInUse
  const writer = owns ? shared : new Writer()
  sharedInUse = true
  try {
    writer.pos = 0
    writer.within.length = 0
    writer.atomKeys = options.atomKeys === true
    writer.snowflakes = options.snowflakesAsIntegers === true
    writer.byteLists = options.byteListsAsStrings === true
    writer.depthLimit = depthLimit
    writer.byte(version)
    writer.value(asJson(value, ""), 0)
    return writer.bytes.slice(0, writer.pos)
  } finally {
    if (owns) sharedInUse = false
    // nothing of it is kept past the call: an Identify's token stayed in the shared buffer until
    // the next encoding wrote over it
    writer.bytes.fill(0, 0, writer.pos)
    // a large payload's buffer is not kept, nor one a failed encoding grew
    if (writer.bytes.length > 1 << 20) writer.shrink()
  }
}

const clientStyle: EncodeOptions = {}

/**
 * Encodes an outgoing payload as a client must send it: binary map keys, never atoms.
 *
 * @since 0.1.0
 */
export const encode = (payload: unknown): Uint8Array => encodeWith(payload, clientStyle)

/**
 * The ETF {@link Encoding}.
 *
 * @since 0.1.0
 */
export const encoding: Encoding = { name: "etf", decode, encode, decodedSize, binaryOnly: true }
