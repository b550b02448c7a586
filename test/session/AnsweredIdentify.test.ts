/**
 * An Identify whose write the connection's end cut short, though it reached the gateway and READY
 * came for it on that connection, carried its presence: the session resumes what it began.
 *
 * The transport here writes the frame to the peer at once, but its `send` Effect ends only once
 * the write is acknowledged (as `ws`'s send does, at its callback). The acknowledgement never
 * comes before the gateway's op 7: the connection's end interrupts the Identify's send, after READY.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { dispatch, firstIdentifyWritten, nextConnection, type Opened, options, programLimiter, ready, resumeUrl, sentPayloads, Session, settle } from "./harness.ts"

const presence = (name: string) => ({ status: "online" as const, since: null, afk: false, activities: [{ name, type: 0 }] })

interface Seen {
  identifies: number
  interrupted: boolean
}

// the first Identify is written to the peer, and its send's Effect never ends (no ack)
const firstIdentifyUnacked = (seen: Seen) =>
  firstIdentifyWritten(seen, (plain) =>
    Effect.zipRight(
      plain,
      Effect.onInterrupt(Effect.never, () =>
        Effect.sync(() => {
          seen.interrupted = true
        }))
    ))

// the session, READY on its first connection (the Identify reached the gateway), then op 7: it
// resumes on the next, RESUMED
const readyThenReconnect = (seen: Seen, overrides: Parameters<typeof options>[0], before?: (session: Session.Session) => Effect.Effect<unknown>) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options({ timeouts: { hello: "1 hour" }, ...overrides }))
    if (before !== undefined) yield* before(session)
    const gateway = yield* MemoryTransport.MemoryGateway
    const peer = yield* gateway.accept
    const identify: Opened = yield* peer.handshake(3_600_000)
    expect(identify.op).toBe(2)
    yield* peer.sendJson(ready(1, "session-1"))
    yield* settle
    expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
    // the gateway asks for a reconnect: the connection ends, the Identify's send still unacknowledged
    yield* peer.sendJson({ op: 7, d: null, s: null, t: null })
    yield* settle
    expect(seen.interrupted).toBe(true)
    const next = yield* nextConnection
    expect(next.first.op).toBe(6)
    yield* next.peer.sendJson(dispatch(2, "RESUMED", {}))
    yield* settle
    expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
    return { session, identify, peer: next.peer }
  })

const provide = (seen: Seen) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.withRandom(Random.fixed([0.5])),
    Effect.provide(Layer.provideMerge(firstIdentifyUnacked(seen), programLimiter({})))
  )

describe("an Identify answered by READY, whose send the connection's end cut short", () => {
  // READY came and the session resumed it: the Identify's presence is what the gateway session
  // shows, and `disconnect`'s point says so (the presence was put back as if never carried)
  it.scoped("the resume point of a session whose answered Identify carried its presence says that presence", () => {
    const seen: Seen = { identifies: 0, interrupted: false }
    return Effect.gen(function*() {
      const { identify, session } = yield* readyThenReconnect(seen, { presence: presence("carried") })
      expect(identify.d.presence?.activities?.[0]?.name).toBe("carried")
      const point = yield* session.disconnect("1 second")
      expect(Option.isSome(point)).toBe(true)
      // the session's own gateway session shows "carried" (its Identify's READY was taken and resumed)
      expect(Option.getOrThrow(point).presence?.activities?.[0]?.name).toBe("carried")
    }).pipe(provide(seen))
  })

  // the Identify carried the update and READY answered it: the update does not go out again after
  // the Resume (a presence update spent on nothing), and its caller's wait ended with that Identify
  it.scoped("an update the answered Identify carried does not go out again after the Resume", () => {
    const seen: Seen = { identifies: 0, interrupted: false }
    let update: Fiber.RuntimeFiber<void, unknown> | undefined
    return Effect.gen(function*() {
      const { identify, peer } = yield* readyThenReconnect(seen, {}, (session) =>
        Effect.gen(function*() {
          update = yield* Effect.fork(session.updatePresence(presence("made early")))
          yield* settle
        }))
      expect(identify.d.presence?.activities?.[0]?.name).toBe("made early")
      yield* settle
      expect(update?.unsafePoll()).not.toBeNull()
      const sent = yield* sentPayloads(peer)
      expect(sent.filter((payload) => payload.op === 3)).toEqual([])
    }).pipe(provide(seen))
  })

  // a session resuming a point that shows "old", its `presence` option "new": the Resume is refused
  // (op 9 false), its Identify carries "new", READY comes, then op 7 cuts the Identify's send short.
  // The gateway session shows "new"; the point said "old" (the undo put it back, and the
  // show-after-Resume update for "new" had been settled at READY): a program restarted from that
  // point with `presence: "old"` sent nothing, and the bot kept showing "new".
  it.scoped("a refused Resume's Identify, answered by READY, then cut short: the point says what the gateway session shows", () => {
    const seen: Seen = { identifies: 0, interrupted: false }
    return Effect.gen(function*() {
      const resume = { sessionId: "old-session", sequence: 5, resumeGatewayUrl: resumeUrl, shard: [0, 1] as const, presence: presence("old") }
      const session = yield* Session.make(options({ timeouts: { hello: "1 hour" }, presence: presence("new"), resume }))
      const gateway = yield* MemoryTransport.MemoryGateway
      const first = yield* gateway.accept
      const resumed = yield* first.handshake(3_600_000)
      expect(resumed.op).toBe(6)
      yield* first.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      const second = yield* nextConnection
      expect(second.first.op).toBe(2)
      expect(second.first.d.presence?.activities?.[0]?.name).toBe("new")
      yield* second.peer.sendJson(ready(1, "session-1"))
      yield* settle
      expect(yield* session.state).toMatchObject({ _tag: "Connected", phase: "Ready" })
      yield* second.peer.sendJson({ op: 7, d: null, s: null, t: null })
      yield* settle
      expect(seen.interrupted).toBe(true)
      const third = yield* nextConnection
      expect(third.first.op).toBe(6)
      yield* third.peer.sendJson(dispatch(2, "RESUMED", {}))
      yield* settle
      const sent = yield* sentPayloads(third.peer)
      const point = yield* session.disconnect("1 second")
      // what the gateway session shows: "new" (its Identify), unless an op 3 said otherwise since
      const shows = [...sent].reverse().find((payload) => payload.op === 3)
      const showing = shows === undefined ? "new" : (shows.d as { activities: Array<{ name: string }> }).activities[0]!.name
      expect(showing).toBe("new")
      expect(Option.getOrThrow(point).presence?.activities?.[0]?.name).toBe(showing)
    }).pipe(provide(seen))
  })
})
