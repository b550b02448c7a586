/**
 * Text from the network, made safe to write to a terminal: what the gateway sends (a close reason,
 * a malformed value, a message's content) is shown in logs, errors and the CLI, never obeyed.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"

// C0, DEL and C1; the bidi embeddings, overrides and isolates; the line and paragraph separators
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g

/**
 * `text` with its control characters written as `\uXXXX` escapes: C0, DEL and C1, which could move
 * the cursor, clear the screen or retitle the terminal; the bidi embeddings, overrides and isolates
 * (U+202A-202E, U+2066-2069), with which anyone who writes a message could reverse the rest of the
 * line on a terminal that does bidi; and the line and paragraph separators (U+2028, U+2029), at
 * which some readers of lines split one. JSON text stays the same JSON: outside its strings it has
 * no such characters, and inside them the escape means the character it replaces.
 *
 * @since 0.1.0
 */
export const printable = (text: string): string =>
  text.replace(controlCharacters, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * `text` cut to at most `max` UTF-16 units, ending in `...` when cut; a character of two units (an
 * emoji) is never cut in half.
 *
 * @since 0.1.0
 */
export const clipped = (text: string, max: number): string => {
  if (text.length <= max) return text
  const end = max - 3
  const last = text.charCodeAt(end - 1)
  return `${text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end)}...`
}

/**
 * `text` as a JSON string literal, with no control character left in it (`JSON.stringify` escapes
 * C0 but writes DEL and C1 raw).
 *
 * @since 0.1.0
 */
export const quoted = (text: string): string => printable(JSON.stringify(text))

/**
 * `text` as the inside of {@link quoted}'s string: its quotes, backslashes and control characters
 * escaped, so that text quoted from it says what the peer wrote, unambiguously.
 *
 * @since 0.1.0
 */
export const escaped = (text: string): string => quoted(text).slice(1, -1)

/**
 * Whether a value a person gave may be quoted back in a message: at most 40 printable ASCII
 * characters. A bot token is longer (some 58 to 72 characters), so one given in the wrong place
 * is not quoted; nor is a control sequence.
 *
 * @since 0.1.0
 */
export const isQuotable = (text: string): boolean => text.length <= 40 && /^[\x20-\x7e]*$/.test(text)

/**
 * What a message says in place of a value it may not quote back ({@link isQuotable}): its length.
 *
 * @since 0.1.0
 */
export const notShown = (text: string): string => `a value of ${text.length} ${text.length === 1 ? "character" : "characters"} (not shown)`

/**
 * What `value` is, told without its content (a value in the wrong place may be the token):
 * `"null"`, `"an array"`, `"an object"`, `"a string"`...
 *
 * @since 0.1.0
 */
export const kindOf = (value: unknown): string =>
  value === null || value === undefined
    ? String(value)
    : typeof value === "object"
    ? objectKind(value)
    : `a ${typeof value}`

/**
 * What kind of object `value` is, told without its content: `"an array"`, `"a Map"`, `"a Date"`,
 * `"a Duration"`, `"a Redacted"`, else `"an object"` (also where asking throws: a proxy's trap).
 *
 * @since 0.1.0
 */
export const objectKind = (value: object): string => {
  try {
    if (Array.isArray(value)) return "an array"
    const tag = Object.prototype.toString.call(value).slice(8, -1)
    if (tag !== "Object") return `${/^[AEIOU]/.test(tag) ? "an" : "a"} ${tag}`
    if (Duration.isDuration(value)) return "a Duration"
    if (Redacted.isRedacted(value)) return "a Redacted"
  } catch {
    // told as any object
  }
  return "an object"
}

/**
 * What a thrown value says, on one line and at most 100 characters: an `Error`'s message, else
 * its text. Never throws (a getter of the message, a `toString` that throws).
 *
 * @since 0.1.0
 */
export const thrownText = (thrown: unknown): string => {
  try {
    return clipped(printable(thrown instanceof Error ? thrown.message : String(thrown)), 100)
  } catch {
    return "a value that cannot be shown"
  }
}
