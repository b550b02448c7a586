/**
 * A session's wait for the identify limiter's daily budget: how long it waited, what it tells
 * while it waits (the refill or the spread's turn it waits for, and when), and `GET /gateway/bot`
 * asked again meanwhile, so that a limiter learns a refill from Discord's answer.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { causeLine } from "../../internal/causeLine.ts"
import { monotonicMillis } from "../../internal/due.ts"
import { withoutToken } from "../../internal/secret.ts"
import { isLoudAt, linesOf } from "../../internal/told.ts"
import type { IdentifyBudgetExhausted, IdentifySnapshot } from "../../limits/IdentifyLimiter.ts"
import type { GatewayInfoError } from "../SessionError.ts"
import { type Reason, Reason as Reasons, SessionState } from "../SessionState.ts"

type BudgetWait = Reason & { readonly _tag: "IdentifyBudget" }

// What a wait for the identify budget waits for, and when it comes (epoch ms at `now`, to the
// second), as the limiter's snapshot says: a limiter of the program's own that says no time, or
// none that is one, says nothing. `next` is `Data`, so two reasons saying the same are `Equal`
// (a plain object compared by reference)
const budgetWaitOf = (budget: IdentifySnapshot["budget"], now: number): BudgetWait => {
  if (budget === undefined) return Reasons.IdentifyBudget({})
  const [kind, inMs] = budget.remaining <= 0 ? ["Refill", budget.resetAfter] as const : ["SpreadTurn", budget.nextTurnIn] as const
  const at = inMs === undefined ? NaN : Math.ceil((now + Math.max(0, inMs)) / 1000) * 1000
  return Number.isFinite(at) ? Reasons.IdentifyBudget({ next: Data.struct({ kind, at }) }) : Reasons.IdentifyBudget({})
}

/**
 * What a session's budget wait works with.
 *
 * @since 0.1.0
 */
export interface BudgetWaitOptions {
  readonly shardId: number
  /** The shard count it runs in: a reshard's two fleets run shards of one id side by side. */
  readonly shardCount: number
  /** The identify limiter, whose snapshot says what the wait waits for. */
  readonly limiter: { readonly snapshot: Effect.Effect<IdentifySnapshot> }
  readonly clock: Clock.Clock
  /** Masked in what a failed snapshot is told with. */
  readonly token: unknown
  /** How often `GET /gateway/bot` is looked at again while waiting (at most each minute). */
  readonly gatewayInfoMaxAge: Duration.DurationInput
  /**
   * Asks for the gateway URL (`GET /gateway/bot`, where the session takes its URL from it), which
   * tells the limiter its budget; `undefined` where a URL or a source was given (it tells nothing).
   */
  readonly gatewayUrl: Effect.Effect<string, GatewayInfoError> | undefined
  readonly transition: (to: SessionState, reason: Reason) => Effect.Effect<void>
}

/**
 * Waits until the limiter's `ready` lets shard `shardId` identify, and returns for how many ms.
 * One that has to wait says so, and until when, as a `Disconnected` transition (it showed
 * `ConnectingHttp` for the hours of a spread's turn), and `ConnectingHttp` again once it may; it
 * asks `GET /gateway/bot` again meanwhile. An answer no retry can mend ends the wait, failing.
 *
 * @since 0.1.0
 */
export const awaitBudget = (
  options: BudgetWaitOptions,
  ready: (shardId: number, shardCount?: number) => Effect.Effect<void, IdentifyBudgetExhausted>
): Effect.Effect<number, IdentifyBudgetExhausted | GatewayInfoError> =>
  Effect.gen(function*() {
    const { clock, transition } = options
    const from = monotonicMillis(clock)
    // its exit kept as a value: a fiber that fails has Effect log the cause (a limiter's defect
    // may quote the token), which the loop tells masked
    const waiting = yield* Effect.fork(Effect.exit(ready(options.shardId, options.shardCount)))
    // an answer at hand comes before this looks
    yield* Effect.yieldNow()
    if (Option.isSome(yield* Fiber.poll(waiting))) return yield* Effect.as(Effect.flatten(Fiber.join(waiting)), 0)
    // the snapshot raced too: a limiter of the program's own slow to give one held up an
    // identify its budget allowed
    const wait = yield* Effect.raceFirst(Effect.as(Fiber.await(waiting), undefined), budgetWait(options))
    if (wait === undefined) return yield* Effect.as(Effect.flatten(Fiber.join(waiting)), monotonicMillis(clock) - from)
    yield* transition(SessionState.Disconnected(), wait)
    yield* Effect.raceFirst(Effect.flatten(Fiber.join(waiting)), awaiting(options, wait))
    yield* transition(SessionState.ConnectingHttp(), Reasons.Start())
    return monotonicMillis(clock) - from
  })

// how many times in a row each limiter's snapshot failed, whichever shards asked
const snapshotFailures = new WeakMap<object, number>()

// the wait for the budget as the limiter says it now; one whose snapshot fails says no time, and
// the failure is told, masked, as the limiter's line (the bot's trouble, not the shard's) at
// Warning at the first, the second, the fourth... failure of that limiter in a row, else at Debug
// (each waiting shard told it every minute: a thousand Warnings a minute for a bot of a thousand)
const budgetWait = (options: BudgetWaitOptions): Effect.Effect<BudgetWait> =>
  Effect.map(options.limiter.snapshot, ({ budget }) => {
    snapshotFailures.delete(options.limiter)
    return budgetWaitOf(budget, options.clock.unsafeCurrentTimeMillis())
  }).pipe(
    Effect.catchAllCause((cause: Cause.Cause<never>) => {
      const inARow = (snapshotFailures.get(options.limiter) ?? 0) + 1
      snapshotFailures.set(options.limiter, inARow)
      const line = `the identify limiter's snapshot failed (${inARow} in a row): ${withoutToken(causeLine(cause), options.token)}`
      const told = linesOf("IdentifyLimiter", isLoudAt(inARow) ? Effect.logWarning(line) : Effect.logDebug(line))
      return Effect.as(told, Reasons.IdentifyBudget({}))
    })
  )

// While waiting for the budget: `GET /gateway/bot` asked again once its answer is
// `gatewayInfoMaxAge` old (configuring the limiter with the budget it says): the cache is looked
// at each minute (or `gatewayInfoMaxAge`, if shorter), and fetches only an answer that old (a
// sleep of the whole age from the wait's start found an answer of 50 minutes 110 minutes old);
// and the wait told again where what comes next changed (a turn gone to a shard that asked
// first, a refreshed answer that moved the refill; not a turn free at this instant)
const awaiting = (options: BudgetWaitOptions, told: BudgetWait): Effect.Effect<never, GatewayInfoError> =>
  Effect.sleep(Duration.min(options.gatewayInfoMaxAge, Duration.minutes(1))).pipe(
    // an answer no retry can mend ends the wait, and the session, as at a connection's start
    // (a 401 after the token was reset was ignored: the session waited for the refill, a day);
    // a URL given, or a source's, tells the limiter nothing: not asked (a source was, each minute)
    Effect.zipRight(options.gatewayUrl === undefined ? Effect.void : Effect.catchIf(options.gatewayUrl, (error) => error.passing, () => Effect.void)),
    Effect.zipRight(budgetWait(options)),
    Effect.flatMap((wait) => {
      // a snapshot saying no time (as at a turn free this instant) keeps what was told, until that
      // time has passed (a status view showed a refill time hours gone)
      const unchanged = wait.next === undefined
        ? told.next === undefined || told.next.at >= options.clock.unsafeCurrentTimeMillis()
        : wait.next.kind === told.next?.kind && wait.next.at === told.next.at
      return unchanged
        ? awaiting(options, told)
        : Effect.zipRight(options.transition(SessionState.Disconnected(), wait), awaiting(options, wait))
    })
  )
