/**
 * The resume point each delivered READY began, kept beside the event object: its session decides
 * where the session is resumed (READY's URL, or the connection's where READY's is refused), which
 * READY's data alone does not say. A delivered RESUMED keeps the point it resumed, with the
 * encoding and intents an older point may not say. The session records it
 * (`SessionOptions.ResumePoint`; this module, below the session, does not name the type),
 * `SessionOptions.pointAfter` reads it, and a stage that hands on a copy (`Validated`) carries it
 * over.
 *
 * @since 0.1.0
 */
import { globalValue } from "effect/GlobalValue"

const points = globalValue(Symbol.for("effect-discord-gateway/readyPoints"), () => new WeakMap<object, unknown>())

/**
 * Records the point `ready` begins, before it is delivered.
 *
 * @since 0.1.0
 */
export const remember = (ready: object, point: unknown): void => {
  points.set(ready, point)
}

/**
 * The point `ready` began, if a session delivered it (or a copy was carried).
 *
 * @since 0.1.0
 */
export const of = (ready: object): unknown => points.get(ready)

/**
 * Gives `copy` the point `ready` began, if any.
 *
 * @since 0.1.0
 */
export const carry = (ready: object, copy: object): void => {
  if (points.has(ready)) points.set(copy, points.get(ready))
}
