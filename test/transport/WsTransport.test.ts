import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as http from "node:http"
import * as net from "node:net"
import WebSocket, { WebSocketServer } from "ws"
import { type Connection, type Frame, TextFrame, type TransportError } from "../../src/transport/GatewayTransport.ts"
import * as WsTransport from "../../src/transport/WsTransport.ts"
import { runningClock } from "../running.ts"
import { listenerTotal, recordingTransport, server } from "./loopback.ts"
import * as Receive from "./receive.ts"

/** Resolves when the client has processed everything the server sent before (pong follows them). */
const flushed = (peer: WebSocket) =>
  Effect.async<void>((resume) => {
    peer.once("pong", () => resume(Effect.void))
    peer.ping()
  })

/**
 * How long the waits below give what happens in a few ms: a stalled CI machine (a process
 * descheduled for 1-2 s) must not end them, and what they stand against is ws's 30 s.
 */
const bound = "5 seconds"

const serverClosed = (peer: WebSocket) =>
  Effect.async<{ readonly code: number; readonly reason: string }>((resume) => {
    peer.once("close", (code, reason) => resume(Effect.succeed({ code, reason: reason.toString() })))
  }).pipe(Effect.timeout(bound), Effect.orDie)

/** Waits (polling, bounded) until the client socket has fully closed. */
const untilClosed = (socket: WebSocket) =>
  Effect.sync(() => socket.readyState).pipe(
    Effect.repeat({ until: (state) => state === WebSocket.CLOSED, schedule: Schedule.spaced("5 millis") }),
    Effect.timeout(bound),
    Effect.orDie
  )


/** A text frame's text (the transport hands text over as undecoded bytes). */
const textOf = (frame: Frame): string => {
  expect(frame).toBeInstanceOf(TextFrame)
  return Buffer.from((frame as TextFrame).bytes).toString("utf8")
}

/** Every frame the client got, and how its connection ended. */
const drain = (connection: Connection) => Receive.drain(connection).pipe(Effect.timeout(bound), Effect.orDie)

/** A live connection to a fresh loopback server, and the server's side of it. */
const connected = (maxFrameBytes = 1024, options: WsTransport.WsTransportOptions = {}) =>
  Effect.gen(function*() {
    const { accepted, url } = yield* server()
    const { transport } = recordingTransport(options)
    const connection = yield* transport.connect(url, { maxFrameBytes })
    const peer = yield* Queue.take(accepted)
    return { connection, peer }
  })

/** A live connection to a fresh loopback server, the server's TCP socket, and the client's socket. */
const connectedRaw = Effect.gen(function*() {
  const { accepted, tcp, url } = yield* server()
  const { sockets, transport } = recordingTransport()
  const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
  yield* Queue.take(accepted)
  return { connection, raw: yield* Queue.take(tcp), sockets }
})

describe("WsTransport", () => {
  it("refuses a highWaterMark that is not a positive integer (NaN never paused the socket)", () => {
    for (const highWaterMark of [NaN, 0, -1, 1.5, Infinity]) {
      expect(() => WsTransport.make({ highWaterMark })).toThrow(`WsTransport: highWaterMark must be a positive integer, got ${highWaterMark}`)
    }
    expect(() => WsTransport.make({ highWaterMark: 1 })).not.toThrow()
  })

  it("refuses a misspelt option (its default was kept) and a createSocket that is no function, naming them", () => {
    const given = (options: object) => () => WsTransport.make(options as WsTransport.WsTransportOptions)
    expect(given({ highWatermark: 4 })).toThrow(new RangeError("WsTransport: unknown option highWatermark (misspelt?)"))
    expect(given({ createSocket: "ws" })).toThrow(new RangeError("WsTransport: createSocket must be a function, got a string"))
    expect(given({ highWaterMark: 4, createSocket: undefined })).not.toThrow()
    // `null` threw a bare TypeError from the check of its keys
    expect(given(null as unknown as object)).toThrow(new TypeError("WsTransport: options must be an object, got null"))
    expect(given([] as unknown as object)).toThrow(new TypeError("WsTransport: options must be an object, got an array"))
    // its entries are no properties: each option was read as left out
    expect(given(new Map([["highWaterMark", 4]]))).toThrow(new TypeError("WsTransport: options must be an object, got a Map"))
  })

  // `ws` keeps `maxPayload | 0`, and 0 is no limit: a limit of 0 or NaN took a frame of any size
  it.live("connect with a maxFrameBytes that is no whole number of at least 1 dies naming it, opening no socket; Infinity is ws's largest limit", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { sockets, transport } = recordingTransport()
      for (const maxFrameBytes of [0, NaN, -1, 1.5]) {
        const exit = yield* Effect.exit(transport.connect(url, { maxFrameBytes }))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(
          new RangeError(`WsTransport.connect: maxFrameBytes must be a whole number of at least 1, or Infinity, got ${maxFrameBytes}`)
        )
      }
      expect(sockets).toHaveLength(0)
      const connection = yield* transport.connect(url, { maxFrameBytes: Infinity })
      const peer = yield* Queue.take(accepted)
      peer.send("x".repeat(100_000))
      expect(textOf((yield* connection.receive)[0]!)).toHaveLength(100_000)
    })))

  it.live("delivers text and binary frames in order, buffered ones as one chunk", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.send("one")
      peer.send(Buffer.from([1, 2, 3]))
      peer.send("three")
      yield* flushed(peer)
      const frames = yield* connection.receive
      expect(frames).toHaveLength(3)
      expect(textOf(frames[0]!)).toBe("one")
      expect(frames[1]).toBeInstanceOf(Uint8Array)
      expect(frames[1]).not.toBeInstanceOf(TextFrame)
      expect(Array.from(frames[1] as Uint8Array)).toEqual([1, 2, 3])
      expect(textOf(frames[2]!)).toBe("three")
    })))

  it.live("hands over many frames in order through backpressure", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected(1024, { highWaterMark: 2 })
      for (let i = 0; i < 50; i++) peer.send(String(i))
      const frames = yield* Receive.take(connection, 50)
      expect(frames.map(textOf)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)))
    })))

  it.live("reads nothing more while the reader holds a batch: the batch counts toward highWaterMark until the next receive", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { sockets, transport } = recordingTransport({ highWaterMark: 4 })
      const connection = yield* transport.connect(url, { maxFrameBytes: 64 * 1024 })
      const peer = yield* Queue.take(accepted)
      let read = 0
      sockets[0]!.on("message", () => read++)
      // 40 KB frames: one socket read (64 KiB) brings at most two of them
      const frames = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(40_000, "."))
      for (const frame of frames) peer.send(frame)
      yield* Effect.sync(() => sockets[0]!.isPaused).pipe(
        Effect.repeat({ until: (paused) => paused, schedule: Schedule.spaced("5 millis") }),
        Effect.timeout(bound),
        Effect.orDie
      )
      const first = yield* connection.receive
      const readBefore = read
      // the program still handles `first`: the socket stays paused meanwhile
      yield* Effect.sleep("100 millis")
      expect(read).toBe(readBefore)
      const rest = yield* Receive.take(connection, frames.length - first.length)
      expect([...first, ...rest].map(textOf)).toEqual(frames)
    })))

  it.live("sends text and binary frames; a send after close fails with Send", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      const received = yield* Queue.unbounded<readonly [string, boolean]>()
      peer.on("message", (data, isBinary) => Queue.unsafeOffer(received, [data.toString("hex"), isBinary]))
      yield* connection.send("hi")
      yield* connection.send(new Uint8Array([255, 0]))
      expect([yield* Queue.take(received), yield* Queue.take(received)]).toEqual([["6869", false], ["ff00", true]])
      yield* connection.close(4000, "bye")
      expect(yield* serverClosed(peer)).toEqual({ code: 4000, reason: "bye" })
      expect((yield* Effect.flip(connection.send("late"))).reason).toBe("Send")
    })))

  it.live("reports the server's close code: 4004 as 4004 (to a send after it too), terminate() as no code, a reset as one", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, tcp, url } = yield* server()
      const { transport } = recordingTransport()
      const first = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const firstPeer = yield* Queue.take(accepted)
      firstPeer.send("before")
      firstPeer.close(4004, "Authentication failed.")
      const { end, seen } = yield* drain(first)
      expect(seen.map(textOf)).toEqual(["before"])
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 4004, reason: "Authentication failed.", byClient: false })
      // a send after it says how the connection ended, for a reader that read no close
      expect((yield* Effect.flip(first.send("late"))).cause).toMatchObject({ _tag: "ConnectionClosed", code: 4004 })
      const second = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const secondPeer = yield* Queue.take(accepted)
      secondPeer.terminate()
      expect((yield* drain(second)).end).toMatchObject({ code: undefined })
      // a reset says so (ws reports no error of the TCP connection: the reason was empty)
      const third = yield* transport.connect(url, { maxFrameBytes: 1024 })
      yield* Queue.take(accepted)
      const sockets = yield* Queue.takeAll(tcp)
      sockets.pipe(Chunk.unsafeLast).resetAndDestroy()
      expect((yield* drain(third)).end).toMatchObject({ code: undefined, reason: "read ECONNRESET", byClient: false })
    })))

  it.live("a close frame ends the connection at once, though the peer then keeps its TCP open (it took ws's 30 s, then a second)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, tcp, url } = yield* server()
      const { sockets, transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const peer = yield* Queue.take(accepted)
      const raw = yield* Queue.take(tcp)
      peer.send("before")
      yield* flushed(peer)
      // the server stops reading, so it never ends its TCP, and writes a close frame (4000 "bye") itself
      for (const event of ["data", "end"]) raw.removeAllListeners(event)
      const clock = yield* runningClock
      raw.write(Buffer.from([0x88, 5, 0x0f, 0xa0, ...Buffer.from("bye")]))
      // told a second later, when the socket gave up on the peer's TCP, a timeout ending the
      // connection meanwhile (a zombie check, the hello timeout) lost a 4004 to a close of its own
      const { end, seen } = yield* drain(connection)
      // at once: a few ms of the process running (a machine that stopped it meanwhile adds none),
      // where the socket's give-up takes a second of it
      expect(clock.elapsed()).toBeLessThan(300)
      expect(seen.map(textOf)).toEqual(["before"])
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 4000, reason: "bye", byClient: false })
      yield* untilClosed(sockets[0]!)
    })))

  it.live("a send between the peer's close frame and the end of its TCP fails with that close (4004), as one after it does", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, raw, sockets } = yield* connectedRaw
      // a send right after the close frame was read (the next tick after its message), while the
      // close handshake goes through
      const sent = Effect.runPromise(Effect.async<readonly [number, Exit.Exit<void, TransportError>]>((resume) => {
        sockets[0]!.once("message", () =>
          process.nextTick(() => {
            const state = sockets[0]!.readyState
            Effect.runPromiseExit(connection.send("heartbeat")).then((exit) => resume(Effect.succeed([state, exit] as const)))
          }))
      }))
      // a frame, then the server's close frame (4004), in one write
      const reason = Buffer.from("Authentication failed.")
      raw.write(Buffer.concat([Buffer.from([0x81, 1, 0x78]), Buffer.from([0x88, 2 + reason.length, 0x0f, 0xa4, ...reason])]))
      const [state, exit] = yield* Effect.promise(() => sent)
      expect(state).toBe(WebSocket.CLOSING)
      // it failed at once with a bare "the socket is not open": a session took it for a lost
      // connection and reconnected after a refused token
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({
        reason: "Send",
        cause: { _tag: "ConnectionClosed", code: 4004, byClient: false }
      })
      // a close of its own, once sent, is what a send after it fails with, at once
      const second = yield* connected()
      yield* second.connection.close(4000, "bye")
      expect((yield* Effect.flip(second.connection.send("late"))).cause).toMatchObject({ _tag: "ConnectionClosed", code: 4000, byClient: true })
    })))

  // A connection whose peer sent close 4004 and reads no more: the client's writes stay queued (32
  // MiB behind), so its answer to the close is stuck; the socket is no longer open
  const closingStuck = Effect.gen(function*() {
    const { connection, raw, sockets } = yield* connectedRaw
    raw.pause()
    for (const event of ["data", "end"]) raw.removeAllListeners(event)
    yield* Effect.forkScoped(Effect.either(connection.send(Buffer.alloc(32 * 1024 * 1024))))
    yield* Effect.yieldNow()
    const reason = Buffer.from("Authentication failed.")
    raw.write(Buffer.from([0x88, 2 + reason.length, 0x0f, 0xa4, ...reason]))
    yield* Effect.sync(() => sockets[0]!.readyState).pipe(
      Effect.repeat({ until: (state) => state !== WebSocket.OPEN, schedule: Schedule.spaced("2 millis") }),
      Effect.timeout(bound),
      Effect.orDie
    )
    return connection
  })

  it.live("a send after the peer's close frame, whose answer is stuck behind writes the peer does not read, fails with that close within a second", () =>
    Effect.scoped(Effect.gen(function*() {
      const connection = yield* closingStuck
      // it failed after 2 s with a bare "the socket is not open": the close came with ws's 30 s
      const clock = yield* runningClock
      const failed = yield* Effect.flip(connection.send("heartbeat")).pipe(Effect.timeout(bound), Effect.orDie)
      expect(failed.cause).toMatchObject({ _tag: "ConnectionClosed", code: 4004, byClient: false })
      // within a second (the grace given the stuck answer) of the process running: a stopped
      // process's overdue timers fire in due order, the grace's before a later one's
      expect(clock.elapsed()).toBeLessThan(1500)
    })))

  // a process stalled past the grace and the fallback ran both in one round of timers: the
  // fallback, before the terminated socket's close, failed bare ("the socket is not open")
  it.live("a send waiting for the peer's close, in a process stalled past its fallback, still fails with that close", () =>
    Effect.scoped(Effect.gen(function*() {
      const connection = yield* closingStuck
      const sending = yield* Effect.fork(Effect.flip(connection.send("heartbeat")))
      yield* Effect.yieldNow()
      // the process stalls past both timers (the grace's 1 s, the fallback's 2 s)
      yield* Effect.sync(() => {
        const until = Date.now() + 2300
        while (Date.now() < until) {
          // stalled
        }
      })
      const failed = yield* Fiber.join(sending).pipe(Effect.timeout(bound), Effect.orDie)
      expect(failed.cause).toMatchObject({ _tag: "ConnectionClosed", code: 4004, byClient: false })
    })))

  it.live("the peer's own close crossing the client's is the peer's (byClient false): a gateway's 1009 is no refusal of the client's", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, tcp, url } = yield* server()
      const { transport } = recordingTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      yield* Queue.take(accepted)
      const raw = yield* Queue.take(tcp)
      // the peer has not read the client's close when it sends its own
      raw.pause()
      for (const event of ["data", "end"]) raw.removeAllListeners(event)
      yield* connection.close(4900, "")
      raw.write(Buffer.from([0x88, 9, 0x03, 0xf1, ...Buffer.from("too big")]))
      const { end } = yield* drain(connection)
      expect(end).toMatchObject({ code: 1009, byClient: false })
    })))

  it.live("a frame over maxFrameBytes ends the connection with 1009, sent by the client (a gateway's 1009 is not)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected(8)
      peer.send("12345678")
      peer.send("123456789")
      const { end, seen } = yield* drain(connection)
      expect(seen.map(textOf)).toEqual(["12345678"])
      expect(end).toMatchObject({ code: 1009, byClient: true })
      expect((yield* serverClosed(peer)).code).toBe(1009)
    })))

  it.live("a text frame that is not UTF-8 ends the connection with 1007", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.send("fine")
      peer.send(Buffer.from([0xc3, 0x28]), { binary: false })
      expect((yield* serverClosed(peer)).code).toBe(1007)
      const { end, seen } = yield* drain(connection)
      expect(seen.map(textOf)).toEqual(["fine"])
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1007 })
    })))

  it.live("any other protocol error (a masked frame) ends the connection with the client's 1002 refusal, saying why", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected()
      peer.send("masked", { mask: true })
      expect((yield* serverClosed(peer)).code).toBe(1002)
      const { end } = yield* drain(connection)
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1002, byClient: true, reason: "Invalid WebSocket frame: MASK must be clear" })
    })))

  it.live("close with a code or reason ws refuses (1005, 124 bytes) terminates the socket", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { transport } = recordingTransport()
      for (const [code, reason] of [[1005, "bye"], [4000, "x".repeat(124)]] as const) {
        const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
        const peer = yield* Queue.take(accepted)
        expect((yield* Effect.exit(connection.close(code, reason)))._tag).toBe("Success")
        expect(yield* serverClosed(peer)).toEqual({ code: 1006, reason: "" })
        expect((yield* drain(connection)).end).toMatchObject({ _tag: "ConnectionClosed", code: undefined })
      }
    })))

  it.live("closing the scope closes with 4900 and leaves no listener on the socket", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { sockets, transport } = recordingTransport()
      const peer = yield* Effect.scoped(Effect.gen(function*() {
        yield* transport.connect(url, { maxFrameBytes: 1024 })
        expect(listenerTotal(sockets[0]!)).toBeGreaterThan(0)
        return yield* Queue.take(accepted)
      }))
      expect(yield* serverClosed(peer)).toEqual({ code: 4900, reason: "" })
      yield* untilClosed(sockets[0]!)
      expect(listenerTotal(sockets[0]!)).toBe(0)
    })))

  it.live("closing the scope of a socket paused by backpressure still completes the close handshake", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { sockets, transport } = recordingTransport({ highWaterMark: 1 })
      const peer = yield* Effect.scoped(Effect.gen(function*() {
        yield* transport.connect(url, { maxFrameBytes: 1024 })
        const peer = yield* Queue.take(accepted)
        peer.send("unread")
        yield* Effect.sync(() => sockets[0]!.isPaused).pipe(
          Effect.repeat({ until: (paused) => paused, schedule: Schedule.spaced("5 millis") }),
          Effect.timeout(bound),
          Effect.orDie
        )
        return peer
      }))
      // paused, the socket would not read the answering close frame, and ws would hold it 30 s
      expect(yield* serverClosed(peer)).toEqual({ code: 4900, reason: "" })
      yield* untilClosed(sockets[0]!)
      expect(listenerTotal(sockets[0]!)).toBe(0)
    })))

  it.live("connecting to a closed port fails with Connect and leaves no listener", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(server(), ({ url }) => url))
      const { sockets, transport } = recordingTransport()
      const error = yield* Effect.flip(Effect.scoped(transport.connect(port, { maxFrameBytes: 1024 })))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Connect" })
      yield* untilClosed(sockets[0]!)
      expect(listenerTotal(sockets[0]!)).toBe(0)
    }))

  it.live("interrupting a pending connect (a timeout) terminates the half-open socket", () =>
    Effect.gen(function*() {
      // A TCP server that accepts and never answers the websocket upgrade.
      const peers = yield* Queue.unbounded<net.Socket>()
      const tcp = net.createServer((socket) => {
        socket.resume()
        Queue.unsafeOffer(peers, socket)
      })
      const port = yield* Effect.async<number>((resume) => {
        tcp.listen(0, "127.0.0.1", () => resume(Effect.succeed((tcp.address() as net.AddressInfo).port)))
      })
      const { sockets, transport } = recordingTransport()
      const result = yield* Effect.scoped(transport.connect(`ws://127.0.0.1:${port}`, { maxFrameBytes: 1024 })).pipe(
        Effect.timeout("100 millis"),
        Effect.flip
      )
      expect(result._tag).toBe("TimeoutException")
      const peer = yield* Queue.take(peers)
      yield* Effect.async<void>((resume) => {
        if (peer.closed) resume(Effect.void)
        else peer.once("close", () => resume(Effect.void))
      }).pipe(Effect.timeout(bound), Effect.orDie)
      yield* untilClosed(sockets[0]!)
      expect(listenerTotal(sockets[0]!)).toBe(0)
      yield* Effect.async<void>((resume) => {
        tcp.close(() => resume(Effect.void))
      })
    }))

  it.live("an HTTP answer instead of an upgrade fails with Connect", () =>
    Effect.gen(function*() {
      const wss = yield* Effect.async<WebSocketServer>((resume) => {
        const created: WebSocketServer = new WebSocketServer(
          { host: "127.0.0.1", port: 0, verifyClient: () => false },
          () => resume(Effect.succeed(created))
        )
      })
      const { port } = wss.address() as net.AddressInfo
      const { sockets, transport } = recordingTransport()
      const error = yield* Effect.flip(Effect.scoped(transport.connect(`ws://127.0.0.1:${port}`, { maxFrameBytes: 1024 })))
      expect(error.reason).toBe("Connect")
      expect(error.message).toContain("401")
      yield* untilClosed(sockets[0]!)
      expect(listenerTotal(sockets[0]!)).toBe(0)
      yield* Effect.async<void>((resume) => {
        wss.close(() => resume(Effect.void))
      })
    }))

  it.live("an upgrade answered 429 or 503 says its status and the seconds its Retry-After asks for (seconds or an HTTP-date)", () =>
    Effect.scoped(Effect.gen(function*() {
      // what the next answer is: a status and its headers
      let answer: readonly [number, Record<string, string>] = [429, {}]
      const server = yield* Effect.acquireRelease(
        Effect.async<http.Server>((resume) => {
          const created = http.createServer((_, response) => response.writeHead(...answer).end("no"))
          created.listen(0, "127.0.0.1", () => resume(Effect.succeed(created)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const { port } = server.address() as net.AddressInfo
      const refused = (status: number, headers: Record<string, string>) => {
        answer = [status, headers]
        const { sockets, transport } = recordingTransport()
        return Effect.flip(Effect.scoped(transport.connect(`ws://127.0.0.1:${port}`, { maxFrameBytes: 1024 }))).pipe(
          Effect.tap(() => untilClosed(sockets[0]!)),
          Effect.tap(() => expect(listenerTotal(sockets[0]!)).toBe(0))
        )
      }
      // ws said only "Unexpected server response: 429": a session could not tell it from a 503
      expect(yield* refused(429, { "retry-after": "5" })).toMatchObject({ reason: "Connect", status: 429, retryAfter: 5 })
      expect((yield* refused(429, { "retry-after": "5" })).message).toBe("transport connect failed: HTTP 429; retry after 5 s")
      const date = "Fri, 04 Dec 2026 12:00:00 GMT"
      const later = "Fri, 04 Dec 2026 12:00:30 GMT"
      expect(yield* refused(503, { "retry-after": later, date })).toMatchObject({ status: 503, retryAfter: 30 })
      // none asked for, or a day: none, or an hour; a 404's is not taken (it parked the session)
      expect((yield* refused(502, {})).retryAfter).toBeUndefined()
      expect(yield* refused(404, { "retry-after": "3600" })).toMatchObject({ status: 404, retryAfter: undefined })
      expect((yield* refused(429, { "retry-after": "86400" })).retryAfter).toBe(3600)
      // a header's delay-seconds are decimal digits: these were read as 16 and 1000 s
      for (const value of ["0x10", "1e3"]) expect((yield* refused(429, { "retry-after": value })).retryAfter).toBeUndefined()
    })))

  // ws keeps `maxPayload | 0`: 2^32 + 8 was a limit of 8 bytes, and one past 2^31 none
  it.live("a maxFrameBytes past what ws holds (2^32 + 8) is no limit of 8 bytes", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, peer } = yield* connected(2 ** 32 + 8)
      peer.send("123456789")
      expect((yield* connection.receive).map(textOf)).toEqual(["123456789"])
    })))

  // it said "the socket is not open"
  it.live("a send after the connection's scope closed fails with the close receive ended with (4900)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* server()
      const { transport } = recordingTransport()
      const connection = yield* Effect.scoped(Effect.zipLeft(transport.connect(url, { maxFrameBytes: 1024 }), Queue.take(accepted)))
      expect(yield* Effect.flip(connection.receive)).toMatchObject({ _tag: "ConnectionClosed", code: 4900, byClient: true })
      const late = yield* Effect.flip(connection.send("late"))
      expect([late.reason, late.cause]).toMatchObject(["Send", { _tag: "ConnectionClosed", code: 4900, byClient: true }])
    })))
})
