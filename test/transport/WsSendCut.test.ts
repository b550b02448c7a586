/**
 * The live websocket transport over loopback: what a send reports when the connection ends under
 * it (written to TCP or not), and a TCP reset in the middle of a message.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import { drain, rawConnection, rawFrame, recordingTransport, sentThenDropped, sentUnderWay, server } from "./loopback.ts"

describe("WsTransport sends and ends", () => {
  // a frame still in this process (the peer reads nothing: its TCP window closed) when the
  // connection is torn down (close, the grace, `terminate`) never reached TCP, but Node tells a
  // destroyed socket's cancelled write no error: it was reported sent, and the session's outbox
  // took the command for written (not carried over to the next connection)
  it.live("a frame still in the process when the connection is torn down is not reported as sent", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, tcp, url } = yield* server()
      const { sockets, transport } = recordingTransport()
      const connectionScope = yield* Scope.make()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 }).pipe(Scope.extend(connectionScope))
      yield* Queue.take(accepted)
      // the connection ends (a zombie check, a stop): its scope closes
      const exit = yield* sentUnderWay(connection, sockets[0]!, yield* Queue.take(tcp), Scope.close(connectionScope, Exit.void))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.squash(exit.cause)).toMatchObject({ _tag: "TransportError", reason: "Send" })
    })))

  // a frame small enough to go to TCP at once, then a close of the program's no frame carries (a
  // drop) in the same tick: the frame went out, and the send was reported failed (a session would
  // carry the command over: sent twice)
  it.live("a send written at once, then a close no frame carries: the peer reads the frame, and the send succeeds", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const { exit, received } = yield* sentThenDropped(connection, yield* Queue.take(accepted))
      expect(received).toEqual([`{"op":3,"d":{"status":"idle"}}`])
      expect(Exit.isSuccess(exit)).toBe(true)
    })))

  // a destroy not the transport's own (the peer's reset) cancels a write under way as ours does,
  // and Node tells it no error either: most of the frame never left the process, and it was
  // reported sent
  it.live("a frame still in the process when the peer resets the connection is not reported as sent", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, tcp, url } = yield* server()
      const { sockets, transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      yield* Queue.take(accepted)
      const raw = yield* Queue.take(tcp)
      const exit = yield* sentUnderWay(connection, sockets[0]!, raw, Effect.sync(() => raw.resetAndDestroy()))
      expect(Exit.isFailure(exit)).toBe(true)
    })))

  // the whole message before the reset is delivered, the half one is not, and the end says how
  // (ws reports no TCP error itself)
  it.live("a TCP reset in the middle of a message ends the connection as lost, saying read ECONNRESET", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, raw } = yield* rawConnection()
      raw.write(rawFrame(0x1, Buffer.from("whole")))
      raw.write(rawFrame(0x1, Buffer.alloc(100, 0x61)).subarray(0, 50))
      yield* Effect.sleep("20 millis")
      raw.resetAndDestroy()
      const { end, seen } = yield* drain(connection)
      expect(seen).toHaveLength(1)
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: undefined, reason: "read ECONNRESET", byClient: false })
      const late = yield* Effect.flip(connection.send("late"))
      expect(late).toMatchObject({ reason: "Send", cause: { _tag: "ConnectionClosed", code: undefined } })
    })))
})
