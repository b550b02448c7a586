/**
 * The local gateway under what a long run brings: a stray request whose target is no URL, a
 * command of odd data, its synthetic traffic after the event loop paused, a resume whose RESUMED
 * was lost, a thousand sessions made.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Net from "node:net"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { connect, dispatch, hello } from "./rawClient.ts"

const rawToken = "secret-token-value"
const query = "?v=10&encoding=json"

// the uncaught exceptions of the test's scope, caught (the process would otherwise end)
const catchUncaught = Effect.gen(function*() {
  const caught: Array<string> = []
  const saved = process.listeners("uncaughtException")
  const onUncaught = (error: unknown) => void caught.push(String(error))
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      process.removeAllListeners("uncaughtException")
      process.on("uncaughtException", onUncaught)
    }),
    () =>
      Effect.sync(() => {
        process.removeListener("uncaughtException", onUncaught)
        for (const listener of saved) process.on("uncaughtException", listener)
      })
  )
  return caught
})

// sends `request` as raw bytes to the gateway's port; the first line of its answer, or "no answer"
// within a second
const rawHttp = (port: number, request: string | Buffer) =>
  Effect.async<string>((resume) => {
    const socket = Net.connect(port, "127.0.0.1", () => socket.write(request))
    let done = false
    const finish = (answer: string) => {
      if (done) return
      done = true
      socket.destroy()
      resume(Effect.succeed(answer))
    }
    socket.on("data", (data) => finish(data.toString("latin1").split("\r\n")[0]!))
    socket.on("close", () => finish("closed"))
    socket.on("error", () => finish("error"))
    const timer = setTimeout(() => finish("no answer"), 1_000)
    return Effect.sync(() => {
      clearTimeout(timer)
      finish("interrupted")
    })
  })

describe("the local gateway in a long run", () => {
  // the CLI runs the local gateway for hours: a request whose target `new URL` cannot read (legal to
  // node's HTTP parser: "//[") threw out of the HTTP handler and out of the upgrade's accept, an
  // uncaught exception, which ends a node process
  it.scopedLive("a request with an odd target (//[) is answered, with no uncaught exception", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token: Redacted.make(rawToken) })
      const caught = yield* catchUncaught
      const plain = yield* rawHttp(gateway.port, "GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
      // the upgrade, and right behind it a frame ws refuses (unmasked) while the close is under way:
      // an `error` with no listener, thrown out of the socket's callback
      const upgrade = yield* rawHttp(
        gateway.port,
        Buffer.concat([
          Buffer.from(
            "GET //[?v=10 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "latin1"
          ),
          Buffer.from([0x81, 0x02, 0x68, 0x69])
        ])
      )
      yield* Effect.sleep("100 millis")
      expect({ caught, plain: plain.startsWith("HTTP/1.1 "), upgrade: upgrade !== "no answer" }).toEqual({ caught: [], plain: true, upgrade: true })
    }))

  // every session's synthetic messages have ids of their own: after a pause, the second's worth a
  // session gets went out in one tick, every id stamped with the tick's millisecond, and the
  // snowflake's 12-bit increment wrapped
  it.scopedLive("synthetic traffic after a pause of the event loop sends no two messages with one id", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token: Redacted.make(rawToken), heartbeatInterval: "1 minute", guilds: 1, membersPerGuild: 3 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send({ op: 2, d: { token: rawToken, intents: 513 | (1 << 15), properties: { os: "l", browser: "t", device: "t" } } })
      yield* client.next(dispatch("READY"))
      yield* gateway.startTraffic(10_000)
      yield* Effect.sleep("50 millis")
      // a blocked event loop (a long GC, a synchronous job) for a little over a second
      const until = Date.now() + 1_100
      while (Date.now() < until) {
        // busy
      }
      yield* Effect.sleep("300 millis")
      yield* gateway.stopTraffic
      yield* Effect.sleep("300 millis")
      const ids = client.frames.filter((frame) => frame.t === "MESSAGE_CREATE").map((frame) => frame.d.id as string)
      expect(ids.length).toBeGreaterThan(5_000)
      expect(ids.length - new Set(ids).size).toBe(0)
    }), 20_000)

  // a RESUMED takes a sequence number and is kept for no replay: a client that lost it with its
  // connection, resuming from before it while the buffer held every dispatch it missed, was taken
  // for one the buffer had let go of, and refused (op 9, a new Identify)
  it.scopedLive("a Resume from just before a RESUMED it never read is replayed when the buffer holds every dispatch it missed", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({
        token: Redacted.make(rawToken),
        heartbeatInterval: "1 second",
        heartbeatSlack: "1 minute",
        guilds: 0,
        replayBufferSize: 2
      })
      const first = yield* connect(gateway.url + query)
      yield* first.next(hello)
      yield* first.send({ op: 2, d: { token: rawToken, intents: 513, properties: { os: "l", browser: "t", device: "t" } } })
      const ready = yield* first.next(dispatch("READY"))
      const sessionId = ready.d.session_id as string
      expect(ready.s).toBe(1)
      yield* first.close(4900)
      yield* gateway.awaitLog((log) => log.connections[0]?.closedAt !== undefined)
      // a resume whose RESUMED (s 2) is lost with its connection (stalled, then dropped)
      const second = yield* connect(gateway.url + "/resume" + query)
      yield* second.next(hello)
      yield* gateway.stall({ connection: 2 }, "1 minute")
      yield* second.send({ op: 6, d: { token: rawToken, session_id: sessionId, seq: 1 } })
      yield* gateway.awaitLog((log) => log.resumes.length === 1)
      yield* gateway.drop({ connection: 2 })
      yield* gateway.awaitLog((log) => log.connections[1]?.closedAt !== undefined)
      // two dispatches while no connection holds it: the buffer (2) holds both
      expect(yield* gateway.dispatch({ session: sessionId }, "TEST_EVENT", { n: 1 })).toBe(1)
      expect(yield* gateway.dispatch({ session: sessionId }, "TEST_EVENT", { n: 2 })).toBe(1)
      const third = yield* connect(gateway.url + "/resume" + query)
      yield* third.next(hello)
      yield* third.send({ op: 6, d: { token: rawToken, session_id: sessionId, seq: 1 } })
      const answer = yield* third.next((f) => f.op === 9 || f.t === "RESUMED")
      expect(answer.op === 9 ? "op 9" : third.frames.filter((f) => f.t === "TEST_EVENT").map((f) => f.d.n)).toEqual([1, 2])
    }))

  // the 1025th session made took the first's snowflake worker, and while both ran their messages
  // shared ids (each source counts its increments from 0 in each millisecond)
  it.scopedLive("the first and the 1025th session, both running, send no message with one id", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({
        token: Redacted.make(rawToken),
        heartbeatInterval: "1 minute",
        guilds: 1,
        membersPerGuild: 3,
        identifyCooldown: 0,
        sessionStartLimit: { total: 5_000 }
      })
      const identify = { op: 2, d: { token: rawToken, intents: 513 | (1 << 15), properties: { os: "l", browser: "t", device: "t" } } }
      const session = Effect.gen(function*() {
        const client = yield* connect(gateway.url + query)
        yield* client.next(hello)
        yield* client.send(identify)
        yield* client.next(dispatch("READY"))
        return client
      })
      const first = yield* session
      for (let i = 0; i < 1023; i++) {
        yield* Effect.scoped(Effect.flatMap(session, (client) => client.close(1000)))
      }
      const last = yield* session
      yield* gateway.startTraffic(2_000)
      yield* Effect.sleep("300 millis")
      yield* gateway.stopTraffic
      yield* Effect.sleep("100 millis")
      const ids = (client: typeof first) => client.frames.filter((frame) => frame.t === "MESSAGE_CREATE").map((frame) => frame.d.id as string)
      const a = ids(first)
      const b = new Set(ids(last))
      expect(a.length).toBeGreaterThan(50)
      expect(a.filter((id) => b.has(id))).toEqual([])
    }), 30_000)

  // a command's guild id is the client's: an object whose `toString` is no function, put into the
  // refusal's text with String(), threw out of the socket's callback and ended the process
  for (
    const [name, frame] of [
      ["Request Channel Info whose guild_id", "{\"op\":43,\"d\":{\"guild_id\":{\"toString\":1}}}"],
      ["Request Soundboard Sounds one of whose guild_ids", "{\"op\":31,\"d\":{\"guild_ids\":[{\"toString\":null}]}}"]
    ] as const
  ) {
    it.scopedLive(`a ${name} is an object with a toString key is refused, with no uncaught exception`, () =>
      Effect.gen(function*() {
        const gateway = yield* LocalGateway.make({ token: Redacted.make(rawToken), heartbeatInterval: "1 minute", guilds: 1, membersPerGuild: 2 })
        const caught = yield* catchUncaught
        const client = yield* connect(gateway.url + query)
        yield* client.next(hello)
        yield* client.send({ op: 2, d: { token: rawToken, intents: 513, properties: { os: "l", browser: "t", device: "t" } } })
        yield* client.next(dispatch("READY"))
        yield* client.sendRaw(frame)
        yield* Effect.sleep("200 millis")
        const violations = yield* gateway.violations
        expect({ caught, refused: violations.some((violation) => violation.kind === "InvalidCommand") }).toEqual({ caught: [], refused: true })
      }), 10_000)
  }
})
