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
import * as Fiber from "effect/Fiber"
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
   * is sent to it, once the session is ready, in a fiber of the scope; if that update is given up
   * on before it went out there, so is its send, and the shard is sent the presence then latest,
   * if it misses that one too. What it missed is read at the call, which must come in the same
   * step as updates start reaching the session: read when the effect ran, an update made in
   * between reached it twice.
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

// a started shard, and which presences it does not show
interface Shard {
  readonly session: Session.Session
  readonly scope: Scope.Scope
  readonly misses: (presence: Commands.Presence) => boolean
}

// a send to a started shard of the update it missed, on its way
interface CatchUp extends Shard {
  readonly update: Withdrawable.Update<Commands.Presence | undefined>
  readonly fiber: Fiber.RuntimeFiber<void>
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
  // the sends to shards that started after the update they carry was made, while on their way
  const catchingUp = new Map<number, CatchUp>()

  const catchUp = (id: number, shard: Shard, update: Withdrawable.Update<Commands.Presence | undefined>): Effect.Effect<void> => {
    const presence = update.value
    return presence === undefined || !shard.misses(presence)
      ? Effect.void
      : Effect.map(Effect.forkIn(Effect.ignore(shard.session.updatePresence(presence)), shard.scope), (fiber) => {
        catchingUp.set(id, { ...shard, update, fiber })
        fiber.addObserver(() => {
          if (catchingUp.get(id)?.fiber === fiber) catchingUp.delete(id)
        })
      })
  }

  // `withdrawn` was given up on: its sends to shards started since are too, and each such shard
  // is sent the presence now latest if it misses it. An update newer than `withdrawn` was made
  // after the shard started, and reaches it as a running session.
  const redirect = (withdrawn: Withdrawable.Update<Commands.Presence | undefined>): Effect.Effect<void> =>
    Effect.forEach(
      [...catchingUp].filter(([, sending]) => sending.update === withdrawn),
      ([id, sending]) =>
        Effect.zipRight(
          Fiber.interrupt(sending.fiber),
          Effect.suspend(() => {
            const newest = presences.newest()
            return newest.order < withdrawn.order ? catchUp(id, sending, newest) : Effect.void
          })
        ),
      { discard: true }
    )

  return {
    latest: () => presences.latest(),
    madeWith: (id, presence) => {
      made.set(id, presence)
      presences.carried(presence)
    },
    started: (id, session) => {
      const identifiedWith = made.get(id)
      made.delete(id)
      const newest = presences.newest()
      const misses = (presence: Commands.Presence) => presence !== identifiedWith || (resumes(id) && presence !== initial)
      return Effect.flatMap(Effect.scope, (scope) => catchUp(id, { session, scope, misses }, newest))
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
            Effect.suspend(() => {
              if (Exit.isSuccess(exit)) return Effect.sync(() => presences.wentOut(update))
              presences.withdraw(update)
              return redirect(update)
            })
          ))
        })
      )
  }
}
