/**
 * Telling an operator that shards of a fleet cannot get ready, in a few lines for the whole
 * fleet. A session alone tells its own attempts that failed in a row (`Outage`): a thousand shards
 * in one outage would tell a dozen lines each. Here their counts are kept together: a Warning
 * when the number of failing shards (5 attempts in a row or more, or one whose answer asked to
 * wait a minute or more) reaches 1, 2, 4, 8..., and when
 * the longest count reaches 10, 20, 40...; an Info line once no shard is failing. A single
 * shard's recovery is told at Debug. Shards whose Identify went unanswered past the ready timeout
 * (waiting on for their READY) are told the same way: at 1, 2, 4, 8... of them waiting, and at
 * Info once the last of them got READY; and
 * shards that get ready and lose their connection before it was stable, over and over (5 short
 * connections in a row or more), as failing shards are, until their connections last. Shards held
 * back after sessions lost in a row (`HeldBack`) are told at 1, 2, 4, 8... of them held
 * back, each hold-back after that at Debug, until their connections last, and at Info once none
 * is. Gateway sessions lost (given up, or ended by the gateway) are told at Info when the number
 * lost since the fleet started reaches 1, 2, 4, 8...: an op 9 to a thousand shards is a dozen
 * lines.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { isLoudAt } from "../internal/told.ts"
import { heldBackLine, lateReady, lostLine, notReplayed, shortConnections, waitingOn } from "../session/internal/outageLines.ts"
import { asksLongWait, firstWarningAt, longWaitSeconds } from "../session/internal/outageThresholds.ts"
import type * as Outage from "../session/Outage.ts"
import { describeReason } from "../session/SessionState.ts"
import { fleetWide } from "./FleetLog.ts"

const warn = (message: string) => fleetWide(Effect.logWarning(message))
const inform = (message: string) => fleetWide(Effect.logInfo(message))

/**
 * The fleet's count of failing shards.
 *
 * @since 0.1.0
 */
export interface FleetOutage {
  /** The count of shard `id`, for its session (`Session.Hooks.outage`). */
  readonly of: (id: number) => Outage.Outage
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`

// A number told when it reaches 1, 2, 4, 8...: a number told already, reached again after it fell,
// is not told again until the count starts over
const makeDoublings = () => {
  let next = 1
  return {
    /** Whether `size` reaches the next number to tell (which then doubles past it). */
    reached: (size: number): boolean => {
      if (size < next) return false
      while (next <= size) next *= 2
      return true
    },
    /** Whether a number was told since the count started. */
    told: (): boolean => next > 1,
    /** Starts over: 1 is told next. */
    reset: (): void => {
      next = 1
    }
  }
}

// The shards with `firstWarningAt` or more of one trouble in a row: which line is due when a
// shard's count grows, at 1, 2, 4... shards or when the longest count reaches 10, 20, 40...
const makeStreaks = () => {
  const shards = new Set<number>()
  let longest = 0
  const shardsTold = makeDoublings()
  let warnAtLongest = 2 * firstWarningAt
  return {
    shards,
    longest: () => longest,
    /** Shard `id` has `inARow` (counted whatever it is when `now`): the line due, if any. */
    count: (id: number, inARow: number, now: boolean): "shards" | "longest" | undefined => {
      // (a shard counted already, at once for a long wait, goes on counting: its run was told short)
      if (inARow < firstWarningAt && !now && !shards.has(id)) return undefined
      shards.add(id)
      longest = Math.max(longest, inARow)
      if (shardsTold.reached(shards.size)) return "shards"
      if (inARow < warnAtLongest) return undefined
      while (warnAtLongest <= inARow) warnAtLongest *= 2
      return "longest"
    },
    /** Shard `id`'s trouble is over: whether it was the last shard counted (the count starts over). */
    leave: (id: number): boolean => {
      if (!shards.delete(id) || shards.size > 0) return false
      longest = 0
      shardsTold.reset()
      warnAtLongest = 2 * firstWarningAt
      return true
    }
  }
}

/**
 * Makes a count with no shard failing.
 *
 * @since 0.1.0
 */
export const make = (): FleetOutage => {
  // the shards whose attempts failed `firstWarningAt` times in a row or more
  const failing = makeStreaks()
  // the shards whose connections ended before they were stable `firstWarningAt` times in a row or more
  const unstable = makeStreaks()
  // the shards waiting on an Identify unanswered past the ready timeout
  const waiting = new Set<number>()
  const waitingTold = makeDoublings()
  // the shards held back after sessions lost in a row, until a connection of theirs lasts
  const heldBackShards = new Set<number>()
  const heldBackTold = makeDoublings()
  // the gateway sessions the fleet's shards lost since it started
  let lostSessions = 0
  return {
    of: (id) => {
      let inARow = 0
      let droppedInARow = 0
      // the shard's Identify was answered, or its connection ended
      const answered = () => {
        if (waiting.delete(id) && waiting.size === 0) waitingTold.reset()
      }
      // the shard is held back no more: whether it was the last (the count starts over)
      const heldNoMore = (): boolean => {
        if (!heldBackShards.delete(id) || heldBackShards.size > 0) return false
        heldBackTold.reset()
        return true
      }
      // The effects are made when read (getters), not kept made by each of a thousand idle shards.
      // Every member is the count's own: a `Session.Hooks.outage` of a program's own may spread it,
      // or take its functions off it.
      return {
        failed: (reason) =>
          Effect.suspend(() => {
            answered()
            inARow++
            const last = `shard ${id} failed ${plural(inARow, "attempt")} in a row, the last with ${describeReason(reason)}`
            switch (failing.count(id, inARow, asksLongWait(reason))) {
              case "shards":
                return warn(
                  `not ready: ${plural(failing.shards.size, "shard")} failed ${firstWarningAt} or more attempts in a row or asked to wait ${longWaitSeconds} s or more; ${last}; still trying`
                )
              case "longest":
                return warn(`not ready: ${last}; ${plural(failing.shards.size, "shard")} failing; still trying`)
              default:
                return Effect.void
            }
          }),
        get unanswered() {
          return Effect.suspend(() => {
            waiting.add(id)
            if (!waitingTold.reached(waiting.size)) return Effect.logDebug("no READY within the ready timeout")
            return warn(`no READY within the ready timeout for ${plural(waiting.size, "shard")}: ${waitingOn}`)
          })
        },
        get ready() {
          return Effect.suspend(() => {
            const failed = inARow
            inARow = 0
            // the last shard told waiting on its Identify got READY
            const lastWaiting = waiting.has(id) && waiting.size === 1 && waitingTold.told()
            answered()
            const wasFailing = failing.shards.has(id)
            const longest = failing.longest()
            const lastOne = failing.leave(id)
            // said whatever else is: a shard that had also failed, another still failing, said it at
            // Debug only, and the waiting's Warning was never followed by a word of its end
            const waitOver = lastWaiting ? inform(`every shard waiting on: ${lateReady}`) : Effect.void
            if (!wasFailing) return waitOver
            if (!lastOne) return Effect.zipRight(waitOver, Effect.logDebug(`ready again after ${failed} failed attempts`))
            return Effect.zipRight(waitOver, inform(`every shard ready again; the longest failed ${plural(longest, "attempt")} in a row`))
          })
        },
        dropped: (reason) =>
          Effect.suspend(() => {
            droppedInARow++
            const last = `shard ${id}: ${droppedInARow} in a row, the last with ${describeReason(reason)}`
            switch (unstable.count(id, droppedInARow, false)) {
              case "shards":
                return warn(
                  `unstable: ${plural(unstable.shards.size, "shard")} had ${firstWarningAt} or more connections in a row that ${shortConnections}; ${last}; still reconnecting`
                )
              case "longest":
                return warn(
                  `unstable: connections that ${shortConnections}, ${last}; ${plural(unstable.shards.size, "shard")} unstable; still reconnecting`
                )
              default:
                return Effect.void
            }
          }),
        get lasted() {
          return Effect.suspend(() => {
            droppedInARow = 0
            unstable.leave(id)
            return heldNoMore() ? inform("no shard held back any more") : Effect.void
          })
        },
        heldBack: (invalidatedInARow, waitMillis) =>
          Effect.suspend(() => {
            heldBackShards.add(id)
            const last = heldBackLine(invalidatedInARow, waitMillis)
            if (!heldBackTold.reached(heldBackShards.size)) return Effect.logDebug(last)
            return warn(
              `held back past the backoff after sessions lost in a row, to spare the day's session starts: ${plural(heldBackShards.size, "shard")}; shard ${id}: ${last}`
            )
          }),
        lost: (why, sequence) =>
          Effect.suspend(() => {
            // never counted down: told at 1, 2, 4, 8... lost
            if (!isLoudAt(++lostSessions)) return Effect.logDebug(lostLine(why, sequence))
            return inform(
              `${plural(lostSessions, "gateway session")} lost since the fleet started; shard ${id}: ${why}, ${notReplayed(sequence)}`
            )
          }),
        get ended() {
          return Effect.sync(() => {
            inARow = 0
            droppedInARow = 0
            answered()
            failing.leave(id)
            unstable.leave(id)
            // left without a word, as the other counts: its hold-back ended with it, not over
            heldNoMore()
          })
        }
      }
    }
  }
}
