/**
 * A fleet's presence: the one every shard should show, whenever it started and however it
 * connected. A session shows the presence it was made with (its Identify carries it; a resumed one
 * sends it once its Resume is answered, unless its point says it shows it already); a running one
 * gets each update as op 3. What falls between those (an update while a session was being made) is
 * told to the session once it runs.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Withdrawable from "../internal/withdrawable.ts"
import * as Commands from "../protocol/Commands.ts"
import type * as Session from "../session/Session.ts"
import { presenceWatch } from "../session/SessionCommands.ts"
import type { SessionClosed } from "../session/SessionError.ts"
import * as SessionMetrics from "../session/SessionMetrics.ts"

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
   * Shard `id`'s session runs (updates reach it from now on, as one of `update`'s `running`): if
   * it missed the latest update, it is sent to it, once the session is ready, in a fiber of the
   * scope (where the fleet's sends to it run from then on). What it missed is read at the call,
   * which must come in the same step as updates start reaching the session: read when the effect
   * ran, an update made in between reached it twice.
   */
  readonly started: (id: number, session: Session.Session) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Makes `presence` the latest and sends it to the sessions `running` gives, read in the same step
   * (one that ends meanwhile is left out): a shard started between a list read earlier and the
   * update took the presence before it, and was sent neither. Given up on (the caller interrupted)
   * before any session was made with it, it is as if it had never been made: no newer update being
   * made since, each running shard it was sent to (a running one, or one that started meanwhile and
   * missed it) is sent the presence latest again, unless that went out to it last or is on its way
   * to it, or the send was withdrawn unsent (the shard shows what it showed). `running` lists every
   * started shard whose session has not ended. Returns how many sessions it went out on (those
   * that ended first, their `SessionClosed` swallowed, not counted).
   */
  readonly update: (
    presence: Commands.Presence,
    running: () => ReadonlyArray<Session.Session>
  ) => Effect.Effect<number, Commands.InvalidCommand>
}

// what a shard shows is not known: a send to it given up on may have gone out
const unknown: unique symbol = Symbol("unknown")

type Update = Withdrawable.Update<Commands.Presence | undefined>

// a running shard's presence: what it shows (and the update that sent it there, which its
// Identify, or its session's show after the Resume, did before any), the newest update sent to it (as a running shard, or to
// catch up), the updates on their way to it as a running shard, a send of the fleet's own on its
// way to it, and the scope that one runs in
class ShardPresence {
  direct: Set<Update> | undefined = undefined
  sending: { readonly update: Update; readonly fiber: Fiber.RuntimeFiber<void> } | undefined = undefined
  scope: Scope.Scope | undefined = undefined
  shownBy = -1
  constructor(
    public shown: Commands.Presence | undefined | typeof unknown,
    public aimed: Update,
    /** What it is sent where the fleet has no presence: its resume point's, else Discord's default. */
    readonly unset: Commands.Presence
  ) {}

  /**
   * A send of `update` to it ended: gone out; given up on and `withdrawn` (never written: it shows
   * what it showed); or, given up on while its frame was written, perhaps gone out, until `wrote`
   * says so. One older than what it shows changes nothing: a session's newer update overtakes an
   * older one waiting for the presence limit, and both sends end, the older's perhaps last.
   */
  ended(update: Update, exit: Exit.Exit<unknown, unknown>, withdrawn: boolean): void {
    if (update.order < this.shownBy || (Exit.isFailure(exit) && withdrawn)) return
    this.shown = Exit.isSuccess(exit) ? update.value : unknown
    this.shownBy = update.order
  }

  /** `update`'s frame was written (also after its caller gave up). */
  wrote(update: Update): void {
    if (update.order < this.shownBy) return
    this.shown = update.value
    this.shownBy = update.order
  }
}

// `send` (a session's `updatePresence` of `update`'s presence), the shard told what became of its
// frame, which the send's exit does not say once given up on: an update withdrawn unsent was taken
// for one perhaps gone out, and the take-back then sent the presence latest (Discord's default where
// the fleet had none, over what a resumed session showed)
const watched = <E>(shard: ShardPresence, update: Update, send: Effect.Effect<void, E>): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    let withdrawn = false
    const watch = {
      written: () => shard.wrote(update),
      withdrawn: () => {
        withdrawn = true
      }
    }
    return Effect.onExit(Effect.locally(send, presenceWatch, watch), (exit) => Effect.sync(() => shard.ended(update, exit, withdrawn)))
  })

/**
 * The presence of a fleet that starts with `initial`, its shards resumed from points that say what
 * they show (`pointShows`: a shard of no point, or one that says none or nothing, gives `undefined`):
 * where the fleet has no presence, a shard that was sent one is sent its point's back (the bot comes
 * back as it was), else Discord's default.
 *
 * @since 0.1.0
 */
export const make = (
  initial: Commands.Presence | undefined,
  pointShows: (id: number) => Commands.Presence | undefined = () => undefined
): FleetPresence => {
  // an update that reached the running sessions went out
  const presences = Withdrawable.make(initial)
  const made = new Map<number, Commands.Presence | undefined>()
  const shards = new WeakMap<Session.Session, ShardPresence>()

  // a send of `update` (of `presence`, which the shard is aimed at) to a running shard, in place of
  // one of the fleet's own on its way to it, in the shard's scope; none if an update made while
  // that one was withdrawn aimed the shard at itself (it would go out after it)
  const sendTo = (session: Session.Session, shard: ShardPresence, update: Update, presence: Commands.Presence): Effect.Effect<void> =>
    Effect.zipRight(
      shard.sending === undefined ? Effect.void : Fiber.interrupt(shard.sending.fiber),
      Effect.suspend(() => {
        if (shard.aimed !== update) return Effect.void
        // the fleet's own send, not the program's command: not counted as one
        const own = Effect.locally(session.updatePresence(presence), SessionMetrics.fleetsOwn, true)
        const sent = Effect.ignore(watched(shard, update, own))
        // interruptible also when forked where interruption is off (a given-up update's exit)
        return shard.scope === undefined ? Effect.void : Effect.map(Effect.forkIn(Effect.interruptible(sent), shard.scope), (fiber) => {
          shard.sending = { update, fiber }
          fiber.addObserver(() => {
            if (shard.sending?.fiber === fiber) shard.sending = undefined
          })
        })
      })
    )

  // `withdrawn` was given up on: its sends of the fleet's own are too, and, no newer update made
  // since (that one reaches every running shard), each running shard it was sent to is sent the
  // presence now latest, unless that went out to it last (a send withdrawn unsent left what it
  // showed as it was)
  const takeBack = (withdrawn: Update, running: ReadonlyArray<Session.Session>): Effect.Effect<void> =>
    Effect.forEach(running, (session) => {
      const shard = shards.get(session)
      if (shard === undefined) return Effect.void
      const cancelled = shard.sending?.update === withdrawn ? Fiber.interrupt(shard.sending.fiber) : Effect.void
      // read once the cancelled send ended: an update made meanwhile reached the shard as a running one
      return Effect.zipRight(
        cancelled,
        Effect.suspend(() => {
          const newest = presences.newest()
          if (shard.aimed !== withdrawn || newest.order > withdrawn.order) return Effect.void
          shard.aimed = newest
          // it shows it, or it is on its way to it as a running shard
          if (shard.shown === newest.value || shard.direct?.has(newest)) return Effect.void
          // no presence: its point's, or Discord's default, which a shard that showed one is sent (it kept it)
          return sendTo(session, shard, newest, newest.value ?? shard.unset)
        })
      )
    }, { discard: true })

  return {
    latest: () => presences.latest(),
    // an update a session is made with has not gone out: given up on before its Identify, the
    // session is sent the latest once it runs, which its Identify then carries (it was counted as
    // gone out, and stayed on every shard made during a long startup)
    madeWith: (id, presence) => {
      made.set(id, presence)
    },
    started: (id, session) => {
      const shows = made.get(id)
      made.delete(id)
      // aimed at the latest at the call; an update made, or one taken back, before the effect runs
      // aims it anew (the take-back had no scope to send in: the shard kept an update given up on)
      const shard = new ShardPresence(shows, presences.newest(), pointShows(id) ?? Commands.defaultPresence)
      shards.set(session, shard)
      return Effect.flatMap(Effect.scope, (scope) =>
        Effect.suspend(() => {
          shard.scope = scope
          const target = shard.aimed
          // no presence: its point's, or Discord's default, which a shard made with one is sent (it kept it)
          return shard.shown === target.value || shard.direct?.has(target)
            ? Effect.void
            : sendTo(session, shard, target, target.value ?? shard.unset)
        }))
    },
    // added and watched in one step: interrupted between the two, an update given up on stayed
    // the latest, and shards started later identified with it
    update: (presence, running) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const update = presences.add(presence)
          const sessions = running()
          let wentOut = 0
          // counted where it went out; a session that ended first is left out
          const counted = (send: Effect.Effect<void, Commands.InvalidCommand | SessionClosed>): Effect.Effect<void, Commands.InvalidCommand> =>
            send.pipe(
              Effect.map(() => {
                wentOut++
              }),
              Effect.catchTag("SessionClosed", () => Effect.void)
            )
          return restore(Effect.forEach(
            sessions,
            (session) => {
              const shard = shards.get(session)
              if (shard === undefined) return counted(session.updatePresence(presence))
              shard.aimed = update
              ;(shard.direct ??= new Set()).add(update)
              return counted(watched(shard, update, session.updatePresence(presence)).pipe(
                Effect.ensuring(Effect.sync(() => {
                  shard.direct?.delete(update)
                  if (shard.direct?.size === 0) shard.direct = undefined
                }))
              ))
            },
            { concurrency: "unbounded", discard: true }
          )).pipe(Effect.map(() => wentOut), Effect.onExit((exit) =>
            Effect.suspend(() => {
              if (Exit.isSuccess(exit)) return Effect.sync(() => presences.wentOut(update))
              presences.withdraw(update)
              return takeBack(update, running())
            })
          ))
        })
      )
  }
}
