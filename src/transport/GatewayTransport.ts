/**
 * How the session reaches a gateway: a service that opens websocket connections.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import type { TextFrame } from "../codec/TextFrame.ts"
import * as RetryAfter from "../internal/retryAfter.ts"
import { TaggedError } from "../internal/taggedError.ts"

/**
 * One websocket message as it arrived: text (a `string`, or its UTF-8 bytes as a {@link TextFrame}),
 * or binary (compressed or ETF) bytes.
 *
 * @since 0.1.0
 */
export type Frame = string | TextFrame | Uint8Array

/**
 * One websocket message to send: text or binary.
 *
 * @since 0.1.0
 */
export type OutgoingFrame = string | Uint8Array

/**
 * A text frame as its UTF-8 bytes (see `codec/TextFrame.ts`).
 *
 * @since 0.1.0
 */
export { TextFrame } from "../codec/TextFrame.ts"

/**
 * How a connection ended: the close code and reason the peer sent, or no code when the
 * connection dropped without a close frame.
 *
 * @since 0.1.0
 */
export class ConnectionClosed extends TaggedError("ConnectionClosed")<{
  readonly code: number | undefined
  readonly reason: string
  /**
   * Whether this side ended the connection, with `code`: it closed it, or refused a message the
   * peer sent (1009: over `maxFrameBytes`; 1007: text that is not UTF-8). Else the peer closed it,
   * or it dropped. A transport that leaves it out has its 1009 taken as its own refusal.
   */
  readonly byClient?: boolean | undefined
}> {
  override get message(): string {
    return this.code === undefined ? `connection lost${this.reason ? `: ${this.reason}` : ""}` : `closed with ${this.code}${this.reason ? `: ${this.reason}` : ""}`
  }
}

/**
 * Opening a connection failed, or a send was refused by the socket. A connect the server answered
 * with an HTTP status instead of the upgrade has its `status`, and the seconds its `Retry-After`
 * asks to wait (a 429's or a 5xx's, at most an hour when `refusedUpgrade` made it), if it said.
 *
 * @since 0.1.0
 */
export class TransportError extends TaggedError("TransportError")<{
  readonly reason: "Connect" | "Send"
  readonly cause?: unknown
  readonly status?: number | undefined
  readonly retryAfter?: number | undefined
}> {
  /**
   * The seconds a session waits for it before its next try: `retryAfter` of a 429, a 5xx or an
   * answer whose status is not said, at most an hour; none when it is no number of seconds.
   */
  get wait(): number | undefined {
    return this.status === undefined || RetryAfter.isHonoured(this.status) ? RetryAfter.seconds(this.retryAfter) : undefined
  }

  /**
   * What went wrong, without "transport ... failed": the cause's message (an `Error`'s, or a string,
   * or an object's string `message`, as a transport in plain JavaScript may fail), and the
   * {@link wait}; empty when neither is known.
   */
  get detail(): string {
    const wait = this.wait
    const parts = [causeWords(this.cause), wait === undefined ? "" : `retry after ${wait} s`]
    return parts.filter((part) => part !== "").join("; ")
  }

  override get message(): string {
    const detail = this.detail
    return `transport ${this.reason.toLowerCase()} failed${detail === "" ? "" : `: ${detail}`}`
  }
}

// a cause's words: `"getaddrinfo ENOTFOUND"` or `{ message: "write EPIPE" }` were told as nothing
const causeWords = (cause: unknown): string => {
  if (cause instanceof Error || (typeof cause === "object" && cause !== null && "message" in cause)) {
    const message: unknown = (cause as { readonly message: unknown }).message
    return typeof message === "string" ? message : ""
  }
  return typeof cause === "string" ? cause : ""
}

/**
 * The connect failure of an upgrade the server answered with HTTP `status` instead, and the
 * seconds its `Retry-After` asks to wait: taken only from a 429 or a 5xx, at most an hour (a 404's
 * asking for an hour would park a session on a wrong URL). The same from every transport.
 *
 * @since 0.1.0
 */
export const refusedUpgrade = (status: number, retryAfter: number | undefined): TransportError =>
  new TransportError({
    reason: "Connect",
    cause: new Error(`HTTP ${status}`),
    status,
    retryAfter: RetryAfter.isHonoured(status) ? RetryAfter.seconds(retryAfter) : undefined
  })

/**
 * An open websocket connection. It lives in the `Scope` it was opened in: closing that scope
 * closes the socket (with code 4900, which keeps the session resumable) if it is still open.
 *
 * @since 0.1.0
 */
export interface Connection {
  /**
   * Waits for frames, then takes every frame that arrived since the last take: at least one, in
   * arrival order (what one socket read brought comes together). After the last frame it fails
   * with `ConnectionClosed`, which says how the connection ended, at this take and every later one.
   * One reader at a time.
   */
  readonly receive: Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed>
  /**
   * Sends one frame. Fails once the connection is closed, or closing (`close` was called: no
   * frame may follow a close frame, and the session relies on the transport to refuse one, as `ws`
   * does), with the `ConnectionClosed` it ended with as the error's `cause` once the transport
   * knows it (a reader held back reads no close).
   */
  readonly send: (frame: OutgoingFrame) => Effect.Effect<void, TransportError>
  /** Closes the connection with a code (1000/1001 end the session; anything else keeps it resumable). */
  readonly close: (code: number, reason?: string) => Effect.Effect<void>
}

/**
 * Options for opening one connection.
 *
 * @since 0.1.0
 */
export interface ConnectOptions {
  /**
   * Largest incoming websocket message accepted, in bytes (a whole number of at least 1, or
   * `Infinity`); a larger one closes the connection.
   */
  readonly maxFrameBytes: number
}

/**
 * Checks the options a program gave `connect` (a transport's first step): a `maxFrameBytes` of 0 or
 * NaN was no limit at all to `ws` and refused every frame in memory. Dies naming the transport and
 * the value.
 *
 * @since 0.1.0
 */
export const checkConnectOptions = (transport: string, options: ConnectOptions): Effect.Effect<void> => {
  const limit = options.maxFrameBytes
  return limit === Infinity || (Number.isInteger(limit) && limit >= 1)
    ? Effect.void
    : Effect.die(new RangeError(`${transport}.connect: maxFrameBytes must be a whole number of at least 1, or Infinity, got ${String(limit)}`))
}

/**
 * `Connection.receive` over a mailbox the transport offers each frame to and ends by failing it
 * with `ConnectionClosed`. A mailbox ended without a failure reads as a connection lost without a
 * close frame.
 *
 * @since 0.1.0
 */
export const receiveFrom = (
  mailbox: Mailbox.ReadonlyMailbox<Frame, ConnectionClosed>
): Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed> =>
  Effect.flatMap(mailbox.takeAll, ([frames, done]) =>
    done && Chunk.isEmpty(frames) ? Effect.fail(endedWithoutClose) : Effect.succeed(Chunk.toReadonlyArray(frames)))

const endedWithoutClose = new ConnectionClosed({ code: undefined, reason: "the frames ended without a close" })

/**
 * The transport service: opens connections to a gateway URL.
 *
 * @since 0.1.0
 */
export class GatewayTransport extends Context.Tag("discord-gateway/GatewayTransport")<
  GatewayTransport,
  {
    readonly connect: (url: string, options: ConnectOptions) => Effect.Effect<Connection, TransportError, Scope.Scope>
  }
>() {}
