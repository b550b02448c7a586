/**
 * How long an HTTP answer asks to wait before the next try (`Retry-After`): a number of seconds, or
 * an HTTP-date counted from the answer's own `Date` (as a proxy in front of Discord may send it).
 * `GET /gateway/bot`'s answers and a refused websocket upgrade are read alike.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * The longest wait (seconds) an answer is taken at its word for: a proxy's or a misconfigured
 * gateway's answer must not park a session for days.
 *
 * @since 0.1.0
 */
export const maxRetryAfter = 3600

/**
 * Whether an answer of `status` is one whose `Retry-After` is taken: a 429's, a 5xx's (a 404's
 * asking for an hour would park a session on a wrong URL).
 *
 * @since 0.1.0
 */
export const isHonoured = (status: number): boolean => status === 429 || status >= 500

/**
 * `value` as seconds to wait, if it is a number of them (or a string of one in decimal digits, as
 * a header's delay-seconds are: not `0x10` or `1e3`), at most an hour.
 *
 * @since 0.1.0
 */
export const seconds = (value: unknown): number | undefined => {
  // a string of digits too long for a double is a long wait, capped as any other (it was read as
  // none); a number that is no number of seconds (`Infinity` from a program's transport) is none
  const number = typeof value === "string"
    ? /^\s*\d+(?:\.\d+)?\s*$/.test(value) ? Math.min(Number(value), maxRetryAfter) : undefined
    : value
  return typeof number === "number" && Number.isFinite(number) && number >= 0 ? Math.min(number, maxRetryAfter) : undefined
}

// The three forms of an HTTP-date (RFC 9110): `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete
// `Sunday, 06-Nov-94 08:49:37 GMT`, and asctime's `Sun Nov  6 08:49:37 1994` (in GMT, unsaid)
const imfOrRfc850Date = /^\s*[a-z]{3,9}, \d{2}[ -][a-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT\s*$/i
const asctimeDate = /^\s*[a-z]{3} [a-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\s*$/i

/**
 * An HTTP-date header's time (ms since the epoch), if it is one in one of its three forms:
 * `Date.parse` alone takes `-1`, `2,5`, `wait 5` or `Monday 5` for dates in 2001.
 */
const dateOf = (value: string | undefined): number | undefined => {
  const at = value === undefined
    ? NaN
    : imfOrRfc850Date.test(value)
    ? Date.parse(value)
    : asctimeDate.test(value)
    ? Date.parse(`${value.trim()} GMT`)
    : NaN
  return Number.isNaN(at) ? undefined : at
}

/**
 * The seconds a `Retry-After` header asks to wait, if it says: in seconds, or until an HTTP-date,
 * counted from the answer's `Date` header, else from the `Clock`.
 *
 * @since 0.1.0
 */
export const fromHeaders = (
  retryAfter: string | undefined,
  date: string | undefined
): Effect.Effect<number | undefined> => {
  const inSeconds = seconds(retryAfter)
  if (inSeconds !== undefined) return Effect.succeed(inSeconds)
  const until = dateOf(retryAfter)
  if (until === undefined) return Effect.succeed(undefined)
  const sent = dateOf(date)
  return Effect.map(sent === undefined ? Clock.currentTimeMillis : Effect.succeed(sent), (now) => seconds(Math.max(0, (until - now) / 1000)))
}
