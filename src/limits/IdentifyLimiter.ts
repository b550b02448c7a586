/**
 * The identify limiter: Discord's concurrency semaphore (one identify per rate-limit key per 5 s,
 * the key being `shard_id % max_concurrency`) and the daily session-start budget.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { detached } from "../internal/detached.ts"
import { durationOf, isSleepable, longestSleepText } from "../internal/duration.ts"
import { isDue, monotonicMillis } from "../internal/due.ts"
import { kindOf } from "../internal/printable.ts"
import { isOptionsObject } from "../internal/record.ts"
import { TaggedError } from "../internal/taggedError.ts"
import { unknownOptionsIn, wholeList } from "../internal/unknownOptions.ts"
import * as DailyBudget from "./DailyBudget.ts"
import * as FifoSemaphore from "./FifoSemaphore.ts"

/**
 * The limits from `GET /gateway/bot`'s `session_start_limit` (`resetAfter` in milliseconds).
 *
 * @since 0.1.0
 */
export interface SessionStartLimit {
  readonly maxConcurrency: number
  readonly total: number
  readonly remaining: number
  readonly resetAfter: number
  /**
   * The bot these limits are for, as an opaque id (a session's `GET /gateway/bot` gives one made
   * from the token). A limiter serves one bot: Discord counts each bot's budget and keys apart, so a
   * limiter told of a second bot dies (a defect: the program's layers give two bots one limiter)
   * rather than mix them, which would identify one bot on the other's budget (a token reset).
   */
  readonly bot?: string | undefined
  /**
   * The limiter's `snapshot.counted` read just before these figures were asked for: the starts it
   * counted since may be missing from them (Discord answered before it saw those identifies), so
   * they are taken off `remaining` rather than given back. Absent: the figures are taken as they are.
   */
  readonly countedBefore?: number | undefined
}

/**
 * The daily identify budget is used up. Identifying anyway would get the bot's token reset, so
 * the limiter refuses until the budget refills `resetAfter` milliseconds from now.
 *
 * @since 0.1.0
 */
export class IdentifyBudgetExhausted extends TaggedError("IdentifyBudgetExhausted")<{
  /** The shard whose identify found the budget used up. */
  readonly shard: number
  readonly total: number
  readonly resetAfter: number
}> {
  override get message(): string {
    return `shard ${this.shard}: identify budget exhausted: all ${this.total} session starts are used; it refills in ` +
      `${Duration.format(Duration.millis(Math.ceil(this.resetAfter)))} (identifying before then would get the bot token reset)`
  }
}

/**
 * One rate-limit key: in how many ms it may identify next (0: now; sooner if its last identify is
 * still unanswered and the answer comes within the margin; while an identify is being sent, the
 * soonest it allows: margin and spacing from now, counted from its send's end) and how many
 * identifies hold or wait for it.
 *
 * @since 0.1.0
 */
export interface KeySnapshot {
  readonly key: number
  readonly nextFreeIn: number
  readonly queued: number
}

/**
 * What the limiter holds at one moment. `budget` is `undefined` until `configure` is called; its
 * `resetAfter` is in ms, and `nextTurnIn`, while the day's last tenth is spread, the ms until the
 * spread's next turn (absent while a turn is free; the turn goes to the shard that asked first).
 *
 * @since 0.1.0
 */
export interface IdentifySnapshot {
  readonly maxConcurrency: number
  readonly budget:
    | {
      readonly total: number
      readonly remaining: number
      readonly resetAfter: number
      readonly nextTurnIn?: number | undefined
    }
    | undefined
  readonly keys: ReadonlyArray<KeySnapshot>
  /**
   * How many session starts the limiter has counted since it was made, for a `configure`'s
   * `countedBefore` (a limiter of a program's own may leave it out): less those Discord may not
   * have seen yet (an identify being sent, or sent and unanswered within the margin), which an
   * answer asked for now may leave out as well.
   */
  readonly counted?: number | undefined
}

/**
 * Options for the in-memory limiter.
 *
 * @since 0.1.0
 */
export interface IdentifyLimiterOptions {
  /** Time between two identifies of one key, as Discord counts it. Default 5 seconds. */
  readonly spacing?: Duration.DurationInput | undefined
  /**
   * How long after an unanswered send the spacing starts, for what the client cannot see: two
   * identifies sent exactly `spacing` apart may reach Discord closer together (one connection
   * slower than the other), and one that arrives early is refused with op 9 and still costs a
   * session start. An answer (READY or op 9) ends it early: Discord has seen the identify by then.
   * Default 200 ms.
   */
  readonly margin?: Duration.DurationInput | undefined
  /**
   * What `identify` does when the budget is used up: `fail` with `IdentifyBudgetExhausted`
   * (default; identifies already waiting in line fail as the last start is spent), or `wait`
   * (logging a warning) until the budget refills, or a `configure` (a refreshed
   * `GET /gateway/bot`) says it has room. With `spreadLowBudget`, a budget this limiter spent to the
   * last start is waited for either way: the refill is the spread's next turn.
   */
  readonly onExhausted?: "fail" | "wait" | undefined
  /**
   * Whether the last tenth of the day's session starts (from where the low-budget warning is told)
   * is spread over the time left until the refill (default true): each identify then goes no sooner
   * than the time left divided by the starts left plus one after the one before, whatever its key,
   * so shards caught in a reconnect loop (a gateway refusing every Identify) keep a start for each
   * stretch of the day instead of spending the last ones at the keys' pace and stopping with
   * `IdentifyBudgetExhausted` for the rest of it. False spends them at the keys' pace.
   */
  readonly spreadLowBudget?: boolean | undefined
}

/**
 * The identify limiter service. `identify(shardId, send)` runs `send` once that shard may
 * identify, holding the shard's key meanwhile, and counts the spacing from when Discord has
 * certainly seen the identify: its answer, or `margin` after `send` is done, whichever is first.
 * Resumes do not go through it.
 *
 * @since 0.1.0
 */
export class IdentifyLimiter extends Context.Tag("discord-gateway/IdentifyLimiter")<
  IdentifyLimiter,
  {
    /**
     * Sets the limits from `GET /gateway/bot`. Before it: max concurrency 1, budget unknown. A
     * new max concurrency starts its keys where the old ones left off; identifies waiting on an
     * old key line up again under their new one. Limits that are not counts (a max concurrency
     * that is no whole number from 1 to 65535; a NaN, negative or infinite budget, as `Number` of
     * an unset variable gives) die, saying which: taken, they would hang every identify, lift the
     * budget or ask for more buckets than a process holds.
     */
    readonly configure: (limit: SessionStartLimit) => Effect.Effect<void>
    /**
     * Waits for the shard's key (first come, first served), takes one identify from the budget,
     * and runs `send(answered, unsent)`, which sends Identify. The caller runs `answered` when the
     * gateway answers that Identify (READY or op 9), and `unsent` (a limiter may give none) when it
     * was never written (the socket gone): the start it took is given back. The key's next
     * identify waits `spacing` from the answer, or from `margin` after the end of `send` if that
     * comes first. A session interrupts it when its connection ends (before or after `send`),
     * never at READY: what a limiter does after `send` runs on. The connection's end waits for
     * what it interrupts: a finalizer records when the key is free again, and does not wait for it.
     * A session gives its `shardCount` too: shards of one id in two counts (a reshard's two fleets)
     * are two shards.
     */
    readonly identify: <A, E, R>(
      shardId: number,
      send: (answered: Effect.Effect<void>, unsent?: Effect.Effect<void>) => Effect.Effect<A, E, R>,
      shardCount?: number
    ) => Effect.Effect<A, E | IdentifyBudgetExhausted, R>
    /**
     * Done once the budget has a session start left, taking none, as `identify` treats a budget
     * used up: it fails with `IdentifyBudgetExhausted`, or waits for the refill. A session asks it
     * before it opens a socket to identify, so none is opened to sit unidentified until the
     * refill (it reserves nothing: shards asking together may pass on the last start; but at a turn
     * of the in-memory limiter's low-budget spread it lets one through, which holds the turn until
     * it identifies, for up to a minute; `shardCount` as `identify`'s). Optional: a limiter of a
     * program's own without it is asked only at `identify`.
     */
    readonly budgetReady?: ((shardId: number, shardCount?: number) => Effect.Effect<void, IdentifyBudgetExhausted>) | undefined
    /**
     * What the limiter knows now. A fleet reads `maxConcurrency` once its limits are configured,
     * for its rate-limit keys and startup window: a limiter of a program's own must say it (a
     * positive integer).
     */
    readonly snapshot: Effect.Effect<IdentifySnapshot>
  }
>() {}

/**
 * One rate-limit key: when its spacing counts from (the last identify's answer, or `margin` after
 * its send: the latest Discord can have seen it), the answer that can still bring that time
 * forward, and its turns (one at a time, first come first served).
 */
interface Gate {
  lastAt: number | undefined
  pending: Deferred.Deferred<void> | undefined
  readonly turns: FifoSemaphore.FifoSemaphore
  /** Replaced by the keys of a new max concurrency: its waiters line up again there. */
  retired: boolean
  /** Done once it is retired: its waiters stop waiting out its spacing and line up again at once. */
  readonly retirement: Deferred.Deferred<void>
  /** Its identify being sent, if one is: done once the send ended. */
  sending: Deferred.Deferred<void> | undefined
}

// an option in milliseconds, or what is wrong with it: a duration that is none, negative, NaN,
// infinite (`Duration.decode` would take a negative or NaN one as zero: identifies with no spacing)
// or longer than a sleep ends after (the key's next identify would never go)
const millisOf = (name: string, input: Duration.DurationInput | undefined, fallback: number): number | string => {
  if (input === undefined) return fallback
  const duration = durationOf(input)
  return duration !== undefined && isSleepable(duration)
    ? Duration.toMillis(duration)
    : `${name} must be a non-negative, finite duration${longestSleepText}`
}

// every option of `make` (checked against its type)
const optionKeys = wholeList<IdentifyLimiterOptions>()({ spacing: true, margin: true, onExhausted: true, spreadLowBudget: true })

/**
 * Builds an in-memory identify limiter, for the shards of one process. Options it cannot use (a
 * misspelt one; a negative, NaN or infinite duration, or one over 24 days; an `onExhausted` that is
 * neither `fail` nor `wait`; a `spreadLowBudget` that is no boolean) are a mistake in the program,
 * not in its input: they die at once, saying which.
 *
 * @since 0.1.0
 */
export const make = (options: IdentifyLimiterOptions = {}): Effect.Effect<Context.Tag.Service<IdentifyLimiter>> =>
  Effect.suspend(() => {
    // from plain JavaScript, `null` died with a TypeError reading its `spacing`
    const given: unknown = options
    if (!isOptionsObject(given)) return Effect.dieMessage(`invalid IdentifyLimiter options: options must be an object, got ${kindOf(given)}`)
    const spacing = millisOf("spacing", options.spacing, 5000)
    const margin = millisOf("margin", options.margin, 200)
    const onExhausted: unknown = options.onExhausted ?? "fail"
    const known = onExhausted === "fail" || onExhausted === "wait"
    // from plain JavaScript: a misspelt option (`spaceing`) was ignored, its default kept, and a
    // spreadLowBudget of "false" or 0 was taken as true
    const spread: unknown = options.spreadLowBudget ?? true
    const unknown = unknownOptionsIn(options, optionKeys)
    // a key's wait after an unanswered identify is the two together
    const together = typeof spacing === "number" && typeof margin === "number" &&
      !isSleepable(Duration.millis(spacing + margin)) && `spacing and margin together must be at most 24 days`
    if (typeof spacing === "number" && typeof margin === "number" && !together && known && typeof spread === "boolean" && unknown === undefined) {
      return Effect.sync(() => build(spacing, margin, onExhausted, spread))
    }
    const problems = [
      unknown,
      spacing,
      margin,
      together,
      known ? 0 : `onExhausted must be "fail" or "wait"`,
      typeof spread === "boolean" ? 0 : `spreadLowBudget must be true or false, got ${kindOf(spread)}`
    ]
      .filter((problem): problem is string => typeof problem === "string")
    return Effect.dieMessage(`invalid IdentifyLimiter options: ${problems.join("; ")}`)
  })

// the most buckets a limiter keeps: what a GET /gateway/bot answer may carry (`GatewayBot` holds
// max_concurrency to an Identify's shard count)
const maxConcurrencyLimit = 65_535

// what is wrong with limits given to `configure`: each must be a count
const limitProblems = (limit: SessionStartLimit): Array<string> => {
  const problems: Array<string> = []
  // past 65535 (what no GET /gateway/bot answer carries) the buckets' table was none V8 makes:
  // 2^32 died at the first snapshot with "Invalid array length"
  if (!Number.isSafeInteger(limit.maxConcurrency) || limit.maxConcurrency < 1 || limit.maxConcurrency > maxConcurrencyLimit) {
    problems.push(`maxConcurrency must be a whole number from 1 to ${maxConcurrencyLimit}, got ${limit.maxConcurrency}`)
  }
  for (const field of ["total", "remaining", "resetAfter"] as const) {
    const value = limit[field]
    if (!Number.isFinite(value) || value < 0) problems.push(`${field} must be a finite number of at least 0, got ${value}`)
  }
  const before = limit.countedBefore
  if (before !== undefined && (!Number.isSafeInteger(before) || before < 0)) {
    problems.push(`countedBefore must be a whole number of at least 0, got ${before}`)
  }
  return problems
}

const build = (spacing: number, margin: number, onExhausted: "fail" | "wait", spread: boolean): Context.Tag.Service<IdentifyLimiter> => {
  let maxConcurrency = 1
  let gates = new Map<number, Gate>()
  let inheritedLastAt: number | undefined
  const budget = DailyBudget.make({
    onExhausted,
    spread,
    exhausted: (shard, total, resetAfter) => new IdentifyBudgetExhausted({ shard, total, resetAfter })
  })
  // the bot it serves, once told
  let bot: string | undefined
  // identifies of retired keys still being sent: every key of now waits for them to go out
  const retiredSends = new Set<Deferred.Deferred<void>>()
  // The starts counted that Discord may not have seen yet, each with when it surely has (its
  // answer, or `margin` after its send ended; never while it is sent): a refreshed answer asked
  // for meanwhile may leave them out, so `snapshot.counted` leaves them out too (an Identify sent
  // 10 ms before the request, unanswered, had its start given back by the answer)
  const unseen = new Set<{ at: number }>()
  const unseenAt = (now: number): number => {
    for (const start of unseen) if (start.at <= now) unseen.delete(start)
    return unseen.size
  }

  // whether another shard shares `shardId`'s rate-limit key under the max concurrency of now
  const keyMateOf = (shardId: number) => (other: number): boolean => other % maxConcurrency === shardId % maxConcurrency

  const gateFor = (key: number): Gate => {
    let gate = gates.get(key)
    if (gate === undefined) {
      gate = {
        lastAt: inheritedLastAt,
        pending: undefined,
        turns: FifoSemaphore.make(1),
        retired: false,
        retirement: Deferred.unsafeMake(FiberId.none),
        sending: undefined
      }
      gates.set(key, gate)
    }
    return gate
  }

  // done once `gate` is retired, or with `fail` once the last start is spent: a waiter on the key,
  // in its line or waiting out its spacing, then looks again (lines up anew, or fails)
  const lineChanged = (gate: Gate): Effect.Effect<void> =>
    onExhausted === "fail" ? Effect.raceFirst(Deferred.await(gate.retirement), budget.spent) : Deferred.await(gate.retirement)

  /**
   * Holding the key: waits out its spacing (cut short when an answer moves it forward, when the
   * key is retired, and with `fail` when the last session start is spent), then the budget, then
   * counts the identify. With `fail`, a used-up budget fails it at once. False when the key was
   * retired meanwhile.
   */
  const awaitTurn = (gate: Gate, shard: DailyBudget.Claimant, waiter: DailyBudget.SocketWaiter): Effect.Effect<boolean, IdentifyBudgetExhausted> =>
    Effect.clockWith((clock) => {
      if (gate.retired) return Effect.succeed(false)
      // its spacing is known once it went out (`inherit`)
      const retiredSend = retiredSends.values().next().value
      if (retiredSend !== undefined) return Effect.zipRight(Deferred.await(retiredSend), awaitTurn(gate, shard, waiter))
      const now = monotonicMillis(clock)
      const resetAfter = budget.exhaustedFor(now)
      // the low budget's spread first: after the last start it waits for the refill, its next turn
      const keyMate = keyMateOf(shard.shardId)
      const spreadAt = budget.turnOf(now, shard, keyMate)
      if (spreadAt !== undefined) {
        return Effect.zipRight(waiter.awaitTurn(spreadAt, now, lineChanged(gate)), awaitTurn(gate, shard, waiter))
      }
      // a turn due goes to the identify that waited for the spread first, also while it waits out
      // its key's spacing
      if (waiter.behind()) return Effect.zipRight(waiter.awaitAhead(lineChanged(gate)), awaitTurn(gate, shard, waiter))
      if (resetAfter !== undefined && onExhausted === "fail") return Effect.fail(budget.exhausted(shard.shardId, resetAfter))
      const turnAt = gate.lastAt === undefined ? now : gate.lastAt + spacing
      if (!isDue(turnAt, now)) {
        // a turn of the spread due meanwhile is its: a shard asking `ready` later took it, and this
        // socket waited open for the refill
        waiter.hold()
        const wakes = [Effect.sleep(turnAt - now), lineChanged(gate)]
        if (gate.pending !== undefined) wakes.push(Deferred.await(gate.pending))
        const wait = detached(Effect.raceAll(wakes))
        return Effect.zipRight(wait, awaitTurn(gate, shard, waiter))
      }
      if (resetAfter !== undefined) return Effect.zipRight(budget.awaitRefill(resetAfter), awaitTurn(gate, shard, waiter))
      gate.lastAt = now
      gate.pending = undefined
      // counted: a turn of the spread is no longer its to wait for
      return Effect.as(Effect.zipRight(budget.count(now, shard, keyMate), waiter.leave), true)
    })

  /** An identify of a retired key, sent at `at`: every key of now waits for it. */
  const inherit = (at: number): void => {
    if (inheritedLastAt === undefined || at > inheritedLastAt) inheritedLastAt = at
    for (const gate of gates.values()) {
      if (gate.lastAt === undefined || at > gate.lastAt) gate.lastAt = at
    }
  }

  // an identify keeps its place before `budgetReady` callers, once it has waited for a turn of the
  // spread with its socket open, until it is counted or gives up: also while it lines up again under
  // a new max concurrency's key (it lost it, and waited for the refill)
  const identify = <A, E, R>(
    shardId: number,
    send: (answered: Effect.Effect<void>, unsent?: Effect.Effect<void>) => Effect.Effect<A, E, R>,
    shardCount?: number
  ): Effect.Effect<A, E | IdentifyBudgetExhausted, R> =>
    Effect.suspend(() => {
      const shard: DailyBudget.Claimant = { shardId, shardCount }
      const waiter = budget.socketWaiter(shard, keyMateOf(shardId))
      return Effect.ensuring(lineUp(shard, send, waiter), waiter.leave)
    })

  const lineUp = <A, E, R>(
    shard: DailyBudget.Claimant,
    send: (answered: Effect.Effect<void>, unsent?: Effect.Effect<void>) => Effect.Effect<A, E, R>,
    waiter: DailyBudget.SocketWaiter
  ): Effect.Effect<A, E | IdentifyBudgetExhausted, R> =>
    Effect.clockWith((clock) => {
      const now = monotonicMillis(clock)
      const resetAfter = budget.exhaustedFor(now)
      if (resetAfter !== undefined && onExhausted === "fail" && budget.turnOf(now, shard) === undefined) {
        return Effect.fail(budget.exhausted(shard.shardId, resetAfter))
      }
      const gate = gateFor(shard.shardId % maxConcurrency)
      // this identify's answer, which may come before its send is done
      const answer = Deferred.unsafeMake<void>(FiberId.none)
      let answeredAt: number | undefined
      // when Discord has surely seen it, once it is counted (see `unseen`)
      const seen = { at: Infinity }
      const answered = Effect.sync(() => {
        if (answeredAt !== undefined) return
        answeredAt = monotonicMillis(clock)
        seen.at = Math.min(seen.at, answeredAt)
        // a later identify of the key owns the gate by now: this answer says nothing about it
        if (gate.pending !== answer) return
        gate.lastAt = Math.min(gate.lastAt!, answeredAt)
        gate.pending = undefined
        Deferred.unsafeDone(answer, Exit.void)
      })
      const sending = Deferred.unsafeMake<void>(FiberId.none)
      const sent = Effect.sync(() => {
        gate.lastAt = Math.min(monotonicMillis(clock) + margin, answeredAt ?? Infinity)
        seen.at = gate.lastAt
        gate.pending = answeredAt === undefined ? answer : undefined
        if (gate.retired) inherit(gate.lastAt)
        gate.sending = undefined
        retiredSends.delete(sending)
        Deferred.unsafeDone(sending, Exit.void)
      })
      // its Identify never written: the start and the turn of the spread it took are given back
      const unsent = Effect.clockWith((clock) =>
        Effect.sync(() => {
          unseen.delete(seen)
          budget.uncount(shard, monotonicMillis(clock))
        })
      )
      const sendCounted = Effect.suspend(() => {
        unseenAt(monotonicMillis(clock))
        unseen.add(seen)
        gate.sending = sending
        return Effect.map(Effect.ensuring(send(answered, unsent), sent), Option.some)
      })
      // a waiter whose key was retired meanwhile lines up again with the new keys; one in line
      // behind an identify being sent does too, and with `fail` looks again at the budget once the
      // last start is spent (it waited for that send to end)
      return Effect.flatMap(
        gate.turns.withPermitUnless(lineChanged(gate), Effect.flatMap(awaitTurn(gate, shard, waiter), (counted) =>
          counted ? sendCounted : Effect.succeed(Option.none()))),
        (result) =>
          Option.match(Option.flatten(result), {
            onNone: () => Effect.zipRight(waiter.keyLost, lineUp(shard, send, waiter)),
            onSome: Effect.succeed
          })
      )
    })

  const configure = (limit: SessionStartLimit): Effect.Effect<void> =>
    Effect.clockWith((clock) => {
      const problems = limitProblems(limit)
      if (problems.length > 0) return Effect.dieMessage(`invalid IdentifyLimiter limits: ${problems.join("; ")}`)
      if (limit.bot !== undefined && bot !== undefined && limit.bot !== bot) {
        return Effect.dieMessage(
          "one IdentifyLimiter serves two bots: Discord limits each bot's identifies apart, so give each bot its own (provide Live.layer to each bot's program apart, or Layer.fresh(Live.layer): one layer used twice in one graph is built once)"
        )
      }
      bot ??= limit.bot
      return Effect.sync(() => {
        budget.configure(limit, monotonicMillis(clock), limit.countedBefore)
        const next = limit.maxConcurrency
        if (next === maxConcurrency) return
        // New keys: each starts as if it had identified with the latest identify of any old key,
        // which never breaks the spacing Discord measured under the old keys.
        for (const gate of gates.values()) {
          if (gate.lastAt !== undefined && (inheritedLastAt === undefined || gate.lastAt > inheritedLastAt)) {
            inheritedLastAt = gate.lastAt
          }
        }
        maxConcurrency = next
        for (const gate of gates.values()) {
          gate.retired = true
          Deferred.unsafeDone(gate.retirement, Exit.void)
          if (gate.sending !== undefined) retiredSends.add(gate.sending)
        }
        gates = new Map()
      })
    })

  const snapshot = Effect.clockWith((clock) =>
    Effect.sync((): IdentifySnapshot => {
      const now = monotonicMillis(clock)
      const keys = Array.from({ length: maxConcurrency }, (_, key): KeySnapshot => {
        const gate = gates.get(key)
        const lastAt = gate === undefined ? inheritedLastAt : gate.lastAt
        // being sent, its identify counts from when the send ends: not before now; so does one of
        // a key a new max_concurrency retired, which every key waits for
        const counted = gate?.sending === undefined && retiredSends.size === 0 ? lastAt : now + margin
        return {
          key,
          nextFreeIn: counted === undefined ? 0 : Math.max(0, counted + spacing - now),
          queued: gate === undefined ? 0 : gate.turns.waiting() + 1 - gate.turns.free()
        }
      })
      return {
        maxConcurrency,
        budget: budget.snapshot(now),
        keys,
        counted: budget.counted() - unseenAt(now)
      }
    })
  )

  const budgetReady = (shardId: number, shardCount?: number) => budget.ready({ shardId, shardCount })
  return { configure, identify, budgetReady, snapshot }
}

/**
 * The in-memory identify limiter, shared by the shards of one process.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<IdentifyLimiter> = Layer.effect(IdentifyLimiter, make())

/**
 * The in-memory identify limiter with options.
 *
 * @since 0.1.0
 */
export const layerMemoryWith = (options: IdentifyLimiterOptions): Layer.Layer<IdentifyLimiter> =>
  Layer.effect(IdentifyLimiter, make(options))
