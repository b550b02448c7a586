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
const BACKSLASH = 0x5c
const ZERO = 0x30
const NINE = 0x39

// The reader's input and cursor. JavaScript runs one read at a time, so module-level state is
// safe, and it saves allocating closures on every message.
let bytes: Uint8Array | undefined
let text = ""
let length = 0
let i = 0

/** The code unit at `index` (a byte of UTF-8, or a UTF-16 unit of text); NaN past the end. */
const code = (index: number): number =>
  bytes === undefined ? text.charCodeAt(index) : index < length ? bytes[index]! : Number.NaN

const skipSpace = (): void => {
  for (;;) {
    const c = code(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return
    i++
  }
}

// Keys and event names read from bytes, by a hash of their bytes: the same few dozen strings
// come in every message, and reusing them costs no allocation.
const interned = new Map<number, string>()
const maxInterned = 1024

/** The ASCII string in `bytes[start, end)`, reused from `interned` when it was seen before. */
const stringOfBytes = (source: Uint8Array, start: number, end: number, hash: number): string => {
  const known = interned.get(hash)
  if (known !== undefined && known.length === end - start) {
    let same = true
    for (let k = 0; same && k < known.length; k++) same = known.charCodeAt(k) === source[start + k]
    if (same) return known
  }
  let value = ""
  for (let k = start; k < end; k++) value += String.fromCharCode(source[k]!)
  if (interned.size < maxInterned) interned.set(hash, value)
  return value
}

/** A short string without escapes, starting at the quote at `i`; `undefined` for anything else. */
const readString = (): string | undefined => {
  const start = ++i
  let hash = 0
  for (; i < length && i - start <= 64; i++) {
    const c = code(i)
    if (c === QUOTE) {
      const end = i++
      return bytes === undefined ? text.slice(start, end) : stringOfBytes(bytes, start, end, hash)
    }
    if (c === BACKSLASH || c < 0x20 || c > 0x7e) return undefined
    hash = (Math.imul(hash, 31) + c) | 0
  }
  return undefined
}

/** `null` or a non-negative integer; `undefined` for anything else. */
const readNumberOrNull = (): number | null | undefined => {
  if (code(i) === 0x6e && code(i + 1) === 0x75 && code(i + 2) === 0x6c && code(i + 3) === 0x6c) {
    i += 4
    return null
  }
  const start = i
  let value = 0
  for (; i < length && i - start <= 15; i++) {
    const c = code(i)
    if (c < ZERO || c > NINE) break
    value = value * 10 + (c - ZERO)
  }
  const c = code(i)
  return i === start || c === 0x2e || c === 0x65 || c === 0x45 || (c >= ZERO && c <= NINE) ? undefined : value
}

const readHeader = (): Header | undefined => {
  skipSpace()
  if (code(i) !== OPEN) return undefined
  i++
  let op: number | undefined
  let s: number | null | undefined
  let t: string | null | undefined
  for (;;) {
    skipSpace()
    if (code(i) !== QUOTE) return undefined
    const key = readString()
    skipSpace()
    if (key === undefined || code(i) !== COLON) return undefined
    i++
    skipSpace()
    if (key === "d") return op === undefined || s === undefined || t === undefined ? undefined : { op, s, t }
    if (key === "op") {
      const value = readNumberOrNull()
      if (value === undefined || value === null) return undefined
      op = value
    } else if (key === "s") {
      const value = readNumberOrNull()
      if (value === undefined) return undefined
      s = value
    } else if (key === "t") {
      const value = code(i) === QUOTE ? readString() : readNumberOrNull()
      if (value === undefined || typeof value === "number") return undefined
      t = value
    } else {
      return undefined
    }
    skipSpace()
    if (code(i) !== COMMA) return undefined
    i++
  }
}

/**
 * Reads the header of `message` (UTF-8 bytes or text). Returns `undefined` unless `op`, `s` and
 * `t` all come before `d`, as plain values (a duplicate key after `d` would go unseen: Discord
 * sends none).
 *
 * @since 0.1.0
 */
export const read = (message: Uint8Array | string): Header | undefined => {
  if (typeof message === "string") text = message
  else bytes = message
  length = message.length
  i = 0
  const header = readHeader()
  bytes = undefined
  text = ""
  return header
}
