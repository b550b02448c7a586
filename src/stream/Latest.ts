/**
 * A value and the stream of its changes, like `SubscriptionRef`, without its `PubSub` and its lock:
 * a shard's state is read and changed all its life and watched now and then, and a thousand idle
 * shards should not each keep a hub nobody listens to.
 *
 * Each update and each new subscription is one synchronous step, so a subscriber sees the value
 * at the moment it subscribed, then every later one, none twice and none missed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * A value, updated in place, and its changes.
 *
 * @since 0.1.0
 */
export interface Latest<A> {
  /** The current value. */
  readonly get: Effect.Effect<A>
  /** Replaces the value with `f` of it, and hands the new one to every subscriber. */
  readonly update: (f: (current: A) => A) => Effect.Effect<void>
  /**
   * The current value, then every later one, until `end`; each run of the stream is a
   * subscription of its own.
   */
  readonly changes: Stream.Stream<A>
  /** No value comes after the current one: every run of `changes` ends after it. */
  readonly end: Effect.Effect<void>
}

/**
 * A `Latest` holding `initial`.
 *
 * @since 0.1.0
 */
export const make = <A>(initial: A): Effect.Effect<Latest<A>> => Effect.sync(() => new Value(initial))

// A class, its methods shared by every session's value: a thousand idle shards should not each
// keep the closures of a stream nobody runs.
class Value<A> implements Latest<A> {
  private ended = false
  // made at the first subscription
  private subscribers: Set<Mailbox.Mailbox<A>> | undefined = undefined

  constructor(private current: A) {}

  get get(): Effect.Effect<A> {
    return Effect.sync(() => this.current)
  }

  update(f: (current: A) => A): Effect.Effect<void> {
    return Effect.sync(() => {
      this.current = f(this.current)
      if (this.subscribers !== undefined) for (const mailbox of this.subscribers) mailbox.unsafeOffer(this.current)
    })
  }

  get changes(): Stream.Stream<A> {
    return Stream.unwrapScoped(Effect.map(this.subscribe(), Mailbox.toStream))
  }

  get end(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.ended = true
      if (this.subscribers !== undefined) for (const mailbox of this.subscribers) mailbox.unsafeDone(Exit.void)
    })
  }

  private subscribe(): Effect.Effect<Mailbox.Mailbox<A>, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.flatMap(Mailbox.make<A>(), (mailbox) =>
        Effect.sync(() => {
          this.subscribers ??= new Set()
          this.subscribers.add(mailbox)
          mailbox.unsafeOffer(this.current)
          if (this.ended) mailbox.unsafeDone(Exit.void)
          return mailbox
        })),
      (mailbox) => Effect.sync(() => this.subscribers!.delete(mailbox))
    )
  }
}
