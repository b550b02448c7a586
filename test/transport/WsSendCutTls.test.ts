/**
 * What a send over wss:// (TLS, as Discord's gateway is) reports when the connection ends under
 * it: written at once, or still in the process. A loopback TLS server with a self-signed
 * certificate of 127.0.0.1 (made for these tests, valid to 2126).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as https from "node:https"
import type * as net from "node:net"
import WebSocket, { WebSocketServer } from "ws"
import * as WsTransport from "../../src/transport/WsTransport.ts"
import { sentThenDropped, sentUnderWay } from "./loopback.ts"

const key = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7Nv5gJNwRvVFdy/g
mChv2EXR8djy9HOlp3Cd9Uc1k1KhRANCAAQrFrCBeJELaXtuuoy5nGHSuiiAS4El
oNZWsncPVDH1R4fi+adpfxGjE1DeaviN3nc5hWp47FmNN33J6CAPS/X1
-----END PRIVATE KEY-----
`
const cert = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUB6QZgYQNWpmCvN9uOwGGjqa8l/gwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwNzE5NTcxM1oYDzIxMjYxMTEz
MTk1NzEzWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQrFrCBeJELaXtuuoy5nGHSuiiAS4EloNZWsncPVDH1R4fi+adpfxGj
E1DeaviN3nc5hWp47FmNN33J6CAPS/X1o2QwYjAdBgNVHQ4EFgQUZBuRr/m0877/
SR2cEbGS7/mNXTYwHwYDVR0jBBgwFoAUZBuRr/m0877/SR2cEbGS7/mNXTYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQD62836NKEQeoGQdv5EcTmsUiPW7q8eOE44PDjs9+i16wIgTenabXolZrvj4x0d
eXlTAz3PLCYSVAoYFCa7Jt4wG6E=
-----END CERTIFICATE-----
`

// a wss:// loopback server for one test
const tlsServer = Effect.acquireRelease(
  Effect.async<{ readonly http: https.Server; readonly wss: WebSocketServer; readonly url: string; readonly accepted: Queue.Queue<WebSocket>; readonly tcp: Queue.Queue<net.Socket> }>((resume) => {
    const accepted = Effect.runSync(Queue.unbounded<WebSocket>())
    const tcp = Effect.runSync(Queue.unbounded<net.Socket>())
    const http = https.createServer({ key, cert })
    const wss = new WebSocketServer({ server: http })
    wss.on("connection", (socket, request) => {
      socket.on("error", () => {})
      Queue.unsafeOffer(accepted, socket)
      Queue.unsafeOffer(tcp, request.socket)
    })
    http.listen(0, "127.0.0.1", () => {
      const { port } = http.address() as net.AddressInfo
      resume(Effect.succeed({ http, wss, url: `wss://127.0.0.1:${port}`, accepted, tcp }))
    })
  }),
  ({ http, wss }) =>
    Effect.async<void>((resume) => {
      for (const client of wss.clients) client.terminate()
      wss.close(() => http.close(() => resume(Effect.void)))
      http.closeAllConnections()
    })
)

const tlsTransport = () => {
  const sockets: Array<WebSocket> = []
  const transport = WsTransport.make({
    createSocket: (url, options) => {
      const socket = new WebSocket(url, { ...options, ca: cert })
      sockets.push(socket)
      return socket
    }
  })
  return { sockets, transport }
}

describe("WsTransport sends over TLS", () => {
  // Node tells a TLS write done at once by an immediate, after the tick: the destroyed socket
  // failed a frame the peer did read (a session would carry the command over: sent twice)
  it.live("over wss://, a send written at once, then a close no frame carries: the peer reads the frame, and the send succeeds", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, url } = yield* tlsServer
      const { transport } = tlsTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      const { exit, received } = yield* sentThenDropped(connection, yield* Queue.take(accepted))
      expect(received).toEqual([`{"op":3,"d":{"status":"idle"}}`])
      expect(Exit.isSuccess(exit) ? "sent" : String(Cause.squash(exit.cause))).toBe("sent")
    })))

  // the reverse: a frame still in the process when the connection is cut is not reported sent
  it.live("over wss://, a 32 MiB frame stuck behind a peer that reads nothing, cut by a close no frame carries, is not reported sent", () =>
    Effect.scoped(Effect.gen(function*() {
      const { accepted, tcp, url } = yield* tlsServer
      const { sockets, transport } = tlsTransport()
      const connection = yield* transport.connect(url, { maxFrameBytes: 1024 })
      yield* Queue.take(accepted)
      const exit = yield* sentUnderWay(connection, sockets[0]!, yield* Queue.take(tcp), connection.close(4000.5))
      expect(Exit.isFailure(exit)).toBe(true)
    })))
})
