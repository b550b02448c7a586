/**
 * Checks of the counts the testing kit's options give, which a test in plain JavaScript may give
 * of any kind: a count no `GET /gateway/bot` answer carries was served, for the client under test
 * to refuse.
 *
 * @since 0.1.0
 */
import { show } from "../../protocol/internal/schema.ts"

/**
 * A count given as the option `name` (`count`, `undefined` where it was left out), which must be a
 * whole number of at least `least`, and at most `most` when given.
 *
 * @since 0.1.0
 */
export type Count = readonly [name: string, count: unknown, least: number, most?: number]

/**
 * What is wrong with the first of `counts` that is wrong (`undefined`: none is).
 *
 * @since 0.1.0
 */
export const countsProblem = (counts: ReadonlyArray<Count>): string | undefined => {
  for (const [name, count, least, most] of counts) {
    const fits = Number.isSafeInteger(count) && (count as number) >= least && (most === undefined || (count as number) <= most)
    if (count !== undefined && !fits) {
      return `${name} must be a whole number ${most === undefined ? `of at least ${least}` : `from ${least} to ${most}`}, got ${show(count)}`
    }
  }
  return undefined
}
