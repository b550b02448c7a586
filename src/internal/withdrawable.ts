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
  /** A new update, on its way until {@link Withdrawable.wentOut} or {@link Withdrawable.withdraw}. */
  readonly add: (value: A) => Update<A>
  /** `update` went out: giving up on it later changes nothing. */
  readonly wentOut: (update: Update<A>) => void
  /** `value` went out whole (an Identify carried it): the newest update on its way with it went out. */
  readonly carried: (value: A) => void
  /** `update` was given up on before it went out. */
  readonly withdraw: (update: Update<A>) => void
}

/**
 * A value that starts as `initial`.
 *
 * @since 0.1.0
 */
export const make = <A>(initial: A): Withdrawable<A> => {
  let made = 0
  // the newest update that went out
  let current: Update<A> = { value: initial, order: made }
  // oldest first; a handful at most
  const pending: Array<Update<A>> = []
  const withdraw = (update: Update<A>): void => {
    const at = pending.indexOf(update)
    if (at >= 0) pending.splice(at, 1)
  }
  const wentOut = (update: Update<A>): void => {
    withdraw(update)
    if (update.order > current.order) current = update
  }
  return {
    latest: () => {
      const newest = pending[pending.length - 1]
      return newest !== undefined && newest.order > current.order ? newest.value : current.value
    },
    add: (value) => {
      const update = { value, order: ++made }
      pending.push(update)
      return update
    },
    wentOut,
    carried: (value) => {
      for (let at = pending.length - 1; at >= 0; at--) {
        if (pending[at]!.value === value) return wentOut(pending[at]!)
      }
    },
    withdraw
  }
}
