/**
 * The live transport over loopback against a peer that breaks the protocol with control frames: a
 * ping flood it never reads the answers to, and control frames no websocket may send.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { drain, rawConnection, rawFrame } from "./loopback.ts"

describe("WsTransport against a peer that breaks the protocol with control frames", () => {
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
})
