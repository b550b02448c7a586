import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { ConnectionClosed, type Frame, GatewayTransport, TextFrame } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { drain, take } from "./receive.ts"

const options = { maxFrameBytes: 1024 }

/** Connects the client to `url` and accepts the connection on the gateway's side. */
const connected = (url: string, connectOptions: { readonly maxFrameBytes: number } = options) =>
  Effect.gen(function*() {
    const transport = yield* GatewayTransport
    const gateway = yield* MemoryTransport.MemoryGateway
    const connection = yield* transport.connect(url, connectOptions)
    const peer = yield* gateway.accept
    return { connection, peer }
  })

/** Connects with a 4-byte frame limit, sends `fits` then `over`; what the client got and how it ended. */
const sendPastLimit = (fits: Frame, over: Frame) =>
  Effect.gen(function*() {
    const { connection, peer } = yield* connected("wss://g", { maxFrameBytes: 4 })
    yield* peer.send(fits)
    yield* peer.send(over)
    return yield* drain(connection)
  })

describe("MemoryTransport", () => {
  // a limit of 0 refused every frame (and was no limit to WsTransport), NaN took every frame
  it.scoped("connect with a maxFrameBytes that is no whole number of at least 1 dies naming it, before any attempt; Infinity takes any frame", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      for (const maxFrameBytes of [0, NaN, -1, 1.5]) {
        const exit = yield* Effect.exit(connected("wss://g", { maxFrameBytes }))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(
          new RangeError(`MemoryTransport.connect: maxFrameBytes must be a whole number of at least 1, or Infinity, got ${maxFrameBytes}`)
        )
      }
      expect(yield* gateway.attempts).toEqual([])
      const { connection, peer } = yield* connected("wss://g", { maxFrameBytes: Infinity })
      yield* peer.send("x".repeat(100_000))
      expect((yield* take(connection, 1))[0]).toHaveLength(100_000)
    }).pipe(Effect.provide(MemoryTransport.layer)))

  // it died with "Cannot read properties of undefined (reading 'byteLength')"
  it.scoped("sendJson of a value with no JSON text (undefined, a function) dies saying so; the connection goes on", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      for (const [value, kind] of [[undefined, "undefined"], [() => 1, "function"]] as const) {
        const exit = yield* Effect.exit(peer.sendJson(value))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(new TypeError(`sendJson: ${kind} is no JSON value`))
      }
      yield* peer.sendJson(null)
      expect(yield* take(connection, 1)).toEqual(["null"])
    }).pipe(Effect.provide(MemoryTransport.layer)))

  // both ended in the client's close, the test told only "closed with 4900"; a second handshake
  // waited for an Identify for ever
  it.scoped("handshake with an interval no Hello carries, on an ETF session, or a second time, dies saying so, sending nothing", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://gateway.test/?v=10&encoding=json")
      for (const interval of [0, 0.5, -1, 3_600_001]) {
        const exit = yield* Effect.exit(peer.handshake(interval))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toEqual(
          new RangeError(`handshake: the interval must be a whole number of milliseconds from 1 to 3600000 (what a Hello carries), got ${interval}`)
        )
      }
      const etf = yield* connected("wss://gateway.test/?v=10&encoding=etf")
      const refused = yield* Effect.exit(etf.peer.handshake(41_250))
      expect(Exit.isFailure(refused) && String(Cause.squash(refused.cause))).toMatch(/^Error: handshake: this session speaks ETF/)
      const twice = yield* connected("wss://gateway.test/?v=10&encoding=json")
      yield* twice.connection.send(`{"op":2,"d":{"token":"t"}}`)
      yield* twice.peer.handshake(5000)
      const again = yield* Effect.exit(twice.peer.handshake(5000))
      expect(Exit.isFailure(again) && String(Cause.squash(again.cause))).toBe(
        "Error: handshake: this connection was said Hello already, and a session answers the first Hello alone"
      )
      yield* twice.peer.sendJson(null)
      expect(yield* take(twice.connection, 2)).toEqual([JSON.stringify({ op: 10, d: { heartbeat_interval: 5000 }, s: null, t: null }), "null"])
      yield* peer.sendJson(null)
      expect(yield* take(connection, 1)).toEqual(["null"])
    }).pipe(Effect.provide(MemoryTransport.layer)))

  // the transport contract the session's writers rely on: no frame follows a close frame
  it.scoped("a send after the client's close fails, also while the close waits for its answer", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      yield* peer.answersClose(false)
      yield* connection.close(4900)
      expect(Exit.isFailure(yield* Effect.exit(connection.send("after the close")))).toBe(true)
      expect(Chunk.toReadonlyArray(yield* peer.takeAll)).toEqual([])
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("round-trips frames both ways", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://gateway.test/?v=10")
      expect(peer.url).toBe("wss://gateway.test/?v=10")
      yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 41250 } })
      yield* peer.send(new Uint8Array([1, 2, 3]))
      const [first, second] = yield* take(connection, 2)
      expect(first).toBe("{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}")
      expect(second).toEqual(new Uint8Array([1, 2, 3]))
      yield* connection.send("{\"op\":1,\"d\":null}")
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: null })
      yield* connection.send("a")
      yield* connection.send(new Uint8Array([9]))
      expect(Chunk.toArray(yield* peer.takeAll)).toEqual(["a", new Uint8Array([9])])
      expect(Chunk.size(yield* peer.takeAll)).toBe(0)
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("handshake says Hello and returns the first payload that is not a heartbeat; autoAck answers heartbeats only", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://gateway.test/")
      yield* connection.send(`{"op":1,"d":null}`)
      yield* connection.send(`{"op":2,"d":{"token":"t"}}`)
      expect(yield* peer.handshake(5000)).toEqual({ op: 2, d: { token: "t" } })
      expect(yield* take(connection, 1)).toEqual([JSON.stringify({ op: 10, d: { heartbeat_interval: 5000 }, s: null, t: null })])
      yield* peer.autoAck(true)
      yield* connection.send(`{"op":1,"d":7}`)
      yield* connection.send(`{"op":3,"d":{"status":"online"}}`)
      expect(yield* take(connection, 1)).toEqual([JSON.stringify({ op: 11, d: null, s: null, t: null })])
      // both still received; the presence update got no answer
      expect(Chunk.toArray(yield* peer.takeAll)).toEqual([`{"op":1,"d":7}`, `{"op":3,"d":{"status":"online"}}`])
      yield* peer.autoAck(false)
      yield* connection.send(`{"op":1,"d":8}`)
      expect(yield* peer.receivedJson).toEqual({ op: 1, d: 8 })
      const nothing = yield* Effect.fork(take(connection, 1))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.poll(nothing)).toStrictEqual(Option.none())
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("server close: remaining frames first, then ConnectionClosed with the code; sends then fail", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      yield* peer.send("last")
      yield* peer.close(4004, "Authentication failed.")
      yield* peer.send("after close is ignored")
      const { end, seen } = yield* drain(connection)
      expect(seen).toEqual(["last"])
      expect(end).toEqual(new ConnectionClosed({ code: 4004, reason: "Authentication failed.", byClient: false }))
      const sent = yield* Effect.either(connection.send("x"))
      expect(Either.isLeft(sent) && sent.left.reason).toBe("Send")
      expect(yield* peer.closed).toEqual({ code: 4004, reason: "Authentication failed.", by: "server" })
      expect(yield* peer.isOpen).toBe(false)
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("drop: the client sees no code", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      yield* peer.drop
      expect((yield* drain(connection)).end.code).toBeUndefined()
      expect((yield* peer.closed).code).toBeUndefined()
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.effect("client close and scope close are visible to the peer (4900 from the scope)", () =>
    Effect.gen(function*() {
      const transport = yield* GatewayTransport
      const gateway = yield* MemoryTransport.MemoryGateway
      const peer = yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* transport.connect("wss://g", options)
        yield* connection.close(1000, "bye")
        return yield* gateway.accept
      }))
      expect(yield* peer.closed).toEqual({ code: 1000, reason: "bye", by: "client" })
      const second = yield* Effect.scoped(Effect.zipRight(transport.connect("wss://g", options), gateway.accept))
      expect(yield* second.closed).toEqual({ code: 4900, reason: "", by: "client" })
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("once the connection ended, received hands out what the client sent before, then fails with ConnectionEnded instead of waiting for ever; takeAll, handshake and receivedJson too", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      yield* connection.send("{\"op\":2,\"d\":{}}")
      yield* connection.send("last")
      yield* connection.close(4000, "going")
      expect(yield* peer.receivedJson).toEqual({ op: 2, d: {} })
      expect(Chunk.toArray(yield* peer.takeAll)).toEqual(["last"])
      expect(Chunk.size(yield* peer.takeAll)).toBe(0)
      const ended = yield* Effect.flip(peer.received)
      expect(ended).toMatchObject({ _tag: "ConnectionEnded", closed: { code: 4000, reason: "going", by: "client" } })
      expect(ended.message).toBe(
        "the connection ended (closed with 4000 (going), by the client) before the client sent another frame: the client gave it up (a timeout the TestClock passed, a zombie check, a stop, or a frame of the test's that broke the protocol: its transitions say which)"
      )
      expect(yield* Effect.flip(peer.handshake())).toBeInstanceOf(MemoryTransport.ConnectionEnded)
      // ConnectionEnded alone: a NoSuchElementException went with it, outside the type, and a test
      // failing on it showed that first
      for (const read of [peer.received, peer.handshake(), peer.receivedJson] as ReadonlyArray<Effect.Effect<unknown, MemoryTransport.ConnectionEnded>>) {
        const exit = yield* Effect.exit(read)
        expect(Exit.isFailure(exit) && Chunk.toReadonlyArray(Cause.failures(exit.cause)).map((error) => error._tag)).toEqual(["ConnectionEnded"])
      }

      // a waiting take ends when the connection does: a drop by the server
      const second = yield* connected("wss://g")
      const waiting = yield* Effect.fork(Effect.flip(second.peer.receivedJson))
      yield* second.peer.drop
      const dropped = yield* Fiber.join(waiting)
      expect(dropped.message).toBe("the connection ended (dropped, by the server) before the client sent another frame")
      // a handshake says what it waited for (every wait said "another frame")
      const third = yield* connected("wss://g")
      const shaking = yield* Effect.fork(Effect.flip(third.peer.handshake()))
      yield* third.peer.drop
      expect((yield* Fiber.join(shaking)).message).toBe(
        "the connection ended (dropped, by the server) before the client sent its Identify or Resume (handshake)"
      )
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("a server close as over a real socket: 1005, 1006 and 1015 drop the connection; a code or a reason no close frame carries dies, the connection left open", () =>
    Effect.gen(function*() {
      for (const code of [1005, 1006, 1015]) {
        const { connection, peer } = yield* connected("wss://g")
        yield* peer.close(code, "ignored")
        expect((yield* drain(connection)).end).toMatchObject({ code: undefined })
        expect(yield* peer.closed).toEqual({ code: undefined, reason: "", by: "server" })
      }
      const { connection, peer } = yield* connected("wss://g")
      for (const [code, reason] of [[1004, ""], [999, ""], [4000.5, ""], [5000, ""], [4000, "é".repeat(62)]] as const) {
        const refused = yield* Effect.exit(peer.close(code, reason))
        expect(Exit.isFailure(refused) && Cause.isDie(refused.cause)).toBe(true)
        expect(String(Cause.squash((refused as Exit.Failure<void, never>).cause))).toMatch(/^RangeError: (close code|a close reason holds at most 123 bytes, got 124)/)
      }
      expect(yield* peer.isOpen).toBe(true)
      // 123 bytes fit
      yield* peer.close(4000, "é".repeat(61) + "x")
      expect((yield* drain(connection)).end).toMatchObject({ code: 4000 })
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("a client close with a code no close frame carries drops the connection, as a socket does", () =>
    Effect.gen(function*() {
      // over ws, close(1005) throws and the socket is terminated: the gateway sees 1006, the client a
      // drop; here both saw 1005, as if a close frame had carried it
      for (const [code, reason] of [[1005, ""], [999, ""], [4000, "é".repeat(62)]] as const) {
        const { connection, peer } = yield* connected("wss://g")
        yield* connection.close(code, reason)
        expect(yield* peer.closed).toEqual({ code: undefined, reason: "", by: "client" })
        expect((yield* drain(connection)).end).toMatchObject({ code: undefined, byClient: true })
      }
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("a text frame that is not UTF-8 is refused by the client with 1007, as a socket refuses it", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      const valid = new TextFrame(Buffer.from("é"))
      yield* peer.send(valid)
      // it was handed over as text
      yield* peer.send(new TextFrame(Buffer.from([0xc3, 0x28])))
      yield* peer.send("after")
      const { end, seen } = yield* drain(connection)
      expect(seen).toEqual([valid])
      expect(end).toMatchObject({ code: 1007, reason: "Invalid WebSocket frame: invalid UTF-8 sequence", byClient: true })
      expect(yield* peer.closed).toMatchObject({ code: 1007, by: "client" })
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("answersClose(false): the client's close waits for answerClose, the gateway's frames still reaching the client meanwhile", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* connected("wss://g")
      yield* peer.answersClose(false)
      yield* connection.send("before")
      yield* connection.close(4900, "zombie")
      // the client's frames end with its close; its sends fail with it
      expect(yield* peer.received).toBe("before")
      expect(yield* Effect.flip(peer.received)).toMatchObject({ closed: { code: 4900, reason: "zombie", by: "client" } })
      expect((yield* Effect.flip(connection.send("after"))).cause).toMatchObject({ _tag: "ConnectionClosed", code: 4900, byClient: true })
      expect(yield* peer.isOpen).toBe(true)
      // a frame written before the gateway read the close still reaches the client (it was dropped)
      yield* peer.send("late")
      const draining = yield* Effect.fork(drain(connection))
      yield* peer.answerClose
      const { end, seen } = yield* Fiber.join(draining)
      expect(seen).toEqual(["late"])
      expect(end).toMatchObject({ code: 4900, reason: "zombie", byClient: true })
      expect(yield* peer.closed).toEqual({ code: 4900, reason: "zombie", by: "client" })

      // never answered, the client's scope ends it as the client closed it
      const transport = yield* GatewayTransport
      const gateway = yield* MemoryTransport.MemoryGateway
      const unanswered = yield* Effect.scoped(Effect.gen(function*() {
        const second = yield* transport.connect("wss://g", options)
        const secondPeer = yield* gateway.accept
        yield* secondPeer.answersClose(false)
        yield* second.close(1000, "bye")
        expect(yield* secondPeer.isOpen).toBe(true)
        return secondPeer
      }))
      expect(yield* unanswered.closed).toEqual({ code: 1000, reason: "bye", by: "client" })
    }).pipe(Effect.provide(MemoryTransport.layer)))

  // a test that left a close unanswered, its session in the test's scope, hung after its checks:
  // the session's stop waited on the TestClock, which nothing moves in a test's teardown
  it.scoped("when the layer's scope closes, every close left to the test is answered, and those after it at once", () =>
    Effect.gen(function*() {
      // the connection in the test's scope, as a session's is; the layer provided to the body
      const left = yield* Effect.gen(function*() {
        const { connection, peer } = yield* connected("wss://g")
        yield* peer.answersClose(false)
        return { connection, peer }
      }).pipe(Effect.provide(MemoryTransport.layer))
      // the layer is gone (the test's body ended), the session's connection still open in the test's scope
      expect(yield* left.peer.isOpen).toBe(true)
      yield* left.connection.close(4900, "stop")
      expect(yield* left.peer.closed).toEqual({ code: 4900, reason: "stop", by: "client" })
      // and one whose close waited already when the layer went
      const waited = yield* Effect.gen(function*() {
        const { connection, peer } = yield* connected("wss://g")
        yield* peer.answersClose(false)
        yield* connection.close(1000, "bye")
        expect(yield* peer.isOpen).toBe(true)
        return peer
      }).pipe(Effect.provide(MemoryTransport.layer))
      expect(yield* waited.closed).toEqual({ code: 1000, reason: "bye", by: "client" })
    }))

  it.scoped("a frame over maxFrameBytes closes the connection with 1009", () =>
    Effect.gen(function*() {
      const { end, seen } = yield* sendPastLimit("1234", "12345")
      expect(seen).toEqual(["1234"])
      expect(end.code).toBe(1009)
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("a text frame given as bytes counts its bytes against maxFrameBytes", () =>
    Effect.gen(function*() {
      const fits = new TextFrame(Buffer.from("1234"))
      const { end, seen } = yield* sendPastLimit(fits, new TextFrame(Buffer.from("12345")))
      expect(seen).toEqual([fits])
      expect(end.code).toBe(1009)
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("scripted connect failures and hangs, timed by the TestClock", () =>
    Effect.gen(function*() {
      const transport = yield* GatewayTransport
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect()
      yield* gateway.hangNextConnect()
      const failed = yield* Effect.flip(transport.connect("wss://a", options))
      expect(failed.reason).toBe("Connect")
      yield* TestClock.adjust("1 second")
      const hanging = yield* Effect.fork(Effect.timeout(transport.connect("wss://b", options), "10 seconds"))
      yield* TestClock.adjust("9999 millis")
      expect(Option.isNone(yield* Fiber.poll(hanging))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect((yield* Effect.flip(Fiber.join(hanging)))._tag).toBe("TimeoutException")
      yield* transport.connect("wss://c", options)
      expect((yield* gateway.accept).url).toBe("wss://c")
      expect(yield* gateway.attempts).toEqual([
        { url: "wss://a", at: 0, outcome: "fail" },
        { url: "wss://b", at: 1000, outcome: "hang" },
        { url: "wss://c", at: 11000, outcome: "accept" }
      ])
    }).pipe(Effect.provide(MemoryTransport.layer)))

  it.scoped("scripted runs go in order, counted down; Infinity fails every connect from then on, zero scripts nothing", () =>
    Effect.gen(function*() {
      const transport = yield* GatewayTransport
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(0)
      yield* gateway.failNextConnect(2)
      yield* gateway.hangNextConnect(1)
      yield* gateway.failNextConnect(Number.POSITIVE_INFINITY)
      for (let attempt = 0; attempt < 2; attempt++) yield* Effect.flip(transport.connect("wss://g", options))
      const hanging = yield* Effect.fork(transport.connect("wss://g", options))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.interrupt(hanging)
      for (let attempt = 0; attempt < 1000; attempt++) yield* Effect.flip(transport.connect("wss://g", options))
      expect((yield* gateway.attempts).map((attempt) => attempt.outcome).slice(0, 5)).toEqual(["fail", "fail", "hang", "fail", "fail"])
      expect(yield* gateway.attempts).toHaveLength(1003)
      // the outage ends: Infinity could not be undone
      yield* gateway.acceptConnects
      yield* transport.connect("wss://g", options)
      expect((yield* gateway.attempts).at(-1)?.outcome).toBe("accept")
    }).pipe(Effect.provide(MemoryTransport.layer)))

  // 1.5 failed two attempts, NaN and -1 none, unsaid
  it.scoped("a count of attempts that is no whole number dies, naming it, and scripts nothing", () =>
    Effect.gen(function*() {
      const transport = yield* GatewayTransport
      const gateway = yield* MemoryTransport.MemoryGateway
      for (const times of [1.5, Number.NaN, -1]) {
        const failed = yield* Effect.exit(gateway.failNextConnect(times))
        expect(Exit.isFailure(failed) ? Cause.squash(failed.cause) : undefined).toEqual(
          new RangeError(`failNextConnect: times must be a whole number of at least 0, or Infinity, got ${times}`)
        )
      }
      expect(Exit.isFailure(yield* Effect.exit(gateway.hangNextConnect(0.5)))).toBe(true)
      yield* transport.connect("wss://g", options)
      expect((yield* gateway.attempts).map((attempt) => attempt.outcome)).toEqual(["accept"])
    }).pipe(Effect.provide(MemoryTransport.layer)))
})
