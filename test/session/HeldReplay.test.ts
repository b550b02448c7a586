/**
 * A Resume's replay held up by a full events buffer (the program slow, or waiting on its own
 * command): the program's commands go out on it, the ready timeout still waits for RESUMED, and
 * a member request awaited inside the handler ends with `Timeout`, never a wait for ever.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Intents from "../../src/protocol/Intents.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { acceptAndHello, dispatch, memberAnswer, options, ready, sentPayloads, Session, settle, TestLayer } from "./harness.ts"

const guild = "81384788765712384"
const leave = { guild_id: guild, channel_id: null, self_mute: false, self_deaf: false }

// the next connection, the clock moved a second at a time until the session dials it
const nextConnection = Effect.gen(function*() {
  const gateway = yield* MemoryTransport.MemoryGateway
  const accepted = yield* Effect.fork(gateway.accept)
  while (Option.isNone(yield* Fiber.poll(accepted))) yield* TestClock.adjust("1 second")
  const peer = yield* Fiber.join(accepted)
  const first = yield* peer.handshake(3_600_000)
  return { peer, first }
})

// A session with two places in its buffer, READY and event 2 on its first connection, which then
// drops; the next one resumes and replays `3..last` without RESUMED: two fill the buffer, the
// reader waits with the third. `handle` is the program's handler; `phases` are the resume's.
const resumedWithReplay = (last: number, handle: (session: Session.Session, sequence: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const session = yield* Session.make(options({ bufferSize: 2, intents: Intents.Guilds | Intents.GuildMembers }))
    const phases: Array<string> = []
    const reasons: Array<string> = []
    const seen: Array<number> = []
    yield* Effect.forkScoped(Stream.runForEach(session.transitions, ({ reason, to }) =>
      Effect.sync(() => {
        phases.push(to._tag === "Connected" ? to.phase : to._tag)
        reasons.push(reason._tag)
      })))
    yield* Effect.forkScoped(Stream.runForEach(session.events, (event) =>
      Effect.suspend(() => {
        seen.push(event.sequence)
        return handle(session, event.sequence)
      })))
    const { peer } = yield* acceptAndHello(3_600_000)
    yield* peer.sendJson(ready())
    yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
    yield* settle
    yield* peer.drop
    yield* settle
    // the transitions of the resume only
    phases.length = 0
    const { first, peer: next } = yield* nextConnection
    expect(first.op).toBe(6)
    for (let s = 3; s <= last; s++) yield* next.sendJson(dispatch(s, "MESSAGE_CREATE", {}))
    yield* settle
    return { session, phases, reasons, seen, next }
  })

describe("a Resume's replay held up by a full buffer", () => {
  it.scoped("a member request awaited in the handler goes out and ends with Timeout at the members timeout; the session then resumes", () =>
    Effect.gen(function*() {
      const outcomes: Array<string> = []
      const { next, phases } = yield* resumedWithReplay(8, (session, sequence) =>
        sequence !== 3 ? Effect.void : Effect.either(session.requestGuildMembers({ guild_id: guild, user_ids: ["1"] })).pipe(
          Effect.map((result) =>
            outcomes.push(Either.isLeft(result) ? (result.left._tag === "MemberRequestError" ? result.left.reason : result.left._tag) : "answered")
          )
        ))
      const request = (yield* sentPayloads(next)).find(({ op }) => op === 8) as { d: { nonce: string } } | undefined
      expect(request).toBeDefined()
      // the answer comes behind RESUMED, which waits behind the replay the handler does not take
      yield* next.sendJson(dispatch(9, "RESUMED", {}))
      yield* next.sendJson(memberAnswer(10, guild, request!.d.nonce, [{ user: { id: "1" } }]))
      yield* settle
      yield* TestClock.adjust("29 seconds")
      yield* settle
      expect(outcomes).toEqual([])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(outcomes).toEqual(["Timeout"])
      expect(phases.slice(-1)).toEqual(["Ready"])
      expect(yield* next.isOpen).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("the ready timeout still ends a replay that never brings RESUMED, once the program took it; never Ready", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { next, phases, reasons, seen, session } = yield* resumedWithReplay(7, (_, sequence) => sequence === 2 ? Deferred.await(gate) : Effect.void)
      const command = yield* Effect.fork(session.updateVoiceState(leave))
      yield* settle
      // the command went out while the replay waits
      expect((yield* sentPayloads(next)).filter(({ op }) => op === 4).map(({ d }) => d)).toEqual([leave])
      yield* Fiber.join(command)
      yield* TestClock.adjust("31 seconds")
      yield* settle
      expect(reasons).not.toContain("ReadyTimeout")
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      expect(seen.slice(-1)).toEqual([7])
      yield* TestClock.adjust("30 seconds")
      yield* settle
      yield* TestClock.adjust("30 seconds")
      yield* settle
      expect(reasons).toContain("ReadyTimeout")
      expect(phases).not.toContain("Ready")
    }).pipe(Effect.provide(TestLayer)))
})
