import { describe, expect, it } from "@effect/vitest"
import * as Recovery from "../../src/session/Recovery.ts"
import { Reason } from "../../src/session/SessionState.ts"

const closed = Reason.Closed({ code: 4000, description: "unknown error", detail: "" })
const invalid = Reason.InvalidSession({ resumable: false })
const outcome = (fields: Partial<Parameters<typeof Recovery.after>[2]> = {}) => ({
  reason: closed,
  ready: false,
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
    // READY or RESUMED, or events replayed before a slow program let the ready timeout fire, start over
    for (const answered of [outcome({ ready: true }), outcome({ replayed: 1 })]) {
      expect(Recovery.after(repeat(2, unanswered), "resume", answered).failedResumes).toBe(0)
    }
    // an outage (nothing sent) counts neither way
    expect(Recovery.after(repeat(2, unanswered), "resume", outcome({ authenticated: false })).failedResumes).toBe(2)
  })

  it("sends every other Resume to the gateway URL once three in a row never reached a gateway", () => {
    const unreached = (recovery: Recovery.Recovery) => Recovery.after(recovery, "resume", outcome({ authenticated: false }))
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => Recovery.resumesAtGateway(repeat(n, unreached)))).toEqual([
      false, false, false, true, false, true, false
    ])
    expect(Recovery.after(repeat(3, unreached), "resume", outcome()).unreachedResumes).toBe(0)
  })

  it("pauses after op 9 as Discord asks, with the backoff too when op 9 answered an Identify", () => {
    const refused = Recovery.after(Recovery.initial, "identify", outcome({ reason: invalid }))
    expect(Recovery.pause(refused, invalid)).toBe("InvalidSessionThenBackoff")
    const afterReady = Recovery.after(Recovery.initial, "identify", outcome({ reason: invalid, ready: true }))
    expect(Recovery.pause(afterReady, invalid)).toBe("InvalidSession")
    expect(Recovery.pause(Recovery.after(Recovery.initial, "resume", outcome({ reason: invalid })), invalid)).toBe("InvalidSession")
    expect(Recovery.pause(refused, closed)).toBe("Backoff")
  })
})
