/**
 * The Effect floor: the floor's decoding (`ws`, the same synchronous decompressor, `JSON.parse`),
 * with the parsed messages handed to the program the way any Effect `Stream` of events must: into
 * a `Mailbox` in the socket's callback, out through `Mailbox.toStream` and `Stream.runForEach`.
 * No session, no protocol: what the Stream hand-over itself costs, for reading ours against.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
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

const decode = (data: Buffer, isBinary: boolean): Payload | undefined => {
  if (!isBinary) return JSON.parse(data.toString()) as Payload
  const bytes = decompressor.push(data)
  if (bytes === undefined) return undefined
  if (bytes instanceof DecodeError) return Task.fail(bytes)
  return JSON.parse(utf8.decode(bytes)) as Payload
}

const onEvent = (payload: Payload): void => {
  if (payload.t === "READY") meter.start()
  else if (payload.t === endMarker) Task.report(meter.stop(handled, "ws + Decompress + JSON.parse + Mailbox + Stream.runForEach"))
  else if (wanted === undefined || wanted.has(payload.t!)) handled++
}

const program = Effect.gen(function*() {
  const events = yield* Mailbox.make<Payload>()
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
  socket.on("message", (data: Buffer, isBinary: boolean) => {
    const payload = decode(data, isBinary)
    if (payload === undefined) return
    if (payload.op === 0) events.unsafeOffer(payload)
    else if (payload.op === 10) {
      socket.send(JSON.stringify({
        op: 2,
        d: { token: "bench-token", intents: 513, properties: { os: "linux", browser: "effect-floor", device: "effect-floor" } }
      }))
    }
  })
  socket.on("error", Task.fail)
  socket.on("close", (code) => Task.fail(new Error(`closed with ${code} before the end marker`)))
  yield* Stream.runForEach(Mailbox.toStream(events), (payload) => Effect.sync(() => onEvent(payload)))
})

Effect.runPromise(program).then(() => Task.fail(new Error("the stream ended before the end marker")), Task.fail)
