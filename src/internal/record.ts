/**
 * Telling a plain object (a JSON object, an options map) from everything else.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Whether `value` is an object that is neither `null` nor an array.
 *
 * @since 0.1.0
 */
export const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

// JavaScript's own kinds whose content is no properties, as `Object.prototype.toString` names them
// (in any realm)
const notOptionsTags: ReadonlySet<string> = new Set(["[object Map]", "[object Set]", "[object WeakMap]", "[object WeakSet]", "[object Date]", "[object RegExp]", "[object Promise]"])

/**
 * Whether `value` can be a whole options object: an object, a class's instance, Effect's
 * `Data.struct` or defaults under `Object.create` too, but none of JavaScript's own kinds whose
 * content is no properties (a `Map` of options was read as none, every option left to its
 * default). Never throws: an object whose proxy's trap throws is taken, which reading then tells.
 *
 * @since 0.1.0
 */
export const isOptionsObject = (value: unknown): value is Readonly<Record<string, unknown>> => {
  if (!isRecord(value)) return false
  try {
    return !notOptionsTags.has(Object.prototype.toString.call(value))
  } catch {
    return true
  }
}

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

// a class's prototype, or some realm's `Object.prototype`: its own keys are methods, no options
const isClassPrototype = (value: object): boolean => Object.hasOwn(value, "constructor")

/**
 * Whether `value` can be a map of options: an object whose properties are its entries, as a plain
 * object, a class's instance, an Effect `Data.struct` or a program's defaults under `Object.create`
 * are; not a `Map`, a `Date` or another of JavaScript's kinds, nor an Effect data type (a
 * `Duration`, a `Redacted`), whose entries are no properties (read as a map, each was a map of no
 * options). Never throws: an object whose proxy's trap throws is taken for a map, which reading
 * then tells.
 *
 * @since 0.1.0
 */
export const isOptionsMap = (value: unknown): value is Readonly<Record<string, unknown>> =>
  isRecord(value) && !isOtherKind(value)

// the prototype of Effect's structs (`Data.struct`, `Data.case`, `Data.tagged`): its `Equal` and
// `Hash` are symbols, as a data type's are, but a struct's entries are its properties
const structPrototype: unknown = Object.getPrototypeOf(Data.struct({}))

// whether `value` is known to be an object of another kind than a map
const isOtherKind = (value: object): boolean => {
  try {
    if (Object.prototype.toString.call(value) !== "[object Object]") return true
    for (let prototype = Object.getPrototypeOf(value); prototype !== null; prototype = Object.getPrototypeOf(prototype)) {
      if (isClassPrototype(prototype) || prototype === structPrototype) return false
      // an Effect data type's prototype: its type id and its `Equal` and `Hash` are symbols
      if (Object.getOwnPropertySymbols(prototype).length > 0) return true
    }
    return false
  } catch {
    return false
  }
}

/**
 * The keys `value` holds an option at: its own enumerable ones and those of the defaults it
 * inherits from under `Object.create`, up to a class's prototype (whose keys are methods).
 *
 * @since 0.1.0
 */
export const optionKeysOf = (value: object): ReadonlyArray<string> => {
  const keys = new Set(Object.keys(value))
  for (let prototype = Object.getPrototypeOf(value); prototype !== null && !isClassPrototype(prototype); prototype = Object.getPrototypeOf(prototype)) {
    for (const key of Object.keys(prototype)) keys.add(key)
  }
  return [...keys]
}
