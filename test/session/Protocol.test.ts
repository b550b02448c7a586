import { describe, expect, it } from "@effect/vitest"
import { type Envelope, Skipped } from "../../src/codec/Encoding.ts"
import * as Protocol from "../../src/session/Protocol.ts"

const frame = (op: number, d: unknown, s: number | null = null, t: string | null = null): Envelope => ({ op, d, s, t })
const resumable: Protocol.Memory = { sessionId: "abc", resumeGatewayUrl: "wss://resume.test", sequence: 41 }
// the connection a payload arrives on: ready after a resume; replaying a Resume sent at 41; identifying
const live: Protocol.Handshake = { mode: "resume", stage: "Answered", replayAfter: null }
const replaying: Protocol.Handshake = { mode: "resume", stage: "Asked", replayAfter: 41 }
const identifying: Protocol.Handshake = { mode: "identify", stage: "Asked", replayAfter: null }
const ready = {
  v: 10,
  session_id: "new-session",
  resume_gateway_url: "wss://resume.test",
  user: { id: "1" },
  application: { id: "2" },
  guilds: []
}

describe("Protocol.step", () => {
  it("Hello starts heartbeating; a bad Hello drops the connection, resuming where it can", () => {
    expect(Protocol.step(Protocol.empty, frame(10, { heartbeat_interval: 41250 }), [0, 1], identifying)).toEqual({ _tag: "Hello", interval: 41250 })
    const bad = Protocol.step(resumable, frame(10, { heartbeat_interval: 0 }), [0, 1], live)
    expect(bad._tag === "Reconnect" && [bad.mode, bad.reason._tag]).toEqual(["resume", "DecodeFailed"])
    const fresh = Protocol.step(Protocol.empty, frame(10, {}), [0, 1], identifying)
    expect(fresh._tag === "Reconnect" && fresh.mode).toBe("identify")
  })

  it("ACK, heartbeat request, an unknown opcode", () => {
    expect(Protocol.step(resumable, frame(11, null), [0, 1], live)).toEqual({ _tag: "HeartbeatAck" })
    expect(Protocol.step(resumable, frame(1, null), [0, 1], live)).toEqual({ _tag: "HeartbeatNow" })
    expect(Protocol.step(resumable, frame(42, { x: 1 }), [0, 1], live)).toEqual({ _tag: "Ignore", op: 42 })
  })

  it("op 7 resumes (identifies when there is nothing to resume); op 9 says which", () => {
    expect(Protocol.step(resumable, frame(7, null), [0, 1], live)).toMatchObject({ _tag: "Reconnect", mode: "resume", reason: { _tag: "Reconnect" } })
    expect(Protocol.step(Protocol.empty, frame(7, null), [0, 1], identifying)).toMatchObject({ _tag: "Reconnect", mode: "identify" })
    expect(Protocol.step(resumable, frame(9, true), [0, 1], live)).toMatchObject({ mode: "resume", reason: { _tag: "InvalidSession", resumable: true } })
    expect(Protocol.step(resumable, frame(9, false), [0, 1], live)).toMatchObject({ mode: "identify", reason: { _tag: "InvalidSession", resumable: false } })
    expect(Protocol.step(resumable, frame(9, "false"), [0, 1], live)).toMatchObject({ mode: "resume", reason: { _tag: "DecodeFailed" } })
  })

  it("a dispatch becomes an event with its shard and sequence; its data is not copied", () => {
    const d = { content: "hi" }
    const step = Protocol.step(resumable, frame(0, d, 42, "MESSAGE_CREATE"), [3, 4], live)
    expect(step).toEqual({ _tag: "Emit", event: { shard: 3, sequence: 42, t: "MESSAGE_CREATE", d } })
    expect(step._tag === "Emit" && step.event.d).toBe(d)
  })

  it("an event already delivered is a duplicate in a resume's replay; an unwanted one is skipped but counted", () => {
    expect(Protocol.step(resumable, frame(0, {}, 41, "MESSAGE_CREATE"), [0, 1], replaying)).toEqual({ _tag: "Duplicate", sequence: 41 })
    expect(Protocol.step(resumable, frame(0, {}, 7, "MESSAGE_CREATE"), [0, 1], replaying)).toEqual({ _tag: "Duplicate", sequence: 7 })
    const skip = Protocol.step(resumable, frame(0, Skipped, 42, "TYPING_START"), [0, 1], live)
    expect(skip).toEqual({ _tag: "Skip", sequence: 42, t: "TYPING_START" })
    expect(Protocol.apply(resumable, skip).sequence).toBe(42)
  })

  it("in a replay, an event above the Resume's sequence is delivered even after a higher one (the resume point stays at the highest)", () => {
    // the replay of a Resume at 41 brought 44 first: 43 was never delivered
    const afterHigher: Protocol.Memory = { ...resumable, sequence: 44 }
    const step = Protocol.step(afterHigher, frame(0, {}, 43, "MESSAGE_CREATE"), [0, 1], replaying)
    expect(step).toMatchObject({ _tag: "Emit", event: { sequence: 43 } })
    expect(Protocol.apply(afterHigher, step).sequence).toBe(44)
    expect(Protocol.step(afterHigher, frame(0, Skipped, 42, "TYPING_START"), [0, 1], replaying)).toEqual({ _tag: "Skip", sequence: 42, t: "TYPING_START" })
  })

  it("out of a replay, an event whose sequence goes back is delivered, and the resume point stays at the highest", () => {
    const step = Protocol.step(resumable, frame(0, {}, 7, "MESSAGE_CREATE"), [0, 1], live)
    expect(step).toMatchObject({ _tag: "Emit", event: { sequence: 7 } })
    expect(Protocol.apply(resumable, step).sequence).toBe(41)
    const skip = Protocol.step(resumable, frame(0, Skipped, 7, "TYPING_START"), [0, 1], live)
    expect(Protocol.apply(resumable, skip).sequence).toBe(41)
  })

  // delivered, it came ahead of the session it is of, and READY moved the point back below it
  it("on a connection that identifies, a dispatch before READY, wanted or skipped, ends it", () => {
    for (const d of [{}, Skipped]) {
      expect(Protocol.step(Protocol.empty, frame(0, d, 7, "MESSAGE_CREATE"), [0, 1], identifying)).toMatchObject({
        _tag: "Reconnect",
        mode: "identify",
        reason: { _tag: "DecodeFailed", kind: "Protocol", message: "MESSAGE_CREATE before READY" }
      })
    }
  })

  it("a dispatch without s or t drops the connection", () => {
    expect(Protocol.step(resumable, frame(0, {}, null, "MESSAGE_CREATE"), [0, 1], live)).toMatchObject({ _tag: "Reconnect", reason: { _tag: "DecodeFailed" } })
    expect(Protocol.step(resumable, frame(0, {}, 3, null), [0, 1], live)).toMatchObject({ _tag: "Reconnect", reason: { _tag: "DecodeFailed" } })
  })

  it("READY remembers the new session; a READY the session cannot use means identifying again", () => {
    const step = Protocol.step(Protocol.empty, frame(0, ready, 1, "READY"), [0, 1], identifying)
    expect(step).toMatchObject({ _tag: "Ready", sessionId: "new-session", resumeGatewayUrl: "wss://resume.test", urlProblem: undefined })
    expect(Protocol.apply(Protocol.empty, step)).toEqual({ sessionId: "new-session", resumeGatewayUrl: "wss://resume.test", sequence: 1 })
    const unusable = Protocol.step(Protocol.empty, frame(0, { ...ready, session_id: "" }, 1, "READY"), [0, 1], identifying)
    expect(unusable).toMatchObject({ _tag: "Reconnect", mode: "identify", reason: { _tag: "DecodeFailed" } })
  })

  // the session READY started is not thrown away for a resume URL that cannot be dialled (the
  // connection's shell resumes where it went instead)
  it("READY whose resume URL cannot be dialled is taken, the URL left out and the problem said", () => {
    const step = Protocol.step(Protocol.empty, frame(0, { ...ready, resume_gateway_url: "http://evil.test" }, 1, "READY"), [0, 1], identifying)
    expect(step).toMatchObject({ _tag: "Ready", sessionId: "new-session", resumeGatewayUrl: undefined })
    expect(step._tag === "Ready" ? step.urlProblem : undefined).toMatch(/^READY's resume_gateway_url must be a ws:\/\/ or wss:\/\/ URL/)
  })

  // a proxy that routes another shard's READY to this connection: taken, the shard would hold a
  // session whose events are another shard's guilds
  it("READY naming another shard (id or count) is not this shard's session: it identifies anew", () => {
    for (const named of [[1, 4], [2, 3], [2, 5]]) {
      expect(Protocol.step(Protocol.empty, frame(0, { ...ready, shard: named }, 1, "READY"), [2, 4], identifying)).toEqual({
        _tag: "Reconnect",
        mode: "identify",
        reason: {
          _tag: "DecodeFailed",
          kind: "Protocol",
          message: `READY for shard [${named[0]}, ${named[1]}] on shard [2, 4]'s connection`
        }
      })
    }
    // its own shard, or none named (a READY to an Identify without one; null, as a serializer may
    // write a field it leaves out), is taken
    expect(Protocol.step(Protocol.empty, frame(0, { ...ready, shard: null }, 1, "READY"), [2, 4], identifying)._tag).toBe("Ready")
    const own = Protocol.step(Protocol.empty, frame(0, { ...ready, shard: [2, 4] }, 1, "READY"), [2, 4], identifying)
    expect(own).toMatchObject({ _tag: "Ready", sessionId: "new-session", event: { shard: 2 } })
    expect(Protocol.step(Protocol.empty, frame(0, ready, 1, "READY"), [2, 4], identifying)._tag).toBe("Ready")
  })

  it("READY answering a Resume (with a sequence already seen) is no replay: the session identifies anew", () => {
    for (const replayAfter of [41, null]) {
      expect(Protocol.step(resumable, frame(0, ready, 1, "READY"), [0, 1], { mode: "resume", stage: "Asked", replayAfter })).toMatchObject({
        _tag: "Reconnect",
        mode: "identify",
        reason: { _tag: "DecodeFailed", kind: "Protocol", message: "READY on a connection that resumes" }
      })
    }
  })

  // a gateway replaying from the gateway session's start: its READY was taken for a new session,
  // which spent a session start and lost the events after the point
  it("the resumed session's own READY in a replay from before the point is a duplicate; past the point, or after RESUMED, it is no replay", () => {
    const own = { ...ready, session_id: "abc" }
    expect(Protocol.step(resumable, frame(0, own, 1, "READY"), [0, 1], replaying)).toEqual({ _tag: "Duplicate", sequence: 1 })
    expect(Protocol.step(resumable, frame(0, own, 41, "READY"), [0, 1], replaying)).toEqual({ _tag: "Duplicate", sequence: 41 })
    expect(Protocol.step(resumable, frame(0, own, 42, "READY"), [0, 1], replaying)).toMatchObject({ _tag: "Reconnect", mode: "identify" })
    // after RESUMED, a READY is the gateway answering twice (a protocol error: resume)
    expect(Protocol.step(resumable, frame(0, own, 1, "READY"), [0, 1], live)).toMatchObject({ _tag: "Reconnect", reason: { _tag: "DecodeFailed" } })
  })

  it("RESUMED goes on with the old session, even with a sequence already seen; on a connection that identifies it is a decode failure", () => {
    const step = Protocol.step(resumable, frame(0, null, 50, "RESUMED"), [0, 1], replaying)
    expect(step._tag).toBe("Resumed")
    expect(Protocol.apply(resumable, step)).toEqual({ ...resumable, sequence: 50 })
    expect(Protocol.step(resumable, frame(0, null, 41, "RESUMED"), [0, 1], replaying)._tag).toBe("Resumed")
    expect(Protocol.step(resumable, frame(0, null, 50, "RESUMED"), [0, 1], identifying)).toMatchObject({
      _tag: "Reconnect",
      reason: { _tag: "DecodeFailed", message: "RESUMED on a connection that identifies" }
    })
  })

  it("reconnecting to identify forgets the session; resuming keeps it", () => {
    const identify = Protocol.step(resumable, frame(9, false), [0, 1], live)
    expect(Protocol.apply(resumable, identify)).toEqual(Protocol.empty)
    const resume = Protocol.step(resumable, frame(7, null), [0, 1], live)
    expect(Protocol.apply(resumable, resume)).toBe(resumable)
  })
})

describe("Protocol.step: only the Identify or Resume is answered", () => {
  const memories = [resumable, Protocol.empty]
  const modes: ReadonlyArray<Protocol.Mode> = ["identify", "resume"]
  const answers = [
    ["MESSAGE_CREATE", frame(0, {}, 42, "MESSAGE_CREATE")],
    ["TYPING_START", frame(0, Skipped, 42, "TYPING_START")],
    ["READY", frame(0, ready, 1, "READY")],
    ["RESUMED", frame(0, null, 42, "RESUMED")],
    ["a dispatch", frame(0, {}, 42, null)],
    ["an invalid session (op 9)", frame(9, false)],
    ["an invalid session (op 9)", frame(9, true)]
  ] as const

  it("a dispatch or an op 9 before the Identify or Resume went out ends the connection, the memory as it was", () => {
    for (const memory of memories) {
      for (const mode of modes) {
        for (const [what, envelope] of answers) {
          const step = Protocol.step(memory, envelope, [0, 1], { mode, stage: "Unasked", replayAfter: null })
          expect(step).toEqual({
            _tag: "Reconnect",
            mode: Protocol.modeOf(memory),
            reason: expect.objectContaining({
              _tag: "DecodeFailed",
              kind: "Protocol",
              message: `${what} before this connection's ${mode === "identify" ? "Identify" : "Resume"}`
            })
          })
          expect(Protocol.apply(memory, step)).toBe(memory)
        }
      }
    }
  })

  it("before the Identify or Resume went out, Hello, heartbeats and op 7 are taken as ever", () => {
    const unasked: Protocol.Handshake = { mode: "resume", stage: "Unasked", replayAfter: 41 }
    expect(Protocol.step(resumable, frame(10, { heartbeat_interval: 41250 }), [0, 1], unasked)).toEqual({ _tag: "Hello", interval: 41250 })
    expect(Protocol.step(resumable, frame(1, null), [0, 1], unasked)).toEqual({ _tag: "HeartbeatNow" })
    expect(Protocol.step(resumable, frame(11, null), [0, 1], unasked)).toEqual({ _tag: "HeartbeatAck" })
    expect(Protocol.step(resumable, frame(7, null), [0, 1], unasked)).toMatchObject({ _tag: "Reconnect", mode: "resume", reason: { _tag: "Reconnect" } })
  })

  it("a READY or RESUMED on a connection already answered ends it, the memory as it was", () => {
    for (const memory of memories) {
      for (const mode of modes) {
        for (const t of ["READY", "RESUMED"] as const) {
          const step = Protocol.step(memory, frame(0, t === "READY" ? ready : null, 42, t), [0, 1], { mode, stage: "Answered", replayAfter: null })
          expect(step).toEqual({
            _tag: "Reconnect",
            mode: Protocol.modeOf(memory),
            reason: expect.objectContaining({ _tag: "DecodeFailed", kind: "Protocol", message: `${t} on a connection already answered` })
          })
          expect(Protocol.apply(memory, step)).toBe(memory)
        }
      }
    }
  })

  it("once asked, the answer is taken; once answered, dispatches and op 9 are", () => {
    expect(Protocol.step(Protocol.empty, frame(0, ready, 1, "READY"), [0, 1], identifying)._tag).toBe("Ready")
    expect(Protocol.step(resumable, frame(0, null, 42, "RESUMED"), [0, 1], replaying)._tag).toBe("Resumed")
    for (const mode of modes) {
      const answered: Protocol.Handshake = { mode, stage: "Answered", replayAfter: null }
      expect(Protocol.step(resumable, frame(0, {}, 42, "MESSAGE_CREATE"), [0, 1], answered)._tag).toBe("Emit")
      expect(Protocol.step(resumable, frame(0, Skipped, 42, "TYPING_START"), [0, 1], answered)._tag).toBe("Skip")
      expect(Protocol.step(resumable, frame(9, true), [0, 1], answered)).toMatchObject({ mode: "resume", reason: { _tag: "InvalidSession" } })
    }
  })
})

describe("Protocol.afterClose", () => {
  it("follows the close code table", () => {
    for (const code of [4000, 4001, 4002, 4008, 1000, 1006, undefined]) expect(Protocol.afterClose(resumable, code)).toBe("resume")
    for (const code of [4003, 4005, 4007, 4009]) expect(Protocol.afterClose(resumable, code)).toBe("identify")
    for (const code of [4004, 4010, 4011, 4012, 4013, 4014]) expect(Protocol.afterClose(resumable, code)).toBe("fatal")
    expect(Protocol.afterClose(Protocol.empty, 4000)).toBe("identify")
  })
})
