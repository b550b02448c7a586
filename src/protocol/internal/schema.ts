/**
 * Schema building blocks shared by the protocol modules: primitives whose failure
 * messages read as plain sentences, and a formatter that turns a parse error into one line.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import { ArrayFormatter } from "effect/ParseResult"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { clipped, notShown, objectKind, printable, quoted, thrownText } from "../../internal/printable.ts"

// a string that starts as a URL does (`wss://`, `https://`)
const urlLike = /^[a-z][a-z\d+.-]*:\/\//i

/**
 * A short rendering of a value for an error message. A string is quoted when it is at most 40
 * characters long, or a URL (cut at 60); any other is told by its length only: a bot token (some 58
 * to 72 characters) given in the wrong option, or swapped with another, is never quoted.
 *
 * @since 0.1.0
 */
export const show = (value: unknown): string => {
  if (value === undefined) return "undefined"
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value)
  if (typeof value === "string") {
    return value.length <= 40 || urlLike.test(value) ? clipped(quoted(value), 60) : notShown(value)
  }
  return typeof value === "object" ? objectKind(value) : typeof value
}

// a key that is no plain name (the network's: a record's key may hold a line break) is quoted
const plainName = /^[A-Za-z_$][\w$]*$/

/**
 * A path into a value, as a message names it: `d.guild_ids[0]`, a key that is no plain name quoted
 * (`d["a b"]`).
 *
 * @since 0.1.0
 */
export const path = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`
    const name = String(segment)
    if (!plainName.test(name)) return `${text}[${JSON.stringify(name)}]`
    return text === "" ? name : `${text}.${name}`
  }, "")

// the most issues `formatError` tells, and the longest one it tells whole: a message quotes the
// value it found, and an invalid GUILD_CREATE made a warning line of 1.3 MB
const maxIssues = 10
const maxIssueLength = 200

/**
 * One line saying what is wrong: the problems {@link formatProblems} tells, joined by `; `.
 *
 * @since 0.1.0
 */
export const formatError = (error: ParseResult.ParseError): string => formatProblems(error).join("; ")

/**
 * What is wrong, one problem at a time: each issue as `path message`, cut at 200 characters once
 * its control characters are escaped (they are the network's: a user's text); past ten, a last
 * one saying how many more.
 *
 * @since 0.1.0
 */
export const formatProblems = (error: ParseResult.ParseError): ReadonlyArray<string> => {
  let issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>
  // the problems past the tenth are counted, not formatted: a schema's message annotation ran for
  // each of 5,000 bad members, to tell ten. Each problem is one formatted issue, unless a message
  // annotation above some speaks for them all (a struct's): then all are formatted, and counted so
  const budget: Budget = { left: maxIssues, skipped: 0, spokenFor: false }
  try {
    const first = firstOf(error.issue, budget)
    if (budget.spokenFor) budget.skipped = 0
    issues = ArrayFormatter.formatErrorSync(budget.spokenFor || first === undefined ? error : ParseResult.parseError(first))
  } catch (thrown) {
    // the formatter quotes the value it found, recursively: one nested deeply enough (V8's
    // JSON.parse reads 100,000 levels) overflows the stack; each problem is then told apart, and
    // the one whose value overflows without it
    if (!overflowed(thrown)) throw thrown
    issues = issuesOneByOne(error.issue)
    budget.skipped = 0
  }
  const told = issues.slice(0, maxIssues).map((issue) => oneProblem(issue.path.length === 0 ? issue.message : `${path(issue.path)} ${issue.message}`))
  const more = budget.skipped + Math.max(0, issues.length - maxIssues)
  return more > 0 ? [...told, `and ${more} more`] : told
}

/**
 * A problem as `formatError` tells each: its control characters escaped (they are the network's: a
 * user's text), cut at 200 characters.
 *
 * @since 0.1.0
 */
export const oneProblem = (text: string): string => clipped(printable(text), maxIssueLength)

interface Budget {
  // the problems still to keep, and those past them
  left: number
  skipped: number
  // whether a node above problems has a message annotation, which may speak for them as one
  spokenFor: boolean
}

// `issue` with only its first `budget.left` problems, in its shape; those past them counted in
// `budget.skipped`
const firstOf = (issue: ParseResult.ParseIssue, budget: Budget): ParseResult.ParseIssue | undefined => {
  if ((issue._tag === "Composite" || issue._tag === "Refinement" || issue._tag === "Transformation") && Option.isSome(AST.getMessageAnnotation(issue.ast))) {
    budget.spokenFor = true
  }
  switch (issue._tag) {
    case "Pointer": {
      const inner = firstOf(issue.issue, budget)
      return inner === undefined ? undefined : inner === issue.issue ? issue : new ParseResult.Pointer(issue.path, issue.actual, inner)
    }
    case "Composite": {
      const all = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      const kept: Array<ParseResult.ParseIssue> = []
      for (const inner of all) {
        const first = firstOf(inner, budget)
        if (first !== undefined) kept.push(first)
      }
      if (kept.length === 0) return undefined
      return kept.length === all.length && kept.every((inner, i) => inner === all[i])
        ? issue
        : new ParseResult.Composite(issue.ast, issue.actual, kept as [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>], issue.output)
    }
    case "Refinement": {
      const inner = firstOf(issue.issue, budget)
      return inner === undefined ? undefined : inner === issue.issue ? issue : new ParseResult.Refinement(issue.ast, issue.actual, issue.kind, inner)
    }
    case "Transformation": {
      const inner = firstOf(issue.issue, budget)
      return inner === undefined ? undefined : inner === issue.issue ? issue : new ParseResult.Transformation(issue.ast, issue.actual, issue.kind, inner)
    }
    default:
      if (budget.left === 0) {
        budget.skipped++
        return undefined
      }
      budget.left--
      return issue
  }
}

const isOverflow = (error: unknown): boolean => error instanceof RangeError && error.message.includes("call stack")

// a stack overflow, as thrown, or as the runtime the formatter runs on hands it on
const overflowed = (thrown: unknown): boolean =>
  isOverflow(thrown) || (Runtime.isFiberFailure(thrown) && isOverflow(Cause.squash(thrown[Runtime.FiberFailureCauseId])))

interface Leaf {
  readonly path: ReadonlyArray<PropertyKey>
  readonly issue: ParseResult.ParseIssue
}

// the problems `issue` holds, each with its path
const leavesOf = (issue: ParseResult.ParseIssue, at: ReadonlyArray<PropertyKey>, into: Array<Leaf>): Array<Leaf> => {
  switch (issue._tag) {
    case "Pointer":
      return leavesOf(issue.issue, at.concat(issue.path), into)
    case "Composite":
      for (const inner of Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]) leavesOf(inner, at, into)
      return into
    case "Refinement":
    case "Transformation":
      return leavesOf(issue.issue, at, into)
    default:
      into.push({ path: at, issue })
      return into
  }
}

// a problem whose value cannot be quoted, by what was expected
const unquoted = (issue: ParseResult.ParseIssue): string =>
  issue._tag === "Type"
    ? `Expected ${String(issue.ast)}, actual a value nested too deeply to be shown`
    : issue._tag === "Missing"
    ? "is missing"
    : issue._tag === "Unexpected"
    ? "is unexpected"
    : "message" in issue && issue.message !== undefined
    ? issue.message
    : "cannot be decoded"

// each problem formatted apart, the one that overflows by `unquoted`; the problems themselves
// nested too deeply to be walked (a recursive schema on such data) are told as one
const issuesOneByOne = (issue: ParseResult.ParseIssue): ReadonlyArray<ParseResult.ArrayFormatterIssue> => {
  let leaves: Array<Leaf>
  try {
    leaves = leavesOf(issue, [], [])
  } catch (thrown) {
    if (!isOverflow(thrown)) throw thrown
    return [{ _tag: issue._tag, path: [], message: "the data is nested too deeply to say what is wrong with it" }]
  }
  return leaves.map((leaf) => {
    let message: string
    try {
      message = ArrayFormatter.formatIssueSync(leaf.issue)[0]?.message ?? unquoted(leaf.issue)
    } catch (thrown) {
      if (!overflowed(thrown)) throw thrown
      message = unquoted(leaf.issue)
    }
    return { _tag: leaf.issue._tag, path: leaf.path, message }
  })
}

/**
 * A synchronous decoder of what Discord sends, which reports failures as one-line messages; a key
 * the schema does not name is left out (Discord adds fields).
 *
 * @since 0.1.0
 */
export const decoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return (input: unknown): Either.Either<A, string> => Either.mapLeft(decode(input), formatError)
}

/**
 * A synchronous decoder of what a program sends, which reports failures as the problems
 * {@link formatProblems} tells. A key the schema does not name is one (a misspelt field was
 * dropped unseen), and a value holding more than `maxValues` list items and object keys, at every
 * level, is refused before the rest is read (a payload of a few kilobytes holds no more: 2^20
 * holes took seconds to refuse item by item, 2^32 - 1 ran out of memory, and an object of 2^20
 * keys took over ten).
 *
 * @since 0.1.0
 */
export const exactDecoder = <A, I>(schema: Schema.Schema<A, I>, maxValues: number) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })
  // a program's value, from JavaScript, may refer to itself, or hold a getter or a proxy that throws
  return (input: unknown): Either.Either<A, ReadonlyArray<string>> => {
    try {
      return Either.mapLeft(decode(sendable(input, [], [], { left: maxValues, most: maxValues })), formatProblems)
    } catch (thrown) {
      if (thrown instanceof Unsendable) return Either.left([thrown.why])
      if (isOverflow(thrown)) return Either.left(["the value is nested too deeply to read"])
      return Either.left([`the value could not be read (${thrownText(thrown)})`])
    }
  }
}

// how many more list items and object keys `sendable` may read, of the `most` a value may hold
interface Values {
  left: number
  readonly most: number
}

// why a program's value cannot be sent, found by `sendable`
class Unsendable {
  constructor(readonly why: string) {}
}

// what `sendable` says of the value at `at`: its path, cut short as an issue is (a key is the
// program's, of any length)
const named = (at: ReadonlyArray<PropertyKey>): string => at.length === 0 ? "the value" : clipped(printable(path(at)), 100)

// `value` as it is sent: its plain objects without their entries holding `undefined` and their
// symbol keys, at every level (neither is sent, so neither is an unexpected field: an activity's
// `details: undefined`, a state library's hidden symbol, were refused as ones); `within`, the
// objects it is in (one of them again is a cycle, which recursed until the stack overflowed)
const sendable = (value: unknown, at: Array<PropertyKey>, within: Array<object>, values: Values): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (within.includes(value)) throw new Unsendable(`${named(at)} refers to an object it is in`)
  // what it holds: its entries' keys, or its length (a proxy's traps may throw)
  const shape = readAt(at, () => {
    if (Array.isArray(value)) return value.length
    const prototype: unknown = Object.getPrototypeOf(value)
    return prototype === Object.prototype || prototype === null ? Object.keys(value) : undefined
  })
  if (shape === undefined) return value
  if (typeof shape === "number" && shape > values.most) throw new Unsendable(`${named(at)} lists ${shape} items, over the ${values.most} a payload holds`)
  values.left -= typeof shape === "number" ? shape : shape.length
  if (values.left < 0) throw new Unsendable(`the value holds more than ${values.most} list items and keys in all, over what a payload holds`)
  within.push(value)
  const read = (key: string | number): unknown => {
    at.push(key)
    const sent = sendable(readAt(at, () => (value as Record<string | number, unknown>)[key]), at, within, values)
    at.pop()
    return sent
  }
  let copy: unknown
  if (typeof shape === "number") {
    copy = Array.from({ length: shape }, (_, i) => read(i))
  } else {
    const entries: Array<readonly [string, unknown]> = []
    for (const key of shape) {
      const entry = read(key)
      if (entry !== undefined) entries.push([key, entry])
    }
    // an own `__proto__` stays an entry (an assignment would set the copy's prototype)
    copy = Object.fromEntries(entries)
  }
  within.pop()
  return copy
}

// `read()`, the value at `at`; what it threw (a getter's, a proxy's) said of `at`
const readAt = <A>(at: ReadonlyArray<PropertyKey>, read: () => A): A => {
  try {
    return read()
  } catch (thrown) {
    throw new Unsendable(`${named(at)} could not be read (${thrownText(thrown)})`)
  }
}

/**
 * A schema for the values `check` accepts; `check` returns what is wrong, or `undefined`.
 *
 * @since 0.1.0
 */
export const checked = <A>(check: (input: unknown) => string | undefined) =>
  Schema.declare((input: unknown): input is A => check(input) === undefined, {
    message: (issue) => check(issue.actual) ?? "is invalid"
  })

/**
 * A struct whose failure on a non-object reads as a sentence.
 *
 * @since 0.1.0
 */
export const struct = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).annotations({ message: (issue) => `must be an object, got ${show(issue.actual)}` })

/**
 * A string.
 *
 * @since 0.1.0
 */
export const Str = checked<string>((u) => typeof u === "string" ? undefined : `must be a string, got ${show(u)}`)

/**
 * A boolean.
 *
 * @since 0.1.0
 */
export const Bool = checked<boolean>((u) => typeof u === "boolean" ? undefined : `must be a boolean, got ${show(u)}`)

/**
 * Whether `u` is an integer from `min` to `max`.
 *
 * @since 0.1.0
 */
export const isInt = (u: unknown, min: number, max: number): u is number =>
  typeof u === "number" && Number.isInteger(u) && u >= min && u <= max

/**
 * An integer from `min` to `max`, both included.
 *
 * @since 0.1.0
 */
export const intBetween = (min: number, max: number) =>
  checked<number>((u) => isInt(u, min, max) ? undefined : `must be an integer between ${min} and ${max}, got ${show(u)}`)

/**
 * A non-negative integer that a double holds exactly.
 *
 * @since 0.1.0
 */
export const NonNegativeInt = checked<number>((u) =>
  isInt(u, 0, Number.MAX_SAFE_INTEGER) ? undefined : `must be a non-negative integer, got ${show(u)}`
)

/**
 * Whether `u` is a Discord id: a decimal string of 1 to 20 digits that fits in 64 bits, without a
 * leading zero (Discord's answers name an id so: a member request for `"081..."` had its answers,
 * naming `"81..."`, refused as another guild's).
 *
 * @since 0.1.0
 */
export const isSnowflake = (u: unknown): u is string =>
  typeof u === "string" && /^(?:0|[1-9][0-9]{0,19})$/.test(u) && (u.length < 20 || BigInt(u) < 2n ** 64n)

/**
 * The longest session id taken, in characters. Discord's have 32; a Resume with one this long fits
 * in a payload with any token of the length Discord issues (about 70 characters), not with every
 * token an Identify could carry (one of thousands of characters, which no real token is).
 *
 * @since 0.1.0
 */
export const maxSessionIdLength = 256

/**
 * Whether `u` is a session id: a non-empty string of at most {@link maxSessionIdLength} characters.
 *
 * @since 0.1.0
 */
export const isSessionId = (u: unknown): u is string =>
  typeof u === "string" && u.length > 0 && u.length <= maxSessionIdLength

/**
 * A session id: a non-empty string of at most {@link maxSessionIdLength} characters.
 *
 * @since 0.1.0
 */
export const SessionId = checked<string>((u) =>
  isSessionId(u) ? undefined : `must be a non-empty string of at most ${maxSessionIdLength} characters, got ${show(u)}`
)

/**
 * A Discord id: a string of 1 to 20 digits, below 2^64.
 *
 * @since 0.1.0
 */
export const Snowflake = checked<string>((u) =>
  isSnowflake(u) ? undefined : `must be a snowflake (up to 20 digits, no leading zero, below 2^64), got ${show(u)}`
)

/**
 * The longest URL taken from the network or the options: Discord's are well under 100 characters;
 * one of megabytes would be kept, logged and shown with every transition.
 *
 * @since 0.1.0
 */
export const maxUrlLength = 2048

const parsedUrl = (u: unknown): URL | undefined => {
  if (typeof u !== "string" || u.length > maxUrlLength) return undefined
  try {
    return new URL(u)
  } catch {
    return undefined
  }
}

// a user name or password in a URL: fetch refuses such a URL, and every message quoting it would
// show the password
const hasCredentials = (url: URL): boolean => url.username !== "" || url.password !== ""

/**
 * Whether `u` is a URL a websocket can be opened to: absolute, `ws://` or `wss://`, without a
 * fragment (which `ws` refuses) or credentials, at most {@link maxUrlLength} characters.
 *
 * @since 0.1.0
 */
export const isWebSocketUrl = (u: unknown): u is string => {
  const url = parsedUrl(u)
  return url !== undefined && (url.protocol === "ws:" || url.protocol === "wss:") && url.hash === "" && !hasCredentials(url)
}

/**
 * Whether `u` is an absolute `http://` or `https://` URL without credentials, of at most
 * {@link maxUrlLength} characters.
 *
 * @since 0.1.0
 */
export const isHttpUrl = (u: unknown): u is string => {
  const url = parsedUrl(u)
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") && !hasCredentials(url)
}

/**
 * {@link show} for a URL: one that may carry credentials is not quoted (its password would be),
 * also when it is otherwise malformed or too long. That is any with an `@`: URL parsers read a
 * user and password from forms far from `scheme://user:pass@host` (a leading space or line break,
 * one slash or none after the scheme, backslashes), and an error saying less costs nothing.
 *
 * @since 0.1.0
 */
export const showUrl = (u: unknown): string =>
  typeof u === "string" && u.includes("@") ? "a URL with credentials (not shown)" : show(u)

/**
 * Whether `url`, handed out by a peer reached at `from`, would take the token off an encrypted
 * channel: `from` is `wss://` or `https://` and `url` is `ws://`. Discord only hands out `wss://`
 * URLs; a plaintext one from it would be a downgrade, a local gateway's over plaintext is not.
 *
 * @since 0.1.0
 */
export const downgrades = (from: string, url: string): boolean => {
  const source = parsedUrl(from)
  return (source?.protocol === "wss:" || source?.protocol === "https:") && isPlaintext(url)
}

/**
 * Whether `url` is a plaintext websocket URL (`ws://`, in any case).
 *
 * @since 0.1.0
 */
export const isPlaintext = (url: string): boolean => parsedUrl(url)?.protocol === "ws:"

/**
 * An absolute `ws://` or `wss://` URL (see {@link isWebSocketUrl}).
 *
 * @since 0.1.0
 */
export const WebSocketUrl = checked<string>((u) =>
  isWebSocketUrl(u)
    ? undefined
    : `must be a ws:// or wss:// URL without a fragment or credentials, of at most ${maxUrlLength} characters, got ${showUrl(u)}`
)

/**
 * The largest shard count a `[shard_id, shard_count]` pair may carry.
 *
 * @since 0.1.0
 */
export const maxShardCount = 65_535

/**
 * Whether `value` is a pair, of whatever values.
 *
 * @since 0.1.0
 */
export const isPair = (value: unknown): value is readonly [unknown, unknown] => Array.isArray(value) && value.length === 2

/**
 * What is wrong with a shard pair's values, if anything: counts and ids are whole numbers (a
 * stored point's may come back as strings, or null).
 *
 * @since 0.1.0
 */
export const shardPairProblem = ([id, count]: readonly [unknown, unknown]): string | undefined =>
  typeof count !== "number" || !Number.isSafeInteger(count) || count < 1
    ? `count must be a positive integer, got ${show(count)}`
    : count > maxShardCount
    ? `count must be at most ${maxShardCount} (an Identify carries no more), got ${count}`
    : typeof id !== "number" || !Number.isSafeInteger(id) || id < 0 || id >= count
    ? `id must be in [0, ${count}), got ${show(id)}`
    : undefined

// what is wrong with `u` as a shard pair, if anything
const shardPairCheck = (u: unknown): string | undefined => {
  if (!Array.isArray(u) || u.length !== 2 || !isInt(u[0], 0, maxShardCount - 1) || !isInt(u[1], 1, maxShardCount)) {
    return `must be a [shard_id, shard_count] pair of non-negative integers, got ${Array.isArray(u) && u.length === 2 ? `[${show(u[0])}, ${show(u[1])}]` : show(u)}`
  }
  return u[0] < u[1] ? undefined : `must have shard_id below shard_count, got [${u[0]}, ${u[1]}]`
}

/**
 * A `[shard_id, shard_count]` pair with `0 <= shard_id < shard_count <= maxShardCount`.
 *
 * @since 0.1.0
 */
export const ShardPair = checked<readonly [number, number]>(shardPairCheck)

/**
 * A {@link ShardPair}, or `null` for none (as a serializer may write a field it leaves out).
 *
 * @since 0.1.0
 */
export const ShardPairOrNull = checked<readonly [number, number] | null>((u) => u === null ? undefined : shardPairCheck(u))
