/**
 * How a WsTransport connection's end is told when this side already knows it: a message it refused
 * for its fragments, a close of its own no frame carries, then the connection's scope closed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { runningClock } from "../running.ts"
import { drain, rawConnection, rawFrame } from "../transport/loopback.ts"

// 2 fragments of 32700 bytes: 65400 bytes in all, under a 64 KiB limit for ws, but over it once each
// fragment counts 128 bytes more (README: "A websocket message sent in fragments counts each
// fragment held 128 bytes more than its size ...; the client closes with 1009 and reads no more")
const limit = 64 * 1024
const refusedInFragments = [rawFrame(0x2, Buffer.alloc(32_700), false), rawFrame(0x0, Buffer.alloc(32_700), false)]

describe("WsTransport: an end this side knows", () => {
  // README (The states): "even a second's wait lets a timeout that falls in it (a zombie check, the
  // hello timeout) take the connection first as a close of the client's own". ws's own 1009 (a
  // message over maxPayload) reaches `receive` within milliseconds; the transport's fragment check
  // knows its 1009 at once too (a send made right after fails with it), yet `receive` waits for
  // the 1 s close grace: the socket stopped reading (tcp.pause) so the peer's answer to the 1009
  // can never arrive, and ws never ends the TCP.
  it.live("a message refused for its fragments ends receive as promptly as ws's own 1009, not after the 1 s close grace", () =>
    Effect.scoped(Effect.gen(function*() {
      const { connection, raw } = yield* rawConnection({}, limit)
      const clock = yield* runningClock
      for (const frame of refusedInFragments) raw.write(frame)
      const { end } = yield* drain(connection, "5 seconds")
      expect(end).toMatchObject({ _tag: "ConnectionClosed", code: 1009, byClient: true })
      expect(clock.elapsed()).toBeLessThan(500)
    })))

  // GatewayTransport.Connection.receive: "After the last frame it fails with ConnectionClosed, which
  // says how the connection ended"; send: fails "with the ConnectionClosed it ended with as the
  // error's cause once the transport knows it". The transport knew the connection ended by its own
  // 1009 refusal (a send says so); closing the scope before the socket's close came (a session timeout, a stop)
  // rewrote that end as a plain 4900 "closed by the client" for receive and for every later send.
  it.live("a scope closed after the client refused a message still tells receive and send the 1009 refusal, not 4900", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { connection, raw } = yield* Scope.extend(rawConnection({}, limit), scope)
      for (const frame of refusedInFragments) raw.write(frame)
      yield* Effect.sleep("50 millis")
      const before = yield* Effect.flip(connection.send("{\"op\":1,\"d\":null}"))
      expect(before.cause).toMatchObject({ _tag: "ConnectionClosed", code: 1009, byClient: true })
      yield* Scope.close(scope, Exit.void)
      const ended = yield* Effect.flip(connection.receive)
      const after = yield* Effect.flip(connection.send("{\"op\":1,\"d\":null}"))
      // let the close grace end the socket before the leftovers check
      yield* Effect.sleep("1200 millis")
      expect(ended).toMatchObject({ _tag: "ConnectionClosed", code: 1009, byClient: true })
      expect(after.cause).toMatchObject({ _tag: "ConnectionClosed", code: 1009, byClient: true })
    }))
})

describe("WsTransport against MemoryTransport: a close no frame carries", () => {
  // README (MemoryTransport): "Like a websocket, the transport refuses: ... a client close with a
  // code no close frame carries (a drop)"; test/transport/WsLoopback.test.ts holds ws to it ("send
  // and receive both name the client's own drop, as over MemoryTransport") when the reader drains
  // first. Closing the connection's scope right after such a close (as a program ends its scope after
  // closing) gives MemoryTransport's drop (no code) but ws's "closed with 4900": the socket's close
  // event had not come yet, and dispose ignored that the client had dropped it.
  it.live("a close no frame carries, then the scope closed at once, ends as the client's drop over ws as in memory (not 4900)", () =>
    Effect.gen(function*() {
      const memory = yield* Effect.gen(function*() {
        const transport = yield* GatewayTransport
        const gateway = yield* MemoryTransport.MemoryGateway
        const scope = yield* Scope.make()
        const connection = yield* Scope.extend(transport.connect("wss://gateway.test/", { maxFrameBytes: 1024 }), scope)
        yield* gateway.accept
        yield* connection.close(4000.5)
        yield* Scope.close(scope, Exit.void)
        return yield* Effect.flip(connection.receive)
      }).pipe(Effect.provide(MemoryTransport.layer))
      expect(memory).toMatchObject({ _tag: "ConnectionClosed", code: undefined, byClient: true })

      const scope = yield* Scope.make()
      const { connection } = yield* Scope.extend(rawConnection(), scope)
      yield* connection.close(4000.5)
      yield* Scope.close(scope, Exit.void)
      const ws = yield* Effect.flip(connection.receive)
      yield* Effect.sleep("100 millis")
      expect(ws).toMatchObject({ _tag: "ConnectionClosed", code: memory.code, byClient: memory.byClient })
    }))
})
