/**
 * What a fleet is told: which shards of how many, and the options every session shares.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import type { Encoding } from "../codec/Encoding.ts"
import { commaList } from "../internal/commaList.ts"
import { isQuotable, notShown } from "../internal/printable.ts"
import { maxShardCount } from "../protocol/Commands.ts"
import type { EventName } from "../protocol/Event.ts"
import { show } from "../protocol/internal/schema.ts"
import type { InvalidOptions, OptionProblem } from "../session/SessionError.ts"
import { readPoint, type ResumePoint, resumePointProblems, resumePointShapeProblems, resumesOver } from "../session/ResumePoint.ts"
import { sourceOf } from "../session/internal/gatewaySource.ts"
import { invalidOptions, mustBe, notAnObject, ofResume, soleOption } from "../session/internal/optionProblems.ts"
import { readOnce as readOptions } from "../session/internal/readOnce.ts"
import type { SessionOptions } from "../session/SessionOptions.ts"

/**
 * Which shards a fleet runs: all of them, or these ids (see {@link range}).
 *
 * @since 0.1.0
 */
export type ShardSelection = "all" | ReadonlyArray<number>

/**
 * Options of a fleet: the session options (but `shard`, `resume` and `gatewayUrl`, which the
 * fleet sets per shard) plus the shards to run.
 *
 * @since 0.1.0
 */
export interface FleetOptions<N extends EventName = EventName> extends Omit<SessionOptions<N>, "shard" | "resume" | "gatewayUrl"> {
  /** The shards to run (default `"all"`). */
  readonly shards?: ShardSelection | undefined
  /** The total shard count (default: the count `GET /gateway/bot` recommends). */
  readonly shardCount?: number | undefined
  /**
   * Sessions to resume (from a fleet's `disconnect`); the other shards identify. Two points of one
   * gateway session may be given (a shard's old fleet still returns the point it handed out when
   * the shard was stopped and resumed beside it): the one with the higher sequence is resumed.
   */
  readonly resume?: ReadonlyArray<ResumePoint> | undefined
  /**
   * How many shards may be connected and waiting to identify at once (default
   * {@link startupWindowPerKey} per rate-limit key, from the identify limiter's `max_concurrency`),
   * shared out evenly among the rate-limit keys (`ceil(startupWindow / max_concurrency)` each), so
   * that one key's shards, which identify one per 5 s, never hold the places other keys could use.
   * A shard that has not started yet starts (its session is made) only when it is among them, a
   * shard about to identify anew opens its socket only then, and both leave them once Identify is
   * sent; resumes do not wait.
   */
  readonly startupWindow?: number | undefined
}

/**
 * The default startup window per rate-limit key: a shard starts one identify slot of its key ahead
 * of its own (5 s with Discord's spacing), time enough for the connection and Hello; a connection
 * that fails gives its place to the next shard at once. A wider window costs memory: each shard in
 * it is being set up, and what that setup promotes stays behind as holes (bench/PROFILE.md).
 *
 * @since 0.1.0
 */
export const startupWindowPerKey = 1

/**
 * The shard ids from `from` up to, not including, `until`: `range(8, 12)` is `[8, 9, 10, 11]`.
 * Throws a `RangeError` saying so for bounds that are no integers or that span more ids than a bot
 * may have shards (`range(0, Infinity)` said "Invalid array length"; `range(0, 1e9)` took
 * gigabytes); the ids themselves are checked by the fleet that runs them.
 *
 * @since 0.1.0
 */
export const range = (from: number, until: number): ReadonlyArray<number> => {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(until) || until - from > maxShardCount) {
    throw new RangeError(
      `FleetOptions.range: expected integer bounds at most ${maxShardCount} ids apart, got ${show(from)} to ${show(until)}`
    )
  }
  return Array.from({ length: Math.max(0, until - from) }, (_, i) => from + i)
}

const expectedShards = "Expected all, or shard ids and ranges (such as 0-7 or 0,2,4-6)"

// one item of a selection: an id, or an inclusive range of them
const selectionItem = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/

// the selection `text` says, or why it says none (`text` quoted only where it may be)
const readSelection = (text: string): Either.Either<ShardSelection, ConfigError.ConfigError> => {
  // the value comes last, after "but received": read through a layer, what follows it is taken for
  // the value (and not quoted when long), so what is wrong with it is said before
  const refused = (what: string, expected = expectedShards) => Either.left(ConfigError.InvalidData([], `${expected} but received ${what}`))
  const listed = commaList(text)
  if (Either.isLeft(listed)) return refused(listed.left)
  const items = listed.right
  // alone, a comma at an end or not (`all,`)
  if (items.length === 1 && items[0].toLowerCase() === "all") return Either.right("all")
  const ids: Array<number> = []
  const quotable = isQuotable(text)
  for (const given of items) {
    const quoted = quotable ? JSON.stringify(given) : notShown(text)
    const match = selectionItem.exec(given)
    if (match === null) return refused(quoted)
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    if (to < from) return refused(quoted, "Expected ranges that do not run backwards (0-7, not 7-0)")
    if (to >= maxShardCount) return refused(quoted, `Expected shard ids of at most ${maxShardCount - 1} (an Identify carries no more)`)
    // (more ids than that repeat some: refused before a list of them is made)
    if (ids.length + to - from + 1 > maxShardCount) {
      return refused(`${ids.length + to - from + 1} or more`, `Expected at most ${maxShardCount} shard ids in all (more repeat some)`)
    }
    for (let id = from; id <= to; id++) ids.push(id)
  }
  return Either.right(ids)
}

/**
 * The shards to run (`shards`), read from the config value `name`: `all` (in any case), or shard ids
 * and ranges, comma-separated, a range taking both its ends (`0-7` is shards 0 to 7, as
 * `range(0, 8)`; `0,2,4-6`). An empty value, an item that is neither, a range that runs backwards,
 * an id above 65534, or more than 65535 ids in all (some must repeat) is a `ConfigError`; a repeated
 * id is refused by the options, as in a list. A value over 40 characters, or not printable ASCII, is
 * not quoted.
 *
 * @since 0.1.0
 */
export const shardsConfig = (name: string): Config.Config<ShardSelection> =>
  Config.nested(Config.mapOrFail(Config.string(), readSelection), name)

// shard ids for a message: the first five, and how many in all (a list of 5000 made a 29 KB line)
const listed = (ids: ReadonlyArray<unknown>): string =>
  ids.length > 5 ? `${ids.slice(0, 5).map(show).join(", ")}, ... (${ids.length} in all)` : ids.map(show).join(", ")

/**
 * Checks what can be checked before the shard count is known: the shard count if given, the
 * selection's ids, the startup window and each resume point's own fields. An Identify carries a
 * shard count of at most `Commands.maxShardCount` (65535), so a larger count, or an id above
 * 65534, is refused here. `options` are as {@link readOnce} gave them.
 *
 * @internal
 * @since 0.1.0
 */
export const checkSelection = (options: FleetOptions): Either.Either<void, InvalidOptions> => {
  const shape = notAnObject(options)
  if (shape !== undefined) return Either.left(invalidOptions([{ option: "", problem: shape }], undefined))
  const found: Array<OptionProblem> = []
  const count = options.shardCount
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 1)) {
    found.push(mustBe("shardCount", "a positive integer", show(count)))
  } else if (count !== undefined && count > maxShardCount) {
    found.push(mustBe("shardCount", `at most ${maxShardCount} (the most an Identify carries)`, String(count)))
  }
  const window = options.startupWindow
  if (window !== undefined && (!Number.isSafeInteger(window) || window < 1)) {
    found.push(mustBe("startupWindow", "a positive integer", show(window)))
  }
  // a session's options given to a fleet (a variable of a session's options, spread): a `shard`
  // was ignored, and every shard ran
  const sessions = Object.entries(options).filter(([key, value]) => (key === "shard" || key === "gatewayUrl") && value !== undefined).map(([key]) => key)
  if (sessions.length > 0) {
    found.push({
      option: soleOption(sessions),
      problem: `${sessions.join(" and ")} ${sessions.length === 1 ? "is a session's option" : "are a session's options"}, not a fleet's: ` +
        "a fleet runs the shards `shards` and `shardCount` say, each identifying where GET /gateway/bot or `gateway` says"
    })
  }
  // (`null` is no "left out": refused, as a session's options refuse it)
  const shards = options.shards === undefined ? "all" : options.shards
  const resume: unknown = options.resume === undefined ? [] : options.resume
  // the shapes the types promise, which options from JavaScript or a parsed file may not keep
  if (shards !== "all" && !Array.isArray(shards)) found.push(mustBe("shards", `"all" or a list of shard ids`, show(shards)))
  if (!Array.isArray(resume)) found.push(ofResume(`resume must be a list of resume points, got ${show(resume)}`))
  else found.push(...[...new Set(resume.flatMap(resumePointShapeProblems))].map(ofResume))
  if (found.length > 0) return Either.left(invalidOptions(found, options.token))
  if (shards !== "all") {
    if (shards.length === 0) found.push({ option: "shards", problem: "shards must not be empty" })
    // `Array.from`: `filter` skips a list's holes (`[0, , 2]`, from JavaScript), which were refused
    // only after GET /gateway/bot, as a session's shard
    const bad = Array.from(shards).filter((id) => !Number.isSafeInteger(id) || id < 0)
    if (bad.length > 0) found.push({ option: "shards", problem: `shard ids must be non-negative integers, got ${listed(bad)}` })
    const above = shards.filter((id) => Number.isSafeInteger(id) && id >= maxShardCount)
    if (above.length > 0) found.push({ option: "shards", problem: `shard ids must be at most ${maxShardCount - 1}, got ${listed(above)}` })
    if (new Set(shards).size !== shards.length) found.push({ option: "shards", problem: "shard ids must not repeat" })
  }
  // a point's own fields need no shard count: checked before GET /gateway/bot gives one
  for (const point of options.resume ?? []) {
    for (const problem of resumePointProblems(point, sourceOf(options), options.token)) found.push(ofResume(`${problem} (shard ${point.shard[0]})`))
  }
  return found.length === 0 ? Either.void : Either.left(invalidOptions(found, options.token))
}

/**
 * `options` as plain data, each value read once (as a session's are: inherited options
 * too), with each resume point read once as plain data too (a getter or a proxy of a store may
 * answer each read anew, or throw), or why they could not be read. A `resume` that is no list is
 * left for {@link checkSelection} to refuse.
 *
 * @internal
 * @since 0.1.0
 */
export const readOnce = (given: FleetOptions): Either.Either<FleetOptions, InvalidOptions> =>
  Either.flatMap(readOptions(given), (options) => {
    // (the list a copy already, read once with the options)
    const resume: unknown = notAnObject(options) === undefined ? options.resume : undefined
    if (!Array.isArray(resume)) return Either.right(options)
    const points: Array<unknown> = []
    for (let at = 0; at < resume.length; at++) {
      const read = readPoint(resume, at)
      if (Either.isLeft(read)) return Either.left(invalidOptions([ofResume(read.left)], options.token))
      points.push(read.right)
    }
    return Either.right({ ...options, resume: points as ReadonlyArray<ResumePoint> })
  })

/**
 * The shard ids to run, in ascending order, and the resume point of each shard that has one, once
 * the shard count is known (of two points of one gateway session, the one with the higher
 * sequence; two of different sessions are refused). A point of another shard count (stored before a
 * reshard: the count given, or the one `GET /gateway/bot` recommends, changed since) cannot be
 * resumed and is `stale`, left out: refused, it made every process handed the store's points fail
 * to start until someone emptied the store. Nor is a point saved over another encoding than the
 * fleet's `encoding`, or with other intents (`unmatched`): Discord resumes a session only over the
 * encoding it began with, and keeps the intents it identified with. A point of a shard the fleet
 * does not run is left out (`elsewhere`): one store may hand every process the points of all.
 *
 * @internal
 * @since 0.1.0
 */
export const resolveShards = (
  options: FleetOptions,
  shardCount: number,
  encoding: Encoding,
  intents: number
): Either.Either<
  {
    readonly ids: ReadonlyArray<number>
    readonly resume: ReadonlyMap<number, ResumePoint>
    readonly stale: ReadonlyArray<ResumePoint>
    readonly unmatched: ReadonlyArray<ResumePoint>
    readonly elsewhere: ReadonlyArray<ResumePoint>
  },
  InvalidOptions
> => {
  const found: Array<OptionProblem> = []
  const shards = options.shards ?? "all"
  const ids = shards === "all" ? range(0, shardCount) : [...shards].sort((a, b) => a - b)
  const outside = ids.filter((id) => id >= shardCount)
  // a count the program did not give is Discord's: said so, with the way to another
  const whose = options.shardCount === undefined ? " (GET /gateway/bot's recommendation; give shardCount for another)" : ""
  if (outside.length > 0) found.push({ option: "shards", problem: `shard ids must be below the shard count ${shardCount}${whose}, got ${listed(outside)}` })
  const resume = new Map<number, ResumePoint>()
  const stale: Array<ResumePoint> = []
  const unmatched: Array<ResumePoint> = []
  const elsewhere: Array<ResumePoint> = []
  // (a set: a store handing every point of 65535 shards looked each up in the list)
  const running = new Set(ids)
  for (const point of options.resume ?? []) {
    const [id, count] = point.shard
    if (count !== shardCount) stale.push(point)
    else if (!running.has(id)) elsewhere.push(point)
    else {
      // two points of one gateway session (an old fleet's, after the shard was stopped and resumed
      // in a fleet beside it, and the new fleet's): the later, by its sequence, is where it is
      const other = resume.get(id)
      if (other === undefined || (other.sessionId === point.sessionId && point.sequence > other.sequence)) resume.set(id, point)
      else if (other.sessionId !== point.sessionId) found.push(ofResume(`two resume points for shard ${id}, of different gateway sessions`))
    }
  }
  for (const [id, point] of resume) {
    if (!resumesOver(point, encoding, intents)) {
      resume.delete(id)
      unmatched.push(point)
    }
  }
  return found.length === 0 ? Either.right({ ids, resume, stale, unmatched, elsewhere }) : Either.left(invalidOptions(found, options.token))
}
