/**
 * Reading options once, as plain data: a getter or a proxy of a program's may answer each read
 * anew, or throw, and options checked on one answer were used with another.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { thrownText } from "../../internal/printable.ts"
import { isOptionsMap, isOptionsObject, optionKeysOf } from "../../internal/record.ts"
import { tokenOf } from "../../internal/secret.ts"
import { toldKey } from "../../internal/unknownOptions.ts"
import type { InvalidOptions } from "../SessionError.ts"
import { fleetKeys, nestedKeys, optionAt, sessionKeys } from "./optionKeys.ts"
import { invalidOptions } from "./optionProblems.ts"

/**
 * `options` as plain data, each value read once: every key the object has, of its own or from
 * defaults it inherits (a misspelt one is told), and every option a session or a fleet takes; or
 * why they could not be read. A getter or a proxy of a program's may answer each read anew, or
 * throw: checked on one answer, another was used. Options that are no object are given back as
 * they are, for the checks to refuse.
 *
 * @since 0.1.0
 */
export const readOnce = <A extends object>(options: A): Either.Either<A, InvalidOptions> => {
  if (!isOptionsObject(options)) return Either.right(options)
  // the path of the option being read, for the message: empty while the keys are asked for
  const path: Array<string> = []
  // what was read, kept when a later read throws: the token read is the one to mask
  const read: Record<string, unknown> = {}
  try {
    readFields(options, [...Object.keys(sessionKeys), ...fleetKeys], path, read)
    // the nested maps too: the caller's object, kept, reached every Identify unchecked when changed
    // (a `properties.os` of 5000 characters was a defect that ended the session)
    for (const [name, known] of Object.entries(nestedKeys)) {
      const value = read[name]
      path.push(name)
      // (a Map, say, left as it is for the checks to refuse: copied, it was a map of no options)
      if (isOptionsMap(value)) read[name] = readFields(value, Object.keys(known), path, {})
      path.pop()
    }
    return Either.right(read as A)
  } catch (thrown) {
    const option = optionAt(path)
    const what = path.length === 0 ? "options" : path.map((key) => toldKey(key)).join(".")
    // a token that cannot be read cannot be masked in what it threw, and is not read again
    if (what === "token") return Either.left(invalidOptions([{ option, problem: "token could not be read" }], undefined))
    // (read again, a token getter may answer another token, or throw, and the text go unmasked)
    const token = Object.hasOwn(read, "token") ? read.token : tokenOf(options)
    if (thrown instanceof TooLong) {
      return Either.left(invalidOptions([{ option, problem: `${what} has ${thrown.length} items, over the ${maxListLength} any option takes` }], token))
    }
    return Either.left(invalidOptions([{ option, problem: `${what} could not be read: ${thrownText(thrown)}` }], token))
  }
}

// the most items a list option is read to: more than any option takes (65,535 shards, two resume
// points each), fewer than would exhaust memory (a list of 2^32 - 1 holes)
const maxListLength = 1 << 20

// a list longer than any option takes, found by `listCopy`
class TooLong {
  constructor(readonly length: number) {}
}

// `list` copied by its indexes, its length read once (an own `Symbol.iterator`, which `Array.from`
// follows, is no option's items)
const listCopy = (list: ReadonlyArray<unknown>): Array<unknown> => {
  const length = list.length
  if (length > maxListLength) throw new TooLong(length)
  const copy: Array<unknown> = []
  for (let index = 0; index < length; index++) copy.push(list[index])
  return copy
}

// `given`'s keys (inherited from defaults too: a misspelt one there is told) and `known` ones,
// each read once into `read` (lists copied), `path` holding the key being read
const readFields = (
  given: Readonly<Record<string, unknown>>,
  known: ReadonlyArray<string>,
  path: Array<string>,
  read: Record<string, unknown>
): Record<string, unknown> => {
  for (const key of new Set([...optionKeysOf(given), ...known])) {
    path.push(key)
    const value: unknown = given[key]
    // (defined, not assigned: an own `__proto__` of a parsed file is a key like another)
    if (value !== undefined) {
      Object.defineProperty(read, key, { value: Array.isArray(value) ? listCopy(value) : value, enumerable: true, writable: true, configurable: true })
    }
    path.pop()
  }
  return read
}
