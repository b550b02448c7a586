/**
 * The program's commands on their way out: queued while the session is not ready, then written
 * by the ready connection's writer, one send-limiter slot each, presence updates also within
 * their own limit. A command taken off the queue is never dropped by a closing connection: it is
 * carried over to the next one.
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
  readonly op: number
  readonly payload: string
  readonly sent: Deferred.Deferred<void>
}

/**
 * The queue of commands that wait for a ready connection.
 *
 * @since 0.1.0
 */
export interface Outbox {
  /** Queues an encoded command and waits until it was written to a socket. */
  readonly submit: (op: number, payload: string) => Effect.Effect<void>
  /**
   * Writes queued commands forever, for one connection: `slot` waits for the send limiter,
   * `presenceSlot` for the presence limit, and `write` sends (false when the socket refused it,
   * which keeps the command for the next connection).
   */
  readonly drain: <R>(io: {
    readonly slot: Effect.Effect<void, never, R>
    readonly presenceSlot: Effect.Effect<void, never, R>
    readonly write: (payload: string) => Effect.Effect<boolean>
  }) => Effect.Effect<never, never, R>
}

/**
 * Makes an empty outbox.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Outbox> = Effect.map(Queue.unbounded<Pending>(), (queue) => {
  let carried: Pending | undefined
  const next = Effect.suspend(() => (carried === undefined ? Queue.take(queue) : Effect.succeed(carried)))

  const submit = (op: number, payload: string) =>
    Effect.flatMap(Deferred.make<void>(), (sent) =>
      Effect.zipRight(Queue.offer(queue, { op, payload, sent }), Deferred.await(sent)))

  const drain: Outbox["drain"] = (io) =>
    Effect.forever(Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        yield* restore(io.slot)
        const pending = yield* restore(next)
        carried = pending
        if (pending.op === Opcode.PresenceUpdate) yield* restore(io.presenceSlot)
        const written = yield* io.write(pending.payload)
        if (!written) return yield* restore(Effect.never)
        carried = undefined
        yield* Deferred.succeed(pending.sent, undefined)
      })
    ))

  return { submit, drain }
})
