/**
 * A fleet's presence: the one every shard should show, whenever it started and however it
 * connected. A session's Identify carries the presence the session was made with; a resumed one
 * keeps the presence its gateway session had; a running one gets each update as op 3. What falls
 * between those (an update while a session was being made, or a shard resumed after an update)
 * is told to the session once it runs.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as Withdrawable from "../internal/withdrawable.ts"
import type * as Commands from "../protocol/Commands.ts"
import type * as Session from "../session/Session.ts"

/**
 * The presence of a fleet's shards.
 *
 * @since 0.1.0
 */
export interface FleetPresence {
  /** The presence a session made now identifies with. */
  readonly latest: () => Commands.Presence | undefined
  /** Shard `id`'s session is being made with `presence` (its Identify will carry it). */
  readonly madeWith: (id: number, presence: Commands.Presence | undefined) => void
  /**
   * Shard `id`'s session runs (updates reach it from now on): if it missed the latest update, it
   * is sent to it, once the session is ready, in a fiber of the scope. What it missed is read at
   * the call, which must come in the same step as updates start reaching the session: read when
   * the effect ran, an update made in between reached it twice.
   */
  readonly started: (id: number, session: Session.Session) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Makes `presence` the latest and sends it to the sessions `running` gives, read in the same step
   * (one that ends meanwhile is left out): a shard started between a list read earlier and the
   * update took the presence before it, and was sent neither. Given up on (the caller interrupted)
   * before any session was made with it, it is as if it had never been made.
   */
  readonly update: (
    presence: Commands.Presence,
    running: () => ReadonlyArray<Session.Session>
  ) => Effect.Effect<void, Commands.InvalidCommand>
}

/**
 * The presence of a fleet that starts with `initial`; `resumes` says which shards resume the
 * gateway session they had (and with it the presence it had: `initial`, the fleet's caller says).
 *
 * @since 0.1.0
 */
export const make = (initial: Commands.Presence | undefined, resumes: (id: number) => boolean): FleetPresence => {
  // an update a session was made with, or that reached the running sessions, went out
  const presences = Withdrawable.make(initial)
  const made = new Map<number, Commands.Presence | undefined>()
  return {
    latest: () => presences.latest(),
    madeWith: (id, presence) => {
      made.set(id, presence)
      presences.carried(presence)
    },
    started: (id, session) => {
      const identifiedWith = made.get(id)
      made.delete(id)
      const current = presences.latest()
      const missed = current !== identifiedWith || (resumes(id) && current !== initial)
      return current === undefined || !missed
        ? Effect.void
        : Effect.asVoid(Effect.forkScoped(Effect.ignore(session.updatePresence(current))))
    },
    // added and watched in one step: interrupted between the two, an update given up on stayed
    // the latest, and shards started later identified with it
    update: (presence, running) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const update = presences.add(presence)
          return restore(Effect.forEach(
            running(),
            (session) => Effect.catchTag(session.updatePresence(presence), "SessionClosed", () => Effect.void),
            { concurrency: "unbounded", discard: true }
          )).pipe(Effect.onExit((exit) =>
            Effect.sync(() => {
              if (Exit.isSuccess(exit)) presences.wentOut(update)
              else presences.withdraw(update)
            })
          ))
        })
      )
  }
}
