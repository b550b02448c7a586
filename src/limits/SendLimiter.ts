/**
 * The per-connection send limiter: a sliding window (120 sends per 60 s on the gateway, kept as
 * 61 s) with room kept for control sends (identify, resume, heartbeats but those too frequent to
 * leave commands a place: {@link scheduledBeatPriority}), which are also served first. Commands are
 * counted apart, so that a beat already in the window does not also cost them the place kept for it.
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
 * `control`: identify, resume and heartbeats, which keep the connection alive, served first, and
 * free to take every place; `command`: everything a user sends, in line, first come first served,
 * at most `limit - reserved` of them in a window, the reserved places left to the control sends;
 * `inLine`: scheduled beats too frequent to leave commands a place as control sends
 * ({@link scheduledBeatPriority}), in line with the commands, yet free to take the reserved places
 * but those of the identify or resume and of an op 1 answer.
 *
 * @since 0.1.0
 */
export type SendPriority = "control" | "command" | "inLine"

/**
 * A sliding-window limit. Control sends may fill the whole window; commands, counted apart, stop at
 * `limit - reserved` commands in the window (and at `limit` sends of all kinds), so `reserved`
 * places are kept for control sends; `inLine` beats, counted with all sends, may use the reserved
 * places too, all but the 2 kept for the identify or resume and an op 1 answer. Commands may then
 * take those 2 (a connection sends its identify or resume before any command, and an op 1 answer
 * goes only where the beats may).
 *
 * @since 0.1.0
 */
export interface SendLimiterOptions {
  readonly limit: number
  readonly window: Duration.DurationInput
  /**
   * Places kept for control sends (`inLine` beats use all but 2 of them). Clamped to
   * `[0, limit - 1]` (`NaN`: 0).
   */
  readonly reserved: number
}

/** The scheduled beats any 61 s window holds at Discord's 41.25 s interval. */
const discordBeatPlaces = 2

/**
 * The places kept for control sends that are no scheduled beats: the connection's identify or
 * resume, and a beat requested by the gateway (op 1). `inLine` beats leave them free.
 *
 * @since 0.1.0
 */
export const unscheduledControlPlaces = 2

/**
 * Places kept for control sends on a gateway connection until its Hello: those of the scheduled
 * beats at Discord's interval, and the unscheduled ones: 4.
 */
const defaultReserved = discordBeatPlaces + unscheduledControlPlaces

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
 * The places the scheduled heartbeats of a connection need in any window of `options`, when its
 * Hello asks for a beat every `intervalMs`: 2 at Discord's 41.25 s, 7 at 10 s. A gateway asking
 * for beats so often that the places kept for control sends (theirs, and 2 more) would take over a
 * quarter of the window (beats under about 2.18 s apart) gets the 2 of Discord's interval: keeping
 * more would starve the program's commands (see {@link scheduledBeatPriority} for beats faster still).
 *
 * @since 0.1.0
 */
export const scheduledBeatPlaces = (intervalMs: number, options: SendLimiterOptions = gatewaySends): number => {
  const needed = Math.ceil(Duration.toMillis(options.window) / intervalMs)
  return Number.isFinite(needed) && needed >= discordBeatPlaces && needed + unscheduledControlPlaces <= options.limit / 4
    ? needed
    : discordBeatPlaces
}

/**
 * Whether the places kept for a connection's scheduled beats, when its Hello asks for a beat every
 * `intervalMs`, hold every beat a window brings: beats about 2.18 s apart or more. Faster, an
 * answer to op 1 would take a place those beats need (a flood of op 1 held them back), and the
 * next scheduled beat, under 2.18 s away, answers it anyway.
 *
 * @since 0.1.0
 */
export const beatsHaveTheirPlaces = (intervalMs: number, options: SendLimiterOptions = gatewaySends): boolean =>
  Math.ceil(Duration.toMillis(options.window) / intervalMs) <= scheduledBeatPlaces(intervalMs, options)

/**
 * The priority of a connection's scheduled beats, when its Hello asks for a beat every
 * `intervalMs`: `control` while they leave the program's commands a place in each window (at
 * Discord's 41.25 s they take 2 of 120); `inLine` when they alone would take every place commands
 * may use (beats under about 0.53 s apart), so that they line up with the commands, first come first
 * served: as control sends, served first, they took every place as it freed, and no command went
 * out for as long as the connection lived. In line they may still take the places kept for beats:
 * kept to the commands' places, beats 0.52-0.53 s apart were late once a window with no command
 * sent.
 *
 * @since 0.1.0
 */
export const scheduledBeatPriority = (intervalMs: number, options: SendLimiterOptions = gatewaySends): SendPriority =>
  Math.ceil(Duration.toMillis(options.window) / intervalMs) < options.limit - options.reserved ? "control" : "inLine"

/**
 * Discord's presence-update limit: 5 per 20 s (use `command` priority), kept with a 1 s margin:
 * 5 per 21 s.
 *
 * @since 0.1.0
 */
export const presenceUpdates: SendLimiterOptions = { limit: 5, window: Duration.sum(Duration.seconds(20), margin), reserved: 0 }

/**
 * A send limiter. `take` returns when the send may go; waiting control sends are served before the
 * line of the others (commands and `inLine` takes), first come first served within each. An
 * interrupted `take` gives its place back.
 *
 * @since 0.1.0
 */
export interface SendLimiter {
  readonly take: (priority: SendPriority) => Effect.Effect<void>
  /**
   * Takes a place for an answer to op 1 now, and says whether it did; never waits (the answer is
   * worth sending only at once). It goes if no control send waits, it fits the commands' count (one
   * answer in the window has a reserved place; each other one takes a command's), and `spare`
   * places stay free after it. The commands' count alone keeps the scheduled beats their places:
   * commands and answers, the beats (at most as many as are kept for them in any window) and the
   * identify or resume never make more than `limit` together.
   */
  readonly tryTake: (spare: number) => Effect.Effect<boolean>
  /**
   * Waits until a `take` of `priority` would go at once, and takes nothing: for a limiter with one
   * taker, which can then take at the moment it sends, after waiting for other limits.
   */
  readonly awaitRoom: (priority: SendPriority) => Effect.Effect<void>
  /**
   * Keeps `places` for control sends from now on, in place of `reserved` (clamped alike): a
   * connection sizes its room for heartbeats once Hello says how often they go.
   */
  readonly reserve: (places: number) => Effect.Effect<void>
  /** Sends inside the window now, and takes waiting per priority. */
  readonly snapshot: Effect.Effect<SendLimiterSnapshot>
  /** The times (the `Clock`'s monotonic ms, oldest first) of the sends inside the window now. */
  readonly sentAt: Effect.Effect<ReadonlyArray<number>>
  /**
   * Counts commands sent before this limiter was made, at `times` (monotonic ms, none later than
   * now): another process's, of the same gateway session, whose limit this one goes on keeping.
   */
  readonly countSent: (times: ReadonlyArray<number>) => Effect.Effect<void>
}

/**
 * What a send limiter holds at one moment.
 *
 * @since 0.1.0
 */
export interface SendLimiterSnapshot {
  readonly used: number
  /** Takes waiting, per line: `command` counts the `inLine` takes too, which wait in its line. */
  readonly waiting: { readonly [L in Line]: number }
}

// the lines takes wait in: control sends first, the others in one line
type Line = "control" | "command"

// the line a take of `priority` waits in
const lineOf = (priority: SendPriority): Line => priority === "control" ? "control" : "command"

// records a send at `now` in a count that sets no cap of its own
const record = (count: SlidingWindow.SlidingWindow, now: number): void => {
  SlidingWindow.tryTake(count, now, Infinity)
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
  Effect.map(Effect.scope, (scope) => new Limiter(options, scope))

// A class, its methods shared by every connection's limiter: a thousand idle shards should not each
// keep a dozen closures for sends they may never make.
class Limiter implements SendLimiter {
  private readonly limit: number
  private caps: Record<SendPriority, number>
  // every send in the window, which no take may bring over `limit`
  private readonly log: SlidingWindow.SlidingWindow
  // The commands and op 1 answers in the window, counted apart from the beats: compared with all
  // sends, the command cap counted each beat in the window twice, in the place it took and in the
  // one kept for it (115 commands a window at 41.25 s, 62 at 2.2 s, not 116 and 90).
  private readonly commands: SlidingWindow.SlidingWindow
  // The op 1 answers in the window. The reserve keeps a place for one; each other one takes a
  // command's place: answered first, a flood of op 1 left commands the places the scheduled beats
  // still to come needed.
  private readonly answers: SlidingWindow.SlidingWindow
  private readonly queues: Record<Line, Array<Waiter>> = { control: [], command: [] }
  // The timer fiber runs only while someone waits: an idle limiter (nearly always) costs no fiber,
  // and no wake-up signal either. Each round serves and makes the signal it then waits on in one
  // step, so a wake-up finds either the signal or a round yet to serve.
  private serving = false
  private alarm: Deferred.Deferred<void> | undefined = undefined

  constructor(options: SendLimiterOptions, private readonly scope: Scope.Scope) {
    this.limit = Math.max(1, Math.floor(options.limit))
    this.caps = this.capsKeeping(options.reserved)
    const window = Duration.toMillis(options.window)
    this.log = SlidingWindow.make(window)
    this.commands = SlidingWindow.make(window)
    this.answers = SlidingWindow.make(window)
  }

  private capsKeeping(reserved: number): Record<SendPriority, number> {
    const kept = Number.isNaN(reserved) ? 0 : Math.min(Math.max(0, Math.floor(reserved)), this.limit - 1)
    return { control: this.limit, command: this.limit - kept, inLine: this.limit - Math.min(kept, unscheduledControlPlaces) }
  }

  reserve(places: number): Effect.Effect<void> {
    return Effect.sync(() => {
      this.caps = this.capsKeeping(places)
      this.wake()
    })
  }

  take(priority: SendPriority): Effect.Effect<void> {
    return Effect.asVoid(this.takeAt(priority))
  }

  tryTake(spare: number): Effect.Effect<boolean> {
    return Effect.clockWith((clock) =>
      Effect.sync(() => {
        const now = monotonicMillis(clock)
        // with it, the commands and answers in the window, less the one answer with a kept place
        const fitsCommands = SlidingWindow.used(this.commands, now) <= this.caps.command
        if (this.queues.control.length > 0 || !fitsCommands || !SlidingWindow.tryTake(this.log, now, this.limit - Math.max(0, spare))) {
          return false
        }
        record(this.commands, now)
        record(this.answers, now)
        return true
      })
    )
  }

  awaitRoom(priority: SendPriority): Effect.Effect<void> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(this.takeAt(priority)), (at) =>
        Effect.sync(() => {
          this.refund(priority, at)
          this.wake()
        }))
    )
  }

  get snapshot(): Effect.Effect<SendLimiterSnapshot> {
    return Effect.clockWith((clock) =>
      Effect.sync((): SendLimiterSnapshot => ({
        used: SlidingWindow.used(this.log, monotonicMillis(clock)),
        waiting: { control: this.queues.control.length, command: this.queues.command.length }
      }))
    )
  }

  get sentAt(): Effect.Effect<ReadonlyArray<number>> {
    return Effect.clockWith((clock) =>
      Effect.sync(() => {
        SlidingWindow.used(this.log, monotonicMillis(clock))
        return [...this.log.times]
      })
    )
  }

  countSent(times: ReadonlyArray<number>): Effect.Effect<void> {
    return Effect.sync(() => {
      for (const at of times) {
        SlidingWindow.recordAt(this.log, at)
        SlidingWindow.recordAt(this.commands, at)
      }
    })
  }

  private canSkipQueue(priority: SendPriority): boolean {
    return this.queues.control.length === 0 && (lineOf(priority) === "control" || this.queues.command.length === 0)
  }

  // the commands' count against their cap: the first op 1 answer in the window has a place kept
  private commandsUsed(now: number): number {
    return SlidingWindow.used(this.commands, now) - Math.min(1, SlidingWindow.used(this.answers, now))
  }

  /** Records a send of `priority` at `now` if it may go; says whether it did. */
  private tryTakeAt(priority: SendPriority, now: number): boolean {
    if (priority !== "command") return SlidingWindow.tryTake(this.log, now, this.caps[priority])
    if (this.commandsUsed(now) >= this.caps.command || !SlidingWindow.tryTake(this.log, now, this.limit)) return false
    record(this.commands, now)
    return true
  }

  /** The earliest time, at or after `now`, at which a send of `priority` may go. */
  private freeAt(priority: SendPriority, now: number): number {
    if (priority !== "command") return SlidingWindow.freeAt(this.log, now, this.caps[priority])
    const cap = this.caps.command
    // while an answer is in the window one more command or answer fits in the commands' count; the
    // answer's own leaving then changes nothing, so the count frees at the first time it fits
    const withAnswer = SlidingWindow.freeAt(this.commands, now, cap + 1)
    const commands = SlidingWindow.used(this.answers, now) > 0 && withAnswer < SlidingWindow.freeAt(this.answers, now, 1)
      ? withAnswer
      : SlidingWindow.freeAt(this.commands, now, cap)
    return Math.max(commands, SlidingWindow.freeAt(this.log, now, this.limit))
  }

  // gives back a place taken at `at` and never used
  private refund(priority: SendPriority, at: number): void {
    SlidingWindow.refund(this.log, at)
    if (priority === "command") SlidingWindow.refund(this.commands, at)
  }

  /** Grants every waiter that may go at `now`; returns when the next one may, if any waits. */
  private serve(now: number): number | undefined {
    for (;;) {
      const waiter = this.queues.control[0] ?? this.queues.command[0]
      if (waiter === undefined) return undefined
      if (!this.tryTakeAt(waiter.priority, now)) return this.freeAt(waiter.priority, now)
      this.queues[lineOf(waiter.priority)].shift()
      waiter.grantedAt = now
      Deferred.unsafeDone(waiter.turn, Exit.void)
    }
  }

  private round(): Effect.Effect<{ readonly alarm: Deferred.Deferred<void>; readonly after: number } | undefined> {
    return Effect.clockWith((clock) =>
      Effect.sync(() => {
        const now = monotonicMillis(clock)
        const next = this.serve(now)
        if (next === undefined) {
          this.serving = false
          this.alarm = undefined
          return undefined
        }
        this.alarm = Deferred.unsafeMake<void>(FiberId.none)
        return { alarm: this.alarm, after: next - now }
      })
    )
  }

  private server(): Effect.Effect<void> {
    const round = this.round()
    return Effect.gen(function*() {
      for (;;) {
        const wait = yield* round
        if (wait === undefined) return
        yield* Effect.timeoutOption(Deferred.await(wait.alarm), wait.after)
      }
    })
  }

  private wake(): void {
    if (this.alarm !== undefined) Deferred.unsafeDone(this.alarm, Exit.void)
  }

  private wakeServer(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.serving) {
        this.wake()
        return Effect.void
      }
      this.serving = true
      return Effect.asVoid(Effect.forkIn(Effect.interruptible(this.server()), this.scope))
    })
  }

  private cancel(waiter: Waiter): Effect.Effect<void> {
    return Effect.sync(() => {
      if (waiter.grantedAt === undefined) {
        const queue = this.queues[lineOf(waiter.priority)]
        queue.splice(queue.indexOf(waiter), 1)
      } else {
        this.refund(waiter.priority, waiter.grantedAt)
      }
      this.wake()
    })
  }

  // takes a place and returns when it was recorded
  private takeAt(priority: SendPriority): Effect.Effect<number> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.clockWith((clock) =>
        Effect.flatMap(Deferred.make<void>(), (turn) => {
          const now = monotonicMillis(clock)
          if (this.canSkipQueue(priority) && this.tryTakeAt(priority, now)) return Effect.succeed(now)
          const waiter: Waiter = { priority, turn, grantedAt: undefined }
          this.queues[lineOf(priority)].push(waiter)
          return Effect.zipRight(this.wakeServer(), restore(Deferred.await(turn)).pipe(Effect.onInterrupt(() => this.cancel(waiter)))).pipe(
            Effect.map(() => waiter.grantedAt!)
          )
        })
      )
    )
  }
}
