/**
 * Reads `op`, `s` and `t` of a JSON gateway message without parsing it, so an event the program
 * does not want costs no `JSON.parse` (twilight-gateway's trick). Discord writes them before `d`
 * (`{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{...}}`); when a message does not, or has anything
 * unusual before `d`, the reader gives up and the caller parses the message as usual.
 *
 * @since 0.1.0
 */

/**
 * The envelope fields that come before `d`.
 *
 * @since 0.1.0
 */
export interface Header {
  readonly op: number
  readonly s: number | null
  readonly t: string | null
}

const QUOTE = 0x22
const COLON = 0x3a
const COMMA = 0x2c
const OPEN = 0x7b
const CLOSE = 0x7d
const BACKSLASH = 0x5c
const ZERO = 0x30
const NINE = 0x39

// The keys a header may have.
const OTHER = 0
const OP = 1
const S = 2
const T = 3
const D = 4

// Where the value read last ended: the readers return the value and leave its end here, which
// saves an object per value. JavaScript runs one read at a time.
let end = 0

/** The index of the first byte at or after `i` that is not JSON whitespace. */
const skipSpace = (bytes: Uint8Array, i: number): number => {
  for (;;) {
    const c = bytes[i]
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
    i++
  }
}

/** `null` or an integer of at most 15 digits (exact as a double); `undefined` for anything else. */
const readNumberOrNull = (bytes: Uint8Array, i: number): number | null | undefined => {
  if (bytes[i] === 0x6e) {
    if (bytes[i + 1] !== 0x75 || bytes[i + 2] !== 0x6c || bytes[i + 3] !== 0x6c) return undefined
    end = i + 4
    return null
  }
  const start = i
  let value = 0
  let c = bytes[i]!
  while (c >= ZERO && c <= NINE && i - start < 15) {
    value = value * 10 + (c - ZERO)
    c = bytes[++i]!
  }
  // JSON has no leading zeros (`007`): JSON.parse refuses them, and so does the header
  if (i === start || c === 0x2e || c === 0x65 || c === 0x45 || (c >= ZERO && c <= NINE) || (bytes[start] === ZERO && i - start > 1)) return undefined
  end = i
  return value
}

// Event names by a hash of their bytes: the same few dozen come in every message, and reusing
// them costs no allocation.
const interned = new Map<number, string>()
const maxInterned = 1024

/** A printable ASCII string of up to 64 bytes, without escapes, from the quote at `i`. */
const readName = (bytes: Uint8Array, i: number): string | undefined => {
  const start = i + 1
  let hash = 0
  for (let k = start; k <= start + 64; k++) {
    const c = bytes[k]
    if (c === QUOTE) {
      end = k + 1
      const known = interned.get(hash)
      if (known !== undefined && known.length === k - start) {
        let same = 0
        while (same < known.length && known.charCodeAt(same) === bytes[start + same]) same++
        if (same === known.length) return known
      }
      let name = ""
      for (let j = start; j < k; j++) name += String.fromCharCode(bytes[j]!)
      if (interned.size < maxInterned) interned.set(hash, name)
      return name
    }
    if (c === undefined || c === BACKSLASH || c < 0x20 || c > 0x7e) return undefined
    hash = (Math.imul(hash, 31) + c) | 0
  }
  return undefined
}

/** The key from the quote at `i` (`OTHER` for any other, escapes included); sets `end`. */
const readKey = (bytes: Uint8Array, i: number): number => {
  const first = bytes[i + 1]
  if (bytes[i + 2] === QUOTE) {
    end = i + 3
    return first === 0x73 ? S : first === 0x74 ? T : first === 0x64 ? D : OTHER
  }
  if (first === 0x6f && bytes[i + 2] === 0x70 && bytes[i + 3] === QUOTE) {
    end = i + 4
    return OP
  }
  return OTHER
}

const readHeader = (bytes: Uint8Array): Header | undefined => {
  let i = skipSpace(bytes, 0)
  if (bytes[i] !== OPEN) return undefined
  let op: number | undefined
  let s: number | null | undefined
  let t: string | null | undefined
  for (;;) {
    i = skipSpace(bytes, i + 1)
    if (bytes[i] !== QUOTE) return undefined
    const key = readKey(bytes, i)
    if (key === OTHER) return undefined
    i = skipSpace(bytes, end)
    if (bytes[i] !== COLON) return undefined
    i = skipSpace(bytes, i + 1)
    if (key === D) return op === undefined || s === undefined || t === undefined ? undefined : { op, s, t }
    if (key === OP) {
      const value = readNumberOrNull(bytes, i)
      if (value === undefined || value === null) return undefined
      op = value
    } else if (key === S) {
      const value = readNumberOrNull(bytes, i)
      if (value === undefined) return undefined
      s = value
    } else {
      const value = bytes[i] === QUOTE ? readName(bytes, i) : readNumberOrNull(bytes, i)
      if (value === undefined || typeof value === "number") return undefined
      t = value
    }
    i = skipSpace(bytes, end)
    if (bytes[i] !== COMMA) return undefined
  }
}

/**
 * Whether the last character of `message` that is not JSON whitespace is a `}`, as the one that
 * closes the message is: a message cut short ends in one only when cut just after a `}` of its `d`
 * (it is then read, its `d` not checked); else it is left to the full parse, which fails.
 */
const endsWithBrace = (message: Uint8Array | string): boolean => {
  for (let k = message.length - 1; k >= 0; k--) {
    const c = typeof message === "string" ? message.charCodeAt(k) : message[k]
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c === CLOSE
  }
  return false
}

// Text (the in-memory transport's frames) is read from the UTF-8 of its start: a header
// ends far sooner than this.
const textPrefix = 512
const encoder = new TextEncoder()

/**
 * Reads the header of `message` (UTF-8 bytes or text). Returns `undefined` unless `op`, `s` and
 * `t` all come before `d`, as plain values, and the message ends in `}` (one cut short is not
 * read). Nothing between `d` and that `}` is read: a duplicate key after `d` would go unseen
 * (Discord sends none).
 *
 * @since 0.1.0
 */
export const read = (message: Uint8Array | string): Header | undefined =>
  endsWithBrace(message)
    ? readHeader(typeof message === "string" ? encoder.encode(message.slice(0, textPrefix)) : message)
    : undefined
