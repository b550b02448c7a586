/**
 * The bounded buffer between a session's readers and the program: connections put events in
 * without waiting while it has room, and wait for room (taking nothing meanwhile) when it is full;
 * the program takes them as a stream.
 *
 * Waiting for room is separate from putting the event in, so that a reader that stops waiting
 * (its connection ended) knows for sure that its event did not go in. A `Mailbox`'s suspended
 * `offer` cannot say so: one interrupted just as the program took events may have put its event
 * in, and the event would then reach the program without being counted in the session's resume
 * point, and arrive again with the next resume's replay.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as Released from "./Released.ts"

/**
 * What a connection delivers its events into.
 *
 * @since 0.1.0
 */
export interface EventSink<A> {
  /** Puts `event` in if there is room now, and says whether it did. */
  readonly unsafeOffer: (event: A) => boolean
  /**
   * Waits until there may be room (true), or until the buffer takes no more events (false).
   * It takes nothing: interrupting it costs nothing.
   */
  readonly awaitRoom: Effect.Effect<boolean>
}

/**
 * A buffer of events: the sink the readers put them into, and the stream the program takes.
 *
 * @since 0.1.0
 */
export interface EventBuffer<A, E> {
  readonly sink: EventSink<A>
  /**
   * The events, in the order they were put in; it lets go of each chunk once the next is asked
   * for (src/stream/Released.ts). It ends (or fails) once `done` was called and every event was
   * taken.
   */
  readonly stream: Stream.Stream<A, E>
  /** Takes no more events, and ends the stream with `exit` once those in it were taken. */
  readonly done: (exit: Exit.Exit<void, E>) => Effect.Effect<void>
}

/**
 * A buffer holding up to `capacity` events.
 *
 * @since 0.1.0
 */
export const make = <A, E>(capacity: number): Effect.Effect<EventBuffer<A, E>> =>
  Effect.map(Mailbox.make<A, E>({ capacity, strategy: "suspend" }), (mailbox) => {
    let open = true
    // readers waiting for room, woken all at once by the program's next take
    let waiters: Array<(room: boolean) => void> = []
    const wake = (room: boolean): void => {
      if (waiters.length === 0) return
      const woken = waiters
      waiters = []
      for (const waiter of woken) waiter(room)
    }
    const awaitRoom = Effect.async<boolean>((resume) => {
      const size = mailbox.unsafeSize()
      if (!open || Option.isNone(size)) return resume(Effect.succeed(false))
      if (size.value < capacity) return resume(Effect.succeed(true))
      const waiter = (room: boolean) => resume(Effect.succeed(room))
      waiters.push(waiter)
      return Effect.sync(() => {
        const at = waiters.indexOf(waiter)
        if (at >= 0) waiters.splice(at, 1)
      })
    })
    return {
      sink: { unsafeOffer: (event) => mailbox.unsafeOffer(event), awaitRoom },
      stream: Released.fromTakeAll(mailbox.takeAll, () => wake(true)),
      done: (exit) =>
        Effect.suspend(() => {
          open = false
          wake(false)
          return Effect.asVoid(mailbox.done(exit))
        })
    }
  })
