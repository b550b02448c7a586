/**
 * A stall that ends just past a heartbeat's tick, on Node's real event loop: the gateway's ACK came
 * during it and waits in the socket, unread, while Node runs the overdue tick first. The gateway is
 * a bare `ws` server in this process, which answers the beat, then holds the event loop (as a long
 * synchronous handler of the program would) until shortly after the next beat fell due.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Session from "../../../src/session/Session.ts"
import { readyingGateway } from "../../readyingGateway.ts"
import { ClientLayer, token } from "./support.ts"

const interval = 1000
// how long past the next beat's due time the hold ends: under the 500 ms (half this interval) that
// marks a tick run after a stall, so the tick is taken as on time
const pastTheTick = 150

interface Served {
  readonly url: string
  /** When each beat came (`Date.now()`). */
  readonly beats: Array<number>
  /** The close codes the client sent. */
  readonly closes: Array<number>
}

const gateway = Effect.gen(function*() {
  const beats: Array<number> = []
  const closes: Array<number> = []
  const url = yield* readyingGateway({
    heartbeatInterval: interval,
    connected: (socket) => void socket.on("close", (code) => void closes.push(code)),
    received: (socket, payload) => {
      if (payload.op !== 1) return
      const at = Date.now()
      beats.push(at)
      socket.send(JSON.stringify({ op: 11, d: null, s: null, t: null }))
      // the first beat's ACK is written; the process stops before the client reads it, until just
      // after the next beat fell due
      if (beats.length === 1) {
        setImmediate(() => {
          while (Date.now() < at + interval + pastTheTick) {
            // held
          }
        })
      }
    }
  })
  const served: Served = { url, beats, closes }
  return served
})

describe("a stall ending just past a heartbeat's tick, on the real event loop", () => {
  // README, Leave the event loop a turn: the ACK that came during a hold is not given up on. The tick
  // ran 150 ms late, under the mark of a stall, and judged the connection a zombie before Node read
  // the ACK waiting in its socket: a live connection closed (4900) and resumed
  it.scopedLive("the ACK waiting in the socket is read before the verdict: no zombie close, the beats go on", () =>
    Effect.gen(function*() {
      const served = yield* gateway
      yield* Session.make({ token, gateway: served.url, compression: "none", intents: 1 })
      yield* Effect.async<void>((resume) => {
        const check = setInterval(() => {
          if (served.beats.length >= 3 || served.closes.length > 0) {
            clearInterval(check)
            resume(Effect.void)
          }
        }, 20)
        return Effect.sync(() => clearInterval(check))
      }).pipe(Effect.timeout("10 seconds"))
      expect(served.closes).toEqual([])
      expect(served.beats.length).toBeGreaterThanOrEqual(3)
    }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(ClientLayer)), 20_000)
})
