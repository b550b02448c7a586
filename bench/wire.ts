/**
 * Just enough of the websocket protocol (RFC 6455) for the benchmark gateway: the server side of
 * the upgrade, server frames built ahead of time, and a reader for the client's masked frames.
 * The gateway writes whole pre-built frames straight to the TCP socket, so sending costs it
 * nearly nothing.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type * as Http from "node:http"
import type * as Net from "node:net"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/**
 * Websocket opcodes the gateway uses.
 *
 * @since 0.1.0
 */
export const Opcode = { text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const

/**
 * Completes the upgrade of `request` on `socket` (no extension is negotiated); returns false and
 * destroys the socket when the request is not a websocket upgrade.
 *
 * @since 0.1.0
 */
export const accept = (request: Http.IncomingMessage, socket: Net.Socket): boolean => {
  const key = request.headers["sec-websocket-key"]
  if (typeof key !== "string" || request.headers["upgrade"]?.toLowerCase() !== "websocket") {
    socket.destroy()
    return false
  }
  const digest = createHash("sha1").update(key + GUID).digest("base64")
  socket.setNoDelay(true)
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${digest}\r\n\r\n`
  )
  return true
}

/**
 * One unmasked server frame (FIN set) carrying `payload`.
 *
 * @since 0.1.0
 */
export const frame = (opcode: number, payload: Uint8Array): Buffer => {
  const length = payload.length
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const out = Buffer.allocUnsafe(headerBytes + length)
  out[0] = 0x80 | opcode
  if (length < 126) {
    out[1] = length
  } else if (length < 65_536) {
    out[1] = 126
    out.writeUInt16BE(length, 2)
  } else {
    out[1] = 127
    out.writeBigUInt64BE(BigInt(length), 2)
  }
  out.set(payload, headerBytes)
  return out
}

/**
 * A close frame with `code`.
 *
 * @since 0.1.0
 */
export const closeFrame = (code: number): Buffer => {
  const payload = Buffer.allocUnsafe(2)
  payload.writeUInt16BE(code, 0)
  return frame(Opcode.close, payload)
}

/**
 * Reads the client's frames from a byte stream: calls `onFrame` with each complete frame's
 * opcode and unmasked payload. Fragmented messages are not reassembled (clients send small
 * single-frame messages).
 *
 * @since 0.1.0
 */
export const reader = (onFrame: (opcode: number, payload: Buffer) => void) => {
  let pending: Buffer = Buffer.alloc(0)
  return (data: Buffer): void => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data])
    for (;;) {
      if (pending.length < 2) return
      const opcode = pending[0]! & 0x0f
      const masked = (pending[1]! & 0x80) !== 0
      let length = pending[1]! & 0x7f
      let offset = 2
      if (length === 126) {
        if (pending.length < 4) return
        length = pending.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (pending.length < 10) return
        length = Number(pending.readBigUInt64BE(2))
        offset = 10
      }
      const maskOffset = offset
      if (masked) offset += 4
      if (pending.length < offset + length) return
      const payload = Buffer.from(pending.subarray(offset, offset + length))
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i]! ^= pending[maskOffset + (i & 3)]!
      }
      pending = pending.subarray(offset + length)
      onFrame(opcode, payload)
    }
  }
}
