import { describe, expect, it } from "@effect/vitest"
import * as Log from "../../src/testing/Log.ts"

const identify = (shard: number, outcome: Log.IdentifyRecord["outcome"], sessionId?: string): Log.IdentifyRecord => ({
  at: 0,
  connection: 0,
  shard: [shard, 2],
  rateLimitKey: shard,
  intents: 0,
  outcome,
  sessionId
})

const dispatch = (sessionId: string, seq: number, t: string, replay = false): Log.DispatchRecord => ({
  at: 0,
  sessionId,
  seq,
  t,
  connection: 1,
  replay
})

const log: Log.Snapshot = {
  connections: [],
  identifies: [identify(0, "ready", "a"), identify(1, "rate-limited"), identify(1, "ready", "b"), identify(0, "refused"), identify(0, "ready", "c")],
  resumes: [],
  heartbeats: [],
  commands: [],
  dispatches: [
    dispatch("a", 1, "READY"),
    dispatch("b", 1, "READY"),
    dispatch("a", 2, "MESSAGE_CREATE"),
    dispatch("a", 2, "MESSAGE_CREATE", true),
    dispatch("a", 3, "RESUMED"),
    dispatch("a", 4, "MESSAGE_CREATE")
  ],
  violations: []
}

describe("GatewayLog", () => {
  it("sessionIds: the sessions READY opened, oldest first, of every shard or of one", () => {
    expect(Log.sessionIds(log)).toEqual(["a", "b", "c"])
    expect(Log.sessionIds(log, 0)).toEqual(["a", "c"])
    expect(Log.sessionIds(log, 1)).toEqual(["b"])
    expect(Log.sessionIds(log, 2)).toEqual([])
  })

  it("dispatchedTo: one session's dispatches in order, replays left out, RESUMED kept", () => {
    expect(Log.dispatchedTo(log, "a").map((d) => [d.seq, d.t])).toEqual([[1, "READY"], [2, "MESSAGE_CREATE"], [3, "RESUMED"], [4, "MESSAGE_CREATE"]])
    expect(Log.dispatchedTo(log, "b").map((d) => d.seq)).toEqual([1])
    expect(Log.dispatchedTo(log, "z")).toEqual([])
  })

  it("dispatchedTo: one dispatched while no connection held the session counts once a resume replayed it, not before (traffic after the client left)", () => {
    const buffered = (seq: number): Log.DispatchRecord => ({ ...dispatch("d", seq, "MESSAGE_CREATE"), connection: undefined })
    const detached = { ...log, dispatches: [dispatch("d", 1, "READY"), buffered(2), buffered(3), dispatch("d", 2, "MESSAGE_CREATE", true), buffered(4)] }
    expect(Log.dispatchedTo(detached, "d").map((d) => d.seq)).toEqual([1, 2])
  })
})

describe("Log.Recorder", () => {
  // every other kind kept its newest `capacity`; the connections were kept in full, a record per
  // connection for as long as the gateway ran (a soak, the CLI's embedded gateway) (leak4-1)
  it("keeps the newest `capacity` connection records, as of every other kind", () => {
    const recorder = new Log.Recorder(3)
    for (let id = 0; id < 5; id++) {
      recorder.connection({
        id,
        path: "/",
        query: {},
        openedAt: id,
        shard: undefined,
        sessionId: undefined,
        closedAt: undefined,
        closeCode: undefined,
        closeReason: undefined,
        closedBy: undefined
      })
      recorder.identify({ ...identify(0, "ready"), connection: id })
    }
    const snapshot = recorder.snapshot()
    expect(snapshot.connections.map((record) => record.id)).toEqual([2, 3, 4])
    expect(snapshot.identifies.map((record) => record.connection)).toEqual([2, 3, 4])
  })
})
