/**
 * How a fleet ends: when every shard ended, or at the first fatal error, which stops every shard.
 *
 * Each session reports its own end (`Session.makeWith`), so a fleet of a thousand idle shards
 * keeps no fiber per shard waiting on `await`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { causeLine } from "../internal/causeLine.ts"
import { fleetWide } from "./FleetLog.ts"

/**
 * The end of a fleet of `count` shards, as its sessions report it.
 *
 * @since 0.1.0
 */
export interface Ending<E> {
  /** A session's end, reported by the session itself (`Session.makeWith`), with its shard. */
  readonly onEnd: (exit: Exit.Exit<void, E>, shard?: number) => Effect.Effect<void>
  /** The fleet's own failure, of no shard (its first `GET /gateway/bot`): it stops every shard. */
  readonly fail: (cause: Cause.Cause<E>) => Effect.Effect<void>
  /** Completes once every shard ended, or fails with the first fatal error once all were stopped. */
  readonly await: Effect.Effect<void, E>
  /** How many shards have not reported their end yet (a shard given up on before it started has). */
  readonly running: () => number
}

/**
 * Tracks the end of `count` shards. The first failure runs `stopAll` on a fiber of its own (a
 * session reports from its own fiber, which `stopAll` waits for), then fails `await` with it. The
 * fleet tells each reason a shard ended for good once, at Error, in one line naming the shard and
 * annotated with it (its sessions say theirs at Debug): the first, which stops it, and each later
 * one of another reason (a token refused as the stop's close was answered, after another shard's
 * 4013), the words passed through `hide` (a defect's may quote the token).
 *
 * @since 0.1.0
 */
export const make = <E extends { readonly message: string; readonly _tag: string }>(
  count: number,
  stopAll: Effect.Effect<unknown>,
  hide: (text: string) => string
): Effect.Effect<Ending<E>> =>
  Effect.gen(function*() {
    const finished = yield* Deferred.make<void, E>()
    let running = count
    let failed = false
    // the reasons told: a token reset closes every shard with 4004, told once, not once a shard
    const told = new Set<string>()
    if (running === 0) yield* Deferred.done(finished, Exit.void)

    // the line that says why a shard ended, once for its reason
    const tell = (cause: Cause.Cause<E>, shard: number | undefined, first: boolean): Effect.Effect<void> => {
      const reason = reasonOf(cause)
      if (told.has(reason)) return Effect.void
      told.add(reason)
      const line = causeLine(cause)
      const named = shard === undefined || line.startsWith(`shard ${shard}:`) ? line : `shard ${shard}: ${line}`
      const what = shard === undefined
        ? first ? "stopping the fleet" : "the fleet failed as it stopped"
        : first
        ? "stopping the fleet, a shard ended for good"
        : "another shard ended for good as the fleet stopped"
      const error = Effect.logError(`${what}: ${hide(named)}`)
      // the fleet's line about one shard: annotated with it, for a reader that picks a shard's lines
      return fleetWide(shard === undefined ? error : Effect.annotateLogs(error, "shard", shard))
    }

    // the first failure stops every shard, then fails `await`; a later one is only told
    const failWith = (cause: Cause.Cause<E>, shard: number | undefined): Effect.Effect<void> => {
      if (failed) return tell(cause, shard, false)
      failed = true
      return Effect.zipRight(
        tell(cause, shard, true),
        Effect.asVoid(Effect.forkDaemon(Effect.zipRight(stopAll, Deferred.failCause(finished, cause))))
      )
    }
    const onEnd = (exit: Exit.Exit<void, E>, shard?: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        running--
        if (Exit.isFailure(exit)) return failWith(exit.cause, shard)
        return running === 0 && !failed ? Deferred.done(finished, Exit.void) : Effect.void
      })
    const fail = (cause: Cause.Cause<E>): Effect.Effect<void> => Effect.suspend(() => failWith(cause, undefined))

    return { onEnd, fail, await: Deferred.await(finished), running: () => running }
  })

// a failure's tag and its code or reason (4004 and 4013 are two reasons, as are a 401 and a
// source's failure), or a defect's words (two bugs are two reasons)
const reasonOf = <E extends { readonly message: string; readonly _tag: string }>(cause: Cause.Cause<E>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => causeLine(cause),
    onSome: (error) =>
      "code" in error ? `${error._tag} ${String(error.code)}` : "reason" in error ? `${error._tag} ${String(error.reason)}` : error._tag
  })
