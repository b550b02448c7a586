import { describe, expect, it } from "@effect/vitest"
import * as Recovery from "../../src/session/Recovery.ts"
import { Reason } from "../../src/session/SessionState.ts"

const closed = Reason.Closed({ code: 4000, description: "unknown error", detail: "" })
const invalid = Reason.InvalidSession({ resumable: false })
// a connection that was ready read its READY or RESUMED
const outcome = (fields: Partial<Parameters<typeof Recovery.after>[2]> = {}) => ({
  reason: closed,
  ready: false,
  answered: fields.ready ?? false,
  stable: false,
  authenticated: true,
  replayed: 0,
  ...fields
})
const repeat = (times: number, step: (recovery: Recovery.Recovery) => Recovery.Recovery) =>
  Array.from({ length: times }).reduce<Recovery.Recovery>((recovery) => step(recovery), Recovery.initial)

describe("Recovery", () => {
  it("gives a session up after three Resumes in a row that were sent and not answered, and only then", () => {
    const unanswered = (recovery: Recovery.Recovery) => Recovery.after(recovery, "resume", outcome())
    expect(Recovery.giveUp(repeat(2, unanswered))).toBeUndefined()
    expect(Recovery.giveUp(repeat(3, unanswered))).toEqual({ ...repeat(3, unanswered), failedResumes: 0 })
    // READY or RESUMED, also one still waiting for room in a full buffer, or events replayed before
    // a slow program let the ready timeout fire, start over (a held RESUMED counted as no answer)
    for (const answered of [outcome({ ready: true }), outcome({ answered: true }), outcome({ replayed: 1 })]) {
      expect(Recovery.after(repeat(2, unanswered), "resume", answered).failedResumes).toBe(0)
    }
    // an outage (nothing sent) counts neither way, nor does op 7 answering the Resume (the node going
    // away: the Resume is asked for elsewhere; it counted, and three gave the session up)
    expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ authenticated: false })).failedResumes).toBe(2)
    expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ reason: Reason.Reconnect() })).failedResumes).toBe(2)
  })

  it("sends every other Resume to the gateway URL once three in a row never reached a gateway", () => {
    const unreached = (recovery: Recovery.Recovery) => Recovery.after(recovery, "resume", outcome({ authenticated: false }))
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => Recovery.resumesAtGateway(repeat(n, unreached)))).toEqual([
      false, false, false, true, false, true, false
    ])
    expect(Recovery.after(repeat(3, unreached), "resume", outcome()).unreachedResumes).toBe(0)
    // an attempt at the gateway URL that got no URL (GET /gateway/bot failed) is one more: the next
    // goes back to the resume URL
    expect(Recovery.resumesAtGateway(Recovery.unconnected(repeat(3, unreached), "resume"))).toBe(false)
    expect(Recovery.unconnected(Recovery.initial, "identify")).toBe(Recovery.initial)
  })

  it("pauses after op 9 as Discord asks, with the backoff too when op 9 came before the connection was stable, but for a refused Resume", () => {
    const refused = Recovery.after(Recovery.initial, "identify", outcome({ reason: invalid }))
    expect(Recovery.pause(refused, invalid)).toBe("InvalidSessionThenBackoff")
    // a session invalidated soon after READY or RESUMED, again and again, is spaced by the backoff
    for (const mode of ["identify", "resume"] as const) {
      const soonAfterReady = Recovery.after(Recovery.initial, mode, outcome({ reason: invalid, ready: true }))
      expect(Recovery.pause(soonAfterReady, invalid)).toBe("InvalidSessionThenBackoff")
      const afterStable = Recovery.after(Recovery.initial, mode, outcome({ reason: invalid, ready: true, stable: true }))
      expect(Recovery.pause(afterStable, invalid)).toBe("InvalidSession")
    }
    // op 9 answering a Resume is how the protocol refuses one: the identify that follows is spaced anyway
    expect(Recovery.pause(Recovery.after(Recovery.initial, "resume", outcome({ reason: invalid })), invalid)).toBe("InvalidSession")
    expect(Recovery.pause(refused, closed)).toBe("Backoff")
  })
})
