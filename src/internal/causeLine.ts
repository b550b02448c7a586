/**
 * A cause in one line: its failure's message, or its defect's, marked as one.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

/**
 * `cause` in one line: the failure's `message`, else `defect: ` and the defect's message (an
 * `Error`'s, without its stack), else the defect as a string.
 *
 * @since 0.1.0
 */
export const causeLine = <E extends { readonly message: string }>(cause: Cause.Cause<E>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error.message,
    onNone: () => {
      const defect = Cause.squash(cause)
      return `defect: ${defect instanceof Error ? defect.message : String(defect)}`
    }
  })
