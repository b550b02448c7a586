/**
 * The program's commands on their way out: queued while the session is not ready, then written
 * by the ready connection's writers, one send-limiter slot each. Presence updates have their own
 * lane (and their own 5 per 20 s limit), so one waiting on that limit holds up no other command.
 * A command taken off its queue is never dropped by a closing connection: it is carried over to
 * the next one.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { Opcode } from "../protocol/Opcode.ts"

/**
 * One encoded command waiting to be sent, and who waits for it.
 *
 * @since 0.1.0
 */
export interface Pending {
  readonly payload: string | Uint8Array
  readonly sent: Deferred.Deferred<void>
}

/**
 * How a ready connection writes: `slot` waits for the send limiter, `presenceSlot` for the
 * presence limit, and `write` sends (false when the socket refused it, which keeps the command
 * for the next connection).
 *
 * @since 0.1.0
 */
export interface Writer<R> {
  readonly slot: Effect.Effect<void, never, R>
  readonly presenceSlot: Effect.Effect<void, never, R>
  readonly write: (payload: string | Uint8Array) => Effect.Effect<boolean>
}

/**
 * The queues of commands that wait for a ready connection.
 *
 * @since 0.1.0
 */
export interface Outbox {
  /**
   * Queues an encoded command and waits until it was written to a socket (handed to TCP, not
   * acknowledged by Discord). Interrupting the wait withdraws the command if it was not written yet.
   */
  readonly submit: (op: number, payload: string | Uint8Array) => Effect.Effect<void>
  /** Writes queued commands forever, for one connection. */
  readonly drain: <R>(writer: Writer<R>) => Effect.Effect<never, never, R>
}

interface Lane {
  readonly queue: Queue.Queue<Pending>
  /** The command taken off the queue and not yet written, if any. */
  carried: Pending | undefined
}

const makeLane = Effect.map(Queue.unbounded<Pending>(), (queue): Lane => ({ queue, carried: undefined }))

/**
 * Writes one lane's commands in order: take the next command, wait for its slots, write it.
 * Waiting is interruptible; a command taken and not yet written stays `carried`. A command whose
 * caller gave up (its `sent` was interrupted) is dropped unsent.
 */
const drainLane = <R>(lane: Lane, slots: Effect.Effect<void, never, R>, write: Writer<R>["write"]) =>
  Effect.forever(Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const pending = lane.carried ?? (yield* restore(Queue.take(lane.queue)))
      lane.carried = pending
      if (!(yield* Deferred.isDone(pending.sent))) {
        yield* restore(slots)
        if (!(yield* Deferred.isDone(pending.sent)) && !(yield* write(pending.payload))) {
          return yield* restore(Effect.never)
        }
      }
      lane.carried = undefined
      yield* Deferred.succeed(pending.sent, undefined)
    })
  ))

/**
 * Makes an empty outbox that reports its depth (commands queued and not yet written) to `report`
 * whenever it changes.
 *
 * @since 0.1.0
 */
export const make = (report: (depth: number) => Effect.Effect<void>): Effect.Effect<Outbox> =>
  Effect.gen(function*() {
    const presence = yield* makeLane
    const other = yield* makeLane
    const depth = Effect.flatMap(
      Effect.zipWith(Queue.size(presence.queue), Queue.size(other.queue), (a, b) =>
        Math.max(0, a) + Math.max(0, b) + (presence.carried ? 1 : 0) + (other.carried ? 1 : 0)),
      report
    )
    return {
      submit: (op, payload) =>
        Effect.flatMap(Deferred.make<void>(), (sent) =>
          Queue.offer((op === Opcode.PresenceUpdate ? presence : other).queue, { payload, sent }).pipe(
            Effect.zipRight(depth),
            Effect.zipRight(Effect.onInterrupt(Deferred.await(sent), () => Deferred.interrupt(sent))),
            Effect.ensuring(depth)
          )),
      // the presence lane in a child fiber (ended with this one), the other lane in this fiber
      drain: (writer) =>
        Effect.zipRight(
          Effect.fork(drainLane(presence, Effect.zipRight(writer.presenceSlot, writer.slot), writer.write)),
          drainLane(other, writer.slot, writer.write)
        )
    }
  })
