/**
 * The token kept out of text that may quote it: a value given in the wrong option (the token as
 * the gateway URL, say) is quoted in the error that refuses it.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
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
 * A defect that quotes runs of `token` wherever a printer may find them (a program's transport or
 * limiter that put a frame or a key in its message, its `cause`, an `AggregateError`'s `errors`, a
 * property of its own, a getter, a `toJSON` or `toString`, or a value that is no `Error`), as an
 * `Error` with them masked: its name and stack kept (masked too), its `cause`, `errors` and own
 * properties masked the same way, its methods dropped. Any other defect as it is. It never throws:
 * a defect whose getters throw, or that cannot be read at all, is told as what could be read.
 *
 * @since 0.1.0
 */
export const maskedDefect = (defect: unknown, token: unknown): unknown => {
  try {
    return maskedIn(defect, token, new Map())
  } catch {
    return new Error("a defect that could not be read without the risk of quoting the token")
  }
}

// all of it: a long string or a long list (an AggregateError's errors) cut short, or a value deep
// down, could hide a run; getters run, as a printer asked for them would run them
const whole = { depth: Infinity, maxStringLength: Infinity, maxArrayLength: Infinity, getters: true }

// what `look` finds, or `otherwise` where it throws (a getter, a proxy's trap)
const safely = <A>(look: () => A, otherwise: A): A => {
  try {
    return look()
  } catch {
    return otherwise
  }
}

// what `render` gives, or nothing where it throws (as a printer that throws prints nothing)
const attempt = (render: () => string | undefined): string => safely(() => render() ?? "", "")

// every way a program's printer may show `value`: `inspect`, Effect's `Cause.pretty` (an error's
// message, a `toString` of its own, JSON, a `cause` however it is kept), JSON (a `toJSON`), `String`
const printed = (value: unknown): ReadonlyArray<string> =>
  typeof value === "string" ? [value] : [
    attempt(() => inspect(value, whole)),
    attempt(() => Cause.pretty(Cause.die(value))),
    attempt(() => JSON.stringify(value, withoutCycles())),
    attempt(() => String(value))
  ]

// a JSON replacer leaving out an object met before (as Effect's printer does), not throwing at it
const withoutCycles = () => {
  const seen = new Set<unknown>()
  return (_key: string, value: unknown) => {
    if (typeof value !== "object" || value === null) return typeof value === "bigint" ? String(value) : value
    if (seen.has(value)) return undefined
    seen.add(value)
    return value
  }
}

// `value` as it is where no printer shows a run of the token, else masked; `copies`: the errors
// copied so far, so that one met again (an error that refers to itself, a cause that refers back) is
// its copy
const maskedIn = (value: unknown, token: unknown, copies: Map<unknown, Error>): unknown => {
  const copied = copies.get(value)
  if (copied !== undefined) return copied
  return printed(value).some((text) => quotesToken(text, token)) ? masked(value, token, copies) : value
}

// a property's value, read as a printer would read it; undefined where its getter throws
const read = (owner: object, key: string): unknown => safely(() => (owner as Record<string, unknown>)[key], undefined)

// a copy of what `defect` shows with the token masked, made of read values only (no getter, no
// method of the defect's), so that no printer can find the token through the copy
const masked = (defect: unknown, token: unknown, copies: Map<unknown, Error>): Error => {
  if (!(defect instanceof Error)) {
    return new Error(withoutToken(attempt(() => inspect(defect, whole)) || "a value that could not be shown", token))
  }
  const text = (key: string) => {
    const value = read(defect, key)
    return typeof value === "string" ? withoutToken(value, token) : undefined
  }
  const message = text("message") ?? ""
  const error = defect instanceof AggregateError ? new AggregateError([], message) : new Error(message)
  copies.set(defect, error)
  const own = (key: string, value: unknown) =>
    Object.defineProperty(error, key, { value, writable: true, enumerable: false, configurable: true })
  const inner = (value: unknown) => typeof value === "string" ? withoutToken(value, token) : maskedIn(value, token, copies)
  own("name", text("name") ?? "Error")
  // the stack of where the defect was made, not of this copy
  own("stack", text("stack") ?? `${error.name}: ${message}`)
  if (safely(() => "cause" in defect, false)) own("cause", inner(read(defect, "cause")))
  if (defect instanceof AggregateError) own("errors", safely(() => Array.from(defect.errors as Iterable<unknown>), []).map(inner))
  for (const key of safely(() => Object.keys(defect), [])) {
    if (key === "cause" || key === "errors") continue
    const value = read(defect, key)
    if (typeof value === "function") continue
    Object.defineProperty(error, withoutToken(key, token), { value: inner(value), writable: true, enumerable: true, configurable: true })
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
