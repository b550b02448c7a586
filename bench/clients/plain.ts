/**
 * What the floor clients share: the socket, the same synchronous decompressor ours uses
 * (src/codec/Decompress.ts: node's zlib handle driven synchronously, or zstd-napi) and
 * `JSON.parse`, and Identify after Hello. They differ in how a decoded dispatch reaches the
 * count (task.ts), and in whether an unwanted dispatch is parsed at all.
 *
 * @since 0.1.0
 */
import WebSocket from "ws"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Decompress from "../../src/codec/Decompress.ts"
import * as JsonHeader from "../../src/codec/JsonHeader.ts"
import * as Task from "./task.ts"

/**
 * The fields of a decoded message the clients read.
 *
 * @since 0.1.0
 */
export interface Payload {
  readonly op: number
  readonly t: string | null
}

/**
 * Connects to the task's gateway as `browser`, decodes every message synchronously in the socket
 * callback, identifies after Hello and hands each dispatch to `dispatch`. With `skip`, a dispatch
 * whose type (read by `JsonHeader` from the bytes) `skip` refuses is handed over unparsed, as its
 * header. Any error ends the process.
 *
 * @since 0.1.0
 */
export const connect = (
  task: Task.Task,
  browser: string,
  dispatch: (payload: Payload) => void,
  skip?: (t: string) => boolean
): WebSocket => {
  const decompressor = Decompress.make(task.compression)
  const utf8 = new TextDecoder()
  const url = new URL(task.url)
  url.search = `?v=10&encoding=json${task.compression === "none" ? "" : `&compress=${task.compression}`}`
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
  socket.on("message", (data: Buffer, isBinary: boolean) => {
    let bytes: Uint8Array
    if (isBinary) {
      const inflated = decompressor.push(data)
      if (inflated === undefined) return
      if (inflated instanceof DecodeError) return Task.fail(inflated)
      bytes = inflated
    } else {
      bytes = data
    }
    if (skip !== undefined) {
      const header = JsonHeader.read(bytes)
      if (header !== undefined && header.op === 0 && header.t !== null && skip(header.t)) return dispatch(header)
    }
    const payload = JSON.parse(isBinary ? utf8.decode(bytes) : data.toString()) as Payload
    if (payload.op === 0) dispatch(payload)
    else if (payload.op === 10) {
      socket.send(JSON.stringify({
        op: 2,
        d: { token: "bench-token", intents: 513, properties: { os: "linux", browser, device: browser } }
      }))
    }
  })
  socket.on("error", Task.fail)
  socket.on("close", (code) => Task.fail(new Error(`closed with ${code} before the end marker`)))
  return socket
}
