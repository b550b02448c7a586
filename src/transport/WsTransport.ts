/**
 * The live transport: websocket connections over the `ws` package.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Scope from "effect/Scope"
import type { ClientRequest, IncomingMessage } from "node:http"
import WebSocket from "ws"
import { TextFrame } from "../codec/TextFrame.ts"
import { kindOf } from "../internal/printable.ts"
import { isOptionsObject } from "../internal/record.ts"
import * as RetryAfter from "../internal/retryAfter.ts"
import { unknownOptionsIn, wholeList } from "../internal/unknownOptions.ts"
import { ResumableClose } from "../protocol/CloseCode.ts"
import * as CloseFrame from "./CloseFrame.ts"
import { checkConnectOptions, ConnectionClosed, GatewayTransport, receiveFrom, refusedUpgrade, TransportError } from "./GatewayTransport.ts"
import type { Connection, ConnectOptions, Frame } from "./GatewayTransport.ts"

/**
 * Options for the live transport.
 *
 * @since 0.1.0
 */
export interface WsTransportOptions {
  /**
   * Frames buffered before the socket stops reading (TCP backpressure) until the consumer catches
   * up; the frames a `receive` handed over count until the next `receive`, as the consumer holds
   * them until then. Nothing is dropped. Default 1024.
   */
  readonly highWaterMark?: number | undefined
  /**
   * Creates the socket, e.g. to add an `agent` or headers. It must pass `options` on to `ws`
   * (its `binaryType` is set to `nodebuffer`).
   * Default `new WebSocket(url, options)`.
   */
  readonly createSocket?: ((url: string, options: WebSocket.ClientOptions) => WebSocket) | undefined
}

const defaultCreateSocket = (url: string, options: WebSocket.ClientOptions): WebSocket => new WebSocket(url, options)

const noop = (): void => {}

// the largest limit `ws` holds (it keeps `maxPayload | 0`: past 2^31 - 1 none, past 2^32 a small
// one); a message that size could not be decoded anyway (a string holds less)
const maxPayload = 2 ** 31 - 1

/**
 * How long a socket disposed while its close goes through waits for the peer's close frame (and the
 * end of its TCP) before it is destroyed.
 */
const closeGraceMs = 1000

/**
 * The close code `ws` sends when it rejects an incoming frame, by its error code: 1009 for a
 * message too long, 1007 for text that is not UTF-8, 1002 for any other breach of the protocol (a
 * control frame over 125 bytes, a close frame of one byte: they were told as a lost connection).
 */
const protocolErrorCloseCode = (error: Error & { readonly code?: unknown }): number | undefined => {
  switch (error.code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
    case "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH":
      return 1009
    case "WS_ERR_INVALID_UTF8":
      return 1007
    default:
      return typeof error.code === "string" && error.code.startsWith("WS_ERR_") ? 1002 : undefined
  }
}

/**
 * How many bytes may wait unsent before a ping ends the connection: `ws` answers every ping with a
 * pong, and a peer that pings without reading (a flood) had them queued without end.
 */
const maxUnsentBytes = 1024 * 1024

/**
 * What a websocket fragment held for an unfinished message costs beyond its bytes, counted against
 * `maxFrameBytes` as a zlib-stream frame's is: `ws` keeps each fragment as a Buffer of its own
 * until the message's last and counts their bytes only, so a message cut into 1-byte fragments
 * held about eighty times its size.
 */
const fragmentCost = 128

interface ReceiverInternals {
  readonly _fragments?: unknown
  readonly _totalPayloadLength?: unknown
}

// what the unfinished message `ws` is reading holds, its fragments counted `fragmentCost` more
// each, and how many there are; `undefined` from a `ws` that keeps them otherwise (another version)
const heldFragments = (socket: WebSocket): { readonly bytes: number; readonly fragments: number } | undefined => {
  const receiver = (socket as unknown as { readonly _receiver?: ReceiverInternals | null })._receiver
  const fragments = receiver?._fragments
  const payload = receiver?._totalPayloadLength
  if (!Array.isArray(fragments) || typeof payload !== "number") return undefined
  return { bytes: payload + fragments.length * fragmentCost, fragments: fragments.length }
}

/**
 * One socket with its listeners, buffer and teardown. Every listener it adds is removed by
 * `dispose`; a socket still closing keeps only a self-removing guard until its `close` event.
 */
const wire = (
  socket: WebSocket,
  opened: Deferred.Deferred<void, TransportError>,
  mailbox: Mailbox.Mailbox<Frame, ConnectionClosed>,
  highWaterMark: number,
  maxFrameBytes: number
) => {
  socket.binaryType = "nodebuffer"
  let isOpen = false
  let buffered = 0
  let paused = false
  let disposed = false
  let rejected: { readonly code: number; readonly reason: string } | undefined
  // what ws reported last, for a connection that then ends without a close code
  let failure: string | undefined
  let sentClose: { readonly code: number; readonly reason: string } | undefined
  // a close of ours no frame could carry: the socket was ended without one
  let terminated = false
  // how the connection ended, for a send after it
  let closed: ConnectionClosed | undefined
  let giveUp: ReturnType<typeof setTimeout> | undefined
  // whether the grace ran out and the socket was terminated: its close comes next
  let graceSpent = false
  let tcp: IncomingMessage["socket"] | undefined
  // whether the socket reads no more: a message in fragments was refused, and a resume (the
  // reader catching up, the socket disposed) would have read and held more of them till it closed
  let deaf = false

  // A peer that never answers the close frame would hold the socket (and the connection's end, and
  // the process) for `ws`'s 30 s: it gets `closeGraceMs`. Destroyed, the socket still reports the
  // code the peer's frame carried.
  const terminateUnlessClosed = (): void => {
    if (giveUp !== undefined || socket.readyState === WebSocket.CLOSED) return
    giveUp = setTimeout(() => {
      graceSpent = true
      socket.terminate()
    }, closeGraceMs)
    socket.once("close", () => clearTimeout(giveUp))
  }

  // Once the close frames went both ways, ws ends its side of the TCP: nothing more can come, and
  // the socket is let go at once, its close (the peer's code) known now. Waiting for the peer to end
  // its TCP left a close frame read but not told for up to `closeGraceMs`, and a timeout ending the
  // connection meanwhile (a zombie check, the hello timeout) lost a 4004 to a close of ours.
  const closeHandshakeDone = (): void => socket.terminate()
  // ws reports no error of the TCP connection itself (a reset): it says what broke a connection
  // that ended without a close frame
  const onTcpError = (error: Error): void => {
    failure ??= error.message
  }
  const onUpgrade = (response: IncomingMessage): void => {
    tcp = response.socket
    tcp.once("finish", closeHandshakeDone)
    tcp.on("error", onTcpError)
  }
  // after `ws` read each chunk: a message held in fragments over the limit is refused as one over
  // it is, and nothing more is read (a peer sending 1-byte fragments fast filled memory before the
  // close went through)
  const onData = (): void => {
    if (rejected !== undefined) return
    const held = heldFragments(socket)
    if (held === undefined || held.bytes <= maxFrameBytes) return
    rejected = {
      code: 1009,
      reason: `a message in ${held.fragments} fragments, each counted ${fragmentCost} bytes more than its size, over ${maxFrameBytes} bytes`
    }
    deaf = true
    tcp?.pause()
    socket.close(1009)
    terminateUnlessClosed()
    // told now, as ws's own 1009 is: the peer's answer to the close cannot be read any more, and
    // waiting for the grace let a timeout falling in it take the connection as a close of its own
    closed = new ConnectionClosed({ ...rejected, byClient: true })
    mailbox.unsafeDone(Exit.fail(closed))
  }
  const onOpen = (): void => {
    isOpen = true
    tcp?.on("data", onData)
    Deferred.unsafeDone(opened, Exit.void)
  }
  // an HTTP answer instead of the upgrade (a 429 from a proxy in front of the gateway, a 503 in
  // maintenance): its status and `Retry-After` are kept for the session's next try (ws only said
  // "Unexpected server response: 429")
  const onUnexpectedResponse = (request: ClientRequest, response: IncomingMessage): void => {
    const { date, "retry-after": retryAfter } = response.headers
    // read as GET /gateway/bot's (`refusedUpgrade` takes only a 429's or a 5xx's)
    Deferred.unsafeDone(
      opened,
      Effect.flatMap(RetryAfter.fromHeaders(retryAfter, date), (seconds) => Effect.fail(refusedUpgrade(response.statusCode ?? 0, seconds)))
    )
    request.destroy()
  }
  const onError = (error: Error): void => {
    if (!isOpen) {
      Deferred.unsafeDone(opened, Exit.fail(new TransportError({ reason: "Connect", cause: error })))
      return
    }
    // after open, ws reports a frame it rejected (a protocol error) or a write that failed
    const code = protocolErrorCloseCode(error)
    if (code !== undefined) rejected = { code, reason: error.message }
    else failure = error.message
  }
  const onPing = (): void => {
    if (socket.bufferedAmount <= maxUnsentBytes || socket.readyState !== WebSocket.OPEN) return
    failure = `the peer pings without reading the answers (over ${maxUnsentBytes} bytes unsent)`
    socket.terminate()
  }
  const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    // text stays bytes: a message the session skips is never decoded into a string
    const bytes = data as Buffer
    mailbox.unsafeOffer(isBinary ? bytes : new TextFrame(bytes))
    if (++buffered >= highWaterMark && !paused) {
      paused = true
      socket.pause()
    }
  }
  const onClose = (code: number, reason: Buffer): void => {
    Deferred.unsafeDone(opened, Exit.fail(new TransportError({ reason: "Connect", cause: new Error(`closed with ${code}`) })))
    closed = rejected !== undefined
      ? new ConnectionClosed({ ...rejected, byClient: true })
      // our close answered by a close frame with no code (RFC 6455 lets a peer answer so; ws says
      // 1005): the close is ours (it was told as a lost connection)
      : code === 1005 && sentClose !== undefined
      ? new ConnectionClosed({ ...sentClose, byClient: true })
      : CloseFrame.saysNoFrame(code)
      ? new ConnectionClosed({ code: undefined, reason: failure ?? reason.toString("utf8"), byClient: terminated })
      // the peer's own close crossing ours is the peer's (a gateway's 1009 is no refusal of ours)
      : new ConnectionClosed({ code, reason: reason.toString("utf8"), byClient: sentClose !== undefined && code === sentClose.code })
    mailbox.unsafeDone(Exit.fail(closed))
  }

  socket.on("upgrade", onUpgrade)
  socket.on("open", onOpen)
  socket.on("unexpected-response", onUnexpectedResponse)
  socket.on("error", onError)
  socket.on("message", onMessage)
  socket.on("ping", onPing)
  socket.on("close", onClose)

  const dispose = (): void => {
    if (disposed) return
    disposed = true
    socket.removeListener("upgrade", onUpgrade)
    tcp?.removeListener("finish", closeHandshakeDone)
    tcp?.removeListener("error", onTcpError)
    tcp?.removeListener("data", onData)
    socket.removeListener("open", onOpen)
    socket.removeListener("unexpected-response", onUnexpectedResponse)
    socket.removeListener("error", onError)
    socket.removeListener("message", onMessage)
    socket.removeListener("ping", onPing)
    socket.removeListener("close", onClose)
    // a paused socket would not read the peer's close frame, and `ws` would keep it for 30 s
    if (paused && !deaf) socket.resume()
    // kept: a send after it says how the connection ended, as `receive` does (it said "the socket
    // is not open")
    // (how it ended where this side knows already: a refusal, a close sent, or one no frame
    // carries, which dropped it; a 4900 in their place said another end)
    closed ??= ending() ?? new ConnectionClosed(
      terminated ? { code: undefined, reason: "", byClient: true } : { code: ResumableClose, reason: "closed by the client", byClient: true }
    )
    mailbox.unsafeDone(Exit.fail(closed))
    if (socket.readyState === WebSocket.OPEN) socket.close(ResumableClose)
    else if (socket.readyState === WebSocket.CONNECTING) socket.terminate()
    // whoever ended the connection already gave the close its time
    if (socket.readyState === WebSocket.CLOSING) terminateUnlessClosed()
    if (socket.readyState !== WebSocket.CLOSED) {
      // `ws` may still emit an error while closing; an unheard error would crash the process.
      socket.on("error", noop)
      socket.once("close", () => socket.removeListener("error", noop))
    }
  }

  // how the connection ends, once this side knows: how it ended, or the close ws or we sent
  const ending = (): ConnectionClosed | undefined =>
    closed ??
      (rejected !== undefined
        ? new ConnectionClosed({ ...rejected, byClient: true })
        : sentClose !== undefined
        ? new ConnectionClosed({ ...sentClose, byClient: true })
        : undefined)

  // the frames the last take handed over: the reader holds them until it takes again
  let held = 0
  const take = Effect.map(receiveFrom(mailbox), (frames) => {
    held = frames.length
    return frames
  })

  const connection: Connection = {
    receive: Effect.suspend(() => {
      buffered -= held
      held = 0
      // paused with a full mailbox, the socket stays paused: what is taken now is held in turn
      if (paused && !deaf && buffered < highWaterMark) {
        paused = false
        socket.resume()
      }
      return take
    }),
    send: (frame) =>
      Effect.async<void, TransportError>((resume) => {
        if (socket.readyState === WebSocket.OPEN) {
          // Told within this turn of the event loop (before an immediate queued now: Node tells a
          // write done at once on the next tick, TLS by an immediate), the frame went to TCP at
          // once. Told later, it went if the TCP socket still stood: one destroyed under a write
          // (our close's grace, the peer's reset) cancels it, and Node tells the cancelled write no
          // error either (it was reported sent, and the session took the command for written
          // instead of carrying it over)
          let thisTurn = true
          socket.send(frame, (error) => {
            if (error !== undefined && error !== null) return resume(Effect.fail(new TransportError({ reason: "Send", cause: error })))
            if (thisTurn || tcp?.destroyed !== true) return resume(Effect.void)
            resume(Effect.fail(new TransportError({ reason: "Send", cause: ending() ?? new Error("the socket was destroyed before the frame was written") })))
          })
          setImmediate(() => {
            thisTurn = false
          })
          return
        }
        const failed = () => resume(Effect.fail(new TransportError({ reason: "Send", cause: ending() ?? new Error("the socket is not open") })))
        if (socket.readyState !== WebSocket.CLOSING || ending() !== undefined || disposed) return failed()
        // The peer's close frame was read, its TCP not ended yet: the send fails with that close once
        // it is known, as a send after it does (a 4004 read so was taken for a lost connection, and
        // the session reconnected). It is known once ws's answer went out, or within `closeGraceMs`
        // when the answer is stuck behind writes the peer does not read (it took ws's 30 s).
        terminateUnlessClosed()
        // (past the grace the socket was terminated, and its close comes next: a process stalled
        // past both timers ran this one in the same round, before the close, and failed bare)
        const timer = setTimeout(() => graceSpent ? undefined : done(), 2 * closeGraceMs)
        function done() {
          clearTimeout(timer)
          socket.removeListener("close", done)
          failed()
        }
        socket.once("close", done)
        return Effect.sync(() => {
          clearTimeout(timer)
          socket.removeListener("close", done)
        })
      }),
    close: (code, reason = "") =>
      Effect.sync(() => {
        if (socket.readyState !== WebSocket.OPEN) return
        // one no close frame can carry ends the connection without one, as ours (a memory
        // transport's close says so too): ws sent 4000 for 4000.5, and a send after 1005 named it
        if (CloseFrame.problem(code, reason) !== undefined) {
          terminated = true
          socket.terminate()
          return
        }
        sentClose = { code, reason }
        socket.close(code, reason)
      })
  }

  return { connection, dispose }
}

// every option of `make` (checked against its type)
const optionKeys = wholeList<WsTransportOptions>()({ highWaterMark: true, createSocket: true })

/**
 * Builds the live transport. `connect` resolves once the socket is open; interrupting it (a
 * connect timeout) terminates the half-open socket. Closing the connection's scope closes the
 * socket with 4900 if it is still open and removes every listener. A misspelt option, a
 * `highWaterMark` that is not a positive integer or a `createSocket` that is no function throws a
 * `RangeError` naming it (a defect, built in a Layer).
 *
 * @since 0.1.0
 */
export const make = (options: WsTransportOptions = {}): Context.Tag.Service<GatewayTransport> => {
  // a mistake in the program, from plain JavaScript: a misspelt option (`highWatermark`) was
  // ignored, its default kept
  const given: unknown = options
  if (!isOptionsObject(given)) throw new TypeError(`WsTransport: options must be an object, got ${kindOf(given)}`)
  const unknown = unknownOptionsIn(options, optionKeys)
  if (unknown !== undefined) throw new RangeError(`WsTransport: ${unknown}`)
  const createSocket = options.createSocket ?? defaultCreateSocket
  if (typeof createSocket !== "function") throw new RangeError(`WsTransport: createSocket must be a function, got ${kindOf(createSocket)}`)
  const highWaterMark = options.highWaterMark ?? 1024
  // NaN never paused the socket, whatever the consumer's lag
  if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
    throw new RangeError(`WsTransport: highWaterMark must be a positive integer, got ${highWaterMark}`)
  }
  const connect = (url: string, connectOptions: ConnectOptions) =>
    Effect.gen(function*() {
      yield* checkConnectOptions("WsTransport", connectOptions)
      const opened = yield* Deferred.make<void, TransportError>()
      const mailbox = yield* Mailbox.make<Frame, ConnectionClosed>()
      const scope = yield* Effect.scope
      // the release goes to the scope directly: `Effect.acquireRelease` would keep a copy of this
      // fiber's FiberRefs for as long as the connection lives
      const wired = yield* Effect.uninterruptible(Effect.tap(
        Effect.try({
          try: () => {
            const limit = Math.min(connectOptions.maxFrameBytes, maxPayload)
            return wire(createSocket(url, { perMessageDeflate: false, maxPayload: limit }), opened, mailbox, highWaterMark, limit)
          },
          catch: (cause) => new TransportError({ reason: "Connect", cause })
        }),
        (wired) => Scope.addFinalizer(scope, Effect.sync(wired.dispose))
      ))
      yield* Deferred.await(opened).pipe(
        Effect.onExit((exit) => Exit.isFailure(exit) ? Effect.sync(wired.dispose) : Effect.void)
      )
      return wired.connection
    })
  return { connect }
}

/**
 * The live transport with default options.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<GatewayTransport> = Layer.sync(GatewayTransport, () => make())

/**
 * The live transport with options.
 *
 * @since 0.1.0
 */
export const layerWith = (options: WsTransportOptions): Layer.Layer<GatewayTransport> =>
  Layer.sync(GatewayTransport, () => make(options))
