/**
 * The live transport over loopback against a peer that breaks the protocol with control frames: a
 * ping flood it never reads the answers to, and control frames no websocket may send.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { Connection, Frame } from "../../src/transport/GatewayTransport.ts"
import { recordingTransport, server } from "./loopback.ts"

// everything the connection gives until it ends, and how it ended
const drain = (connection: Connection) =>
  Effect.gen(function*() {
    const seen: Array<Frame> = []
    const end = yield* Effect.flip(Effect.forever(Effect.map(connection.receive, (frames) => seen.push(...frames))))
    return { seen, end }
  }).pipe(Effect.timeout("5 seconds"), Effect.orDie)

// an unmasked frame as a server sends it, of up to 65535 bytes
const rawFrame = (opcode: number, payload: Buffer): Buffer => {
  if (payload.length < 126) return Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload])
  const header = Buffer.from([0x80 | opcode, 126, 0, 0])
  header.writeUInt16BE(payload.length, 2)
  return Buffer.concat([header, payload])
}

// a client connection and the server's raw TCP side, read by nothing
const rawConnection = Effect.gen(function*() {
  const { accepted, tcp, url } = yield* server()
  const { sockets, transport } = recordingTransport()
  const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
  yield* Queue.take(accepted)
  const raw = yield* Queue.take(tcp)
  for (const event of ["data", "end"]) raw.removeAllListeners(event)
  return { connection, raw, socket: sockets[0]! }
})

describe("WsTransport against a peer that breaks the protocol with control frames", () => {
  // ws answers every ping: a peer that pinged without reading had some 10 MB of pongs queued, and
  // it went on growing with the flood
  it.live("a ping flood whose answers the peer never reads ends the connection, saying so, with little left unsent", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, raw, socket } = yield* rawConnection
      raw.pause()
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => rawFrame(0x9, Buffer.alloc(125, 0x70))))
      for (let i = 0; i < 80; i++) raw.write(batch)
      const { end } = yield* drain(connection)
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: undefined })
      expect(end.reason).toContain("pings without reading")
      expect(socket.bufferedAmount).toBeLessThan(2 * 1024 * 1024)
    })))

  // they were told as a lost connection, where ws refused the frame with 1002 as it does a message
  // too long (1009) or text that is not UTF-8 (1007)
  for (const [name, frame] of [["a ping of 126 bytes", rawFrame(0x9, Buffer.alloc(126, 0x70))], ["a close frame of one byte", rawFrame(0x8, Buffer.from([0x0f]))]] as const) {
    it.live(`${name} ends the connection with the client's 1002 refusal`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { connection, raw } = yield* rawConnection
        raw.write(frame)
        const { end } = yield* drain(connection)
        expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1002, byClient: true })
      })))
  }
})
