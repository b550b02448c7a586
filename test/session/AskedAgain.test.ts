import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options, ready, Session, settle, TestLayer } from "./harness.ts"

// Resumes closed with 4000 or 4008, or by the websocket's server going away, failing, restarting
// or overloaded (1001, 1011, 1012, 1013), or answered with op 9 true, are not failed Resumes (the
// gateway never said the session was gone), and once nothing else bounded them a node closing
// every one so kept the shard resuming there for ever: never the gateway URL, never a new session.
// (0: op 9 true)
describe("Resumes the gateway asks for again and again", () => {
  for (const code of [4000, 4008, 1001, 1011, 1012, 1013, 0]) {
    it.scoped(`a gateway ${code === 0 ? "answering every Resume with op 9 true" : `closing every Resume with ${code}`}: every other one goes to the gateway URL after three, and the tenth gives the session up`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        yield* Session.make(options({ backoff: { initial: "1 second", max: "5 seconds" } }))
        const first = yield* gateway.accept
        yield* first.handshake(41_250)
        yield* first.sendJson(ready())
        yield* settle
        yield* first.drop
        yield* settle
        const seen: Array<string> = []
        for (let attempt = 0; attempt < 11; attempt++) {
          const next = yield* Effect.fork(gateway.accept)
          for (let i = 0; i < 30 && (yield* Fiber.poll(next))._tag === "None"; i++) {
            yield* TestClock.adjust("1 second")
            yield* settle
          }
          const peer = yield* Fiber.join(next)
          const payload = yield* peer.handshake(41_250)
          seen.push(`${payload.op === 6 ? "Resume" : "Identify"}@${peer.url.startsWith("ws://resume.test") ? "resume" : "gateway"}`)
          if (payload.op !== 6) break
          yield* (code === 0 ? peer.sendJson({ op: 9, d: true, s: null, t: null }) : peer.close(code, ""))
          yield* settle
        }
        expect(seen).toEqual([
          ...Array(3).fill("Resume@resume"),
          ...Array(3).fill(["Resume@gateway", "Resume@resume"]).flat(),
          "Resume@gateway",
          "Identify@gateway"
        ])
      }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
  }

  // a gateway restarting for eight seconds (Discord's proxy closes with 1001 as it restarts): three
  // such Resumes in a row, five seconds, gave the session up, its events since not replayed
  for (const code of [1001, 1012, 0]) {
    it.scoped(`a gateway ${code === 0 ? "answering op 9 true" : `closing with ${code}`} for eight seconds: the Resume after it takes the session on`, () =>
      Effect.gen(function*() {
        const gateway = yield* MemoryTransport.MemoryGateway
        const openings: Array<number> = []
        let restarting = false
        let current: MemoryTransport.MemoryPeer | undefined
        yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
          const peer = yield* gateway.accept
          current = peer
          yield* Effect.forkScoped(Effect.gen(function*() {
            yield* peer.autoAck(true)
            const opening = yield* peer.handshake(41_250)
            openings.push(opening.op)
            if (opening.op === 2) return yield* peer.sendJson(ready())
            if (!restarting) return yield* peer.sendJson({ op: 0, s: 2, t: "RESUMED", d: {} })
            yield* (code === 0 ? peer.sendJson({ op: 9, d: true, s: null, t: null }) : peer.close(code, "restarting"))
          }))
        })))
        yield* Session.make(options())
        yield* settle
        yield* TestClock.adjust("2 minutes")
        restarting = true
        yield* current!.close(code === 0 ? 4000 : code, "restarting")
        for (let s = 0; s < 8; s++) yield* TestClock.adjust("1 second")
        restarting = false
        for (let s = 0; s < 120; s++) yield* TestClock.adjust("1 second")
        // one Identify, then Resumes only: at least three refused, then the one answered
        expect(openings[0]).toBe(2)
        expect(openings.slice(1).every((op) => op === 6)).toBe(true)
        expect(openings.length).toBeGreaterThan(4)
      }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(TestLayer)))
  }
})
