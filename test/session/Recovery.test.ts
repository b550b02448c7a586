import { describe, expect, it } from "@effect/vitest"
import * as Recovery from "../../src/session/Recovery.ts"
import { Reason } from "../../src/session/SessionState.ts"

// a connection lost
const closed = Reason.Closed({ code: undefined, description: "connection lost", detail: "" })
const invalid = Reason.InvalidSession({ resumable: false })
// where the session is when the connection ends
const here: Recovery.Point = { sessionId: "s", sequence: 5 }
// a connection that was ready read its READY or RESUMED
const outcome = (fields: Partial<Parameters<typeof Recovery.after>[2]> = {}) => ({
  reason: closed,
  ready: false,
  answered: fields.ready ?? false,
  stable: false,
  authenticated: true,
  replayed: 0,
  tooLarge: false,
  heldUp: false,
  ...fields
})
const repeat = (times: number, step: (recovery: Recovery.Recovery) => Recovery.Recovery) =>
  Array.from({ length: times }).reduce<Recovery.Recovery>((recovery) => step(recovery), Recovery.initial)

describe("Recovery", () => {
  it("holds back after three connections in a row op 9 ended early: twice the backoff's longest, doubling, up to an hour", () => {
    const refused = (recovery: Recovery.Recovery) => Recovery.after(recovery, "identify", outcome({ reason: invalid, authenticated: true }), here)
    const minute = 60_000
    expect([1, 2, 3, 4, 5, 8, 40].map((times) => Recovery.holdBack(repeat(times, refused), minute))).toEqual(
      [0, 0, 2 * minute, 4 * minute, 8 * minute, 60 * minute, 60 * minute]
    )
    // a stable connection starts the count over; a backoff of none still holds back
    expect(Recovery.holdBack(Recovery.after(repeat(5, refused), "identify", outcome({ ready: true, stable: true }), here), minute)).toBe(0)
    expect(Recovery.holdBack(repeat(3, refused), 0)).toBe(2000)
    // those that say nothing of it do not (rereview105): a drop before Hello, a Resume op 9 refused
    const dropped = Recovery.after(repeat(2, refused), "identify", outcome({ authenticated: false }), here)
    expect(Recovery.holdBack(refused(dropped), minute)).toBe(2 * minute)
    const resumeRefused = Recovery.after(repeat(2, refused), "resume", outcome({ reason: invalid }), here)
    expect(Recovery.holdBack(refused(resumeRefused), minute)).toBe(2 * minute)
    // READY, then op 9 allowing a resume, counts too
    const readyThenInvalid = (recovery: Recovery.Recovery) =>
      Recovery.after(recovery, "identify", outcome({ reason: Reason.InvalidSession({ resumable: true }), ready: true }), here)
    expect(Recovery.holdBack(repeat(3, readyThenInvalid), minute)).toBe(2 * minute)
  })

  // a gateway closing every session with 4009 once it was ready had it identify a backoff apart,
  // all day (protofuzz1)
  it("counts a close that ends the session, after an Identify or a RESUMED, before the connection was stable, as an early op 9", () => {
    const minute = 60_000
    const closedWith = (code: number) => Reason.Closed({ code, description: "", detail: "" })
    const after = (mode: "identify" | "resume", fields: Partial<Parameters<typeof Recovery.after>[2]>) => (recovery: Recovery.Recovery) =>
      Recovery.after(recovery, mode, outcome(fields), here)
    for (const code of [4003, 4005, 4007, 4009]) {
      expect(Recovery.holdBack(repeat(3, after("identify", { reason: closedWith(code), ready: true })), minute)).toBe(2 * minute)
      // an Identify sent and not answered yet
      expect(Recovery.holdBack(repeat(3, after("identify", { reason: closedWith(code) })), minute)).toBe(2 * minute)
      expect(Recovery.holdBack(repeat(3, after("resume", { reason: closedWith(code), ready: true })), minute)).toBe(2 * minute)
    }
    // not: a Resume refused so (the next identifies once), a connection that lasted, an Identify not
    // sent, a close that resumes or a lost connection
    expect(Recovery.holdBack(repeat(5, after("resume", { reason: closedWith(4009) })), minute)).toBe(0)
    expect(Recovery.holdBack(repeat(5, after("identify", { reason: closedWith(4009), ready: true, stable: true })), minute)).toBe(0)
    expect(Recovery.holdBack(repeat(5, after("identify", { reason: closedWith(4009), authenticated: false })), minute)).toBe(0)
    // a close that resumes, or a lost connection, after a RESUMED: the session lives on
    for (const code of [1000, 4000, 4008, 4900, undefined]) {
      const reason = Reason.Closed({ code, description: "", detail: "" })
      expect(Recovery.holdBack(repeat(5, after("resume", { reason, ready: true })), minute)).toBe(0)
    }
    // a Resume refused so says nothing, as one refused with op 9: a gateway invalidating each
    // session early (op 9 allowing a resume) and refusing each Resume with 4009 is held back (the
    // refusal set the count back to 0) (rereview111)
    const cycle = (refusal: ReturnType<typeof Reason.Closed> | ReturnType<typeof Reason.InvalidSession>) =>
      repeat(4, (recovery) =>
        after("resume", { reason: refusal })(after("identify", { reason: Reason.InvalidSession({ resumable: true }), ready: true })(recovery)))
    expect(Recovery.holdBack(cycle(invalid), minute)).toBe(4 * minute)
    expect(Recovery.holdBack(cycle(closedWith(4009)), minute)).toBe(4 * minute)
    // and a stable connection after such refusals starts it over
    expect(Recovery.holdBack(after("identify", { ready: true, stable: true })(cycle(closedWith(4009))), minute)).toBe(0)
  })

  // an Identify answered by a READY whose s was a string (an envelope that does not decode) started
  // the count over where a READY without a session id counted: 85 starts an hour (wire4-2)
  it("counts an Identify answered by a message that does not decode as an early op 9, but for one too large", () => {
    const minute = 60_000
    const failedWith = (kind: "Protocol" | "Envelope" | "Json" | "Inflate" | "Etf" | "TooLarge") => (recovery: Recovery.Recovery) =>
      Recovery.after(recovery, "identify", outcome({ reason: Reason.DecodeFailed({ kind, message: "" }), tooLarge: kind === "TooLarge" }), here)
    for (const kind of ["Protocol", "Envelope", "Json", "Inflate", "Etf"] as const) {
      expect(Recovery.holdBack(repeat(3, failedWith(kind)), minute)).toBe(2 * minute)
    }
    expect(Recovery.holdBack(repeat(5, failedWith("TooLarge")), minute)).toBe(0)
    // not after a Resume, which spends no start
    const resumed = (recovery: Recovery.Recovery) =>
      Recovery.after(recovery, "resume", outcome({ reason: Reason.DecodeFailed({ kind: "Envelope", message: "" }) }), here)
    expect(Recovery.holdBack(repeat(5, resumed), minute)).toBe(0)
  })

  // a gateway closing every Identify's connection with 4000, dropping it, or going silent before
  // READY, or dropping it right after READY (and refusing the Resume), had the session spend a
  // start a backoff apart, all day (recon4-1, recon4-2)
  it("counts an Identify whose connection ended before it was stable, however it ended, but for a READY a slow program held up", () => {
    const minute = 60_000
    const identified = (fields: Partial<Parameters<typeof Recovery.after>[2]>) => (recovery: Recovery.Recovery) =>
      Recovery.after(recovery, "identify", outcome(fields), here)
    for (const code of [1000, 4000, 4008, 4900, undefined]) {
      const reason = Reason.Closed({ code, description: "", detail: "" })
      expect(Recovery.holdBack(repeat(3, identified({ reason })), minute)).toBe(2 * minute)
      expect(Recovery.holdBack(repeat(3, identified({ reason, ready: true, answered: true })), minute)).toBe(2 * minute)
    }
    expect(Recovery.holdBack(repeat(3, identified({ reason: Reason.Reconnect() })), minute)).toBe(2 * minute)
    expect(Recovery.holdBack(repeat(5, identified({ answered: true, heldUp: true })), minute)).toBe(0)
    // READY, a drop, the Resume refused, again and again
    const cycle = repeat(3, (recovery) =>
      Recovery.after(identified({ ready: true, answered: true })(recovery), "resume", outcome({ reason: invalid }), here))
    expect(Recovery.holdBack(cycle, minute)).toBe(2 * minute)
    // a Resume that came through and dropped between says nothing
    const resumedAndDropped = Recovery.after(repeat(2, identified({})), "resume", outcome({ ready: true, answered: true }), here)
    expect(Recovery.holdBack(identified({})(resumedAndDropped), minute)).toBe(2 * minute)
  })

  it("gives a session up after three Resumes in a row that were sent and not answered, and only then", () => {
    const unanswered = (recovery: Recovery.Recovery) => Recovery.after(recovery, "resume", outcome(), here)
    expect(Recovery.giveUp(repeat(2, unanswered))).toBeUndefined()
    expect(Recovery.giveUp(repeat(3, unanswered))).toEqual({
      recovery: { ...repeat(3, unanswered), failedResumes: 0 },
      why: "3 Resumes in a row got no RESUMED"
    })
    // READY or RESUMED, also one still waiting for room in a full buffer, or events replayed before
    // a slow program let the ready timeout fire, start over (a held RESUMED counted as no answer)
    for (const answered of [outcome({ ready: true }), outcome({ answered: true }), outcome({ replayed: 1 })]) {
      expect(Recovery.after(repeat(2, unanswered), "resume", answered, here).failedResumes).toBe(0)
    }
    // an outage (nothing sent) counts neither way, nor does op 7 answering the Resume (the node going
    // away: the Resume is asked for elsewhere; it counted, and three gave the session up)
    expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ authenticated: false }), here).failedResumes).toBe(2)
    expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ reason: Reason.Reconnect() }), here).failedResumes).toBe(2)
    // nor do the closes that say to resume again (4000, 4008: three of them gave the session up);
    // those that may say the Resume itself was wrong (4001, 4002) and a ready timeout do
    for (const code of [4000, 4008]) {
      const again = Reason.Closed({ code, description: "", detail: "" })
      expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ reason: again }), here).failedResumes).toBe(2)
    }
    for (const reason of [Reason.Closed({ code: 4002, description: "", detail: "" }), Reason.ReadyTimeout()]) {
      expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ reason }), here).failedResumes).toBe(3)
    }
  })

  it("sends every other Resume the gateway asked for again (op 7, 4000, 4008) to the gateway URL after three, and gives the session up after ten", () => {
    const reasons = [Reason.Reconnect(), Reason.Closed({ code: 4000, description: "", detail: "" }), Reason.Closed({ code: 4008, description: "", detail: "" })]
    const askedAgain = (recovery: Recovery.Recovery) =>
      Recovery.after(recovery, "resume", outcome({ reason: reasons[recovery.askedAgainResumes % 3]! }), here)
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => Recovery.resumesAtGateway(repeat(n, askedAgain)))).toEqual([
      false, false, false, true, false, true, false, true, false, true
    ])
    expect(Recovery.giveUp(repeat(9, askedAgain))).toBeUndefined()
    expect(Recovery.giveUp(repeat(10, askedAgain))).toEqual({
      recovery: { ...repeat(10, askedAgain), askedAgainResumes: 0 },
      why: "10 Resumes in a row were asked for again, none answered"
    })
    // an answer, or a new session, starts it over; an outage or a Resume that failed otherwise does not
    expect(Recovery.after(repeat(9, askedAgain), "resume", outcome({ replayed: 1 }), here).askedAgainResumes).toBe(0)
    expect(Recovery.after(repeat(9, askedAgain), "identify", outcome({ reason: reasons[1]! }), here).askedAgainResumes).toBe(0)
    expect(Recovery.after(repeat(9, askedAgain), "resume", outcome({ authenticated: false }), here).askedAgainResumes).toBe(9)
    expect(Recovery.after(repeat(9, askedAgain), "resume", outcome(), here).askedAgainResumes).toBe(9)
    // an outage after them goes by its own count: every attempt went to the gateway URL once three
    // had been asked for again, and a session whose own node was up never went back to it
    const unreached = (recovery: Recovery.Recovery) => Recovery.after(recovery, "resume", outcome({ authenticated: false }), here)
    const outage = (n: number) => Array.from({ length: n }).reduce<Recovery.Recovery>((recovery) => unreached(recovery), repeat(3, askedAgain))
    expect([0, 1, 2, 3, 4, 5].map((n) => Recovery.resumesAtGateway(outage(n)))).toEqual([true, false, false, true, false, true])
  })

  it("sends every other Resume to the gateway URL once three in a row never reached a gateway", () => {
    const unreached = (recovery: Recovery.Recovery) => Recovery.after(recovery, "resume", outcome({ authenticated: false }), here)
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => Recovery.resumesAtGateway(repeat(n, unreached)))).toEqual([
      false, false, false, true, false, true, false
    ])
    expect(Recovery.after(repeat(3, unreached), "resume", outcome(), here).unreachedResumes).toBe(0)
    // an attempt at the gateway URL that got no URL (GET /gateway/bot failed) is one more: the next
    // goes back to the resume URL
    expect(Recovery.resumesAtGateway(Recovery.unconnected(repeat(3, unreached), "resume"))).toBe(false)
    expect(Recovery.unconnected(Recovery.initial, "identify")).toBe(Recovery.initial)
  })

  it("pauses after op 9 as Discord asks, with the backoff too when op 9 came before the connection was stable, but for a refused Resume", () => {
    const refused = Recovery.after(Recovery.initial, "identify", outcome({ reason: invalid }), here)
    expect(Recovery.pause(refused, invalid, "identify")).toBe("InvalidSessionThenBackoff")
    // a session invalidated soon after READY or RESUMED, again and again, is spaced by the backoff
    for (const mode of ["identify", "resume"] as const) {
      const soonAfterReady = Recovery.after(Recovery.initial, mode, outcome({ reason: invalid, ready: true }), here)
      expect(Recovery.pause(soonAfterReady, invalid, "identify")).toBe("InvalidSessionThenBackoff")
      const afterStable = Recovery.after(Recovery.initial, mode, outcome({ reason: invalid, ready: true, stable: true }), here)
      expect(Recovery.pause(afterStable, invalid, "identify")).toBe("InvalidSession")
    }
    // op 9 answering a Resume is how the protocol refuses one: the identify that follows is spaced anyway
    expect(Recovery.pause(Recovery.after(Recovery.initial, "resume", outcome({ reason: invalid }), here), invalid, "identify")).toBe("InvalidSession")
    expect(Recovery.pause(refused, closed, "identify")).toBe("Backoff")
  })

  // Discord asks for the 1-5 s pause before an Identify after op 9; one that allows a resume, in
  // answer to an Identify, left nothing to resume, and the next Identify came after the backoff alone
  it("after an op 9 that allows a resume, the backoff before a Resume, and the op 9 pause before an Identify", () => {
    const resumable = Reason.InvalidSession({ resumable: true })
    const answered = Recovery.after(Recovery.initial, "identify", outcome({ reason: resumable }), here)
    expect(Recovery.pause(answered, resumable, "identify")).toBe("InvalidSessionThenBackoff")
    const stable = Recovery.after(Recovery.initial, "resume", outcome({ reason: resumable, ready: true, stable: true }), here)
    expect(Recovery.pause(stable, resumable, "resume")).toBe("Backoff")
    expect(Recovery.pause(stable, resumable, "identify")).toBe("InvalidSession")
  })

  it("a message too large a second time at the same point ends the session; at another point, or once, it does not", () => {
    const tooLarge = outcome({ tooLarge: true, reason: Reason.DecodeFailed({ kind: "TooLarge", message: "message over 4096 bytes" }) })
    const once = Recovery.after(Recovery.initial, "resume", tooLarge, here)
    expect(once.tooLargeAgain).toBe(false)
    expect(Recovery.after(once, "resume", tooLarge, here).tooLargeAgain).toBe(true)
    // connections between that end otherwise (an outage) change nothing
    const outage = Recovery.after(once, "resume", outcome({ authenticated: false }), here)
    expect(Recovery.after(outage, "resume", tooLarge, here).tooLargeAgain).toBe(true)
    // the session got further (another event, another gateway session): a first time again
    expect(Recovery.after(once, "resume", tooLarge, { ...here, sequence: 6 }).tooLargeAgain).toBe(false)
    expect(Recovery.after(once, "resume", tooLarge, { ...here, sessionId: "t" }).tooLargeAgain).toBe(false)
    // before READY, twice: the answer to an Identify, each time
    const none: Recovery.Point = { sessionId: undefined, sequence: null }
    const identifying = Recovery.after(Recovery.initial, "identify", tooLarge, none)
    expect(Recovery.after(identifying, "identify", tooLarge, none).tooLargeAgain).toBe(true)
    // a whole gateway session between them (answered, then op 9): a first time again (it was the
    // same point, before READY, days apart)
    const lived = Recovery.after(identifying, "identify", outcome({ answered: true, ready: true, stable: true, reason: invalid }), none)
    expect(Recovery.after(lived, "identify", tooLarge, none).tooLargeAgain).toBe(false)
    const replayed = Recovery.after(once, "resume", outcome({ replayed: 3 }), here)
    expect(Recovery.after(replayed, "resume", tooLarge, here).tooLargeAgain).toBe(false)
    // before the Identify or Resume went out (a peer's frame before Hello), it answered neither:
    // twice so is no point's, and leaves the point an answer was too large at as it was
    const beforeHello = outcome({ tooLarge: true, authenticated: false, reason: tooLarge.reason })
    for (const mode of ["identify", "resume"] as const) {
      const slipped = Recovery.after(Recovery.after(Recovery.initial, mode, beforeHello, here), mode, beforeHello, here)
      expect([slipped.tooLargeAgain, slipped.tooLargeAt]).toEqual([false, undefined])
    }
    expect(Recovery.after(Recovery.after(once, "resume", beforeHello, here), "resume", tooLarge, here).tooLargeAgain).toBe(true)
  })
})
