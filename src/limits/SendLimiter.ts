/**
 * The per-connection send limiter: a sliding window (120 sends per 60 s on the gateway, kept as
 * 61 s) with room kept for control sends (heartbeat, identify, resume), which are also served
 * first.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import { monotonicMillis } from "../internal/due.ts"
import * as SlidingWindow from "./SlidingWindow.ts"

/**
 * `control`: identify, resume and heartbeats, which keep the connection alive; `command`:
 * everything a user sends.
 *
 * @since 0.1.0
 */
export type SendPriority = "control" | "command"

/**
 * A sliding-window limit. Control sends may fill the whole window; commands stop at
 * `limit - reserved`, so the last `reserved` places are always free for control sends.
 *
 * @since 0.1.0
 */
export interface SendLimiterOptions {
  readonly limit: number
  readonly window: Duration.DurationInput
  /** Places only control sends may use. Clamped to `[0, limit - 1]`. */
  readonly reserved: number
}

/**
 * Places an answer to op 1 leaves free, for the scheduled heartbeats: at Discord's 41.25 s
 * interval any 61 s window holds at most 2 of them.
 *
 * @since 0.1.0
 */
export const scheduledBeatPlaces = 2

/**
 * Places kept for control sends on a gateway connection: the scheduled beats', one for a beat
 * requested by the gateway (op 1), and one for the connection's identify or resume: 4.
 */
const defaultReserved = scheduledBeatPlaces + 2

/**
 * Time added to Discord's windows. Discord counts a send when it arrives: if the first of a
 * window's sends arrives late (a TCP retransmit waits at least 200 ms) and the last at once, a
 * window kept exactly would put one send too many into Discord's. With the margin, that takes a
 * delay of more than a second.
 */
const margin = Duration.seconds(1)

/**
 * Discord's gateway send limit: 120 per 60 s per connection (over it: close 4008), kept with a
 * 1 s margin: 120 per 61 s.
 *
 * @since 0.1.0
 */
export const gatewaySends: SendLimiterOptions = {
  limit: 120,
  window: Duration.sum(Duration.seconds(60), margin),
  reserved: defaultReserved
}

/**
 * Discord's presence-update limit: 5 per 20 s (use `command` priority), kept with a 1 s margin:
 * 5 per 21 s.
 *
 * @since 0.1.0
 */
export const presenceUpdates: SendLimiterOptions = { limit: 5, window: Duration.sum(Duration.seconds(20), margin), reserved: 0 }

/**
 * A send limiter. `take` returns when the send may go; waiting control sends are served before
 * waiting commands, first come first served within a priority. An interrupted `take` gives its
 * place back.
 *
 * @since 0.1.0
 */
export interface SendLimiter {
  readonly take: (priority: SendPriority) => Effect.Effect<void>
  /**
   * Takes a control place now if no control send waits and `spare` places stay free after it, and
   * says whether it did; never waits: for a send worth making only at once (an answer to op 1,
   * which must not take the places of the scheduled heartbeats).
   */
  readonly tryTake: (spare: number) => Effect.Effect<boolean>
  /**
   * Waits until a `take` of `priority` would go at once, and takes nothing: for a limiter with one
   * taker, which can then take at the moment it sends, after waiting for other limits.
   */
  readonly awaitRoom: (priority: SendPriority) => Effect.Effect<void>
  /** Sends inside the window now, and takes waiting per priority. */
  readonly snapshot: Effect.Effect<SendLimiterSnapshot>
}

/**
 * What a send limiter holds at one moment.
 *
 * @since 0.1.0
 */
export interface SendLimiterSnapshot {
  readonly used: number
  readonly waiting: { readonly control: number; readonly command: number }
}

interface Waiter {
  readonly priority: SendPriority
  readonly turn: Deferred.Deferred<void>
  grantedAt: number | undefined
}

/**
 * Builds a send limiter. Its timer fiber, forked while sends wait, lives in the scope.
 *
 * @since 0.1.0
 */
export const make = (options: SendLimiterOptions = gatewaySends): Effect.Effect<SendLimiter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const limit = Math.max(1, Math.floor(options.limit))
    const reserved = Math.min(Math.max(0, Math.floor(options.reserved)), limit - 1)
    const caps: Record<SendPriority, number> = { control: limit, command: limit - reserved }
    const log = SlidingWindow.make(Duration.toMillis(options.window))
    const queues: Record<SendPriority, Array<Waiter>> = { control: [], command: [] }

    const canSkipQueue = (priority: SendPriority): boolean =>
      queues.control.length === 0 && (priority === "control" || queues.command.length === 0)

    /** Grants every waiter that may go at `now`; returns when the next one may, if any waits. */
    const serve = (now: number): number | undefined => {
      for (;;) {
        const waiter = queues.control[0] ?? queues.command[0]
        if (waiter === undefined) return undefined
        const cap = caps[waiter.priority]
        if (!SlidingWindow.tryTake(log, now, cap)) return SlidingWindow.freeAt(log, now, cap)
        queues[waiter.priority].shift()
        waiter.grantedAt = now
        Deferred.unsafeDone(waiter.turn, Exit.void)
      }
    }

    // The timer fiber runs only while someone waits: an idle limiter (nearly always) costs no fiber,
    // and no wake-up signal either. Each round serves and makes the signal it then waits on in one
    // step, so a wake-up finds either the signal or a round yet to serve.
    const scope = yield* Effect.scope
    let serving = false
    let alarm: Deferred.Deferred<void> | undefined
    const round = Effect.clockWith((clock) =>
      Effect.sync(() => {
        const now = monotonicMillis(clock)
        const next = serve(now)
        if (next === undefined) {
          serving = false
          alarm = undefined
          return undefined
        }
        alarm = Deferred.unsafeMake<void>(FiberId.none)
        return { alarm, after: next - now }
      })
    )
    const server = Effect.gen(function*() {
      for (;;) {
        const wait = yield* round
        if (wait === undefined) return
        yield* Effect.timeoutOption(Deferred.await(wait.alarm), wait.after)
      }
    })
    const wake = (): void => {
      if (alarm !== undefined) Deferred.unsafeDone(alarm, Exit.void)
    }
    const wakeServer = Effect.suspend(() => {
      if (serving) {
        wake()
        return Effect.void
      }
      serving = true
      return Effect.asVoid(Effect.forkIn(Effect.interruptible(server), scope))
    })

    const cancel = (waiter: Waiter) =>
      Effect.sync(() => {
        if (waiter.grantedAt === undefined) {
          const queue = queues[waiter.priority]
          queue.splice(queue.indexOf(waiter), 1)
        } else {
          SlidingWindow.refund(log, waiter.grantedAt)
        }
        wake()
      })

    // takes a place and returns when it was recorded
    const takeAt = (priority: SendPriority): Effect.Effect<number> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.clockWith((clock) =>
          Effect.flatMap(Deferred.make<void>(), (turn) => {
            const now = monotonicMillis(clock)
            if (canSkipQueue(priority) && SlidingWindow.tryTake(log, now, caps[priority])) return Effect.succeed(now)
            const waiter: Waiter = { priority, turn, grantedAt: undefined }
            queues[priority].push(waiter)
            return Effect.zipRight(wakeServer, restore(Deferred.await(turn)).pipe(Effect.onInterrupt(() => cancel(waiter)))).pipe(
              Effect.map(() => waiter.grantedAt!)
            )
          })
        )
      )
    const take = (priority: SendPriority): Effect.Effect<void> => Effect.asVoid(takeAt(priority))
    const tryTake = (spare: number): Effect.Effect<boolean> =>
      Effect.clockWith((clock) =>
        Effect.sync(() => queues.control.length === 0 && SlidingWindow.tryTake(log, monotonicMillis(clock), limit - Math.max(0, spare)))
      )
    const awaitRoom = (priority: SendPriority): Effect.Effect<void> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(takeAt(priority)), (at) =>
          Effect.sync(() => {
            SlidingWindow.refund(log, at)
            wake()
          }))
      )

    const snapshot = Effect.clockWith((clock) =>
      Effect.sync((): SendLimiterSnapshot => ({
        used: SlidingWindow.used(log, monotonicMillis(clock)),
        waiting: { control: queues.control.length, command: queues.command.length }
      }))
    )

    return { take, tryTake, awaitRoom, snapshot }
  })
