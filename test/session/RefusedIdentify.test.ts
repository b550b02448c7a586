/**
 * An Identify that never went out carried nothing: the presence updates it would have carried are
 * still on their way, and one given up on meanwhile is not what the next Identify shows.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import { TransportError } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, firstIdentifyWritten, hello, options, programLimiter, Session, settle } from "./harness.ts"

const presence = (name: string) => ({ status: "online" as const, since: null, afk: false, activities: [{ name, type: 0 }] })

// how the first Identify's write ends: refused by the socket at once; slow, failing after 2 s (as
// ws's send on a CLOSING socket does once the close is known); or never
type Lost = "refused" | "fails" | "hangs"

interface Seen {
  identifies: number
  failed: boolean
  interrupted: boolean
}

const firstIdentifyLost = (lost: Lost, seen: Seen) =>
  firstIdentifyWritten(seen, () => {
    const fail = Effect.suspend(() => {
      seen.failed = true
      return Effect.fail(new TransportError({ reason: "Send" }))
    })
    const write = lost === "refused" ? fail : lost === "fails" ? Effect.zipRight(Effect.sleep("2 seconds"), fail) : Effect.never
    return Effect.onInterrupt(write, () =>
      Effect.sync(() => {
        seen.interrupted = true
      }))
  })

// an update made while no connection is ready (the first Identify carries it); the socket goes
// while that Identify's write is on, the caller gives up: what the next Identify shows
const nextShows = (lost: Lost) => {
  const seen: Seen = { identifies: 0, failed: false, interrupted: false }
  return Effect.gen(function*() {
    const session = yield* Session.make(options({ timeouts: { hello: "1 hour" } }))
    const update = yield* Effect.fork(session.updatePresence(presence("given up")))
    yield* settle
    const gateway = yield* MemoryTransport.MemoryGateway
    const peer = yield* gateway.accept
    yield* peer.sendJson(hello(3_600_000))
    yield* settle
    expect(seen.identifies).toBe(1)
    yield* TestClock.adjust("500 millis")
    yield* peer.drop
    yield* settle
    yield* TestClock.adjust("3 seconds")
    yield* settle
    // refused at once, its failure seen; else cut short by the connection's end, its failure never
    expect(seen).toMatchObject(lost === "refused" ? { failed: true, interrupted: false } : { failed: false, interrupted: true })
    // nothing went out: the caller still waits, then gives up
    expect(update.unsafePoll()).toBeNull()
    yield* Fiber.interrupt(update)
    const next = yield* Effect.fork(acceptAndHello(3_600_000))
    for (let i = 0; i < 30 && next.unsafePoll() === null; i++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
    const { first } = yield* Fiber.join(next)
    expect([first.op, seen.identifies]).toEqual([2, 2])
    return first.d.presence?.activities?.[0]?.name
  }).pipe(Effect.withRandom(Random.fixed([0.5])), Effect.provide(Layer.provideMerge(firstIdentifyLost(lost, seen), programLimiter({}))))
}

describe("presence and an Identify that never went out", () => {
  // an update whose caller gives up before it went out is as if it had never been made: it was
  // marked carried as the Identify was made, and the next Identify showed it; then, put back only
  // where the write failed at once, not where the connection's end cut the write short
  for (
    const [lost, how] of [
      ["refused", "refused by the socket"],
      ["fails", "slow, failing after the socket dropped"],
      ["hangs", "never ending"]
    ] as const
  ) {
    it.scoped(`an update given up on after the Identify carrying it was ${how} is not what the next Identify carries`, () =>
      Effect.map(nextShows(lost), (name) => expect(name).toBeUndefined()))
  }
})
