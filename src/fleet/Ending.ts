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
import { fleetWide } from "./FleetLog.ts"

/**
 * The end of a fleet of `count` shards, as its sessions report it.
 *
 * @since 0.1.0
 */
export interface Ending<E> {
  /** A session's end, reported by the session itself (`Session.makeWith`). */
  readonly onEnd: (exit: Exit.Exit<void, E>) => Effect.Effect<void>
  /** Completes once every shard ended, or fails with the first fatal error once all were stopped. */
  readonly await: Effect.Effect<void, E>
}

/**
 * Tracks the end of `count` shards. The first failure runs `stopAll` on a fiber of its own (a
 * session reports from its own fiber, which `stopAll` waits for), then fails `await` with it; the
 * line that says so, at Error, the fleet's only one of a shard's fatal end, passes its words
 * through `hide` (a defect's may quote the token).
 *
 * @since 0.1.0
 */
export const make = <E extends { readonly message: string }>(
  count: number,
  stopAll: Effect.Effect<unknown>,
  hide: (text: string) => string
): Effect.Effect<Ending<E>> =>
  Effect.gen(function*() {
    const finished = yield* Deferred.make<void, E>()
    let running = count
    let failed = false
    if (running === 0) yield* Deferred.done(finished, Exit.void)

    const onEnd = (exit: Exit.Exit<void, E>): Effect.Effect<void> =>
      Effect.suspend(() => {
        running--
        if (Exit.isFailure(exit) && !failed) {
          failed = true
          const message = Option.match(Cause.failureOption(exit.cause), {
            onNone: () => Cause.pretty(exit.cause),
            onSome: (error) => error.message
          })
          return Effect.asVoid(Effect.forkDaemon(
            // told once for the fleet, its sessions telling theirs at Debug only (a token reset
            // closes every shard with 4004: a line at Error per shard)
            fleetWide(Effect.logError(`stopping the fleet, a shard ended for good: ${hide(message)}`)).pipe(
              Effect.zipRight(stopAll),
              Effect.zipRight(Deferred.done(finished, exit))
            )
          ))
        }
        return running === 0 && !failed ? Deferred.done(finished, Exit.void) : Effect.void
      })

    return { onEnd, await: Deferred.await(finished) }
  })
