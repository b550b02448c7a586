/**
 * The token kept out of text that may quote it: a value given in the wrong option (the token as
 * the gateway URL, say) is quoted in the error that refuses it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"

/**
 * The fewest characters of the token in a row that are masked: a quoted value is cut at 60
 * characters, so what leaks is a run of the token, not always the whole of it.
 */
const shortestRun = 12

/**
 * `text` with every run of at least 12 characters of `token` in it replaced by `<token>`. A
 * `token` that is no `Redacted` or string (options from JavaScript) masks nothing.
 *
 * @since 0.1.0
 */
export const withoutToken = (text: string, token: unknown): string => {
  const secret = Redacted.isRedacted(token) ? Redacted.value(token) : token
  if (typeof secret !== "string" || secret.length < shortestRun) return text
  let masked = ""
  let i = 0
  while (i < text.length) {
    let run = 0
    while (i + run < text.length && secret.includes(text.slice(i, i + run + 1))) run++
    if (run >= shortestRun) {
      masked += "<token>"
      i += run
    } else {
      masked += text[i]
      i++
    }
  }
  return masked
}

/**
 * Whether `text` quotes a run of `token` that {@link withoutToken} would mask.
 *
 * @since 0.1.0
 */
export const quotesToken = (text: string, token: unknown): boolean => withoutToken(text, token) !== text

/**
 * A defect that quotes runs of `token` anywhere it shows (a program's transport or limiter that put
 * a frame or a key in its message, its `cause`, an `AggregateError`'s `errors`, a property of its
 * own, or a value that is no `Error`), as an `Error` with them masked: its name and stack kept
 * (masked too), its `cause`, `errors` and own properties masked the same way. Any other defect as
 * it is.
 *
 * @since 0.1.0
 */
export const maskedDefect = (defect: unknown, token: unknown): unknown => maskedIn(defect, token, new Map())

// all of it: a long string or a long list (an AggregateError's errors) cut short could hide a run
const whole = { depth: 10, maxStringLength: Infinity, maxArrayLength: Infinity }

// `value` as it is where it quotes no run of the token, else masked; `copies`: the errors copied so
// far, so that one met again (an error that refers to itself, a cause that refers back) is its copy
const maskedIn = (value: unknown, token: unknown, copies: Map<unknown, Error>): unknown => {
  const copied = copies.get(value)
  if (copied !== undefined) return copied
  const shown = typeof value === "string" ? value : inspect(value, whole)
  return quotesToken(shown, token) ? masked(value, token, copies) : value
}

const masked = (defect: unknown, token: unknown, copies: Map<unknown, Error>): Error => {
  if (!(defect instanceof Error)) return new Error(withoutToken(typeof defect === "string" ? defect : inspect(defect, whole), token))
  const message = withoutToken(defect.message, token)
  const error = defect instanceof AggregateError ? new AggregateError([], message) : new Error(message)
  copies.set(defect, error)
  // the stack of where the defect was made, not of this copy
  error.name = defect.name
  if (defect.stack !== undefined) error.stack = withoutToken(defect.stack, token)
  const inner = (value: unknown) => typeof value === "string" ? withoutToken(value, token) : maskedIn(value, token, copies)
  if ("cause" in defect) Object.defineProperty(error, "cause", { value: inner(defect.cause), writable: true, configurable: true })
  if (defect instanceof AggregateError) {
    Object.defineProperty(error, "errors", { value: Array.from(defect.errors as Iterable<unknown>, inner), writable: true, configurable: true })
  }
  for (const [key, value] of Object.entries(defect)) {
    if (key !== "cause" && key !== "errors") Object.assign(error, { [key]: inner(value) })
  }
  return error
}

/**
 * `effect`, its defects masked as {@link maskedDefect} masks them: put before a span or a line that
 * would repeat a defect's words.
 *
 * @since 0.1.0
 */
export const withDefectsMasked = (token: unknown) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchAllDefect(effect, (defect) => Effect.die(maskedDefect(defect, token)))
