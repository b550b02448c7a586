/**
 * Gateway commands this version has no method for: a program sends one by its opcode and data
 * (`Session.send`), for a command Discord adds after this version was made, as it added op 43 in
 * 2025. The opcodes this version knows are refused, each naming what sends it.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { Encoding } from "../codec/Encoding.ts"
import { clipped, printable, thrownText } from "../internal/printable.ts"
import { InvalidCommand, maxPayloadBytes, utf8Length } from "./Commands.ts"
import { show } from "./internal/schema.ts"
import { Opcode } from "./Opcode.ts"

/**
 * The name a command this module sends is counted and told by (`discord_gateway_commands_total`'s
 * `command` label, `InvalidCommand.command`): one for every opcode, so that the registry stays
 * bounded.
 *
 * @since 0.1.0
 */
export const name = "Other"

// what sends each opcode this version knows, for the refusal
const known: ReadonlyMap<number, string> = new Map<number, string>([
  [Opcode.Dispatch, "the gateway sends it (Dispatch)"],
  [Opcode.Heartbeat, "the session sends it (Heartbeat)"],
  [Opcode.Identify, "the session sends it (Identify)"],
  [Opcode.PresenceUpdate, "use updatePresence (a new session identifies with it)"],
  [Opcode.VoiceStateUpdate, "use updateVoiceState"],
  [Opcode.Resume, "the session sends it (Resume)"],
  [Opcode.Reconnect, "the gateway sends it (Reconnect)"],
  [Opcode.RequestGuildMembers, "use requestGuildMembers (its answer is matched by its nonce)"],
  [Opcode.InvalidSession, "the gateway sends it (Invalid Session)"],
  [Opcode.Hello, "the gateway sends it (Hello)"],
  [Opcode.HeartbeatAck, "the gateway sends it (Heartbeat ACK)"],
  [Opcode.RequestSoundboardSounds, "use requestSoundboardSounds"],
  [Opcode.RequestChannelInfo, "use requestChannelInfo"]
])

const refused = (reason: InvalidCommand["reason"], message: string) =>
  Either.left(new InvalidCommand({ reason, command: name, message: `${name}: ${message}` }))

/**
 * The frame `{ op, d }` in `encoding`, as it goes out, or why it cannot: `op` must be a
 * non-negative whole number this version does not know, `d` given (`null` for none) and
 * encodable, and the frame at most {@link maxPayloadBytes} bytes. `d` is read once, as it is
 * encoded: the frame is what goes out, whatever the program's object says later.
 *
 * @since 0.1.0
 */
export const encode = (op: number, d: unknown, encoding: Encoding): Either.Either<string | Uint8Array, InvalidCommand> => {
  if (typeof op !== "number" || !Number.isSafeInteger(op) || op < 0) return refused("Invalid", `op must be a non-negative integer, got ${show(op)}`)
  const sender = known.get(op)
  if (sender !== undefined) return refused("Invalid", `op ${op} is one this version sends or takes itself: ${sender}`)
  // (JSON leaves such a `d` out, and the frame went without one)
  if (d === undefined || typeof d === "function" || typeof d === "symbol") return refused("Invalid", `d must be data (null for none), got ${show(d)}`)
  let payload: string | Uint8Array | undefined
  try {
    payload = encoding.encode({ op, d })
  } catch (thrown) {
    return refused("Invalid", `d could not be encoded as ${encoding.name}: ${clipped(printable(thrownText(thrown)), 200)}`)
  }
  const bytes = typeof payload === "string" ? utf8Length(payload) : payload.byteLength
  return bytes <= maxPayloadBytes ? Either.right(payload) : refused("TooLarge", `payload is ${bytes} bytes, the limit is ${maxPayloadBytes}`)
}
