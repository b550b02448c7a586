/**
 * The floor: `ws`, the same synchronous decompressor ours uses (src/codec/Decompress.ts: node's
 * zlib handle driven synchronously, or zstd-napi), `JSON.parse`, and nothing else.
 *
 * @since 0.1.0
 */
import WebSocket from "ws"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as Decompress from "../../src/codec/Decompress.ts"
import { endMarker } from "../workloads.ts"
import * as Task from "./task.ts"

interface Payload {
  readonly op: number
  readonly t: string | null
}

const task = Task.read()
const meter = new Task.Meter()
const wanted = task.wanted === undefined ? undefined : new Set(task.wanted)
const decompressor = Decompress.make(task.compression)
const utf8 = new TextDecoder()
const url = new URL(task.url)
url.search = `?v=10&encoding=json${task.compression === "none" ? "" : `&compress=${task.compression}`}`
let handled = 0

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
  if (payload.op === 0) {
    if (payload.t === "READY") meter.start()
    else if (payload.t === endMarker) Task.report(meter.stop(handled, "ws + Decompress + JSON.parse"))
    else if (wanted === undefined || wanted.has(payload.t!)) handled++
  } else if (payload.op === 10) {
    socket.send(JSON.stringify({
      op: 2,
      d: { token: "bench-token", intents: 513, properties: { os: "linux", browser: "floor", device: "floor" } }
    }))
  }
})
socket.on("error", Task.fail)
socket.on("close", (code) => Task.fail(new Error(`closed with ${code} before the end marker`)))
