/**
 * The events a session delivers, counted for its events-per-second figure: those that go in at
 * once with one increment each, told to the rate once per socket read (a clock reading per read,
 * not per event) or as an event begins to wait for room; one that waited, as it goes in.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type { EventSink } from "../stream/EventBuffer.ts"
import { monotonicMillis } from "../internal/due.ts"
import * as EventRate from "./EventRate.ts"

/**
 * A sink counting what goes in, and its rate.
 *
 * @since 0.1.0
 */
export interface DeliveryRate<A> {
  /** The sink the session delivers into, counting. */
  readonly sink: EventSink<A>
  /** Tells the rate the events that went in at once since the last time: after each socket read. */
  readonly settle: () => void
  /** Events per second delivered now, as {@link EventRate.EventRate.perSecond}. */
  readonly perSecond: () => number
}

/**
 * Counts what goes into `sink` by `clock`'s monotonic time (a wall clock stepped an hour forward
 * read a steady rate as a fifth of itself for the next ten seconds).
 *
 * @since 0.1.0
 */
export const make = <A>(sink: EventSink<A>, clock: Clock.Clock): DeliveryRate<A> => {
  const rate = EventRate.make()
  let delivered = 0
  const settle = (): void => {
    if (delivered === 0) return
    rate.record(delivered, monotonicMillis(clock))
    delivered = 0
  }
  return {
    sink: {
      unsafeOffer: (event) => {
        if (!sink.unsafeOffer(event)) return false
        delivered++
        return true
      },
      // those before it in its read are told as it begins to wait (a program taking one event a
      // second saw a rate of 0 until the read's end), and it as it goes in
      offer: (event, onIn) => {
        settle()
        return sink.offer(event, () => {
          rate.record(1, monotonicMillis(clock))
          onIn()
        })
      },
      endChunk: () => sink.endChunk?.(),
      idle: () => sink.idle?.()
    },
    settle,
    perSecond: () => rate.perSecond(monotonicMillis(clock))
  }
}
