/**
 * A value changed by updates that take effect once they go out and can be given up on until then:
 * the presence a new Identify carries. An update given up on leaves the value as if it had never
 * been made, whichever updates came before or after it and whichever were given up on too.
 *
 * @since 0.1.0
 */

/**
 * One update on its way.
 *
 * @since 0.1.0
 */
export interface Update<A> {
  readonly value: A
}

/**
 * The value, and the updates on their way to it.
 *
 * @since 0.1.0
 */
export interface Withdrawable<A> {
  /** The newest update still on its way, else the value that went out last. */
  readonly latest: () => A
  /** An update on its way, until {@link Withdrawable.wentOut} or {@link Withdrawable.withdraw}. */
  readonly add: (value: A) => Update<A>
  /**
   * `value` went out (an update, once written, or the value an Identify carried): it is what the
   * other side has now. Called in the order they went out.
   */
  readonly wentOut: (value: A, update?: Update<A>) => void
  /** `update` was given up on before it went out. */
  readonly withdraw: (update: Update<A>) => void
}

/**
 * A value that starts as `initial`.
 *
 * @since 0.1.0
 */
export const make = <A>(initial: A): Withdrawable<A> => {
  let current = initial
  // oldest first; a handful at most (updates wait in one lane)
  const pending: Array<Update<A>> = []
  const remove = (update: Update<A>): void => {
    const at = pending.indexOf(update)
    if (at >= 0) pending.splice(at, 1)
  }
  return {
    latest: () => pending.length === 0 ? current : pending[pending.length - 1]!.value,
    add: (value) => {
      const update = { value }
      pending.push(update)
      return update
    },
    wentOut: (value, update) => {
      current = value
      if (update !== undefined) remove(update)
    },
    withdraw: remove
  }
}
