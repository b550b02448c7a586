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
  const secret = secretOf(token)
  if (secret === undefined || !quotes(text, secret)) return text
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
export const quotesToken = (text: string, token: unknown): boolean => {
  const secret = secretOf(token)
  return secret !== undefined && quotes(text, secret)
}

const secretOf = (token: unknown): string | undefined => {
  const secret = Redacted.isRedacted(token) ? Redacted.value(token) : token
  return typeof secret === "string" && secret.length >= shortestRun ? secret : undefined
}

// every run of 12 or more holds one of the secret's runs of 12: a search for each, linear in the
// text (the character by character walk of `withoutToken` is not, on a long text)
const quotes = (text: string, secret: string): boolean => {
  for (let i = 0; i + shortestRun <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + shortestRun))) return true
  }
  return false
}

/**
 * A defect that quotes runs of `token` wherever a printer may find them (a program's transport or
 * limiter that put a frame or a key in its message, its `cause`, an `AggregateError`'s `errors`, a
 * property of its own, hidden or not, a getter, a `toJSON` or `toString`, bytes, or a value that is
 * no `Error`), as an `Error` with them masked: its name and stack kept (masked too), its `cause`,
 * `errors` and own properties masked the same way, its methods dropped; an object with a message
 * as an `Error` of it, a string as one of its words, any other value as one of its JSON; a copy a
 * printer would still find a run in (one that joins what the copy keeps apart) as its name and
 * message alone. Any other defect as it is. It never throws: a getter that throws is read as
 * nothing, and a defect that cannot be read at all is told as such.
 *
 * @since 0.1.0
 */
export const maskedDefect = (defect: unknown, token: unknown): unknown => {
  try {
    const result = new Masking(token).maskedIn(defect, 0)
    if (result === defect || !rewritten(result).some((text) => quotesToken(text, token))) return result
    // the copy's name and message alone, each masked
    const error = result as Error
    const bare = Object.defineProperty(new Error(error.message), "name", { value: error.name, writable: true, configurable: true })
    bare.stack = `${bare.name}: ${bare.message}`
    return rewritten(bare).some((text) => quotesToken(text, token)) ? unreadable() : bare
  } catch {
    return unreadable()
  }
}

// what a printer that rewrites what it prints shows of a copy, whose every string is masked on its
// own: Effect's drops a stack line's parentheses, joining what the copy keeps apart
const rewritten = (copy: unknown): ReadonlyArray<string> => [
  attempt(() => Cause.pretty(Cause.die(copy), { renderErrorCause: true })),
  attempt(() => String(copy))
]

// told in place of a defect that could not be read (a proxy whose every trap throws)
const unreadable = () => new Error("a defect that could not be read without the risk of quoting the token")

// whether any printer may show a run of the token in `value`: one too large to be read whole (a
// getter that makes a new object at each read, endlessly) is taken to
const quotedIn = (value: unknown, token: unknown): boolean => {
  const texts = printed(value)
  return texts === undefined || texts.some((text) => quotesToken(text, token))
}

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

// each object of a walk as `inspect` shows it, one level: what no walk of its properties finds (a
// `Headers`' or a `URLSearchParams`' entries, a `RegExp`'s source, a `Promise`'s value, a symbol's
// description, a function's name, a class's own way of being inspected, a proxy's target). One
// inspect of the whole would print an object once for each path to it: for objects shared along a
// few levels, an exponential number of times
const oneLevel = { depth: 0, maxStringLength: Infinity }

// every way a program's printer may show `value`: every string in it at any depth (a property's,
// hidden or not, its key, a getter's, bytes as the text they spell, a `Map`'s or a `Set`'s, what
// `inspect` shows of each object), Effect's `Cause.pretty` as its loggers and tracer call it (an
// error's message, a `toString` of its own, a `cause` however it is kept and told by its
// `toString`), JSON (a `toJSON`), `String`
const printed = (value: unknown): ReadonlyArray<string> | undefined => {
  if (typeof value === "string") return [value]
  const texts = textsIn(value)
  return texts && [
    ...texts,
    attempt(() => Cause.pretty(Cause.die(value), { renderErrorCause: true })),
    asJson(value),
    attempt(() => String(value))
  ]
}

// the most objects a walk looks at: a socket and its request, attached to an error, are a few
// dozen (functions are not looked into)
const mostObjects = 10_000

// the strings `value` holds, each object looked at once, through every own property and key (its
// getters run, a throwing one read as nothing), and each object as `inspect` shows it, one level
// functions are not looked into. Nothing where it holds more than `mostObjects` objects
const textsIn = (value: unknown): Array<string> | undefined => {
  const texts: Array<string> = []
  const seen = new Set<object>()
  const pending = [value]
  while (pending.length > 0) {
    const item = pending.pop()
    if (typeof item === "string") texts.push(item)
    if (typeof item !== "object" || item === null || seen.has(item)) continue
    if (seen.size === mostObjects) return undefined
    seen.add(item)
    texts.push(attempt(() => inspect(item, oneLevel)))
    const bytes = bytesOf(item)
    if (bytes !== undefined) {
      texts.push(bytes.toString("latin1"))
      continue
    }
    if (safely(() => item instanceof Map || item instanceof Set, false)) {
      safely(() => {
        for (const entry of item as Iterable<unknown>) pending.push(entry)
      }, undefined)
    }
    for (const key of safely(() => Reflect.ownKeys(item), [])) {
      texts.push(typeof key === "string" ? key : key.description ?? "")
      pending.push(read(item, key))
    }
  }
  return texts
}

// `value` as JSON, an object met before left out (as Effect's printer does, not throwing at it), a
// bigint as its digits, and bytes as the text they spell (a frame kept as a `Buffer` holds the token
// as its characters' codes, which JSON shows as numbers)
const asJson = (value: unknown): string => {
  const seen = new Set<unknown>()
  return attempt(() =>
    JSON.stringify(value, (_key, value: unknown) => {
      if (typeof value === "bigint") return String(value)
      if (typeof value !== "object" || value === null) return value
      if (seen.has(value)) return undefined
      seen.add(value)
      return bytesOf(value)?.toString("latin1") ?? value
    })
  )
}

// the bytes of a byte array, an `ArrayBuffer` or a `Buffer` as its `toJSON` gives it
const bytesOf = (value: object): Buffer | undefined =>
  safely(() => {
    if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    if (value instanceof ArrayBuffer) return Buffer.from(value)
    const { type, data } = value as { readonly type?: unknown; readonly data?: unknown }
    return type === "Buffer" && Array.isArray(data) ? Buffer.from(data as Array<number>) : undefined
  }, undefined)

// a property's value, read as a printer would read it; undefined where its getter throws
const read = (owner: object, key: PropertyKey): unknown => safely(() => (owner as Record<PropertyKey, unknown>)[key], undefined)

// an `Error`, asked without the risk of a proxy's trap throwing
const isError = (value: unknown): value is Error => safely(() => value instanceof Error, false)

const isMessage = (value: unknown): value is object =>
  typeof value === "object" && value !== null && typeof read(value, "message") === "string"

// an error's own properties that the copy takes apart from the others
const errorKeys = new Set(["message", "name", "stack", "cause"])

// the most errors a copy nests (a chain of causes, or a getter making a new error at each read)
const mostNested = 100

// one defect's masking: its token, the errors copied so far (so that one met again, an error that
// refers to itself or a cause that refers back, is its copy), and the values found to quote nothing
class Masking {
  readonly copies = new Map<unknown, Error>()
  readonly clean = new Set<unknown>()
  constructor(readonly token: unknown) {}

  /** `value` as it is where no printer shows a run of the token, else masked. */
  maskedIn(value: unknown, nested: number): unknown {
    const copied = this.copies.get(value)
    if (copied !== undefined) return copied
    if (this.clean.has(value)) return value
    if (quotedIn(value, this.token)) return this.masked(value, nested)
    this.clean.add(value)
    return value
  }

  /**
   * A copy of what `defect` shows with the token masked, made of read values only (no getter, no
   * method of the defect's), so that no printer can find the token through the copy: an error, or
   * an object with a message (a plain-JS one's `{ message }`), as an error, anything else as an
   * error of its JSON (bytes as their text).
   */
  masked(defect: unknown, nested: number): Error {
    const token = this.token
    if (typeof defect === "string") return new Error(withoutToken(defect, token))
    if (!(isError(defect) || isMessage(defect))) return new Error(withoutToken(asJson(defect) || "a value that could not be shown", token))
    const text = (key: string) => {
      const value = read(defect, key)
      return typeof value === "string" ? withoutToken(value, token) : undefined
    }
    const message = text("message") ?? ""
    const aggregate = safely(() => defect instanceof AggregateError, false)
    const error = aggregate ? new AggregateError([], message) : new Error(message)
    this.copies.set(defect, error)
    const own = (key: string, value: unknown, enumerable = false) =>
      Object.defineProperty(error, key, { value, writable: true, enumerable, configurable: true })
    const inner = (value: unknown) => this.inner(value, nested + 1)
    own("name", text("name") ?? "Error")
    // the stack of where the defect was made, not of this copy
    own("stack", text("stack") ?? `${error.name}: ${message}`)
    if (safely(() => "cause" in defect, false)) own("cause", inner(read(defect, "cause")))
    if (aggregate) own("errors", safely(() => Array.from((defect as AggregateError).errors as Iterable<unknown>), []).map(inner))
    for (const key of safely(() => Object.getOwnPropertyNames(defect), [])) {
      if (errorKeys.has(key) || (key === "errors" && aggregate)) continue
      const value = read(defect, key)
      if (typeof value === "function") continue
      own(withoutToken(key, token), inner(value), safely(() => Object.prototype.propertyIsEnumerable.call(defect, key), true))
    }
    return error
  }

  /**
   * A value inside a copy: an error (or an object with a message) copied as it is met, not looked
   * at first (looking at each of a chain of causes would walk the rest of the chain again, at each),
   * and none past `mostNested` errors deep.
   */
  inner(value: unknown, nested: number): unknown {
    if (typeof value === "string") return withoutToken(value, this.token)
    if (!(isError(value) || isMessage(value))) return this.maskedIn(value, nested)
    return this.copies.get(value) ?? (nested < mostNested ? this.masked(value, nested) : `(more errors, ${mostNested} deep)`)
  }
}

/**
 * `effect`, its defects masked as {@link maskedDefect} masks them: put before a span or a line that
 * would repeat a defect's words.
 *
 * @since 0.1.0
 */
export const withDefectsMasked = (token: unknown) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchAllDefect(effect, (defect) => Effect.die(maskedDefect(defect, token)))
