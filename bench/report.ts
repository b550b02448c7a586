/**
 * Turns the benchmark's measurements into bench/RESULTS.md: medians over repetitions, ratios
 * taken pair by pair within the same repetition, and the issue's targets marked met or missed.
 *
 * @since 0.1.0
 */
import type * as Task from "./clients/task.ts"
import * as History from "./history.ts"
import type * as Shards from "./memory/shards.ts"
import type { Startup } from "./startup.ts"
import type * as Workloads from "./workloads.ts"

/**
 * The throughput clients, in their base order.
 *
 * @since 0.1.0
 */
export const clients = ["floor", "effectFloor", "skipFloor", "ours", "oursEffectFix", "discordjs"] as const

/**
 * A throughput client.
 *
 * @since 0.1.0
 */
export type Client = typeof clients[number]

/**
 * What the benchmark gateway reports about a prepared stream.
 *
 * @since 0.1.0
 */
export interface StreamSummary {
  /** The measured events (after the start marker), their sizes and types. */
  readonly events: number
  readonly jsonBytes: number
  readonly payloadBytes: number
  readonly byType: Record<string, number>
  /** The types of the warm-up events before them. */
  readonly warmupByType: Record<string, number>
}

/**
 * One client run: its result, or why it failed.
 *
 * @since 0.1.0
 */
export type Run =
  | { readonly rep: number; readonly client: Client; readonly result: Task.Result }
  | { readonly rep: number; readonly client: Client; readonly error: string }

/**
 * Every run of one workload.
 *
 * @since 0.1.0
 */
export interface WorkloadResult {
  readonly workload: Workloads.Workload
  readonly summary: StreamSummary
  readonly runs: ReadonlyArray<Run>
}

/**
 * One idle-shards run (or a baseline run, with `shards: 0`).
 *
 * @since 0.1.0
 */
export type MemoryRun =
  | {
    readonly rep: number
    readonly client: "ours" | "discordjs"
    readonly result: Shards.Result
    /** What the gateway recorded during this run. */
    readonly gatewayLog: GatewayLog
  }
  | { readonly rep: number; readonly client: "ours" | "discordjs"; readonly error: string }

/**
 * What the local gateway recorded during the memory runs.
 *
 * @since 0.1.0
 */
export interface GatewayLog {
  readonly identifies: Record<string, number>
  readonly violations: Record<string, number>
}

/**
 * The counts in `after` minus those in `before` (zero counts left out).
 *
 * @since 0.1.0
 */
export const difference = (after: GatewayLog, before: GatewayLog): GatewayLog => {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)] as const).filter(([, v]) => v !== 0))
  return { identifies: minus(after.identifies, before.identifies), violations: minus(after.violations, before.violations) }
}

/**
 * The memory runs.
 *
 * @since 0.1.0
 */
export interface MemoryResult {
  readonly shards: number
  readonly runs: ReadonlyArray<MemoryRun>
}

/**
 * Where and how the benchmark ran.
 *
 * @since 0.1.0
 */
export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly node: string
  readonly date: string
  readonly command: string
  readonly zlibSync: boolean
}

/**
 * Everything RESULTS.md reports.
 *
 * @since 0.1.0
 */
export interface Everything {
  readonly machine: Machine
  readonly settings: {
    readonly reps: number
    readonly small: number
    readonly large: number
    readonly shards: number
    readonly memoryReps: number
    readonly spacingMs: number
    readonly identifyCooldownMs: number
    readonly maxConcurrency: number
    readonly settleMs: number
  }
  readonly workloads: ReadonlyArray<WorkloadResult>
  readonly memory: MemoryResult | undefined
  readonly startup: ReadonlyArray<Startup> | undefined
  /** The target figures of the full runs so far, this one last (empty for a partial run). */
  readonly history: ReadonlyArray<History.Entry>
}

/**
 * The median of `values` (`NaN` when empty).
 *
 * @since 0.1.0
 */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const succeeded = (runs: ReadonlyArray<Run>, client: Client): Map<number, Task.Result> => {
  const out = new Map<number, Task.Result>()
  for (const run of runs) if (run.client === client && "result" in run) out.set(run.rep, run.result)
  return out
}

/** `metric(a) / metric(b)` in each repetition where both ran. */
const pairedRatios = (
  a: Map<number, Task.Result>,
  b: Map<number, Task.Result>,
  metric: (result: Task.Result) => number
): ReadonlyArray<number> => {
  const ratios: Array<number> = []
  for (const [rep, result] of a) {
    const other = b.get(rep)
    if (other !== undefined) ratios.push(metric(result) / metric(other))
  }
  return ratios
}

/**
 * The medians of one client on one workload.
 *
 * @since 0.1.0
 */
export interface Row {
  readonly client: Client
  readonly runs: number
  readonly failures: ReadonlyArray<string>
  readonly eventsPerSecond: number
  readonly cpuUsPerEvent: number
  /** The fastest and the slowest run: how far one run can be from the median on this machine. */
  readonly cpuUsRange: readonly [min: number, max: number]
  /** The part of `cpuUsPerEvent` spent off the main thread (compiler, GC helpers); NaN where not measured. */
  readonly otherThreadsUsPerEvent: number
  readonly peakRssMb: number
  readonly vsFloor: number
  /** The lowest and the highest of the pairs `vsFloor` is the median of. */
  readonly vsFloorRange: readonly [min: number, max: number]
  readonly vsEffectFloor: number
  readonly vsDiscordjs: number
  readonly note: string
}

/**
 * Which part of a run a figure covers: the measured events, or the warm-up events before them
 * (the first events of a fresh process).
 *
 * @since 0.1.0
 */
export type Phase = "measured" | "warmup"

/**
 * The rows of a workload for one phase, one per client that ran.
 *
 * @since 0.1.0
 */
export const rows = (result: WorkloadResult, phase: Phase = "measured"): ReadonlyArray<Row> => {
  const events = phase === "measured" ? result.workload.events : result.workload.warmup
  const of = (r: Task.Result): Task.Phase => (phase === "measured" ? r : r.warmup)
  const cpu = (r: Task.Result) => of(r).cpuUs / events
  const floor = succeeded(result.runs, "floor")
  const effectFloor = succeeded(result.runs, "effectFloor")
  const discordjs = succeeded(result.runs, "discordjs")
  return clients.flatMap((client): ReadonlyArray<Row> => {
    const mine = succeeded(result.runs, client)
    const failures = result.runs.flatMap((run) => (run.client === client && "error" in run ? [run.error] : []))
    if (mine.size === 0 && failures.length === 0) return []
    const values = [...mine.values()]
    const others = values.flatMap((r) => {
      const us = of(r).otherThreadsCpuUs
      return us === undefined ? [] : [us / events]
    })
    const vsFloor = pairedRatios(mine, floor, cpu)
    return [{
      client,
      runs: mine.size,
      failures,
      eventsPerSecond: median(values.map((r) => events / (of(r).wallMs / 1000))),
      cpuUsPerEvent: median(values.map(cpu)),
      cpuUsRange: [Math.min(...values.map(cpu)), Math.max(...values.map(cpu))],
      otherThreadsUsPerEvent: median(others),
      peakRssMb: median(values.map((r) => r.maxRssKb / 1024)),
      vsFloor: median(vsFloor),
      vsFloorRange: [Math.min(...vsFloor), Math.max(...vsFloor)],
      vsEffectFloor: median(pairedRatios(mine, effectFloor, cpu)),
      vsDiscordjs: median(pairedRatios(mine, discordjs, cpu)),
      note: values[0]?.note ?? ""
    }]
  })
}

/**
 * Memory per idle shard of one client: per repetition, (RSS with N shards - baseline RSS) / N.
 *
 * @since 0.1.0
 */
export interface MemoryRow {
  readonly client: "ours" | "discordjs"
  readonly baselineMb: number
  readonly loadedMb: number
  readonly rssPerShardKb: number
  readonly heapPerShardKb: number
  readonly readyMs: number
  /** Median of (the startup CPU time with N shards - the baseline's) / N. */
  readonly startupCpuPerShardMs: number
  readonly perRep: ReadonlyMap<number, number>
}

/**
 * Whether the gateway refused an identify or saw a rule broken during a run: its reconnects stay
 * in the client's RSS, so the run measures more than idle shards.
 *
 * @since 0.1.0
 */
export const disturbed = (log: GatewayLog): boolean =>
  Object.keys(log.violations).length > 0 || Object.keys(log.identifies).some((outcome) => outcome !== "ready")

// a repetition is counted only if its run with shards was undisturbed
const memoryRow = (memory: MemoryResult, client: "ours" | "discordjs"): MemoryRow => {
  const byRep = new Map<number, { base?: Shards.Result; loaded?: Shards.Result }>()
  for (const run of memory.runs) {
    if (run.client !== client || !("result" in run)) continue
    if (run.result.shards > 0 && disturbed(run.gatewayLog)) continue
    const entry = byRep.get(run.rep) ?? {}
    if (run.result.shards === 0) entry.base = run.result
    else entry.loaded = run.result
    byRep.set(run.rep, entry)
  }
  const perRep = new Map<number, number>()
  const heap: Array<number> = []
  const cpu: Array<number> = []
  const pairs = [...byRep].flatMap(([rep, { base, loaded }]) => (base && loaded ? [{ rep, base, loaded }] : []))
  for (const { base, loaded, rep } of pairs) {
    perRep.set(rep, (loaded.rssKb - base.rssKb) / memory.shards)
    heap.push((loaded.heapUsedKb - base.heapUsedKb) / memory.shards)
    cpu.push((loaded.startupCpuMs - base.startupCpuMs) / memory.shards)
  }
  return {
    client,
    baselineMb: median(pairs.map((p) => p.base.rssKb / 1024)),
    loadedMb: median(pairs.map((p) => p.loaded.rssKb / 1024)),
    rssPerShardKb: median([...perRep.values()]),
    heapPerShardKb: median(heap),
    readyMs: median(pairs.map((p) => p.loaded.readyMs)),
    startupCpuPerShardMs: median(cpu),
    perRep
  }
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : "n/a")
const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a")
const thousands = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a")

const clientLabel: Record<Client, string> = {
  floor: "floor",
  effectFloor: "Effect floor",
  skipFloor: "skip floor",
  ours: "ours",
  oursEffectFix: "ours, Effect fixed",
  discordjs: "@discordjs/ws"
}

interface Target {
  readonly name: string
  readonly figure: string
  readonly met: boolean | undefined
  /** Where the history keeps this target's figure, and the figure (`NaN` when there is none). */
  readonly key?: History.Key
  readonly value?: number
}

const cpuTarget = (workloads: ReadonlyArray<WorkloadResult>, name: History.Key, description: string): Target => {
  const limit = History.limits[name]
  const label = `${description}: <= ${ratio(limit)} floor`
  const result = workloads.find((w) => w.workload.name === name)
  if (result === undefined) return { name: label, figure: "not run", met: undefined }
  const all = rows(result)
  const ours = all.find((r) => r.client === "ours")
  const floor = all.find((r) => r.client === "floor")
  if (ours === undefined || floor === undefined || !Number.isFinite(ours.vsFloor)) return { name: label, figure: "no figure", met: undefined }
  const oursFirst = rows(result, "warmup").find((r) => r.client === "ours")
  const skipFloor = all.find((r) => r.client === "skipFloor")
  return {
    name: label,
    figure: `${ratio(ours.vsFloor)} (pairs ${ratio(ours.vsFloorRange[0])}-${ratio(ours.vsFloorRange[1])}; ` +
      `ours ${fixed(ours.cpuUsPerEvent, 2)} us, floor ${fixed(floor.cpuUsPerEvent, 2)} us per event); ` +
      `over the first ${thousands(result.workload.warmup)} events: ${ratio(oursFirst?.vsFloor ?? Number.NaN)}` +
      (skipFloor === undefined ? "" : `; the skip floor: ${ratio(skipFloor.vsFloor)}`),
    met: ours.vsFloor <= limit,
    key: name,
    value: ours.vsFloor
  }
}

const targets = (everything: Everything): ReadonlyArray<Target> => {
  const list: Array<Target> = [
    cpuTarget(everything.workloads, "small zlib-stream", "CPU per event, small events, zlib-stream"),
    cpuTarget(everything.workloads, "large zlib-stream", "CPU per event, large events, zlib-stream"),
    cpuTarget(everything.workloads, "small none", "CPU per event, uncompressed (small events)"),
    cpuTarget(everything.workloads, "filtered zlib-stream", "Filtered run (10% wanted), zlib-stream"),
    cpuTarget(everything.workloads, "filtered none", "Filtered run (10% wanted), uncompressed")
  ]
  const memory = everything.memory
  if (memory !== undefined) {
    const ours = memoryRow(memory, "ours")
    const theirs = memoryRow(memory, "discordjs")
    const ratios = [...ours.perRep].flatMap(([rep, kb]) => {
      const other = theirs.perRep.get(rep)
      return other === undefined ? [] : [kb / other]
    })
    const value = median(ratios)
    list.push({
      name: `RSS per idle shard: <= ${ratio(History.limits.memory)} @discordjs/ws`,
      figure: `${ratio(value)} (ours ${fixed(ours.rssPerShardKb, 1)} KiB, @discordjs/ws ${fixed(theirs.rssPerShardKb, 1)} KiB per shard)`,
      met: Number.isFinite(value) ? value <= History.limits.memory : undefined,
      key: "memory",
      value
    })
  }
  for (const startup of everything.startup ?? []) {
    list.push({
      name: `Startup, 64 shards at max_concurrency 16, limiter margin ${startup.marginMs} ms: all READY at the limit (${startup.limitMs} ms after the first identify)`,
      figure: `${startup.allReadyMs} ms (${startup.shardsReady}/64 READY; ${startup.allReadyMs - startup.limitMs >= 0 ? "+" : ""}${
        startup.allReadyMs - startup.limitMs
      } ms; identifies of one key at least ${startup.closestSpacingMs} ms apart)`,
      // sooner than the limit is no better: it broke the rule (identifies of one key under 5 s apart)
      met: startup.shardsReady === 64 && startup.allReadyMs === startup.limitMs && startup.closestSpacingMs >= 5000
    })
  }
  return list
}

/**
 * This run's figure for every target the history keeps (what bench/history.json records of it).
 *
 * @since 0.1.0
 */
export const targetFigures = (everything: Everything): Partial<Record<History.Key, number>> =>
  Object.fromEntries(
    targets(everything).flatMap((t) =>
      t.key !== undefined && t.value !== undefined && Number.isFinite(t.value) ? [[t.key, Math.round(t.value * 100) / 100]] : []
    )
  )

/**
 * The section of RESULTS.md that gives the last ten full runs' figure for each target, and the
 * median of the last three.
 *
 * @since 0.1.0
 */
export const historyLines = (history: ReadonlyArray<History.Entry>): ReadonlyArray<string> => {
  const runs = history.slice(-10)
  if (runs.length === 0) return []
  const header = runs.map((run) => (run.date === null ? "earlier" : `${run.date.slice(0, 10)}${run.commit === null ? "" : ` (${run.commit})`}`))
  const cell = (value: number | undefined) => (value === undefined ? "" : ratio(value))
  return [
    "## The targets over the last runs",
    "",
    `Ours against the floor (CPU per event) and against @discordjs/ws (RSS per idle shard) in each of the last ${runs.length} full ` +
      "runs, oldest first, this run last (bench/history.json; the runs marked earlier were recorded before that file, from the " +
      "README's record of them). On this machine one run can miss or meet a target by more than the margin it is judged by; " +
      "the last column is the median of the last three runs. The warm-up row gives how many small and large events each " +
      "run's clients consumed before the measured ones.",
    "",
    `| target | limit | ${header.join(" | ")} | median of the last three |`,
    `|---|---:|${runs.map(() => "---:|").join("")}---:|`,
    `| warm-up (small / large events) | | ${runs.map((run) => warmupCell(History.warmupOf(run))).join(" | ")} | |`,
    ...keysOf(runs).map((key) => {
      const lastThree = runs.slice(-3).flatMap((run) => (run.figures[key] === undefined ? [] : [run.figures[key]!]))
      return `| ${key === "memory" ? "memory (RSS per idle shard)" : key} | <= ${ratio(History.limits[key])} | ` +
        `${runs.map((run) => cell(run.figures[key])).join(" | ")} | ${lastThree.length === 3 ? ratio(median(lastThree)) : "n/a"} |`
    }),
    ""
  ]
}

const warmupCell = (warmup: History.Warmup | undefined): string =>
  warmup === undefined ? "not recorded" : `${thousands(warmup.small)} / ${thousands(warmup.large)}`

const keysOf = (runs: ReadonlyArray<History.Entry>): ReadonlyArray<History.Key> => {
  const seen = new Set(runs.flatMap((run) => Object.keys(run.figures)))
  return History.keys.filter((key) => seen.has(key))
}

const notesOf = (workloads: ReadonlyArray<WorkloadResult>, client: Client): string => {
  const notes = new Set(workloads.flatMap(({ runs }) => runs.flatMap((run) => (run.client === client && "result" in run ? [run.result.note] : []))))
  return notes.size === 0 ? "no run" : [...notes].join(" / ")
}

const status = (met: boolean | undefined): string => (met === undefined ? "no figure" : met ? "met" : "**missed**")

/**
 * Renders RESULTS.md.
 *
 * @since 0.1.0
 */
export const markdown = (everything: Everything): string => {
  const { machine, settings } = everything
  const lines: Array<string> = []
  const add = (...more: ReadonlyArray<string>) => lines.push(...more)
  add(
    "# Benchmark results",
    "",
    `Generated by \`${machine.command}\` (bench/run.ts) on ${machine.date}.`,
    "",
    `- Machine: ${machine.cpu}, ${machine.cores} cores; Node ${machine.node}`,
    `- Throughput: ${settings.reps} repetitions of every (workload, client), clients interleaved (the order rotates each repetition); ` +
      "medians; ratios taken pair by pair within the same repetition, then their median. The throughput table also gives " +
      "each client's fastest and slowest run: on a noisy machine, read a median against that spread.",
    "- Each client run consumes the workload's warm-up events after READY, then its measured events, between a start and an " +
      "end marker. CPU per event = process CPU time (user + system, `process.cpuUsage`) from the start marker to the end " +
      "marker, divided by the measured events on the wire: the cost once the process is warm (compiled code, a young " +
      "generation grown to its working size), as in a client that runs for days. The same figure over the warm-up events, " +
      "the first events of a fresh process, is in its own table and next to each target. \"Of it off the main thread\": the " +
      "part of that CPU time spent on the process's other threads (`/proc/self/task/*/schedstat`), mostly V8 compiling " +
      "code in the background and its garbage collector's helpers: a warm run spends little there. events/s over the same " +
      "span; peak RSS = `process.resourceUsage().maxRSS` at the end.",
    `- @discordjs/ws 2.0.4 ran with: ${notesOf(everything.workloads, "discordjs")} ` +
      `(zlib-sync ${machine.zlibSync ? "was installed with `npm install --no-save zlib-sync`" : "is not installed: its node:zlib mode"}); ` +
      "it has no zstd-stream, so its zstd rows are absent.",
    `- Ours: ${notesOf(everything.workloads, "ours")}; the floor: ${notesOf(everything.workloads, "floor")}; ` +
      `the Effect floor: ${notesOf(everything.workloads, "effectFloor")} (the floor's decoding with the hand-over every Effect ` +
      "`Stream` of events pays: what ours costs beyond it is the session's own work); " +
      `the skip floor (filtered runs only): ${notesOf(everything.workloads, "skipFloor")} (the floor with the header ` +
      "read ours uses instead of parsing unwanted events: the least skipping them this way can cost).",
    "- \"Ours, Effect fixed\": the same client and code as ours, in a process where bench/effectFix.mjs changes two lines of " +
      "Effect: `Channel.fromEffect` (bench/STREAMGC.md says why) and `uninterruptibleMask` (bench/PROFILE.md, \"Steady promotion\"). " +
      "Not a result of ours: what those changes, made in Effect, would give; the targets are judged on ours only.",
    "",
    "## Targets (issue 6)",
    "",
    "Judged on the median of the measured events (after the warm-up); the lowest and highest of the pairs it is the " +
      "median of (ours against the floor within one repetition) show how far one repetition can be from it. The figure " +
      "over the warm-up events follows each.",
    "",
    "| target | figure | status |",
    "|---|---|---|",
    ...targets(everything).map((t) => `| ${t.name} | ${t.figure} | ${status(t.met)} |`),
    "",
    ...historyLines(everything.history),
    "## Throughput",
    "",
    "| workload | client | events/s | CPU us/event | of it off the main thread | CPU us/event, fastest-slowest run | peak RSS MB | CPU vs floor | CPU vs Effect floor | CPU vs @discordjs/ws | runs |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  )
  for (const result of everything.workloads) {
    for (const row of rows(result)) {
      add(
        `| ${result.workload.name} | ${clientLabel[row.client]} | ${thousands(row.eventsPerSecond)} | ${fixed(row.cpuUsPerEvent, 2)} | ` +
          `${fixed(row.otherThreadsUsPerEvent, 2)} | ${fixed(row.cpuUsRange[0], 2)}-${fixed(row.cpuUsRange[1], 2)} | ${fixed(row.peakRssMb, 0)} | ${ratio(row.vsFloor)} | ${ratio(row.vsEffectFloor)} | ${ratio(row.vsDiscordjs)} | ${row.runs}/${row.runs + row.failures.length} |`
      )
    }
  }
  add(
    "",
    "## The first events of a fresh process",
    "",
    "The same runs over their warm-up events (READY to the start marker): CPU per event while code compiles and the young " +
      "generation grows.",
    "",
    "| workload | events | client | CPU us/event | of it off the main thread | CPU vs floor | CPU vs Effect floor | CPU vs @discordjs/ws |",
    "|---|---:|---|---:|---:|---:|---:|---:|"
  )
  for (const result of everything.workloads) {
    for (const row of rows(result, "warmup")) {
      add(
        `| ${result.workload.name} | ${thousands(result.workload.warmup)} | ${clientLabel[row.client]} | ${fixed(row.cpuUsPerEvent, 2)} | ` +
          `${fixed(row.otherThreadsUsPerEvent, 2)} | ${ratio(row.vsFloor)} | ${ratio(row.vsEffectFloor)} | ${ratio(row.vsDiscordjs)} |`
      )
    }
  }
  add(
    "",
    "Workloads (the benchmark gateway pre-encodes the whole stream in one compression context before a client connects, " +
      "then writes it as fast as the socket drains; the same bytes for every client):",
    "",
    "| workload | warm-up events | measured events | JSON bytes/event | wire bytes/event | the program wants (measured) |",
    "|---|---:|---:|---:|---:|---|"
  )
  for (const { summary, workload } of everything.workloads) {
    add(
      `| ${workload.name} | ${thousands(workload.warmup)} | ${thousands(workload.events)} | ${thousands(summary.jsonBytes / summary.events)} | ` +
        `${thousands(summary.payloadBytes / summary.events)} | ${workload.wanted === undefined ? "every event" : `${workload.wanted.join(", ")} (${thousands(workload.wanted.reduce((sum, t) => sum + (summary.byType[t] ?? 0), 0))} events)`} |`
    )
  }
  const failures = everything.workloads.flatMap(({ runs, workload }) =>
    runs.flatMap((run) => ("error" in run ? [`- ${workload.name}, ${run.client}, rep ${run.rep + 1}: ${run.error}`] : []))
  )
  if (failures.length > 0) add("", "Failed runs:", "", ...failures)

  const memory = everything.memory
  if (memory !== undefined) {
    add(
      "",
      `## Memory: ${memory.shards} idle shards in one process`,
      "",
      `Against the local gateway (src/testing/LocalGateway.ts, its own process; max_concurrency ${settings.maxConcurrency}, ` +
        `identify cooldown ${settings.identifyCooldownMs} ms, heartbeat interval 1 h), zlib-stream. Ours: a \`Fleet\` on the live ` +
        `transport with an identify limiter of spacing ${settings.spacingMs} ms and its default margin (200 ms, ended by each READY); @discordjs/ws: one \`WebSocketManager\` ` +
        `(simple strategy, same process) with a throttler of the same spacing. Measured ${settings.settleMs / 1000} s after the last ` +
        "READY, after a full GC (`--expose-gc`); RSS per shard = (RSS - RSS of the same process with the same imports and no shard) / " +
        `shards, per repetition, median of ${settings.memoryReps}. Startup CPU per shard = (the process's CPU time, user + ` +
        "system, from its start to the last READY - the same of the baseline process, to its fetch of GET /gateway/bot) / shards: " +
        "what connecting, identifying and taking READY and the guilds cost a shard.",
      "",
      "| client | baseline RSS MB | RSS MB with shards | RSS per shard KiB | JS heap per shard KiB | all READY after ms | startup CPU per shard ms |",
      "|---|---:|---:|---:|---:|---:|---:|"
    )
    for (const client of ["ours", "discordjs"] as const) {
      const row = memoryRow(memory, client)
      add(
        `| ${client === "ours" ? "ours" : "@discordjs/ws"} | ${fixed(row.baselineMb, 1)} | ${fixed(row.loadedMb, 1)} | ` +
          `${fixed(row.rssPerShardKb, 1)} | ${fixed(row.heapPerShardKb, 1)} | ${thousands(row.readyMs)} | ${fixed(row.startupCpuPerShardMs, 2)} |`
      )
    }
    const show = (counts: Record<string, number>) =>
      Object.keys(counts).length === 0 ? "none" : Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")
    add(
      "",
      "What the gateway recorded during each run with shards. @discordjs/ws's identifies go through this benchmark's " +
        "throttler (bench/memory/discordjs.ts: the same spacing, counted from when it grants a turn, with no margin), " +
        "not its own default (5 s per key). A run in which the gateway refused an identify or saw a rule broken is not " +
        "counted above: the reconnects stay in its RSS (with a cooldown of 25 ms the gateway refused 160-246 of " +
        "@discordjs/ws's identifies a run, and its figure grew by about 20 KiB a shard).",
      ""
    )
    for (const run of memory.runs) {
      if (!("result" in run) || run.result.shards === 0) continue
      add(
        `- ${run.client === "ours" ? "ours" : "@discordjs/ws"}, rep ${run.rep + 1}: identifies ${show(run.gatewayLog.identifies)}; ` +
          `violations ${show(run.gatewayLog.violations)}`
      )
    }
    const memoryFailures = memory.runs.flatMap((run) => ("error" in run ? [`- ${run.client}, rep ${run.rep + 1}: ${run.error}`] : []))
    if (memoryFailures.length > 0) add("", "Failed runs:", "", ...memoryFailures)
  }

  if (everything.startup !== undefined) {
    add(
      "",
      "## Startup: 64 shards at max_concurrency 16 under TestClock",
      "",
      "In-memory transport, the scripted gateway of test/fleet/harness.ts (READY at once on every Identify). Discord's limit: " +
        "one identify per key per 5 s, so the last of 4 rounds may identify 15 s after the first identify.",
      "",
      "| limiter margin | shards READY | all READY after (ms from the first identify) | limit (ms) | closest identifies of one key (ms) |",
      "|---:|---:|---:|---:|---:|",
      ...everything.startup.map((s) =>
        `| ${s.marginMs} ms | ${s.shardsReady} | ${s.allReadyMs} | ${s.limitMs} | ${s.closestSpacingMs} |`
      )
    )
  }
  add("")
  return lines.join("\n")
}
