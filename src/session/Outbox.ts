/**
 * The program's commands on their way out: queued until the gateway answered a connection (READY
 * or RESUMED read, or a Resume's replay held up by a full events buffer), then written by that
 * connection's writers, one send-limiter slot each. Presence updates have their own
 * lane (and their own 5 per 20 s limit), so one waiting on that limit holds up no other command.
 * A command taken off its queue is never dropped by a closing connection: it is carried over to
 * the next one. A lane's writer fiber runs only while the lane has commands: an idle shard costs
 * no fiber here. A presence update with newer ones waiting behind it is overtaken: the newest not
 * superseded goes out in the place it waited for, and the waits of those it overtook end with that
 * write.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import { Opcode } from "../protocol/Opcode.ts"

/**
 * What a command's caller learns besides its wait ending: `onQueued` when the command was put on
 * its lane, `onWritten` when it was written, `onWithdrawn` when, queued, it was given up on and
 * never written (a caller that gives up before it was queued learns of none). A caller that gives
 * up while its command is being written learns which once the write ends. They are called
 * synchronously, in the order things happen. `superseded`, asked when a writer takes the command, says it need not go
 * out any more (it, or a newer presence, went out before it, or an Identify carried it): it is done
 * unwritten, its caller's wait ends as if it had been written, and neither callback is called.
 *
 * @since 0.1.0
 */
export interface Watch {
  readonly onQueued?: (() => void) | undefined
  readonly onWritten?: (() => void) | undefined
  readonly onWithdrawn?: (() => void) | undefined
  readonly superseded?: (() => boolean) | undefined
}

/**
 * One encoded command waiting to be sent, and who waits for it.
 *
 * @since 0.1.0
 */
export interface Pending {
  readonly payload: string | Uint8Array
  readonly sent: Deferred.Deferred<void>
  readonly watch: Watch | undefined
  /** Its write has begun (and not ended): a caller that gives up now is told by the write. */
  writing: boolean
}

/**
 * How an answered connection writes: `slot` waits for the send limiter, `presenceSlots` for both
 * the presence limit and the send limiter, and `write` sends (false when the socket refused it,
 * which keeps the command for the next connection). Both slot effects give back what they took when
 * interrupted.
 *
 * @since 0.1.0
 */
export interface Writer<R> {
  readonly slot: Effect.Effect<void, never, R>
  readonly presenceSlots: Effect.Effect<void, never, R>
  readonly write: (payload: string | Uint8Array) => Effect.Effect<boolean>
}

/**
 * The queues of commands that wait for an answered connection.
 *
 * @since 0.1.0
 */
export interface Outbox {
  /**
   * Queues an encoded command and waits until it was written to a socket (handed to TCP, not
   * acknowledged by Discord). Interrupting the wait withdraws the command if its write has not
   * begun; `watch` says what became of it.
   */
  readonly submit: (op: number, payload: string | Uint8Array, watch?: Watch) => Effect.Effect<void>
  /**
   * Queues an encoded command now, and gives the wait `submit` would make (a command queued here
   * goes before any queued after this effect, whichever fiber waits for it). A command whose wait
   * never runs stays queued.
   */
  readonly queue: (op: number, payload: string | Uint8Array, watch?: Watch) => Effect.Effect<Effect.Effect<void>>
  /**
   * Ends, now, the waits of the queued commands that are superseded (an Identify carried them), as
   * a writer would when it took them: done unwritten. The rest wait on.
   */
  readonly settleSuperseded: Effect.Effect<void>
  /**
   * Hands the queued commands, and those to come, to an answered connection's writer for as long as
   * the current scope (the connection's) lives.
   */
  readonly attach: <R>(writer: Writer<R>) => Effect.Effect<void, never, R | Scope.Scope>
}

interface Lane {
  /** Commands waiting, oldest first. */
  readonly waiting: Array<Pending>
  /** The command taken off `waiting` and not yet written, if any. */
  carried: Pending | undefined
  /** Whether a writer fiber works on this lane. */
  writing: boolean
}

const makeLane = (): Lane => ({ waiting: [], carried: undefined, writing: false })

/**
 * Writes one lane's commands in order until it is empty: take the next command, wait for its
 * slots, write it. Waiting is interruptible; a command taken and not yet written stays `carried`.
 * A command whose caller gave up (its `sent` was interrupted) is dropped unsent; one superseded
 * is done unsent. On a lane whose commands `overtake` (presences: only the newest matters), the
 * newest command waiting and not superseded goes out in the slots the oldest waited for, and the
 * waits of those it overtook end with its write. The lane is marked idle in the same step that
 * finds it empty, so a command queued later starts a new writer.
 */
const writeLane = <R>(
  lane: Lane,
  slots: Effect.Effect<void, never, R>,
  write: Writer<R>["write"],
  depth: Effect.Effect<void>,
  overtake: boolean
) => {
  const step = Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const pending = lane.carried ?? lane.waiting.shift()
      if (pending === undefined) {
        lane.writing = false
        return false
      }
      lane.carried = pending
      if (!(yield* Deferred.isDone(pending.sent)) && pending.watch?.superseded?.() !== true) {
        // a caller that gives up meanwhile takes the wait down with it: its slot goes back
        yield* restore(Effect.raceFirst(slots, Effect.exit(Deferred.await(pending.sent))))
        if (!(yield* Deferred.isDone(pending.sent))) {
          // chosen as it is written (those whose callers gave up while it waited left the lane):
          // the newest not superseded (one queued after a newer one can be moot), taken off the
          // lane with those it overtakes while it is written
          const overtaken = overtake ? lane.waiting.splice(0) : []
          let chosen = pending
          for (const waiting of overtaken) if (waiting.watch?.superseded?.() !== true) chosen = waiting
          chosen.writing = true
          const written = yield* write(chosen.payload)
          chosen.writing = false
          if (written) {
            chosen.watch?.onWritten?.()
            // done, as this one is below; a caller that gave up meanwhile was told already
            for (const done of overtaken) yield* Deferred.succeed(done.sent, undefined)
          } else {
            // the socket refused it: carried over to the next connection with those it overtook,
            // unless its caller gave up meanwhile (its `sent`, done only by giving up while written)
            for (let at = overtaken.length - 1; at >= 0; at--) {
              if (!(yield* Deferred.isDone(overtaken[at]!.sent))) lane.waiting.unshift(overtaken[at]!)
            }
            if (yield* Deferred.isDone(chosen.sent)) {
              if (chosen === pending) lane.carried = undefined
              chosen.watch?.onWithdrawn?.()
            }
            // counted again: a depth told during the write left out those taken off the lane
            yield* depth
            return yield* restore(Effect.never)
          }
        }
      }
      lane.carried = undefined
      yield* Deferred.succeed(pending.sent, undefined)
      yield* depth
      return true
    })
  )
  // interruptible whatever the fiber that started it was (a command submitted from uninterruptible
  // code), and marked idle when interrupted: forked uninterruptibly, the writer installs that even
  // when interrupted before its first step (forked into a closing connection's scope)
  return Effect.interruptible(Effect.repeat(step, { while: (more) => more })).pipe(
    Effect.onInterrupt(() => Effect.sync(() => {
      lane.writing = false
    }))
  )
}

/**
 * Makes an empty outbox that reports its depth (commands queued and not yet written) to `report`
 * whenever it changes.
 *
 * @since 0.1.0
 */
export const make = (report: (depth: number) => Effect.Effect<void>): Effect.Effect<Outbox> =>
  Effect.sync(() => new Lanes(report))

// A class, its methods shared by every session's outbox: a thousand idle shards should not each
// keep a closure per step of commands they may never send.
class Lanes implements Outbox {
  private readonly presence = makeLane()
  private readonly other = makeLane()
  // starts a lane's writer, while an answered connection's writer is attached
  private start: ((lane: Lane) => Effect.Effect<void>) | undefined = undefined

  constructor(private readonly report: (depth: number) => Effect.Effect<void>) {}

  submit(op: number, payload: string | Uint8Array, watch?: Watch): Effect.Effect<void> {
    // queued and watched in one step: interrupted between the two, a command stayed queued, and a
    // writer attached later wrote it for a caller that had given up
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(this.putOnLane(op, payload, watch), ({ lane, pending }) => this.awaitWritten(lane, pending, restore))
    )
  }

  queue(op: number, payload: string | Uint8Array, watch?: Watch): Effect.Effect<Effect.Effect<void>> {
    return Effect.uninterruptible(Effect.map(this.putOnLane(op, payload, watch), ({ lane, pending }) =>
      Effect.uninterruptibleMask((restore) => this.awaitWritten(lane, pending, restore))))
  }

  get settleSuperseded(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const dropped: Array<Pending> = []
      for (const lane of [this.presence, this.other]) {
        // the one a writer took is its writer's, while one is attached
        if (this.start === undefined && lane.carried?.watch?.superseded?.() === true) {
          dropped.push(lane.carried)
          lane.carried = undefined
        }
        for (let at = lane.waiting.length - 1; at >= 0; at--) {
          if (lane.waiting[at]!.watch?.superseded?.() === true) dropped.push(...lane.waiting.splice(at, 1))
        }
      }
      return dropped.length === 0
        ? Effect.void
        : Effect.zipRight(Effect.forEach(dropped, (pending) => Deferred.succeed(pending.sent, undefined), { discard: true }), this.depth())
    })
  }

  attach<R>(writer: Writer<R>): Effect.Effect<void, never, R | Scope.Scope> {
    return Effect.gen(this, function*() {
      const scope = yield* Effect.scope
      const context = yield* Effect.context<R>()
      const depth = this.depth()
      const slotsOf = (lane: Lane) => lane === this.presence ? writer.presenceSlots : writer.slot
      const mine = (lane: Lane): Effect.Effect<void> =>
        Effect.asVoid(
          Effect.uninterruptible(
            Effect.forkIn(Effect.provide(writeLane(lane, slotsOf(lane), writer.write, depth, lane === this.presence), context), scope)
          )
        )
      this.start = mine
      yield* Scope.addFinalizer(
        scope,
        Effect.sync(() => {
          if (this.start === mine) this.start = undefined
        })
      )
      yield* this.wake(this.presence)
      yield* this.wake(this.other)
    })
  }

  // the command put on its lane, and the lane's writer woken
  private putOnLane(op: number, payload: string | Uint8Array, watch: Watch | undefined): Effect.Effect<{ readonly lane: Lane; readonly pending: Pending }> {
    return Effect.flatMap(Deferred.make<void>(), (sent) => {
      const lane = op === Opcode.PresenceUpdate ? this.presence : this.other
      const pending: Pending = { payload, sent, watch, writing: false }
      lane.waiting.push(pending)
      watch?.onQueued?.()
      return Effect.as(Effect.zipRight(this.depth(), this.wake(lane)), { lane, pending })
    })
  }

  // waits (interruptible only where `restore` makes it so) until the command was written: an
  // interrupted wait withdraws it
  private awaitWritten(lane: Lane, pending: Pending, restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>): Effect.Effect<void> {
    return Effect.onInterrupt(restore(Deferred.await(pending.sent)), () => this.withdraw(lane, pending)).pipe(Effect.ensuring(this.depth()))
  }

  private depth(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const { other, presence } = this
      return this.report(
        presence.waiting.length + other.waiting.length + (presence.carried ? 1 : 0) + (other.carried ? 1 : 0)
      )
    })
  }

  private wake(lane: Lane): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (lane.writing || this.start === undefined || (lane.carried === undefined && lane.waiting.length === 0)) {
        return Effect.void
      }
      lane.writing = true
      return this.start(lane)
    })
  }

  private withdraw(lane: Lane, pending: Pending): Effect.Effect<void> {
    return Effect.suspend(() => {
      const at = lane.waiting.indexOf(pending)
      if (at >= 0) lane.waiting.splice(at, 1)
      if (!pending.writing && lane.carried === pending) lane.carried = undefined
      return Effect.map(Deferred.interrupt(pending.sent), (withdrawn) => {
        if (withdrawn && !pending.writing) pending.watch?.onWithdrawn?.()
      })
    })
  }
}
