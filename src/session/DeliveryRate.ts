/**
 * The events a session delivers, counted for its events-per-second figure: those that go in at
 * once with one increment each, told to the rate once per socket read (a clock reading per read,
 * not per event) or as an event begins to wait for room; one that waited, as it goes in.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import { monotonicMillis } from "../internal/due.ts"
import type { EventSink } from "../stream/EventBuffer.ts"
import * as EventRate from "./EventRate.ts"

/**
 * A sink counting what goes in, and its rate: the session delivers into it.
 *
 * @since 0.1.0
 */
export interface DeliveryRate<A> extends EventSink<A> {
  /** Tells the rate the events that went in at once since the last time: after each socket read. */
  settle(): void
  /** Events per second delivered now, as {@link EventRate.EventRate.perSecond}. */
  perSecond(): number
}

/**
 * Counts what goes into `sink` by `clock`'s monotonic time (a wall clock stepped an hour forward
 * read a steady rate as a fifth of itself for the next ten seconds).
 *
 * @since 0.1.0
 */
export const make = <A>(sink: EventSink<A>, clock: Clock.Clock): DeliveryRate<A> => new Counting(sink, clock)

// A class, its methods shared by every session's: a thousand idle shards should not each keep the
// closures of a counter.
class Counting<A> implements DeliveryRate<A> {
  private readonly rate = EventRate.make()
  private delivered = 0

  constructor(private readonly sink: EventSink<A>, private readonly clock: Clock.Clock) {}

  unsafeOffer(event: A): boolean {
    if (!this.sink.unsafeOffer(event)) return false
    this.delivered++
    return true
  }

  // those before it in its read are told as it begins to wait (a program taking one event a
  // second saw a rate of 0 until the read's end), and it as it goes in
  offer(event: A, onIn: () => void): Effect.Effect<boolean> {
    this.settle()
    return this.sink.offer(event, () => {
      this.rate.record(1, monotonicMillis(this.clock))
      onIn()
    })
  }

  settle(): void {
    if (this.delivered === 0) return
    this.rate.record(this.delivered, monotonicMillis(this.clock))
    this.delivered = 0
  }

  perSecond(): number {
    return this.rate.perSecond(monotonicMillis(this.clock))
  }
}
