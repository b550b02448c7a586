import { describe, expect, it } from "@effect/vitest"
import type * as Shards from "../../bench/memory/shards.ts"
import * as Report from "../../bench/report.ts"

const result = (shards: number, rssMb: number, startupCpuMs = 0): Shards.Result => ({
  shards,
  readyMs: 0,
  startupCpuMs,
  rssKb: rssMb * 1024,
  heapUsedKb: 0,
  externalKb: 0,
  maxRssKb: rssMb * 1024
})
const calm: Report.GatewayLog = { identifies: { ready: 1000 }, violations: {} }

/**
 * Ours at 100 KiB and 9 or 11 ms of startup CPU a shard, @discordjs/ws at 140 and then 200 KiB (with
 * `log` for its rep 1 run) and 2.5 ms.
 */
const memoryRuns = (log: Report.GatewayLog): Report.Everything => ({
  settings: { reps: 0, small: 0, large: 0, shards: 1000, memoryReps: 2, spacingMs: 50, identifyCooldownMs: 0, maxConcurrency: 16, settleMs: 0 },
  machine: { cpu: "", cores: 2, node: "", date: "", command: "", zlibSync: false },
  workloads: [],
  startup: undefined,
  history: [],
  memory: {
    shards: 1000,
    runs: [0, 1].flatMap((rep) => [
      { rep, client: "ours" as const, result: result(0, 100, 700), gatewayLog: calm },
      { rep, client: "ours" as const, result: result(1000, 100 + 100 * 1000 / 1024, 700 + (rep === 1 ? 11 : 9) * 1000), gatewayLog: calm },
      { rep, client: "discordjs" as const, result: result(0, 60, 300), gatewayLog: calm },
      {
        rep,
        client: "discordjs" as const,
        result: result(1000, 60 + (rep === 1 ? 200 : 140) * 1000 / 1024, 300 + 2.5 * 1000),
        gatewayLog: rep === 1 ? log : calm
      }
    ])
  }
})
const memoryFigure = (log: Report.GatewayLog) => Report.targetFigures(memoryRuns(log)).memory

describe("bench report: memory", () => {
  it("counts only repetitions whose run the gateway did not disturb: a refused identify's reconnect stays in RSS", () => {
    // rep 1's @discordjs/ws run weighs 200 KiB a shard: counted when nothing disturbed it
    expect(memoryFigure(calm)).toBe(0.61)
    // with refused identifies, or a rule broken, it is not
    expect(memoryFigure({ identifies: { ready: 1000, "rate-limited": 170 }, violations: {} })).toBe(0.71)
    expect(memoryFigure({ identifies: { ready: 1000 }, violations: { IdentifyTooFast: 3 } })).toBe(0.71)
  })

  it("gives each client's startup CPU per shard: its CPU time to the last READY less its baseline's, per shard", () => {
    const rows = Report.markdown(memoryRuns(calm)).split("\n").filter((line) => /^\| (ours|@discordjs\/ws) \| \d/.test(line))
    expect(rows.map((line) => line.split("|").at(-2)!.trim())).toEqual(["10.00", "2.50"])
  })
})
