/**
 * Gateway commands this version has no method for: a program sends one by its opcode and data
 * (`Session.send`), for a command Discord adds after this version was made, as it added op 43 in
 * 2025. The opcodes this version knows are refused, each naming what sends it.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { Encoding } from "../codec/Encoding.ts"
import { clipped, kindOf, printable, thrownText } from "../internal/printable.ts"
import { isPlainObject } from "../internal/record.ts"
import { InvalidCommand, maxPayloadBytes, utf8Length } from "./Commands.ts"
import { path, show } from "./internal/schema.ts"
import { Opcode } from "./Opcode.ts"

/**
 * The name a command this module sends is counted and told by (`discord_gateway_commands_total`'s
 * `command` label, `InvalidCommand.command`): one for every opcode, so that the registry stays
 * bounded.
 *
 * @since 0.1.0
 */
export const commandName = "Other"

// why each opcode this version knows is refused: it has a method of its own, or the session or
// the gateway sends it
const known: ReadonlyMap<number, string> = new Map<number, string>([
  [Opcode.Dispatch, "is one the gateway sends (Dispatch)"],
  [Opcode.Heartbeat, "is the session's own (Heartbeat)"],
  [Opcode.Identify, "is the session's own (Identify)"],
  [Opcode.PresenceUpdate, "has a method of its own: use updatePresence (a new session identifies with it)"],
  [Opcode.VoiceStateUpdate, "has a method of its own: use updateVoiceState"],
  [Opcode.Resume, "is the session's own (Resume)"],
  [Opcode.Reconnect, "is one the gateway sends (Reconnect)"],
  [Opcode.RequestGuildMembers, "has a method of its own: use requestGuildMembers (its answer is matched by its nonce)"],
  [Opcode.InvalidSession, "is one the gateway sends (Invalid Session)"],
  [Opcode.Hello, "is one the gateway sends (Hello)"],
  [Opcode.HeartbeatAck, "is one the gateway sends (Heartbeat ACK)"],
  [Opcode.RequestSoundboardSounds, "has a method of its own: use requestSoundboardSounds"],
  [Opcode.RequestChannelInfo, "has a method of its own: use requestChannelInfo"]
])

// the deepest a `d` is copied to (a frame of 4096 bytes holds nothing deeper that is data)
const maxDepth = 64

// what a value that is no data is, for a message: "a Map", "a class instance", "a function"
const kindOfObject = (value: object): string => {
  const tag = Object.prototype.toString.call(value).slice(8, -1)
  return tag === "Object" ? "a class instance" : `a ${tag}`
}

/**
 * `d` as plain data, each part read once: null, booleans, finite numbers, strings, lists and plain
 * objects (a key whose value is `undefined` left out, as JSON leaves it), or what is no data and
 * where. JSON would write the rest as something else (a `Map` as `{}`, `NaN` as `null`, a list's
 * named property not at all), or leave it out (a `toJSON` giving `undefined` sent a frame without
 * `d`). Each value counts at least a byte of the frame: one of more values than the frame holds
 * bytes is too large before the rest is read.
 */
const plainCopy = (d: unknown): Either.Either<unknown, { readonly reason: InvalidCommand["reason"]; readonly message: string }> => {
  let values = 0
  const invalid = (message: string) => Either.left({ reason: "Invalid" as const, message })
  const tooLarge = Either.left({ reason: "TooLarge" as const, message: `payload has over ${maxPayloadBytes} values, the limit is ${maxPayloadBytes} bytes` })
  // where the value being copied is, and the objects it is in (a copy that fails stops there: the
  // stacks are only unwound on success); the path is spelt only for a message
  const at: Array<PropertyKey> = ["d"]
  const inside: Array<object> = []
  const where = () => path(at)
  const copy = (value: unknown): Either.Either<unknown, { readonly reason: InvalidCommand["reason"]; readonly message: string }> => {
    if (++values > maxPayloadBytes) return tooLarge
    if (value === null || typeof value === "string" || typeof value === "boolean") return Either.right(value)
    if (typeof value === "number") return Number.isFinite(value) ? Either.right(value) : invalid(`${where()} must be a finite number, got ${value}`)
    if (typeof value !== "object") return invalid(`${where()} must be data (null for none), got ${kindOf(value)}`)
    if (inside.includes(value)) return invalid(`${where()} refers to an object it is in`)
    if (inside.length >= maxDepth) return invalid(`${where()} is nested deeper than ${maxDepth}`)
    // the copy of each entry of `value`, under `key`, or why one could not be copied
    const entry = (key: string | number, item: unknown) => {
      at.push(key)
      const copied = copy(item)
      at.pop()
      return copied
    }
    if (Array.isArray(value)) {
      // read by its indexes, its length once, as JSON reads it (`Array.from` followed an own
      // `Symbol.iterator`, which JSON leaves alone, and could be led round for ever)
      const length: number = value.length
      if (values + length > maxPayloadBytes) return tooLarge
      const named = Object.keys(value).find((key) => !/^(0|[1-9]\d*)$/.test(key))
      if (named !== undefined) {
        at.push(named)
        return invalid(`${where()} is a named property of a list, which JSON leaves out`)
      }
      inside.push(value)
      const items: Array<unknown> = []
      for (let index = 0; index < length; index++) {
        const copied = entry(index, value[index])
        if (Either.isLeft(copied)) return copied
        items.push(copied.right)
      }
      inside.pop()
      return Either.right(items)
    }
    if (!isPlainObject(value)) return invalid(`${where()} must be a list or a plain object, got ${kindOfObject(value)}`)
    inside.push(value)
    const fields: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      const field: unknown = (value as Record<string, unknown>)[key]
      if (field === undefined) continue
      const copied = entry(key, field)
      if (Either.isLeft(copied)) return copied
      // (defined, not assigned: a `__proto__` key is data like another)
      Object.defineProperty(fields, key, { value: copied.right, enumerable: true, writable: true, configurable: true })
    }
    inside.pop()
    return Either.right(fields)
  }
  return copy(d)
}

/**
 * The frame `{ op, d }` in `encoding`, as it goes out, or why it cannot: `op` must be a
 * non-negative whole number this version does not know, `d` plain data (`null` for none: no
 * `Map`, `Date`, class instance, `NaN`, function, cycle), and the frame at most
 * {@link maxPayloadBytes} bytes. `d` is read once, into a copy that is encoded: the frame is what
 * goes out, whatever the program's object says later.
 *
 * @since 0.1.0
 */
export const encode = (op: number, d: unknown, encoding: Encoding): Either.Either<string | Uint8Array, InvalidCommand> =>
  Either.map(encodeChecked(op, d, encoding), ({ payload }) => payload)

/**
 * {@link encode}, with the copy of `d` that was checked and encoded: what a fleet routes and hands
 * to the session, so that the program's object is read once.
 *
 * @internal
 * @since 0.1.0
 */
export const encodeChecked = (
  op: number,
  d: unknown,
  encoding: Encoding
): Either.Either<{ readonly d: unknown; readonly payload: string | Uint8Array }, InvalidCommand> => {
  try {
    if (typeof op !== "number" || !Number.isSafeInteger(op) || op < 0) {
      const got = typeof op === "number" || typeof op === "string" ? show(op) : kindOf(op)
      return Either.left(InvalidCommand.of("Invalid", commandName, [`op must be a non-negative integer, got ${got}`]))
    }
    const why = known.get(op)
    if (why !== undefined) return Either.left(InvalidCommand.of("Invalid", commandName, [`op ${op} ${why}`]))
    const copied = plainCopy(d)
    if (Either.isLeft(copied)) {
      return Either.left(InvalidCommand.of(copied.left.reason, commandName, [clipped(printable(copied.left.message), 300)]))
    }
    const payload = encoding.encode({ op, d: copied.right })
    const bytes = typeof payload === "string" ? utf8Length(payload) : payload.byteLength
    return bytes <= maxPayloadBytes
      ? Either.right({ d: copied.right, payload })
      : Either.left(InvalidCommand.of("TooLarge", commandName, [`payload is ${bytes} bytes, the limit is ${maxPayloadBytes}`]))
  } catch (thrown) {
    // a getter or a proxy of the program's, or a custom encoding, threw
    const why = `the command could not be read or encoded as ${encoding.name}: ${clipped(printable(thrownText(thrown)), 200)}`
    return Either.left(InvalidCommand.of("Invalid", commandName, [why]))
  }
}
