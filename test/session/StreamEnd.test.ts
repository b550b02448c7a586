/**
 * A gateway whose compressed stream ends (zlib-stream never ends it), or whose message stops inside
 * a block (zstd-stream): every frame after it went unread, given as no message, and the connection
 * sat deaf until the zombie check, some two heartbeat intervals, told as a zombie rather than what
 * it was.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Zlib from "node:zlib"
import * as Compress from "../../src/codec/Compress.ts"
import * as ZlibHandle from "../../src/codec/ZlibHandle.ts"
import { acceptAndHello, dispatch, options, ready, Session, settle, TestLayer } from "./harness.ts"

const withSuffix = (bytes: Uint8Array) => Buffer.concat([bytes, Uint8Array.of(0, 0, 0xff, 0xff)])

describe("a zlib-stream whose stream ends", () => {
  it.scoped("the message that ended it is delivered, and the next frame ends the connection as DecodeFailed(Inflate) at once", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ compression: "zlib-stream" }))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const { peer } = yield* acceptAndHello(41_250)
      yield* peer.autoAck(true)
      const deflate = ZlibHandle.open("deflate", Number.MAX_SAFE_INTEGER)!
      const compress = (value: unknown, flush: number) => Uint8Array.from(deflate.process(Buffer.from(JSON.stringify(value)), flush) as Uint8Array)
      yield* peer.send(compress(ready(1), Zlib.constants.Z_SYNC_FLUSH))
      yield* peer.send(withSuffix(compress(dispatch(2, "MESSAGE_CREATE", {}), Zlib.constants.Z_FINISH)))
      yield* settle
      expect((yield* session.snapshot).sequence).toBe(2)
      yield* peer.send(withSuffix(Uint8Array.of(0x12, 0x34, 0x56)))
      yield* settle
      const snapshot = yield* session.snapshot
      expect({ state: snapshot.state._tag, reason: snapshot.reason }).toMatchObject({
        state: "Disconnected",
        reason: { _tag: "DecodeFailed", kind: "Inflate", message: "zlib: data after the end of the stream" }
      })
    }).pipe(Effect.provide(TestLayer)))

  // zstd-stream: a message that stops inside a skippable frame took every later one in, ACKs too
  it.scoped("zstd-stream: a message that ends inside a skippable frame ends the connection as DecodeFailed(Zstd) at once", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ compression: "zstd-stream" }))
      yield* Effect.forkScoped(Stream.runDrain(session.events))
      const { peer } = yield* acceptAndHello(41_250)
      const compressor = Compress.unsafeMake("zstd-stream")
      yield* peer.send(compressor.compress(JSON.stringify(ready(1))))
      yield* settle
      yield* peer.send(Uint8Array.of(0x01, 0x00, 0x00, 0x50, 0x2a, 0x4d, 0x18, 0xff, 0xff, 0xff, 0xff))
      yield* settle
      expect((yield* session.snapshot).reason).toMatchObject({ _tag: "DecodeFailed", kind: "Zstd" })
    }).pipe(Effect.provide(TestLayer)))
})
