/**
 * The local gateway under a wall clock that NTP, an admin or a resumed VM steps: its cooldowns,
 * windows and ages are measured on the monotonic clock, as Discord's own are not moved by the
 * client machine's clock (they were measured on `Date.now()`). `Date.now` is stepped here, and only
 * it: sockets and timers keep real time.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import { vi } from "vitest"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { connect, dispatch, hello } from "../testing/rawClient.ts"

const token = "secret-token-value"
const query = "?v=10&encoding=json"
const hour = 60 * 60 * 1000

const gatewayWith = (options: Partial<LocalGateway.Options> = {}) =>
  LocalGateway.make({ token: Redacted.make(token), heartbeatInterval: "1 second", ...options })

const identify = (shard: [number, number]) => ({
  op: 2,
  d: { token, intents: 513, properties: { os: "linux", browser: "test", device: "test" }, shard }
})

/** `Date.now()` stepped by the offset a test moves; restored with the scope. */
const wallSteps = Effect.acquireRelease(
  Effect.sync(() => {
    const realNow = Date.now
    let offset = 0
    const spy = vi.spyOn(Date, "now").mockImplementation(() => realNow() + offset)
    return { spy, step: (ms: number) => Effect.sync(() => { offset += ms }) }
  }),
  ({ spy }) => Effect.sync(() => spy.mockRestore())
)

describe("LocalGateway under wall-clock steps", () => {
  it.scopedLive("after a step back of an hour, a key identifies again once its cooldown (200 ms) passed, not an hour later", () =>
    Effect.gen(function*() {
      const wall = yield* wallSteps
      const gateway = yield* gatewayWith({ guilds: 0, shards: 2, identifyCooldown: "200 millis" })
      const first = yield* connect(gateway.url + query)
      yield* first.next(hello)
      yield* first.send(identify([0, 2]))
      yield* first.next(dispatch("READY"))
      yield* wall.step(-hour)
      yield* Effect.sleep("400 millis")
      const second = yield* connect(gateway.url + query)
      yield* second.next(hello)
      yield* second.send(identify([1, 2]))
      const answer = yield* second.next((f) => f.op === 9 || (f.op === 0 && f.t === "READY"))
      expect(answer.op === 0 ? "READY" : "op 9 (IdentifyRateLimited)", "shard 1's identify, 400 ms after shard 0's on the same key").toBe("READY")
    }))

  it.scopedLive("after a step back of an hour, a beat a whole interval after the last is not recorded as HeartbeatTooEarly", () =>
    Effect.gen(function*() {
      const wall = yield* wallSteps
      // a minute's slack: a loaded machine holding this fiber past 1.6 s drew HeartbeatMissed, not
      // what this test checks (beats later than 450 ms only leave HeartbeatTooEarly further off)
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "400 millis", heartbeatSlack: "1 minute" })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send({ op: 1, d: null })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 1)
      yield* wall.step(-hour)
      yield* Effect.sleep("450 millis")
      yield* client.send({ op: 1, d: null })
      yield* gateway.awaitLog((log) => log.heartbeats.length === 2)
      expect((yield* gateway.violations).map((v) => v.kind)).toEqual([])
    }))

  it.scopedLive("a step forward of 61 s does not let 200 payloads in one real second through without 4008", () =>
    Effect.gen(function*() {
      const wall = yield* wallSteps
      const gateway = yield* gatewayWith({ guilds: 0, heartbeatInterval: "1 hour" })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      const burst = (count: number) => Effect.forEach(Array.from({ length: count }), () => client.send({ op: 1, d: null }), { discard: true })
      yield* burst(100)
      yield* gateway.awaitLog((log) => log.heartbeats.length === 100)
      yield* wall.step(61_000)
      yield* burst(100)
      // Discord, whose clock did not step, saw 200 payloads within a second: over 120 per 60 s
      const outcome = yield* Effect.race(
        Effect.map(client.closed, (closed) => `closed ${closed.code}`),
        Effect.as(gateway.awaitLog((log) => log.heartbeats.length === 200), "all 200 taken")
      )
      expect(outcome).toBe("closed 4008")
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.none))))

  it.scopedLive("a step forward of 4 minutes does not end a session that dropped a moment ago (resume window 3 min)", () =>
    Effect.gen(function*() {
      const wall = yield* wallSteps
      const gateway = yield* gatewayWith({ guilds: 0 })
      const client = yield* connect(gateway.url + query)
      yield* client.next(hello)
      yield* client.send(identify([0, 1]))
      const readyFrame = yield* client.next(dispatch("READY"))
      yield* gateway.drop("all")
      yield* client.closed
      yield* wall.step(4 * 60_000)
      const resumed = yield* connect(`${readyFrame.d.resume_gateway_url}${query}`)
      yield* resumed.next(hello)
      yield* resumed.send({ op: 6, d: { token, session_id: readyFrame.d.session_id, seq: readyFrame.s } })
      const answer = yield* resumed.next((f) => f.op === 9 || (f.op === 0 && f.t === "RESUMED"))
      expect(answer.op === 0 ? "RESUMED" : `op 9 d=${answer.d}`, "resumed a moment after the drop").toBe("RESUMED")
    }))
})
