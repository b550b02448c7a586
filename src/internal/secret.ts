/**
 * The token kept out of text that may quote it: a value given in the wrong option (the token as
 * the gateway URL, say) is quoted in the error that refuses it.
 *
 * @since 0.1.0
 */
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
 * A defect that quotes runs of `token` anywhere it shows (a program's transport or limiter that put
 * a frame or a key in its message, its `cause`, an `AggregateError`'s `errors`, a property of its
 * own, or a value that is no `Error`), as an `Error` with them masked: its name and stack kept
 * (masked too), its `cause`, `errors` and own properties masked the same way. Any other defect as
 * it is.
 *
 * @since 0.1.0
 */
export const maskedDefect = (defect: unknown, token: unknown): unknown => {
  const shown = typeof defect === "string" ? defect : inspect(defect, { depth: 10 })
  return withoutToken(shown, token) === shown ? defect : masked(defect, token)
}

const masked = (defect: unknown, token: unknown): Error => {
  if (!(defect instanceof Error)) {
    return new Error(withoutToken(typeof defect === "string" ? defect : inspect(defect, { depth: 10 }), token))
  }
  const message = withoutToken(defect.message, token)
  const cause = "cause" in defect ? { cause: maskedDefect(defect.cause, token) } : undefined
  const error = defect instanceof AggregateError
    ? new AggregateError(Array.from(defect.errors as Iterable<unknown>, (inner) => maskedDefect(inner, token)), message, cause)
    : new Error(message, cause)
  // the stack of where the defect was made, not of this copy
  error.name = defect.name
  if (defect.stack !== undefined) error.stack = withoutToken(defect.stack, token)
  for (const [key, value] of Object.entries(defect)) {
    if (key === "cause" || key === "errors") continue
    Object.assign(error, { [key]: typeof value === "string" ? withoutToken(value, token) : maskedDefect(value, token) })
  }
  return error
}
