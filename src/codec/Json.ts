/**
 * The JSON encoding: one `JSON.parse` per message, and a cheap check of the envelope's shape.
 *
 * @since 0.1.0
 */
import { printable } from "../internal/printable.ts"
import { DecodeError } from "./DecodeError.ts"
import * as JsonHeader from "./JsonHeader.ts"
import type { Encoding, Envelope } from "./Encoding.ts"

const utf8 = new TextDecoder()

interface MutableEnvelope {
  op: unknown
  d: unknown
  s: unknown
  t: unknown
}

/**
 * Checks a parsed value's envelope shape (`op` an integer from 0 to 255, `s` a non-negative safe
 * integer or null, `t` a string or null; missing `s`/`t` become `null`) and returns it as an
 * {@link Envelope} without copying.
 *
 * @since 0.1.0
 */
export const toEnvelope = (value: unknown): Envelope | DecodeError => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new DecodeError({ reason: "Envelope", message: "gateway message is not a JSON object" })
  }
  const envelope = value as MutableEnvelope
  if (envelope.s === undefined) envelope.s = null
  if (envelope.t === undefined) envelope.t = null
  const op = envelope.op
  if (typeof op !== "number" || !Number.isInteger(op) || op < 0 || op > 255) {
    return new DecodeError({ reason: "Envelope", message: "gateway message has no op that is an integer from 0 to 255" })
  }
  const s = envelope.s
  if (s !== null && (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0)) {
    return new DecodeError({ reason: "Envelope", message: "gateway message has an s that is neither a non-negative integer nor null" })
  }
  if (envelope.t !== null && typeof envelope.t !== "string") {
    return new DecodeError({ reason: "Envelope", message: "gateway message has a t that is neither a string nor null" })
  }
  return envelope as Envelope
}

// text as bytes decode to: the `TextDecoder` drops a leading byte order mark, which `JSON.parse`
// refuses (the same message failed as a string frame and was taken as bytes)
const withoutBom = (text: string): string => text.charCodeAt(0) === 0xfeff ? text.slice(1) : text

/**
 * Parses one JSON gateway message (text, or UTF-8 bytes decoded with a reused `TextDecoder`); a
 * leading byte order mark is dropped from either.
 *
 * @since 0.1.0
 */
export const decode = (message: string | Uint8Array): Envelope | DecodeError => {
  let value: unknown
  try {
    value = JSON.parse(typeof message === "string" ? withoutBom(message) : utf8.decode(message))
  } catch (error) {
    // V8's message quotes a piece of the text as it came, control characters and all
    return new DecodeError({ reason: "Json", message: `gateway message is not valid JSON: ${printable((error as Error).message)}` })
  }
  return toEnvelope(value)
}

// `JSON.stringify` writes a lone surrogate as its escape, `\ud83c`: an escaped backslash is taken
// whole, so that the text `\ud83c` after one is left as it is
const loneSurrogateOrBackslash = /\\\\|\\ud[89a-f][0-9a-f]{2}/g

/**
 * Serializes an outgoing payload as a JSON text frame. The payload must be JSON-serializable. A
 * lone surrogate (a string cut through an emoji) goes out as U+FFFD, as in ETF: its escape is no
 * Unicode, which a strict reader refuses (Discord says such strings cannot be represented).
 *
 * @since 0.1.0
 */
export const encode = (payload: unknown): string => {
  const text = JSON.stringify(payload)
  return text.includes("\\ud") ? text.replace(loneSurrogateOrBackslash, (found) => found.length === 2 ? found : "\ufffd") : text
}

/**
 * The JSON {@link Encoding}.
 *
 * @since 0.1.0
 */
export const encoding: Encoding = { name: "json", decode, encode, header: JsonHeader.read }
