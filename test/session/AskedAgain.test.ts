import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options, ready, Session, settle, TestLayer } from "./harness.ts"

// Resumes closed with 4000 or 4008 are not failed Resumes (the gateway never said the session was
// gone), and once nothing else bounded them a node closing every one so kept the shard resuming
// there for ever: never the gateway URL, never a new session
describe("Resumes the gateway asks for again and again", () => {
  for (const code of [4000, 4008]) {
    it.scoped(`a gateway closing every Resume with ${code}: every other one goes to the gateway URL after three, and the tenth gives the session up`, () =>
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
          yield* peer.close(code, "")
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
})
