/**
 * Telling a plain object (a JSON object, an options map) from everything else.
 *
 * @since 0.1.0
 */

/**
 * Whether `value` is an object that is neither `null` nor an array.
 *
 * @since 0.1.0
 */
export const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Whether `value`, an object, is a plain one of any realm: its prototype is none, or is one whose
 * own prototype is none (an `Object.prototype`; one made in a `vm` context has that context's).
 *
 * @since 0.1.0
 */
export const isPlainObject = (value: object): boolean => {
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === null || Object.getPrototypeOf(prototype) === null
}
