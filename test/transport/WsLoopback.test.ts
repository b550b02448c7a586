/**
 * The live transport against a `ws` server, or a raw TCP peer writing frames by hand, over loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as net from "node:net"
import WebSocket, { WebSocketServer } from "ws"
import { type Frame, TextFrame } from "../../src/transport/GatewayTransport.ts"
import { drain, listenerTotal, rawConnection, rawFrame, recordingTransport, server } from "./loopback.ts"

const textOf = (frame: Frame): string => {
  expect(frame).toBeInstanceOf(TextFrame)
  return Buffer.from((frame as TextFrame).bytes).toString("utf8")
}


const until = <A>(get: () => A, ok: (a: A) => boolean) =>
  Effect.sync(get).pipe(
    Effect.repeat({ until: ok, schedule: Schedule.spaced("2 millis") }),
    Effect.timeout("3 seconds"),
    Effect.orDie
  )



describe("WsTransport over loopback: how connections end, fragments, backpressure, leaks", () => {
  // RFC 6455 §5.5.1 lets the answer's body be empty
  it.live("our close(4000) answered by an empty close frame ends as our 4000, byClient (it was told as a lost connection)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, raw } = yield* rawConnection()
      // the peer answers a close frame (client frames are masked: first byte 0x88) with an empty one
      raw.on("data", (chunk: Buffer) => {
        if (chunk[0] === 0x88) raw.write(rawFrame(0x8, Buffer.alloc(0)))
      })
      yield* connection.close(4000, "bye")
      const { end } = yield* drain(connection)
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 4000, byClient: true })
    })))

  // close() with a code no frame carries terminates the socket
  it.live("after a close no frame can carry (1005, a reason of 124 bytes, 4000.5: ws sent 4000), send and receive both name the client's own drop, as over MemoryTransport (send named a 1005 by the client, receive the peer's lost connection)", () =>
    Effect.scoped(Effect.gen(function*() {
      for (const [code, reason] of [[1005, "bye"], [4000, "x".repeat(124)], [4000.5, ""]] as const) {
        const { connection } = yield* rawConnection()
        yield* connection.close(code, reason)
        const late = yield* Effect.flip(connection.send("late"))
        const { end } = yield* drain(connection)
        expect(end).toMatchObject({ code: undefined, byClient: true })
        expect(late.cause).toMatchObject({ _tag: "ConnectionClosed", code: undefined, byClient: true })
      }
    })))

  it.live("a peer close with code and reason, frames before it all delivered", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const peer = yield* Queue.take(accepted)
      peer.send("a")
      peer.send(Buffer.from([9]))
      peer.close(4008, "Rate limited.")
      const { end, seen } = yield* drain(connection)
      expect(seen.length).toBe(2)
      expect(end).toMatchObject({ code: 4008, reason: "Rate limited.", byClient: false })
      const late = yield* Effect.flip(connection.send("x"))
      expect(late.cause).toMatchObject({ code: 4008 })
    })))

  it.live("a peer's empty close frame (1005) reads as no code; a FIN without a close frame as no code", () =>
    Effect.scoped(Effect.gen(function*() {
      const first = yield* rawConnection()
      first.raw.write(rawFrame(0x8, Buffer.alloc(0)))
      expect((yield* drain(first.connection)).end).toMatchObject({ code: undefined, byClient: false })
      const second = yield* rawConnection()
      second.raw.end()
      expect((yield* drain(second.connection)).end).toMatchObject({ code: undefined, byClient: false })
    })))

  it.live("a close right after the upgrade (during connect) is read after open; a send after a drop names the lost connection", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url, wss } = yield* server()
      wss.on("connection", (socket) => {
        socket.send("hello")
        socket.close(4004, "Authentication failed.")
      })
      const { transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const { end, seen } = yield* drain(connection)
      expect(seen.map(textOf)).toEqual(["hello"])
      expect(end).toMatchObject({ code: 4004, byClient: false })

      const dropped = yield* rawConnection()
      dropped.raw.resetAndDestroy()
      const lost = yield* drain(dropped.connection)
      expect(lost.end).toMatchObject({ code: undefined, byClient: false })
      const late = yield* Effect.flip(dropped.connection.send("x"))
      expect(late.cause).toMatchObject({ _tag: "ConnectionClosed", code: undefined })
      expect(late.message).toContain("connection lost")
    })))

  it.live("a close of ours the peer echoes ends with our code, byClient", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      yield* Queue.take(accepted)
      yield* connection.close(4900, "resume later")
      expect((yield* drain(connection)).end).toMatchObject({ code: 4900, reason: "resume later", byClient: true })
    })))

  it.live("fragmented messages: reassembled (a character split across fragments), over the limit in total 1009 by the client, invalid UTF-8 across fragments 1007", () =>
    Effect.scoped(Effect.gen(function*() {
      const ok = yield* rawConnection({}, 16)
      const euro = Buffer.from("a€b") // e2 82 ac
      ok.raw.write(Buffer.concat([
        rawFrame(0x1, euro.subarray(0, 2), false),
        rawFrame(0x9, Buffer.from("p")), // a ping between the fragments
        rawFrame(0x0, euro.subarray(2, 3), false),
        rawFrame(0x0, euro.subarray(3), true),
        rawFrame(0x2, Buffer.from([1]), false),
        rawFrame(0x0, Buffer.from([2]), true)
      ]))
      const frames: Array<Frame> = []
      while (frames.length < 2) frames.push(...(yield* ok.connection.receive))
      expect(textOf(frames[0]!)).toBe("a€b")
      expect(frames[1]).not.toBeInstanceOf(TextFrame)
      expect(Array.from(frames[1] as Uint8Array)).toEqual([1, 2])
      // each fragment under 16 bytes, 20 in total
      ok.raw.write(Buffer.concat([rawFrame(0x1, Buffer.from("0123456789"), false), rawFrame(0x0, Buffer.from("0123456789"), true)]))
      expect((yield* drain(ok.connection)).end).toMatchObject({ code: 1009, byClient: true })

      const bad = yield* rawConnection()
      bad.raw.write(Buffer.concat([rawFrame(0x1, Buffer.from([0x61, 0xe2]), false), rawFrame(0x0, Buffer.from([0x28, 0x61]), true)]))
      expect((yield* drain(bad.connection)).end).toMatchObject({ code: 1007, byClient: true })
    })))

  it.live("a message of ours over the peer's limit: the peer's 1009, byClient false", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server({ maxPayload: 16 })
      const { transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      yield* Queue.take(accepted)
      yield* connection.send("x".repeat(64))
      expect((yield* drain(connection)).end).toMatchObject({ code: 1009, byClient: false })
    })))

  it.live("backpressure: text and binary frames, none lost or reordered, the socket resumed as the reader catches up, then the close read", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { sockets, transport } = recordingTransport({ highWaterMark: 3 })
      const connection = yield* transport.connect(url, { maxFrameBytes: 64 * 1024 })
      const peer = yield* Queue.take(accepted)
      const count = 300
      for (let i = 0; i < count; i++) {
        if (i % 2 === 0) peer.send(`${i}`.padEnd(8_000, "."))
        else peer.send(Buffer.from(`${i}`))
      }
      peer.close(4000, "done")
      yield* until(() => sockets[0]!.isPaused, (paused) => paused)
      const seen: Array<string> = []
      let maxBatch = 0
      const end = yield* Effect.flip(Effect.forever(Effect.flatMap(connection.receive, (frames) =>
        Effect.sync(() => {
          maxBatch = Math.max(maxBatch, frames.length)
          for (const frame of frames) {
            seen.push(frame instanceof TextFrame ? textOf(frame).replace(/\.+$/, "") : `b${Buffer.from(frame as Uint8Array).toString()}`)
          }
        })
      ))).pipe(Effect.timeout("5 seconds"), Effect.orDie)
      expect(seen).toEqual(Array.from({ length: count }, (_, i) => i % 2 === 0 ? `${i}` : `b${i}`))
      expect(end).toMatchObject({ code: 4000, reason: "done", byClient: false })
    })))

  it.live("200 connect/close cycles (closed by us, by the peer, dropped) leave no listener, socket or server client behind", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url, wss } = yield* server()
      const { sockets, transport } = recordingTransport({ highWaterMark: 1 })
      for (let i = 0; i < 200; i++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
          const peer = yield* Queue.take(accepted)
          peer.send("x")
          peer.send("y")
          if (i % 3 === 0) peer.close(4000)
          else if (i % 3 === 1) peer.terminate()
          else yield* connection.receive
        }))
      }
      for (const socket of sockets) yield* until(() => socket.readyState, (state) => state === WebSocket.CLOSED)
      yield* until(() => wss.clients.size, (n) => n === 0)
      expect(sockets.map(listenerTotal).filter((n) => n > 0)).toEqual([])
      expect(sockets.every((socket) => (socket as unknown as { _socket: net.Socket | null })._socket === null || (socket as unknown as { _socket: net.Socket })._socket.destroyed)).toBe(true)
    })))

  it.live("an upgrade refused with 503 and a Retry-After, or 401, fails Connect with status and leaves no listener", () =>
    Effect.scoped(Effect.gen(function*() {
      let status = 503
      const wss = yield* Effect.acquireRelease(
        Effect.async<WebSocketServer>((resume) => {
          const created: WebSocketServer = new WebSocketServer({
            host: "127.0.0.1",
            port: 0,
            verifyClient: (_info, done) => done(false, status, "no", status === 503 ? { "Retry-After": "7" } : {})
          }, () => resume(Effect.succeed(created)))
        }),
        (wss) => Effect.async<void>((resume) => void wss.close(() => resume(Effect.void)))
      )
      const { port } = wss.address() as net.AddressInfo
      const { sockets, transport } = recordingTransport()
      const first = yield* Effect.flip(Effect.scoped(transport.connect(`ws://127.0.0.1:${port}`, { maxFrameBytes: 1024 })))
      expect(first).toMatchObject({ reason: "Connect", status: 503, retryAfter: 7 })
      expect(first.wait).toBe(7)
      status = 401
      const second = yield* Effect.flip(Effect.scoped(transport.connect(`ws://127.0.0.1:${port}`, { maxFrameBytes: 1024 })))
      expect(second).toMatchObject({ reason: "Connect", status: 401, retryAfter: undefined })
      for (const socket of sockets) yield* until(() => socket.readyState, (state) => state === WebSocket.CLOSED)
      expect(sockets.map(listenerTotal)).toEqual([0, 0])
    })))

  it.live("a server that closes the TCP before answering the upgrade: Connect, no listener", () =>
    Effect.scoped(Effect.gen(function*() {
      const tcp = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const created = net.createServer((socket) => socket.destroy())
          created.listen(0, "127.0.0.1", () => resume(Effect.succeed(created)))
        }),
        (tcp) => Effect.async<void>((resume) => void tcp.close(() => resume(Effect.void)))
      )
      const { port } = tcp.address() as net.AddressInfo
      const { sockets, transport } = recordingTransport()
      const error = yield* Effect.flip(Effect.scoped(transport.connect(`ws://127.0.0.1:${port}`, { maxFrameBytes: 1024 })))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Connect" })
      yield* until(() => sockets[0]!.readyState, (state) => state === WebSocket.CLOSED)
      expect(listenerTotal(sockets[0]!)).toBe(0)
    })))
})
