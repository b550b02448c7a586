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
