/**
 * Telling an operator that shards of a fleet cannot get ready, in a few lines for the whole
 * fleet. A session alone tells its own attempts that failed in a row (`Outage`): a thousand shards
 * in one outage would tell a dozen lines each. Here their counts are kept together: a Warning
 * when the number of failing shards (5 attempts in a row or more) reaches 1, 2, 4, 8..., and when
 * the longest count reaches 10, 20, 40...; an Info line once no shard is failing. A single
 * shard's recovery is told at Debug. Shards whose Identify went unanswered past the ready timeout
 * (waiting on for their READY) are told the same way: at 1, 2, 4, 8... of them waiting.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Outage from "../session/Outage.ts"
import { describeReason } from "../session/SessionState.ts"

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

/**
 * Makes a count with no shard failing.
 *
 * @since 0.1.0
 */
export const make = (): FleetOutage => {
  // the shards whose attempts failed `firstWarningAt` times in a row or more
  const failing = new Set<number>()
  let longest = 0
  let warnAtFailing = 1
  let warnAtLongest = 2 * Outage.firstWarningAt
  // the shards waiting on an Identify unanswered past the ready timeout
  const waiting = new Set<number>()
  let warnAtWaiting = 1
  const startOver = () => {
    longest = 0
    warnAtFailing = 1
    warnAtLongest = 2 * Outage.firstWarningAt
  }
  return {
    of: (id) => {
      let inARow = 0
      // the shard's Identify was answered, or its connection ended
      const answered = () => {
        if (waiting.delete(id) && waiting.size === 0) warnAtWaiting = 1
      }
      // forgets the shard's count; whether it was the last failing shard
      const leave = (): boolean => {
        inARow = 0
        answered()
        return failing.delete(id) && failing.size === 0
      }
      return {
        failed: (reason) =>
          Effect.suspend(() => {
            answered()
            inARow++
            if (inARow < Outage.firstWarningAt) return Effect.void
            failing.add(id)
            longest = Math.max(longest, inARow)
            const last = `shard ${id} failed ${plural(inARow, "attempt")} in a row, the last with ${describeReason(reason)}`
            if (failing.size >= warnAtFailing) {
              while (warnAtFailing <= failing.size) warnAtFailing *= 2
              return Effect.logWarning(
                `not ready: ${plural(failing.size, "shard")} failed ${Outage.firstWarningAt} or more attempts in a row; ${last}; still trying`
              )
            }
            if (inARow < warnAtLongest) return Effect.void
            while (warnAtLongest <= inARow) warnAtLongest *= 2
            return Effect.logWarning(`not ready: ${last}; ${plural(failing.size, "shard")} failing; still trying`)
          }),
        unanswered: Effect.suspend(() => {
          waiting.add(id)
          if (waiting.size < warnAtWaiting) return Effect.logDebug("no READY within the ready timeout")
          while (warnAtWaiting <= waiting.size) warnAtWaiting *= 2
          return Effect.logWarning(`no READY within the ready timeout for ${plural(waiting.size, "shard")}: ${Outage.waitingOn}`)
        }),
        ready: Effect.suspend(() => {
          const failed = inARow
          const wasFailing = failing.has(id)
          const lastOne = leave()
          if (!wasFailing) return Effect.void
          if (!lastOne) return Effect.logDebug(`ready again after ${failed} failed attempts`)
          const line = `every shard ready again; the longest failed ${plural(longest, "attempt")} in a row`
          startOver()
          return Effect.logInfo(line)
        }),
        ended: Effect.sync(() => {
          if (leave()) startOver()
        })
      }
    }
  }
}
