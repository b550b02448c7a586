/**
 * A connection's inflate context is freed when the connection ends, not left to a garbage
 * collection, which hardly counts the tens of KiB it holds outside the JS heap. Node's inflate
 * streams are followed through a wrapped `createInflate` (this file loads its own modules).
 */
import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Compress from "../../src/codec/Compress.ts"
import * as Decompress from "../../src/codec/Decompress.ts"
import { DecodeError } from "../../src/codec/DecodeError.ts"
import * as ZlibHandle from "../../src/codec/ZlibHandle.ts"
import { dispatch, hello, options, ready, receiveOp, Session, settle, TestLayer } from "../session/harness.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"

/** Whether each inflate context made so far had its native handle closed, in order. */
const inflates = vi.hoisted(() => [] as Array<{ closed: boolean }>)

vi.mock("node:zlib", async (importOriginal) => {
  const zlib = await importOriginal<typeof import("node:zlib")>()
  const createInflate = (options?: import("node:zlib").ZlibOptions) => {
    const stream = zlib.createInflate(options)
    const handle = (stream as unknown as { _handle: { close: () => void } })._handle
    const entry = { closed: false }
    const close = handle.close.bind(handle)
    handle.close = () => {
      entry.closed = true
      close()
    }
    inflates.push(entry)
    return stream
  }
  return { ...zlib, default: { ...zlib, createInflate }, createInflate }
})

// the engine's once-per-process check makes (and closes) a context of its own
ZlibHandle.isAvailable()

describe("closing inflate contexts", () => {
  it("a zlib-stream decompressor closed frees its native context; a push after it is an error", () => {
    const before = inflates.length
    const decompressor = Decompress.make("zlib-stream")
    expect(inflates.length).toBe(before + 1)
    const compressor = Compress.unsafeMake("zlib-stream", { zlibEngine: "portable" })
    expect(Buffer.from(decompressor.push(compressor.compress("hi")) as Uint8Array).toString()).toBe("hi")
    decompressor.close()
    decompressor.close()
    expect(inflates.at(-1)?.closed).toBe(true)
    expect(decompressor.push(compressor.compress("after"))).toBeInstanceOf(DecodeError)
  })

  it.scoped("each connection's inflate context is closed when the connection ends; the live one's is open", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ compression: "zlib-stream" }))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const before = inflates.length
      for (let connection = 0; connection < 3; connection++) {
        const accepting = yield* Effect.fork(gateway.accept)
        yield* TestClock.adjust("10 seconds")
        const peer = yield* Fiber.join(accepting)
        // the test's side deflates on public API: no inflate context of its own
        const compressor = Compress.unsafeMake("zlib-stream", { zlibEngine: "portable" })
        const send = (value: unknown) => peer.send(compressor.compress(JSON.stringify(value)))
        yield* send(hello(3_600_000))
        // answered once the Identify or Resume came, as a gateway does (one before it answers nothing)
        yield* receiveOp(peer, connection === 0 ? 2 : 6)
        yield* send(connection === 0 ? ready(1) : dispatch(1 + connection, "RESUMED", null))
        yield* settle
        // op 7: the client closes this connection and resumes on a new one
        if (connection < 2) yield* send({ op: 7, d: null, s: null, t: null })
        yield* settle
      }
      expect(inflates.slice(before).map((entry) => entry.closed)).toEqual([true, true, false])
    }).pipe(Effect.provide(TestLayer)))
})
