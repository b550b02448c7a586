/**
 * What the two floor clients share: the socket, the same synchronous decompressor ours uses
 * (src/codec/Decompress.ts: node's zlib handle driven synchronously, or zstd-napi) and
 * `JSON.parse`, and Identify after Hello. They differ only in how a decoded dispatch reaches the
 * count (task.ts).
 *
 * @since 0.1.0
 */
import WebSocket from "ws"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Decompress from "../../src/codec/Decompress.ts"
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
 * callback, identifies after Hello and hands each dispatch to `dispatch`. Any error ends the process.
 *
 * @since 0.1.0
 */
export const connect = (task: Task.Task, browser: string, dispatch: (payload: Payload) => void): WebSocket => {
  const decompressor = Decompress.make(task.compression)
  const utf8 = new TextDecoder()
  const url = new URL(task.url)
  url.search = `?v=10&encoding=json${task.compression === "none" ? "" : `&compress=${task.compression}`}`
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
  socket.on("message", (data: Buffer, isBinary: boolean) => {
    let text: string
    if (isBinary) {
      const bytes = decompressor.push(data)
      if (bytes === undefined) return
      if (bytes instanceof DecodeError) return Task.fail(bytes)
      text = utf8.decode(bytes)
    } else {
      text = data.toString()
    }
    const payload = JSON.parse(text) as Payload
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
