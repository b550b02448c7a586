/**
 * The live transport over loopback against a peer that breaks the protocol: a ping flood it never
 * reads the answers to, control frames no websocket may send, a message cut into tiny fragments.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import type WebSocket from "ws"
import { collectGarbage } from "../gc.ts"
import { drain, rawConnection, rawFrame } from "./loopback.ts"

// the most fragments ws held at once, looked at after each socket read
const mostFragmentsHeld = (socket: WebSocket) => {
  const state = { most: 0 }
  const receiver = (socket as unknown as { _receiver?: { _fragments?: Array<unknown> } })
  const tcp = (socket as unknown as { _socket: net.Socket })._socket
  tcp.on("data", () => {
    state.most = Math.max(state.most, (receiver._receiver?._fragments ?? []).length)
  })
  return state
}

const oneByteFragments = (count: number) => Buffer.concat(Array.from({ length: count }, () => rawFrame(0x0, Buffer.from([0x61]), false)))

// what the process holds on the JS heap and in array buffers
const heldBytes = (): number => {
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

describe("WsTransport against a peer that breaks the protocol", () => {
  // ws answers every ping: a peer that pinged without reading had some 10 MB of pongs queued, and
  // it went on growing with the flood
  it.live("a ping flood whose answers the peer never reads ends the connection, saying so, with little left unsent", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, raw, socket } = yield* rawConnection()
      raw.pause()
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => rawFrame(0x9, Buffer.alloc(125, 0x70))))
      for (let i = 0; i < 80; i++) raw.write(batch)
      const { end } = yield* drain(connection, "5 seconds")
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: undefined })
      expect(end.reason).toContain("pings without reading")
      expect(socket.bufferedAmount).toBeLessThan(2 * 1024 * 1024)
    })))

  // they were told as a lost connection, where ws refused the frame with 1002 as it does a message
  // too long (1009) or text that is not UTF-8 (1007)
  for (const [name, frame] of [["a ping of 126 bytes", rawFrame(0x9, Buffer.alloc(126, 0x70))], ["a close frame of one byte", rawFrame(0x8, Buffer.from([0x0f]))]] as const) {
    it.live(`${name} ends the connection with the client's 1002 refusal`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { connection, raw } = yield* rawConnection()
        raw.write(frame)
        const { end } = yield* drain(connection)
        expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1002, byClient: true })
      })))
  }

  // ws keeps every fragment of an unfinished message as a Buffer and counts only their bytes: a
  // message of 1 MB in 1-byte fragments (3 MB on the wire, under a 4 MiB limit) held about 80 MB,
  // and at the default 64 MiB a peer could make the process hold gigabytes
  it.live("a message in a million 1-byte fragments is refused with the client's 1009 long before it holds its size many times over", () =>
    Effect.scoped(Effect.gen(function*() {
      const limit = 4 * 1024 * 1024
      const { connection, raw } = yield* rawConnection({}, limit)
      collectGarbage()
      const before = heldBytes()
      const batch = Buffer.concat(Array.from({ length: 10_000 }, () => rawFrame(0x0, Buffer.from([0x61]), false)))
      raw.write(rawFrame(0x2, Buffer.from([0x61]), false))
      for (let i = 0; i < 100; i++) raw.write(batch)
      const { end, seen } = yield* drain(connection, "5 seconds")
      expect(seen).toEqual([])
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1009, byClient: true })
      expect(end.reason).toContain("fragments")
      collectGarbage()
      expect(heldBytes() - before).toBeLessThan(2 * limit)
    })), 30_000)

  it.live("a message in a few fragments is taken whole, also near the limit", () =>
    Effect.scoped(Effect.gen(function*() {
      const limit = 64 * 1024
      const { connection, raw } = yield* rawConnection({}, limit)
      const part = Buffer.alloc(16_000, 0x62)
      for (const [opcode, fin] of [[0x2, false], [0x0, false], [0x0, false], [0x0, true]] as const) {
        raw.write(rawFrame(opcode, part, fin))
        yield* Effect.sleep("20 millis")
      }
      const frames = yield* connection.receive
      expect(frames.map((frame) => (frame as Uint8Array).length)).toEqual([64_000])
    })))

  // the same where the transport's highWaterMark had paused the socket as the check fired (1024 tiny
  // messages before the fragments, in one write): the reader's next `receive` resumed it, and ws
  // read and held fragments, unchecked, until the close grace ended the socket (rereview69-3)
  it.live("after the fragment check fired on a socket paused by highWaterMark, the consumer's receive does not resume reading", () =>
    Effect.scoped(Effect.gen(function*() {
      // a maxMessageBytes of 1 MiB: the check fires within the socket read that paused the socket
      const limit = 1024 * 1024
      const { connection, raw, socket } = yield* rawConnection({}, limit)
      const seen = mostFragmentsHeld(socket)
      const batch = oneByteFragments(10_000)
      raw.write(Buffer.concat([
        ...Array.from({ length: 1024 }, () => rawFrame(0x2, Buffer.from([0x31]))),
        rawFrame(0x2, Buffer.from([0x61]), false),
        oneByteFragments(10_000)
      ]))
      for (let i = 0; i < 150; i++) raw.write(batch)
      const { end, seen: frames } = yield* drain(connection, "5 seconds")
      expect(frames.length).toBe(1024)
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1009, byClient: true })
      // the check fires at limit / 129 (about 8128 fragments); a socket read more may come in
      expect(seen.most).toBeLessThan(Math.ceil(limit / 129) + 30_000)
    })), 30_000)
})
