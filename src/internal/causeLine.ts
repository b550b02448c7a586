/**
 * A cause in one line: its failure's message, or its defect's, marked as one.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import { inspect } from "node:util"

/**
 * `cause` in one line: the failure's `message`, else `defect: ` and the defect's words: an
 * `Error`'s message without its stack (its name when the message is empty), a string as it is,
 * any other value as `util.inspect` shows it on one line (`String` gave `[object Object]`).
 *
 * @since 0.1.0
 */
export const causeLine = <E extends { readonly message: string }>(cause: Cause.Cause<E>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error.message,
    onNone: () => `defect: ${defectWords(Cause.squash(cause))}`
  })

/**
 * What a thrown or failed value says, in one line: an `Error`'s message without its stack (its name
 * when the message is empty), a string as it is, any other value as `util.inspect` shows it.
 *
 * @since 0.1.0
 */
export const defectWords = (defect: unknown): string => {
  if (defect instanceof Error) return defect.message === "" ? defect.name : defect.message
  return typeof defect === "string" ? defect : inspect(defect, { breakLength: Infinity, depth: 3 })
}
