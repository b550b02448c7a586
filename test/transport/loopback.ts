/**
 * What the live transport's tests over loopback share: a `ws` server for one test, a transport
 * that keeps the sockets it creates, the listeners a socket holds, a connection whose server
 * side writes raw frames, and sends under way or written at once as the connection ends.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as net from "node:net"
import WebSocket, { WebSocketServer } from "ws"
import type { Connection, Frame } from "../../src/transport/GatewayTransport.ts"
import * as WsTransport from "../../src/transport/WsTransport.ts"

const events = ["open", "message", "close", "error", "unexpected-response", "upgrade", "ping", "pong"] as const

/** The listeners `socket` holds for the events a transport listens to. */
export const listenerTotal = (socket: WebSocket): number => events.reduce((sum, event) => sum + socket.listenerCount(event), 0)

/**
 * A loopback websocket server for one test; the server side of each connection arrives on
 * `accepted`, and its TCP socket on `tcp`. A server socket's own protocol errors (a client message
 * over its `maxPayload`) are expected.
 */
export const server = (options: { readonly maxPayload?: number } = {}) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly wss: WebSocketServer
      readonly url: string
      readonly accepted: Queue.Queue<WebSocket>
      readonly tcp: Queue.Queue<net.Socket>
    }>((resume) => {
      const accepted = Effect.runSync(Queue.unbounded<WebSocket>())
      const tcp = Effect.runSync(Queue.unbounded<net.Socket>())
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options }, () => {
        const { port } = wss.address() as net.AddressInfo
        resume(Effect.succeed({ wss, url: `ws://127.0.0.1:${port}`, accepted, tcp }))
      })
      wss.on("connection", (socket, request) => {
        socket.on("error", () => {})
        Queue.unsafeOffer(accepted, socket)
        Queue.unsafeOffer(tcp, request.socket)
      })
    }),
    ({ wss }) =>
      Effect.async<void>((resume) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resume(Effect.void))
      })
  )

/** A transport that keeps every socket it creates, so tests can inspect their listeners. */
export const recordingTransport = (options: WsTransport.WsTransportOptions = {}) => {
  const sockets: Array<WebSocket> = []
  const transport = WsTransport.make({
    ...options,
    createSocket: (url, socketOptions) => {
      const socket = new WebSocket(url, socketOptions)
      sockets.push(socket)
      return socket
    }
  })
  return { transport, sockets }
}

/** A raw frame as a server writes it (unmasked, FIN set unless `fin` is false), of up to 65535 bytes. */
export const rawFrame = (opcode: number, payload: Buffer, fin = true): Buffer => {
  const first = (fin ? 0x80 : 0) | opcode
  if (payload.length < 126) return Buffer.concat([Buffer.from([first, payload.length]), payload])
  const header = Buffer.alloc(4)
  header[0] = first
  header[1] = 126
  header.writeUInt16BE(payload.length, 2)
  return Buffer.concat([header, payload])
}

/** A connection whose server side is taken over at the TCP level (ws's server reads no more of it). */
export const rawConnection = (options: WsTransport.WsTransportOptions = {}, maxFrameBytes = 1024) =>
  Effect.gen(function*() {
    const { accepted, tcp, url } = yield* server()
    const { sockets, transport } = recordingTransport(options)
    const connection = yield* transport.connect(url, { maxFrameBytes })
    yield* Queue.take(accepted)
    const raw = yield* Queue.take(tcp)
    for (const event of ["data", "end"]) raw.removeAllListeners(event)
    return { connection, raw, socket: sockets[0]! }
  })

/** Everything `connection` gives until it ends, and how it ended (within `within`, or the test dies). */
export const drain = (connection: Connection, within: Duration.DurationInput = "3 seconds") =>
  Effect.gen(function*() {
    const seen: Array<Frame> = []
    const end = yield* Effect.flip(Effect.forever(Effect.map(connection.receive, (frames) => seen.push(...frames))))
    return { seen, end }
  }).pipe(Effect.timeout(within), Effect.orDie)

/**
 * A 32 MiB frame sent on `connection` once the peer's TCP `raw` stopped reading, waited for until
 * most of it is held in this process (`socket`'s `bufferedAmount` over 16 MiB): a write under way.
 * Returns the send's exit, once `end` (what ends the connection under it) ran.
 */
export const sentUnderWay = (connection: Connection, socket: WebSocket, raw: net.Socket, end: Effect.Effect<void>) =>
  Effect.gen(function*() {
    raw.pause()
    for (const event of ["data", "end"]) raw.removeAllListeners(event)
    const sending = yield* Effect.fork(Effect.exit(connection.send(Buffer.alloc(32 * 1024 * 1024))))
    yield* Effect.sync(() => socket.bufferedAmount).pipe(
      Effect.repeat({ until: (buffered) => buffered > 16 * 1024 * 1024, schedule: Schedule.spaced("5 millis") }),
      Effect.timeout("3 seconds"),
      Effect.orDie
    )
    yield* end
    return yield* Fiber.join(sending).pipe(Effect.timeout("5 seconds"), Effect.orDie)
  })

/**
 * A small frame sent on `connection` (it goes to TCP at once), then the connection dropped in the
 * same turn by a close no close frame carries: the send's exit, and what `peer` read.
 */
export const sentThenDropped = (connection: Connection, peer: WebSocket) =>
  Effect.gen(function*() {
    const received: Array<string> = []
    peer.on("message", (data) => received.push(String(data)))
    const sending = yield* Effect.fork(Effect.exit(connection.send(`{"op":3,"d":{"status":"idle"}}`)))
    yield* Effect.yieldNow()
    yield* connection.close(4000.5)
    const exit: Exit.Exit<void, unknown> = yield* Fiber.join(sending)
    yield* Effect.sleep("200 millis")
    return { exit, received }
  })
