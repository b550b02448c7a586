/** A bare websocket client for driving the local gateway frame by frame in tests. */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Zlib from "node:zlib"
import { WebSocket } from "ws"
import * as Decompress from "../../src/codec/Decompress.ts"

export interface Frame {
  readonly op: number
  readonly d: any
  readonly s: number | null
  readonly t: string | null
}

export interface RawClient {
  readonly frames: Array<Frame>
  /** Text frames that were not JSON. */
  readonly malformed: Array<string>
  readonly binaryFrames: number
  readonly send: (payload: unknown) => Effect.Effect<void>
  readonly sendRaw: (data: string | Uint8Array) => Effect.Effect<void>
  /** Waits for the first frame (from index `from`) matching `predicate`. */
  readonly next: (predicate: (frame: Frame) => boolean, from?: number) => Effect.Effect<Frame>
  /** Resolves with the close code once the connection closes. */
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }>
  readonly close: (code: number) => Effect.Effect<void>
  readonly socket: WebSocket
}

export const connect = (
  url: string,
  compression: "none" | "zlib-stream" | "zstd-stream" = "none"
): Effect.Effect<RawClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<RawClient>((resume) => {
      const socket = new WebSocket(url)
      const frames: Array<Frame> = []
      const listeners = new Set<() => void>()
      let binaryFrames = 0
      let zlibInput: Array<Buffer> = []
      let zlibTextLength = 0
      const zstd = Decompress.make("zstd-stream")
      let closeResult: { code: number; reason: string } | undefined
      const malformed: Array<string> = []
      const push = (text: string) => {
        try {
          frames.push(JSON.parse(text))
        } catch {
          malformed.push(text)
        }
        for (const listener of listeners) listener()
      }
      socket.on("message", (data: Buffer, isBinary) => {
        if (!isBinary) return push(data.toString("utf8"))
        binaryFrames++
        if (compression === "zlib-stream") {
          zlibInput.push(data)
          const text = Zlib.inflateSync(Buffer.concat(zlibInput), { finishFlush: Zlib.constants.Z_SYNC_FLUSH }).toString("utf8")
          const message = text.slice(zlibTextLength)
          zlibTextLength = text.length
          return push(message)
        }
        const bytes = zstd.push(data)
        if (bytes === undefined) return
        if (!(bytes instanceof Uint8Array)) return push(`zstd-stream: ${bytes.message}`)
        push(Buffer.from(bytes).toString("utf8"))
      })
      socket.on("close", (code, reason) => {
        closeResult = { code, reason: reason.toString("utf8") }
        for (const listener of listeners) listener()
      })
      socket.on("error", () => undefined)
      const waitFor = <A>(check: () => A | undefined): Effect.Effect<A> =>
        Effect.async<A>((done) => {
          const attempt = () => {
            const value = check()
            if (value !== undefined) {
              listeners.delete(attempt)
              done(Effect.succeed(value))
            }
          }
          listeners.add(attempt)
          attempt()
          return Effect.sync(() => listeners.delete(attempt))
        }).pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new Error("timed out waiting") }), Effect.orDie)
      const client: RawClient = {
        frames,
        malformed,
        get binaryFrames() {
          return binaryFrames
        },
        socket,
        send: (payload) => Effect.sync(() => socket.send(JSON.stringify(payload))),
        sendRaw: (data) => Effect.sync(() => socket.send(data)),
        next: (predicate, from = 0) => waitFor(() => frames.slice(from).find(predicate)),
        closed: waitFor(() => closeResult),
        close: (code) => Effect.sync(() => socket.close(code))
      }
      socket.once("open", () => resume(Effect.succeed(client)))
    }),
    (client) => Effect.sync(() => client.socket.terminate())
  )

export const hello = (frame: Frame) => frame.op === 10
export const dispatch = (t: string) => (frame: Frame) => frame.op === 0 && frame.t === t
