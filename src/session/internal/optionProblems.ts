/**
 * Telling what is wrong with options, shared by a session's checks (`SessionOptions`) and a
 * fleet's (`FleetOptions`): a problem about one option or several, and the `InvalidOptions` that
 * carries them with the token masked.
 *
 * @since 0.1.0
 */
import { kindOf } from "../../internal/printable.ts"
import { isOptionsObject } from "../../internal/record.ts"
import { withoutToken } from "../../internal/secret.ts"
import { InvalidOptions, type OptionProblem } from "../SessionError.ts"

/**
 * The option a problem naming `options` is about: the one, or `""` for several.
 *
 * @since 0.1.0
 */
export const soleOption = (options: ReadonlyArray<string>): string => options.length === 1 ? options[0]! : ""

/**
 * A problem of a resume point: `ResumePoint`'s checks tell them as text, each about `resume`.
 *
 * @since 0.1.0
 */
export const ofResume = (problem: string): OptionProblem => ({ option: "resume", problem })

/**
 * `InvalidOptions` for `found`, every run of the token masked in each problem and in the message
 * (masked as the whole text, as it always was).
 *
 * @since 0.1.0
 */
export const invalidOptions = (found: ReadonlyArray<OptionProblem>, token: unknown): InvalidOptions =>
  new InvalidOptions({
    detail: withoutToken(found.map(({ problem }) => problem).join("; "), token),
    problems: found.map(({ option, problem }) => ({ option: withoutToken(option, token), problem: withoutToken(problem, token) }))
  })

/**
 * The problem with options (from JavaScript) that are no object, which every check after would
 * read into (`Session.make(undefined)` threw a TypeError at the call), told without their content.
 *
 * @since 0.1.0
 */
export const notAnObject = (options: unknown): string | undefined =>
  isOptionsObject(options) ? undefined : `options must be an object, got ${kindOf(options)}`

/**
 * The problem of `option` when it is not what it must be, told as every such check tells it:
 * `<option> must be <rule>, got <got>`.
 *
 * @since 0.1.0
 */
export const mustBe = (option: string, rule: string, got: string): OptionProblem => ({ option, problem: `${option} must be ${rule}, got ${got}` })
