/**
 * A value changed by updates that can be given up on until they go out: the presence a new
 * Identify carries. The value is that of the newest update (by when it was made) not given up on,
 * whether it is still on its way or went out; an update given up on before it went out is as if it
 * had never been made, whichever updates came before or after it and whichever were given up on
 * too.
 *
 * @since 0.1.0
 */

/**
 * One update.
 *
 * @since 0.1.0
 */
export interface Update<A> {
  readonly value: A
  /** When it was made, in the order of the updates. */
  readonly order: number
}

/**
 * The value, and the updates on their way to it.
 *
 * @since 0.1.0
 */
export interface Withdrawable<A> {
  /** The value of the newest update not given up on (the first value before any). */
  readonly latest: () => A
  /** The newest update not given up on, on its way or gone out (the first value's before any). */
  readonly newest: () => Update<A>
  /** A new update, on its way until {@link Withdrawable.wentOut} or {@link Withdrawable.withdraw}. */
  readonly add: (value: A) => Update<A>
  /**
   * `update` went out: giving up on it later changes nothing, and the older updates on their way
   * are {@link Withdrawable.superseded}.
   */
  readonly wentOut: (update: Update<A>) => void
  /**
   * `value` went out whole (an Identify carried it): the newest update on its way with it went out,
   * and the older ones on their way are {@link Withdrawable.superseded}. Returns what undoes it,
   * for a frame found never to have gone out (a socket that refused it): the updates it took are on
   * their way again, but for those given up on meanwhile, unless one went out since.
   */
  readonly carried: (value: A) => () => void
  /** `update` was given up on before it went out. */
  readonly withdraw: (update: Update<A>) => void
  /**
   * Whether `update`, or a newer one, went out while `update` was on its way (an Identify carried
   * it): `update` is moot. Asked only of an update that has not gone out by itself.
   */
  readonly superseded: (update: Update<A>) => boolean
}

const noUndo = (): void => {}

/**
 * A value that starts as `initial`.
 *
 * @since 0.1.0
 */
export const make = <A>(initial: A): Withdrawable<A> => new Updates(initial)

// A class, its methods shared by every shard's value: a thousand idle shards should not each keep
// a closure per way of changing a presence they may never change.
class Updates<A> implements Withdrawable<A> {
  private made = 0
  private current: Update<A>
  private readonly pending: Array<Update<A>> = []
  // the updates given up on: one a frame carried, given up on before the frame was found never to
  // have gone out, is not on its way again
  private readonly givenUp = new WeakSet<Update<A>>()

  constructor(initial: A) {
    this.current = { value: initial, order: this.made }
  }

  latest(): A {
    return this.newest().value
  }

  newest(): Update<A> {
    const newest = this.pending[this.pending.length - 1]
    return newest !== undefined && newest.order > this.current.order ? newest : this.current
  }

  add(value: A): Update<A> {
    const update = { value, order: ++this.made }
    this.pending.push(update)
    return update
  }

  wentOut(update: Update<A>): void {
    // it and the older updates on their way (in the order they were made) are done: the older
    // ones are moot (superseded), none can be the value again
    let newer = 0
    while (newer < this.pending.length && this.pending[newer]!.order <= update.order) newer++
    this.pending.splice(0, newer)
    if (update.order > this.current.order) this.current = update
  }

  carried(value: A): () => void {
    for (let at = this.pending.length - 1; at >= 0; at--) {
      const update = this.pending[at]!
      if (update.value !== value) continue
      const before = this.current
      const taken = this.pending.slice(0, at + 1)
      this.wentOut(update)
      return () => {
        if (this.current !== update) return
        this.current = before
        this.pending.unshift(...taken.filter((one) => !this.givenUp.has(one)))
      }
    }
    return noUndo
  }

  withdraw(update: Update<A>): void {
    this.givenUp.add(update)
    const at = this.pending.indexOf(update)
    if (at >= 0) this.pending.splice(at, 1)
  }

  superseded(update: Update<A>): boolean {
    return update.order <= this.current.order
  }
}
