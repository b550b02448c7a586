/**
 * A defect kept from repeating the token: one of a program's transport, limiter or HTTP client may
 * quote a frame, a key or a header it was handed, and a log line, a span's exit or a program's own
 * printer would repeat it.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { inspect } from "node:util"
import { quotesToken, withoutToken } from "./secret.ts"

/**
 * A defect that quotes runs of `token` wherever a printer may find them (a program's transport or
 * limiter that put a frame or a key in its message, its `cause`, an `AggregateError`'s `errors`, a
 * property of its own, hidden or not, a getter, a `toJSON` or `toString`, bytes, or a value that is
 * no `Error`), as an `Error` with them masked: its name and stack kept (masked too), its `cause`,
 * `errors` and own properties masked the same way, its methods dropped, its other objects put in as
 * masked text (none of the defect's objects goes into the copy); an object with a message as an
 * `Error` of it, a string as one of its words, any other value as one of its JSON; a copy a
 * printer would still find a run in (one that joins what the copy keeps apart) as its name and
 * message alone. Any other defect as it is. It never throws: a getter that throws is read as
 * nothing, and a defect that cannot be read at all is told as such.
 *
 * @since 0.1.0
 */
export const maskedDefect = (defect: unknown, token: unknown): unknown => {
  // none (a session that ended well, an error without a cause): nothing to print, or to look through
  if (defect === undefined) return defect
  try {
    if (!quotedIn(defect, token)) return defect
    const result = new Copy(token).of(defect, 0)
    if (!quotedWhenRewritten(result, token)) return result
    // the copy's name and message alone, each masked
    const bare = Object.defineProperty(new Error(result.message), "name", { value: result.name, writable: true, configurable: true })
    bare.stack = `${bare.name}: ${bare.message}`
    return quotedWhenRewritten(bare, token) ? unreadable() : bare
  } catch {
    return unreadable()
  }
}

// whether a printer that rewrites what it prints shows a run of the token in a copy, whose every
// string is masked on its own: Effect's drops a stack line's parentheses, joining what the copy
// keeps apart
const quotedWhenRewritten = (copy: Error, token: unknown): boolean =>
  [pretty(copy), attempt(() => String(copy))].some((text) => quotesToken(text, token))

// `value` as Effect's loggers and tracer print a defect (with its causes told)
const pretty = (value: unknown): string => attempt(() => Cause.pretty(Cause.die(value), { renderErrorCause: true }))

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
    pretty(value),
    asJson(value),
    attempt(() => String(value))
  ]
}

// the most objects (and functions) a walk looks at: a socket and its request, attached to an
// error, are a few dozen
const mostObjects = 10_000

// the strings `value` holds, each object (or function: a class's static fields) looked at once,
// through every own property and key (its getters run, a throwing one read as nothing), and each as
// `inspect` shows it, one level. What no property leads to (a `Promise`'s value, an iterator's or a
// `WeakMap`'s entries) is seen only as that level shows it. Nothing where it holds more than
// `mostObjects` objects
const textsIn = (value: unknown): Array<string> | undefined => {
  const texts: Array<string> = []
  const seen = new Set<object>()
  const pending = [value]
  while (pending.length > 0) {
    const item = pending.pop()
    if (typeof item === "string") texts.push(item)
    if ((typeof item !== "object" && typeof item !== "function") || item === null || seen.has(item)) continue
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

// `value` as JSON, an object met before (in `seen`) left out (as Effect's printer does, not throwing
// at it), a bigint as its digits, bytes as the text they spell (a frame kept as a `Buffer` holds
// the token as its characters' codes, which JSON shows as numbers), and what keeps its data where
// JSON does not look as that data (see `dataOf`)
const asJson = (root: unknown, seen = new Set<unknown>()): string => {
  // the root is written however often it was met before; met again inside itself, it is left out
  let rootWritten = false
  return attempt(() =>
    JSON.stringify(root, (_key, value: unknown) => {
      if (typeof value === "bigint") return String(value)
      if (typeof value !== "object" || value === null) return value
      if (value === root && !rootWritten) rootWritten = true
      else if (seen.has(value)) return undefined
      seen.add(value)
      return bytesOf(value)?.toString("latin1") ?? dataOf(value) ?? value
    })
  )
}

// the data of what JSON writes as `{}`: a `Map`'s or a `Set`'s entries, `Headers` as an object of
// them, a fetch `Response`'s or `Request`'s status, URL and headers, `URLSearchParams` as its text
const dataOf = (value: object): unknown =>
  safely(() => {
    if (value instanceof Map || value instanceof Set) return Array.from(value)
    if (value instanceof URLSearchParams) return value.toString()
    if (typeof Headers === "function" && value instanceof Headers) return Object.fromEntries(value)
    if (typeof Response === "function" && value instanceof Response) {
      return { status: value.status, statusText: value.statusText, url: value.url, headers: value.headers }
    }
    if (typeof Request === "function" && value instanceof Request) return { method: value.method, url: value.url, headers: value.headers }
    return undefined
  }, undefined)

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

// an object with a message, as a plain-JS transport fails with `{ message }`
const isMessage = (value: unknown): value is object =>
  typeof value === "object" && value !== null && typeof read(value, "message") === "string"

// an error's own properties that the copy takes apart from the others
const errorKeys = new Set(["message", "name", "stack", "cause"])

// the most errors a copy nests (a chain of causes, or a getter making a new error at each read)
const mostNested = 100

// one defect's masked copy in the making: its token, the errors copied so far (so that one met
// again, an error that refers to itself or a cause that refers back, is its copy), the text each
// other object of it was given, and the objects those texts showed (each shown once in the copy:
// two hundred errors sharing one list of members wrote it out two hundred times). None of the
// defect's objects goes into the copy: a printer finds in it only masked text, whatever it would
// have found in them (a `toJSON` answering by its key, an inspect hook showing more with depth left)
class Copy {
  readonly errors = new Map<unknown, Error>()
  readonly texts = new Map<unknown, string>()
  readonly shown = new Set<unknown>()
  constructor(readonly token: unknown) {}

  /**
   * `defect` with the token masked, made of read values only (no getter, no method of the
   * defect's): an error, or an object with a message (a plain-JS one's `{ message }`), as an error,
   * a string as an error of its words, anything else as an error of its text.
   */
  of(defect: unknown, nested: number): Error {
    const token = this.token
    if (typeof defect === "string") return new Error(withoutToken(defect, token))
    if (!(isError(defect) || isMessage(defect))) return new Error(typeof defect === "object" && defect !== null ? this.text(defect) : withoutToken(String(defect), token))
    const text = (key: string) => {
      const value = read(defect, key)
      return typeof value === "string" ? withoutToken(value, token) : undefined
    }
    const message = text("message") ?? ""
    const aggregate = safely(() => defect instanceof AggregateError, false)
    const error = aggregate ? new AggregateError([], message) : new Error(message)
    this.errors.set(defect, error)
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
   * A value of the defect's, in its copy: a string masked, a number (or another primitive) as it
   * is, a function by its name (its own properties may quote anything), an error (or an object
   * with a message) copied, none past `mostNested` errors deep, any other object as its text.
   */
  inner(value: unknown, nested: number): unknown {
    if (typeof value === "string" || typeof value === "symbol") return withoutToken(String(value), this.token)
    if (typeof value === "function") return withoutToken(`[function ${safely(() => String(value.name), "")}]`, this.token)
    if (typeof value !== "object" || value === null) return value
    if (!(isError(value) || isMessage(value))) return this.text(value)
    return this.errors.get(value) ?? (nested < mostNested ? this.of(value, nested) : `(more errors, ${mostNested} deep)`)
  }

  /** `value`'s JSON (see {@link asJson}), masked, once for each object however often met. */
  text(value: object): string {
    const known = this.texts.get(value)
    if (known !== undefined) return known
    const text = withoutToken(asJson(value, this.shown) || "a value that could not be shown", this.token)
    this.texts.set(value, text)
    return text
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

/**
 * `cause` with each defect masked as {@link maskedDefect} masks it, and each failure that quotes
 * the token (one of a program's own services, which break their types from JavaScript) as a
 * defect of it masked: what ends a session reaches `await`, `events` and a program's printer.
 *
 * @since 0.1.0
 */
export const maskedCause = <E>(cause: Cause.Cause<E>, token: unknown): Cause.Cause<E> =>
  Cause.match<Cause.Cause<E>, E>(cause, {
    onEmpty: Cause.empty,
    onFail: (error) => {
      const masked = maskedDefect(error, token)
      return masked === error ? Cause.fail(error) : Cause.die(masked)
    },
    onDie: (defect) => Cause.die(maskedDefect(defect, token)),
    onInterrupt: Cause.interrupt,
    onSequential: Cause.sequential,
    onParallel: Cause.parallel
  })
