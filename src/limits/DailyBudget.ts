/**
 * The daily session-start budget of the in-memory identify limiter: the starts left until the
 * refill, the warning once they run low, and the spread of the last tenth over the time to the
 * refill (its turns, the shards holding one, the identifies waiting for one with their socket open).
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { detached } from "../internal/detached.ts"
import { sleepMillis } from "../internal/duration.ts"
import { isDue, monotonicMillis } from "../internal/due.ts"
import { linesOf } from "../internal/told.ts"

/**
 * A budget as `GET /gateway/bot` gives it and a limiter's snapshot shows it (`resetAfter` in
 * milliseconds).
 *
 * @since 0.1.0
 */
export interface BudgetFigures {
  readonly total: number
  readonly remaining: number
  readonly resetAfter: number
}

/**
 * A budget as a limiter's snapshot shows it: the figures, and while the day's last tenth is spread,
 * in how many ms its next turn comes (absent while one is free).
 *
 * @since 0.1.0
 */
export interface BudgetSnapshot extends BudgetFigures {
  readonly nextTurnIn?: number | undefined
}

/**
 * What a budget does once used up (`onExhausted`), and whether its last tenth is spread.
 *
 * @since 0.1.0
 */
export interface BudgetPolicy<E> {
  readonly onExhausted: "fail" | "wait"
  readonly spread: boolean
  /** The error of a shard that found the budget used up, `resetAfter` ms before the refill. */
  readonly exhausted: (shard: number, total: number, resetAfter: number) => E
}

/**
 * A shard as the budget tells its turns apart: its id, and the shard count it runs in where its
 * caller says it (a reshard's two fleets run shards of one id side by side: the old fleet's shard
 * 1 holding a turn of the spread let the new fleet's shard 1 through with it).
 *
 * @since 0.1.0
 */
export interface Claimant {
  readonly shardId: number
  readonly shardCount?: number | undefined
}

/**
 * One limiter's budget. Times are the `Clock`'s monotonic milliseconds, read by the caller.
 *
 * @since 0.1.0
 */
export interface DailyBudget<E> {
  /** Ms until the budget refills if it is used up at `now` (refilling it first, if due), else `undefined`. */
  readonly exhaustedFor: (now: number) => number | undefined
  /**
   * When the spread lets the shard's identify go (no shard given: its next turn), if that is later
   * than `now`. A shard holding its key takes a turn a shard of its key claimed (`keyMate` says
   * which are), as the claimant would, once per claim: the claimant waits for the key behind it,
   * and goes a key's spacing after it, on its claim.
   */
  readonly turnOf: (now: number, shard?: Claimant, keyMate?: (shardId: number) => boolean) => number | undefined
  /**
   * One identify of the shard that may wait for a turn of the spread with its socket open; one that
   * may take a key-mate's claimed turn (`keyMate`, as `turnOf`) waits behind no other, as the
   * claimant does not.
   */
  readonly socketWaiter: (shard: Claimant, keyMate?: (shardId: number) => boolean) => SocketWaiter
  /**
   * With `wait`, until the budget used up refills, or a refreshed answer says how much is left;
   * the first wait while it stays used up says so, as the bot's.
   */
  readonly awaitRefill: (resetAfter: number) => Effect.Effect<void>
  /**
   * Counts one identify of the shard at `now`, telling once when the budget runs low; one that took
   * a key-mate's claimed turn (`turnOf` with the same `keyMate`) uses that claim's one loan up.
   */
  readonly count: (now: number, shard: Claimant, keyMate?: (shardId: number) => boolean) => Effect.Effect<void>
  /**
   * Gives back the start last counted for the shard: its Identify was never written (the socket
   * gone between Hello and Identify), so Discord spent none. The shard holds again the turn of the
   * spread it claimed, from `now` (its retry connects anew), or lends it again; where the budget
   * was refilled or refreshed since, only the count goes (the figures are Discord's).
   */
  readonly uncount: (shard: Claimant, now: number) => void
  /** Done once the last start is counted, or a refreshed answer says none is left. */
  readonly spent: Effect.Effect<void>
  /** The limiter's `budgetReady`. */
  readonly ready: (shard: Claimant) => Effect.Effect<void, E>
  /**
   * Takes a refreshed `GET /gateway/bot` answer's budget at `now`, less the starts counted since
   * `countedBefore` (what `counted` said as the answer was asked for), if given.
   */
  readonly configure: (limit: BudgetFigures, now: number, countedBefore?: number) => void
  /** How many starts were counted since the budget was made, known or not. */
  readonly counted: () => number
  /** The budget at `now`, `undefined` until configured. */
  readonly snapshot: (now: number) => BudgetSnapshot | undefined
  /** The error of a shard that found the budget used up. */
  readonly exhausted: (shard: number, resetAfter: number) => E
}

/**
 * An identify holding its key and socket. From its first wait for a turn of the spread until it
 * leaves (counted, or given up), the turns go to it and its like before any shard asking `ready`,
 * also while it waits out its key's spacing after the turn came.
 *
 * @since 0.1.0
 */
export interface SocketWaiter {
  /**
   * Takes its place before shards asking `ready`, and behind the identifies that waited before it,
   * from now: a turn due is its once those before it are counted (or gone), and its key's spacing
   * is out.
   */
  readonly hold: () => void
  /** Waits for the spread's turn at `until`, or until `wake`: the caller then looks again. */
  readonly awaitTurn: (until: number, now: number, wake: Effect.Effect<void>) => Effect.Effect<void>
  /**
   * Whether a turn due now is another's: while the spread lasts, an identify that waited before
   * this one with its socket open is still waiting (the turns went to whichever timer fired first:
   * the one that waited longest could be passed for hours).
   */
  readonly behind: () => boolean
  /** Takes its place, and waits until the line, the spread or the budget moves, or until `wake`. */
  readonly awaitAhead: (wake: Effect.Effect<void>) => Effect.Effect<void>
  /**
   * It lines up for a key again (its own retired by a new max concurrency): until it holds one, the
   * identifies behind it do not wait for it (one of them may hold the key it waits for).
   */
  readonly keyLost: Effect.Effect<void>
  /** Gives its place up, once counted or given up; again, it does nothing. */
  readonly leave: Effect.Effect<void>
}

// a claim's key: shards of one id in two shard counts are two shards
const claimOf = ({ shardCount, shardId }: Claimant): string => shardCount === undefined ? `${shardId}` : `${shardId}/${shardCount}`

/** Discord's budget window: a day. The next reset after a refill, until `configure` says otherwise. */
const budgetPeriod = 24 * 60 * 60 * 1000

/**
 * How long a shard that passed `ready` at a turn of the spread holds it: longer than its
 * connection's connect and Hello take (15 s and 20 s by default); one that has not identified by
 * then (it failed to connect, or stopped) leaves its turn to the next.
 */
const claimHoldMs = 60_000

// a span of hours as a person reads it: to the second (`5h 12m 3s`, not `... 3s 347ms`)
const inSeconds = (ms: number): string => Duration.format(Duration.seconds(Math.max(1, Math.round(ms / 1000))))

/** The session starts left at which the budget is told to be low: a tenth of the day's. */
const lowBudget = (total: number): number => Math.floor(total / 10)

interface Budget {
  readonly total: number
  remaining: number
  resetAt: number
  /** Whether it was told to be low since it last refilled. */
  lowTold: boolean
  /** Whether an identify was told to wait for the refill since it last had starts left. */
  exhaustedTold: boolean
}

/** A signal waited on by many and given to all at once, then made anew. */
interface Signal {
  readonly await: Effect.Effect<void>
  readonly fire: () => void
}

const makeSignal = (): Signal => {
  let current = Deferred.unsafeMake<void>(FiberId.none)
  return {
    await: Effect.suspend(() => Deferred.await(current)),
    fire: () => {
      Deferred.unsafeDone(current, Exit.void)
      current = Deferred.unsafeMake(FiberId.none)
    }
  }
}

/**
 * Builds a budget, unknown until `configure`d (an unknown budget counts nothing and never runs out).
 *
 * @since 0.1.0
 */
export const make = <E>(policy: BudgetPolicy<E>): DailyBudget<E> => {
  let budget: Budget | undefined
  // each `configure`: a wait for the budget looks again
  const changed = makeSignal()
  // the last session start counted, or a refreshed answer saying none is left
  const spent = makeSignal()
  // when the last identify of any key was counted: the spread's next turn is worked out from it
  // and the budget as it is now (a refreshed answer moves it)
  let lastCountedAt: number | undefined
  // every start counted, for the answers asked for before some of them
  let counted = 0
  // shards that passed `ready` at a turn of the spread and have not identified yet (by
  // `claimOf`), with when: each holds its turn, the others waiting for the next, for up to
  // `claimHoldMs`
  const claims = new Map<string, { readonly shardId: number; readonly at: number }>()
  // the claims whose turn a key-mate holding the key took (each lends its turn once: every shard of
  // the key getting the key in turn went on one claim, the spread's hour between turns ignored)
  const lent = new Set<string>()
  // the claim of a key-mate of `shard` whose turn it may take, if any
  const lendable = (shard: Claimant, keyMate: (shardId: number) => boolean): string | undefined => {
    const own = claimOf(shard)
    for (const [claim, { shardId }] of claims) if (claim !== own && !lent.has(claim) && keyMate(shardId)) return claim
    return undefined
  }
  // identifies waiting, socket open, for a turn of the spread, in the order they began to, and
  // whether each holds its key: they take the turns in that order, before any shard that asks `ready`
  const socketLine = new Set<{ keyed: boolean }>()
  // each count: the waiters for the spread look again
  const moved = makeSignal()
  // one of those waiters left: those behind it, and a `ready`, look again
  const socketsLeft = makeSignal()
  // the `ready` calls not yet done, in the order they were made, and a signal as one leaves
  const askers = new Set<object>()
  const askersMoved = makeSignal()

  // What each shard's last count changed, for `uncount`: the budget it was counted in (each refill
  // and refreshed answer makes a new one) and whether a refreshed answer took it off Discord's
  // figure, as counted after the answer was asked for; the count's number (never given twice) and
  // `counted` then; the spread's last count before it, its claim, and the claim it borrowed
  let budgetsMade = 0
  let countsMade = 0
  const lastCounts = new Map<string, {
    budgetsMade: number
    takenOff: boolean
    readonly countNo: number
    readonly counted: number
    readonly lastCountedBefore: number | undefined
    readonly claim: { readonly shardId: number; readonly at: number } | undefined
    readonly lent: boolean
    readonly borrowed: string | undefined
  }>()

  const refill = (now: number): void => {
    if (budget === undefined || !isDue(budget.resetAt, now)) return
    budgetsMade++
    budget.remaining = budget.total
    budget.lowTold = false
    budget.exhaustedTold = false
    claims.clear()
    lent.clear()
    while (isDue(budget.resetAt, now)) budget.resetAt += budgetPeriod
  }

  const exhaustedFor = (now: number): number | undefined => {
    refill(now)
    return budget !== undefined && budget.remaining <= 0 ? budget.resetAt - now : undefined
  }

  const spreading = (): boolean => policy.spread && budget !== undefined && budget.remaining <= lowBudget(budget.total)

  // the time left after the last identify shared evenly among the starts left and the first after
  // the refill (after the last start, the refill itself)
  const turnOf = (now: number, shard?: Claimant, keyMate?: (shardId: number) => boolean): number | undefined => {
    if (!spreading()) return undefined
    for (const [claim, { at }] of claims) {
      if (!isDue(at + claimHoldMs, now)) continue
      claims.delete(claim)
      lent.delete(claim)
    }
    // a shard that claimed its turn at `ready` takes it; so does one holding the key a claimant
    // waits for (waiting for the turn after the claimed one, it held the key from its claimant: no
    // identify of the key went until the claim lapsed a minute on, and the claimant's socket then
    // sat open for a turn, an hour)
    // (and the last start gone, one whose turn a key-mate took waits for the refill, the spread's
    // next turn: it failed as if the budget had been spent elsewhere)
    if (shard !== undefined && claims.has(claimOf(shard)) && !(lent.has(claimOf(shard)) && budget!.remaining <= 0)) return undefined
    if (keyMate !== undefined && shard !== undefined && lendable(shard, keyMate) !== undefined) return undefined
    // a claimed turn counts as taken, from when it was claimed
    let from = lastCountedAt
    for (const { at } of claims.values()) if (from === undefined || at > from) from = at
    if (from === undefined) return undefined
    const { remaining, resetAt } = budget!
    const turn = Math.min(resetAt, from + (resetAt - from) / (Math.max(0, remaining - claims.size) + 1))
    return isDue(turn, now) ? undefined : turn
  }

  // until the turn at `until`, a claim on a turn lapses, the spread moves or the budget changes
  const awaitTurn = (until: number, now: number): Effect.Effect<void> => {
    let wakeAt = until
    for (const { at } of claims.values()) wakeAt = Math.min(wakeAt, at + claimHoldMs)
    return detached(Effect.raceAll([sleepMillis(Math.max(0, wakeAt - now)), changed.await, moved.await]))
  }

  // whether an identify holding its key waits before `place` (a shard that claimed its turn at
  // `ready` takes it)
  const ahead = (place: { keyed: boolean }, shard: Claimant, keyMate?: (shardId: number) => boolean): boolean => {
    if (!spreading() || claims.has(claimOf(shard))) return false
    // one taking a key-mate's claimed turn, as the claimant would (it waited behind a shard of
    // another key, the claimant behind it for the key, and the claim lapsed)
    if (keyMate !== undefined && lendable(shard, keyMate) !== undefined) return false
    for (const other of socketLine) {
      if (other === place) return false
      if (other.keyed) return true
    }
    return false
  }

  const socketWaiter = (shard: Claimant, keyMate?: (shardId: number) => boolean): SocketWaiter => {
    // its place in the line (a set keeps the order things were first put in)
    const place = { keyed: true }
    const hold = () => {
      place.keyed = true
      socketLine.add(place)
    }
    return {
      hold,
      awaitTurn: (until, now, wake) =>
        Effect.suspend(() => {
          hold()
          // detached: raced by a caller that cannot be interrupted, the race waited for its loser
          // for ever, and the identify never went at its turn
          return detached(Effect.raceFirst(awaitTurn(until, now), wake))
        }),
      behind: () => ahead(place, shard, keyMate),
      awaitAhead: (wake) =>
        Effect.clockWith((clock) => {
          hold()
          // the refill ends the spread, and the line with it
          const refillIn = budget === undefined ? undefined : budget.resetAt - monotonicMillis(clock)
          const wakes = [moved.await, socketsLeft.await, changed.await, wake]
          if (refillIn !== undefined) wakes.push(sleepMillis(Math.max(0, refillIn)))
          return detached(Effect.raceAll(wakes))
        }),
      keyLost: Effect.sync(() => {
        if (!place.keyed) return
        place.keyed = false
        socketsLeft.fire()
      }),
      leave: Effect.sync(() => {
        if (socketLine.delete(place)) socketsLeft.fire()
      })
    }
  }

  // Told once while the budget stays used up, as the bot's (the limiter's line, no shard): each
  // waiting shard told it again at every refreshed answer (a thousand shards, a thousand lines an
  // hour)
  const awaitRefill = (resetAfter: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const wait = detached(Effect.raceFirst(sleepMillis(resetAfter), changed.await))
      if (budget === undefined || budget.exhaustedTold) return wait
      budget.exhaustedTold = true
      const told = Effect.logWarning(`identify budget exhausted: identifies wait for it to refill in ${inSeconds(resetAfter)}`)
      return Effect.zipRight(linesOf("IdentifyLimiter", Effect.annotateLogs(told, { resetAfter })), wait)
    })

  const count = (now: number, shard: Claimant, keyMate?: (shardId: number) => boolean): Effect.Effect<void> => {
    counted += 1
    countsMade += 1
    const made = { budgetsMade, takenOff: false, countNo: countsMade, counted, lastCountedBefore: lastCountedAt }
    if (budget === undefined) {
      lastCounts.set(claimOf(shard), { ...made, claim: undefined, lent: false, borrowed: undefined })
      return Effect.void
    }
    budget.remaining -= 1
    if (budget.remaining <= 0) spent.fire()
    const own = claimOf(shard)
    const borrowed = claims.has(own) || keyMate === undefined || !spreading() ? undefined : lendable(shard, keyMate)
    lastCounts.set(own, { ...made, claim: claims.get(own), lent: lent.has(own), borrowed })
    lastCountedAt = now
    if (borrowed !== undefined) lent.add(borrowed)
    claims.delete(own)
    lent.delete(own)
    moved.fire()
    // told once, when at most a tenth of the day's starts is left (a refreshed answer may already
    // say so): a bot that reconnects too often finds out before its shards stop
    if (budget.lowTold || budget.remaining > lowBudget(budget.total)) return Effect.void
    budget.lowTold = true
    const turn = turnOf(now, shard)
    const pace = turn === undefined ? "" : `; the next identifies go at most one every ${inSeconds(turn - now)}`
    // the bot's budget, not the shard's whose identify spent the start: annotated as the limiter's
    return linesOf(
      "IdentifyLimiter",
      Effect.logWarning(
        `identify budget low: ${budget.remaining} of ${budget.total} session starts left until it refills in ${
          inSeconds(budget.resetAt - now)
        }${pace}`
      )
    )
  }

  const uncount = (shard: Claimant, now: number): void => {
    const own = claimOf(shard)
    const last = lastCounts.get(own)
    if (last === undefined) return
    lastCounts.delete(own)
    // (the spread goes on from the count before it, unless another came after it)
    if (last.countNo === countsMade) lastCountedAt = last.lastCountedBefore
    counted -= 1
    if (budget === undefined || last.budgetsMade !== budgetsMade) return
    budget.remaining = Math.min(budget.total, budget.remaining + 1)
    // a refreshed answer since, which took it off Discord's figure: that start only comes back
    if (last.takenOff) return moved.fire()
    // held anew from now: the retry connects anew (a minute from the first claim lapsed while it did)
    if (last.claim !== undefined) claims.set(own, { shardId: last.claim.shardId, at: now })
    if (last.lent) lent.add(own)
    if (last.borrowed !== undefined) lent.delete(last.borrowed)
    moved.fire()
  }

  const exhausted = (shard: number, resetAfter: number): E => policy.exhausted(shard, budget?.total ?? 0, resetAfter)

  // a turn due goes to the identify waiting for it with its socket open, else to the shard that has
  // asked `ready` longest: waiters woken together by the turn would take it in whatever order their
  // timers fire (one woken by every move of the spread fell behind shards that asked hours later)
  const awaitReady = (shard: Claimant, asked: object): Effect.Effect<void, E> =>
    Effect.clockWith((clock) => {
      const now = monotonicMillis(clock)
      const resetAfter = exhaustedFor(now)
      const turn = turnOf(now, shard)
      const again = awaitReady(shard, asked)
      const claim = claimOf(shard)
      if (turn !== undefined) return Effect.zipRight(awaitTurn(turn, now), again)
      if (spreading() && !claims.has(claim)) {
        if (socketLine.size > 0) {
          return Effect.zipRight(detached(Effect.raceAll([moved.await, socketsLeft.await, changed.await])), again)
        }
        if (askers.values().next().value !== asked) {
          return Effect.zipRight(detached(Effect.raceAll([moved.await, askersMoved.await, changed.await])), again)
        }
      }
      if (resetAfter === undefined) {
        return Effect.sync(() => {
          if (spreading() && !claims.has(claim)) claims.set(claim, { shardId: shard.shardId, at: now })
        })
      }
      if (policy.onExhausted === "fail") return Effect.fail(exhausted(shard.shardId, resetAfter))
      return Effect.zipRight(awaitRefill(resetAfter), again)
    })

  // in line from the call on, and out of it however the call ends
  const ready = (shard: Claimant): Effect.Effect<void, E> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const asked = {}
        askers.add(asked)
        return asked
      }),
      (asked) => awaitReady(shard, asked),
      (asked) =>
        Effect.sync(() => {
          askers.delete(asked)
          askersMoved.fire()
        })
    )

  const configure = (limit: BudgetFigures, now: number, countedBefore?: number): void => {
    // starts counted while the answer was on its way may not be in it: they stay spent
    const askedAt = countedBefore ?? counted
    const remaining = Math.max(0, limit.remaining - Math.max(0, counted - askedAt))
    // told to be low still holds while a refreshed answer says it is
    const lowTold = budget !== undefined && budget.lowTold && remaining <= lowBudget(limit.total)
    const exhaustedTold = budget !== undefined && budget.exhaustedTold && remaining <= 0
    // none left where this limiter had some: another process spent them, and no wait of the
    // spread's is due a refill of this limiter's making (an identify fails, or waits, as without it)
    if (remaining <= 0 && (budget === undefined || budget.remaining > 0)) {
      lastCountedAt = undefined
      claims.clear()
      lent.clear()
    }
    budget = { total: limit.total, remaining, resetAt: now + limit.resetAfter, lowTold, exhaustedTold }
    budgetsMade++
    // the counts it took off (after `countedBefore`) are given back into it, the others are in it
    for (const last of lastCounts.values()) {
      last.takenOff = last.counted > askedAt
      if (last.takenOff) last.budgetsMade = budgetsMade
    }
    changed.fire()
    if (budget.remaining <= 0) spent.fire()
  }

  const snapshot = (now: number): BudgetSnapshot | undefined => {
    refill(now)
    if (budget === undefined) return undefined
    const figures = { total: budget.total, remaining: budget.remaining, resetAfter: budget.resetAt - now }
    const turn = turnOf(now)
    return turn === undefined ? figures : { ...figures, nextTurnIn: turn - now }
  }

  return {
    exhaustedFor,
    turnOf,
    socketWaiter,
    awaitRefill,
    count,
    uncount,
    spent: spent.await,
    ready,
    configure,
    counted: () => counted,
    snapshot,
    exhausted
  }
}
