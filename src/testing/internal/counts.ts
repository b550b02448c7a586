/**
 * Checks of the counts the testing kit's options give, which a test in plain JavaScript may give
 * of any kind: a count no `GET /gateway/bot` answer carries was served, for the client under test
 * to refuse.
 *
 * @since 0.1.0
 */
import { show } from "../../protocol/internal/schema.ts"

/**
 * What is wrong with the count `count` given as the option `name` (`undefined`: nothing, or it was
 * left out): it must be a whole number of at least `least`, and at most `most` when given.
 *
 * @since 0.1.0
 */
export const countProblem = (name: string, count: unknown, least: number, most?: number): string | undefined =>
  count === undefined || (Number.isSafeInteger(count) && (count as number) >= least && (most === undefined || (count as number) <= most))
    ? undefined
    : `${name} must be a whole number ${most === undefined ? `of at least ${least}` : `from ${least} to ${most}`}, got ${show(count)}`
