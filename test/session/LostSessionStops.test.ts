/**
 * A gateway session lost during a stop (told and counted as the gateway's doing, the stop's own
 * close not), the hold-back's count of Identifies answered by a protocol error, and the messages
 * of OtherCommand and Intents after their refusals were rebuilt from problems.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Json from "../../src/codec/Json.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as OtherCommand from "../../src/protocol/OtherCommand.ts"
import * as Outage from "../../src/session/Outage.ts"
import * as Recovery from "../../src/session/Recovery.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { describeReason, Reason } from "../../src/session/SessionState.ts"
import { captured } from "../logLines.ts"
import { acceptAndHello, dispatch, lostCount, options, ready, secret, Session, settle, TestLayer } from "./harness.ts"

const notDebug = (lines: ReadonlyArray<string>) => lines.filter((line) => !line.startsWith("DEBUG"))

// A gateway close that ends the gateway session (4009, 4007) while a stop waits for the answer to
// its own close is the gateway's doing, not the stop's: README ("the gateway's doing, ... close
// 4009 (session timed out)"; "a stop's own close of a session no Resume could carry is not [told]")
describe("a gateway's 4009 / 4007 during a stop", () => {
  for (const [shard, code] of [[1, 4009], [2, 4007]] as const) {
    // every end during a stop but op 9 was taken for the stop's own close: the gateway's 4009/4007
    // was neither told nor counted, though the session was forgotten (the stop hands no point)
    it.scoped(`close ${code} from the gateway while a resumable stop waits for its close: told and counted as lost`, () => {
      const { layer, lines } = captured()
      return Effect.gen(function*() {
        const before = yield* lostCount(shard, "Closed")
        const session = yield* Session.make(options({ shard: [shard, 4] }))
        const { first, peer } = yield* acceptAndHello(3_600_000)
        expect(first.op).toBe(2)
        yield* peer.sendJson(ready(1, "session-1", [shard, 4]))
        yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
        yield* settle
        // the gateway has not read the stop's close (4000) yet, and ends the session itself
        yield* peer.answersClose(false)
        const stopping = yield* Effect.fork(session.disconnect("10 seconds"))
        yield* settle
        yield* peer.close(code)
        yield* settle
        yield* TestClock.adjust("10 seconds")
        const point = yield* Fiber.join(stopping)
        // the point is not handed (a Resume would be refused)
        expect(Option.isNone(point)).toBe(true)
        expect((yield* lostCount(shard, "Closed")) - before).toBe(1)
        const lost = notDebug(lines).filter((line) => line.includes("gateway session lost"))
        expect(lost.length).toBe(1)
        expect(lost[0]).toContain(`close ${code}`)
      }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
    })
  }

  // it was counted, but its line never came: the hook ran in turn on a fiber of its own, which the
  // stop, ending the loop at once, interrupted before it ran
  it.scoped("op 9 while a resumable stop waits for its close: told as lost, no point handed", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const before = yield* lostCount(3, "InvalidSession")
      const session = yield* Session.make(options({ shard: [3, 4] }))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(ready(1, "session-1", [3, 4]))
      yield* settle
      yield* peer.answersClose(false)
      const stopping = yield* Effect.fork(session.disconnect("10 seconds"))
      yield* settle
      yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("10 seconds")
      const point = yield* Fiber.join(stopping)
      expect(Option.isNone(point)).toBe(true)
      // counted
      expect((yield* lostCount(3, "InvalidSession")) - before).toBe(1)
      expect(notDebug(lines).filter((line) => line.includes("gateway session lost")).length).toBe(1)
    }).pipe(Effect.provide(layer), Effect.provide(TestLayer))
  })

  // told on the loop's fiber, a slow `lost` held the stop and `await` to the stop's timeout, and
  // one that could not be interrupted past it, for as long as it took
  for (const uninterruptible of [false, true]) {
    it.scoped(`op 9 during a stop, a${uninterruptible ? "n uninterruptible" : ""} lost hook of an hour: the stop and await end at once, the hook told just before ended`, () =>
      Effect.gen(function*() {
        const told: Array<string> = []
        const slowStore = Effect.zipRight(Effect.sync(() => told.push("lost")), Effect.sleep("1 hour"))
        const outage: Outage.Outage = {
          ...Outage.make(),
          lost: () => uninterruptible ? Effect.uninterruptible(slowStore) : slowStore,
          ended: Effect.sync(() => void told.push("ended"))
        }
        const session = yield* Session.makeWith(Either.getOrThrow(SessionOptions.resolve(options())), { outage })
        const { peer } = yield* acceptAndHello(3_600_000)
        yield* peer.sendJson(ready())
        yield* settle
        yield* peer.answersClose(false)
        const stopping = yield* Effect.fork(session.disconnect("30 seconds"))
        yield* settle
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* settle
        const awaiting = yield* Effect.fork(session.await)
        yield* settle
        expect([stopping.unsafePoll() !== null, awaiting.unsafePoll()]).toStrictEqual([true, Exit.void])
        expect(told).toEqual(["lost"])
        yield* TestClock.adjust("1 hour")
        expect(told).toEqual(["lost", "ended"])
      }).pipe(Effect.provide(TestLayer)))
  }
})

const outcome = (o: Partial<Parameters<typeof Recovery.after>[2]> & Pick<Parameters<typeof Recovery.after>[2], "reason">) => ({
  ready: false,
  answered: false,
  stable: false,
  authenticated: true,
  replayed: 0,
  tooLarge: false,
  heldUp: false,
  ...o
})
const at = { sessionId: undefined, sequence: null }
const protocol = (message: string) => Reason.DecodeFailed({ kind: "Protocol", message })

describe("Recovery: an Identify answered by a protocol error", () => {
  // counted, and it leads to the hold-back at the third
  it("counts toward invalidatedInARow; three in a row hold back", () => {
    let r = Recovery.initial
    for (let i = 0; i < 3; i++) r = Recovery.after(r, "identify", outcome({ reason: protocol("GUILD_CREATE before READY") }), at)
    expect(r.invalidatedInARow).toBe(3)
    expect(Recovery.holdBack(r, 60_000)).toBeGreaterThan(0)
  })

  // the count goes on over the ends that spend no start, and over a READY too large (a rule of its
  // own); a READY taken and a protocol error after it, before the connection was stable, counts
  it("READY taken then a protocol error counts; a READY too large, a Resume, an Identify never sent keep the count", () => {
    const two = Recovery.after(
      Recovery.after(Recovery.initial, "identify", outcome({ reason: protocol("x before READY") }), at),
      "identify",
      outcome({ reason: Reason.InvalidSession({ resumable: false }) }),
      at
    )
    expect(two.invalidatedInARow).toBe(2)
    // READY went in (resume URL unusable: ready all the same), then a protocol error
    expect(Recovery.after(two, "identify", outcome({ ready: true, answered: true, reason: protocol("READY on a connection already answered") }), at).invalidatedInARow).toBe(3)
    // READY over maxMessageBytes: TooLarge, its own handling
    expect(Recovery.after(two, "identify", outcome({ tooLarge: true, reason: Reason.DecodeFailed({ kind: "TooLarge", message: "m" }) }), at).invalidatedInARow).toBe(2)
    // a protocol error on a Resume (READY on a connection that resumes)
    expect(Recovery.after(two, "resume", outcome({ reason: protocol("READY on a connection that resumes") }), at).invalidatedInARow).toBe(2)
    // never sent its Identify (a dispatch before it)
    expect(Recovery.after(two, "identify", outcome({ authenticated: false, reason: protocol("a dispatch before this connection's Identify") }), at).invalidatedInARow).toBe(2)
    // a stable connection starts it over
    expect(Recovery.after(two, "identify", outcome({ ready: true, answered: true, stable: true, reason: protocol("x") }), at).invalidatedInARow).toBe(0)
  })
})

describe("the gateway's t in a reason", () => {
  // a `t` quoting the token, before READY, is masked in the reason (cut at 60, the run is still masked)
  it.scoped("a t that quotes the token before READY: the reason does not quote it", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options({ shard: [5, 8] }))
      const { peer } = yield* acceptAndHello(3_600_000)
      yield* peer.sendJson(dispatch(1, `X${secret}`, {}))
      yield* settle
      const told = describeReason((yield* session.snapshot).reason)
      expect(told).toMatch(/before READY$/)
      expect(told).not.toContain(secret.slice(0, 20))
      expect(told).not.toContain(secret.slice(20, 40))
    }).pipe(Effect.provide(TestLayer)))
})

describe("refusals' messages and Intents", () => {
  // the messages as they were before the refusals were built from their problems
  it("OtherCommand and Intents messages", () => {
    const bad = OtherCommand.encodeChecked(-1 as never, {}, Json.encoding)
    expect(Either.isLeft(bad) && bad.left.message).toBe(`${OtherCommand.commandName}: op must be a non-negative integer, got -1`)
    expect(Either.isLeft(bad) && bad.left.problems).toEqual(["op must be a non-negative integer, got -1"])
    const commas = Intents.parse(" , ,\t, ")
    expect(Either.isLeft(commas) && commas.left.reason).toBe("NoNames")
  })
})
