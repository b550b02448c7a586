/**
 * A bare gateway on loopback (JSON, no compression), for tests that need Node's real event loop or
 * a process's real socket: it says Hello and answers an Identify with READY, nothing else.
 */
import * as Effect from "effect/Effect"
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"

/** What a test sees of the gateway's connections. */
export interface Hooks {
  /** The Hello's `heartbeat_interval` (default 41,250 ms). */
  readonly heartbeatInterval?: number
  /** Each connection, first. */
  readonly connected?: (socket: WebSocket, request: Http.IncomingMessage) => void
  /** Each READY, once sent. */
  readonly readied?: (request: Http.IncomingMessage) => void
  /** Each payload the client sent, after the gateway's own answer (READY to an Identify). */
  readonly received?: (socket: WebSocket, payload: { readonly op: number; readonly d: unknown }) => void
}

/** Starts the gateway in the scope (its connections ended as the scope closes); its URL. */
export const readyingGateway = (hooks: Hooks = {}) => Effect.gen(function*() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  yield* Effect.async<void>((resume) => void server.once("listening", () => resume(Effect.void)))
  yield* Effect.addFinalizer(() =>
    Effect.async<void>((resume) => {
      for (const client of server.clients) client.terminate()
      server.close(() => resume(Effect.void))
    })
  )
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  server.on("connection", (socket, request) => {
    socket.on("error", () => {})
    hooks.connected?.(socket, request)
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: hooks.heartbeatInterval ?? 41250 }, s: null, t: null }))
    socket.on("message", (data) => {
      const payload = JSON.parse(String(data)) as { readonly op: number; readonly d: { readonly shard?: unknown } }
      if (payload.op === 2) {
        socket.send(JSON.stringify({
          op: 0,
          s: 1,
          t: "READY",
          d: {
            v: 10,
            session_id: "deadbeefdeadbeefdeadbeefdeadbeef",
            resume_gateway_url: url,
            user: { id: "1234567890123456" },
            application: { id: "1234567890123456" },
            guilds: [],
            shard: payload.d.shard
          }
        }))
        hooks.readied?.(request)
      }
      hooks.received?.(socket, payload)
    })
  })
  return url
})
