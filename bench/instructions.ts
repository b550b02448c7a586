/**
 * `npm run bench:instructions`: the instructions a warm event costs each throughput client, counted
 * by valgrind's cachegrind, a cross-check of `npm run bench`'s CPU figures that this machine's noise
 * moves far less. Not part of `npm run bench` (about an hour; it needs valgrind).
 *
 * Each client runs twice on a workload: its warm-up events and then `short` measured events, then
 * the same warm-up and `long` ones. What the second run counted beyond the first, divided by
 * `long - short`, is the cost of a warm event: startup and warm-up cancel out. Under valgrind the
 * process runs on one thread at a time, so V8's helper threads are counted with the main one, as
 * process CPU time counts them; what instructions do not show is time spent waiting on memory.
 * The workloads are `npm run bench`'s but for zstd-stream, which has no target.
 * Flags: `--only NAME` (workloads whose name contains NAME), `--reps N` (default 1; the table
 * gives medians), `--predictable` (runs every client with V8's `--predictable`: garbage collection
 * and compilation on the main thread, at the same points from run to run, which steadies the
 * counts but describes a process unlike `npm run bench`'s). Writes bench/INSTRUCTIONS.md
 * (bench/out/INSTRUCTIONS.partial.md with `--only`).
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import * as Build from "./build.ts"
import type * as Task from "./clients/task.ts"
import * as Processes from "./processes.ts"
import * as Report from "./report.ts"
import * as Workloads from "./workloads.ts"

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const index = args.indexOf(name)
  return index >= 0 ? args[index + 1] : undefined
}
const only = option("--only")
const reps = Number(option("--reps") ?? 1)
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps wants a whole number of at least 1, not ${option("--reps")}`)
const predictable = args.includes("--predictable")

/** Measured events of the short and the long run, by kind of workload (the warm-up is `npm run bench`'s). */
const lengths = {
  small: { warmup: 300_000, short: 50_000, long: 250_000 },
  large: { warmup: 3_600, short: 1_000, long: 3_000 }
}

const clients = ["floor", "skipFloor", "ours", "oursEffectFix"] as const
type Client = typeof clients[number]

const effectFix = new URL("./effectFix.mjs", import.meta.url).href
const scratch = new URL("./out/cachegrind/", import.meta.url)

const progress = (message: string): void => {
  process.stderr.write(`[instructions] ${message}\n`)
}

/** Runs one client under cachegrind and returns the instructions it executed. */
const count = async (client: Client, task: Task.Task, expected: number): Promise<number> => {
  const out = new URL(`${client}.${process.pid}.out`, scratch).pathname
  const result = await Processes.runOnce<Task.Result>(client === "oursEffectFix" ? "clients/ours" : `clients/${client}`, task, {
    wrapper: ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--smc-check=all-non-file", `--cachegrind-out-file=${out}`],
    nodeFlags: [...(predictable ? ["--predictable"] : []), ...(client === "oursEffectFix" ? ["--import", effectFix] : [])],
    timeoutMs: 1_800_000
  })
  if (result.handled !== expected) throw new Error(`${client} handled ${result.handled} events, expected ${expected}`)
  const summary = /^summary: (\d+)/m.exec(readFileSync(out, "utf8"))
  rmSync(out)
  if (summary === null) throw new Error(`no summary in ${out}`)
  return Number(summary[1])
}

interface Row {
  readonly workload: string
  readonly client: Client
  /** Instructions per warm event, one per repetition. */
  readonly perEvent: ReadonlyArray<number>
}

const measure = async (): Promise<Array<Row>> => {
  const gateway = await Processes.startServer<{ readonly port: number }>("gateway")
  const base = `http://127.0.0.1:${gateway.info.port}`
  const rows: Array<Row> = []
  try {
    const workloads = Workloads.all({
      small: 0,
      large: 0,
      smallWarmup: lengths.small.warmup,
      largeWarmup: lengths.large.warmup
    }).filter((workload) => workload.compression !== "zstd-stream" && (only === undefined || workload.name.includes(only)))
    for (const workload of workloads) {
      const { long, short } = lengths[workload.kind === "large" ? "large" : "small"]
      // the skip floor reads only the filtered runs, as in `npm run bench`
      const runners = clients.filter((client) => client !== "skipFloor" || workload.wanted !== undefined)
      const totals = new Map<string, number>()
      for (const events of [short, long]) {
        const query = new URLSearchParams({
          kind: workload.kind,
          compression: workload.compression,
          warmup: String(workload.warmup),
          events: String(events)
        })
        const summary = await (await fetch(`${base}/prepare?${query}`)).json() as Report.StreamSummary
        const expected = Workloads.handled(workload, summary.byType, events)
        const task: Task.Task = { url: `ws://127.0.0.1:${gateway.info.port}/bench`, compression: workload.compression, events, wanted: workload.wanted }
        for (let rep = 0; rep < reps; rep++) {
          for (const client of runners) {
            const instructions = await count(client, task, expected)
            totals.set(`${client} ${rep} ${events}`, instructions)
            progress(`${workload.name}, ${events} events, rep ${rep + 1}/${reps}: ${client} ${(instructions / 1e9).toFixed(2)} G instructions`)
          }
        }
      }
      for (const client of runners) {
        const perEvent = Array.from({ length: reps }, (_, rep) =>
          (totals.get(`${client} ${rep} ${long}`)! - totals.get(`${client} ${rep} ${short}`)!) / (long - short))
        rows.push({ workload: workload.name, client, perEvent })
      }
    }
  } finally {
    gateway.stop()
  }
  return rows
}

const names: Record<Client, string> = {
  floor: "floor",
  skipFloor: "skip floor",
  ours: "ours",
  oursEffectFix: "ours, Effect fixed"
}

const report = (rows: ReadonlyArray<Row>, machine: string): string => {
  const table = rows.map((row) => {
    const floor = rows.find((other) => other.workload === row.workload && other.client === "floor")!
    const ratios = row.perEvent.map((value, rep) => value / floor.perEvent[rep]!)
    return `| ${row.workload} | ${names[row.client]} | ${Math.round(Report.median(row.perEvent)).toLocaleString("en-US")} | ` +
      `${Report.median(ratios).toFixed(3)}× | ${row.perEvent.map((value) => Math.round(value).toLocaleString("en-US")).join(", ")} |`
  })
  return [
    "# Instructions per warm event",
    "",
    "Written by `npm run bench:instructions` (bench/instructions.ts), which says how: each client consumes",
    `a workload's warm-up (${lengths.small.warmup.toLocaleString("en-US")} small or ${lengths.large.warmup.toLocaleString("en-US")} large events, as in \`npm run bench\`) and then`,
    `${lengths.small.short.toLocaleString("en-US")} or ${lengths.small.long.toLocaleString("en-US")} measured events (large: ${lengths.large.short.toLocaleString("en-US")} or ${lengths.large.long.toLocaleString("en-US")}) under cachegrind; the`,
    "difference of the two runs' instruction counts, divided by the difference of their events, is what",
    "a warm event costs. Ratios are taken pair by pair within a repetition.",
    "",
    `Machine: ${machine}. Repetitions: ${reps}. V8's \`--predictable\`: ${predictable ? "on" : "off"}.`,
    "",
    "| workload | client | instructions per event (median) | / floor | each repetition |",
    "|---|---|---:|---:|---|",
    ...table,
    ""
  ].join("\n")
}

const main = async (): Promise<void> => {
  let valgrind: string
  try {
    valgrind = execFileSync("valgrind", ["--version"], { encoding: "utf8" }).trim()
  } catch {
    throw new Error("valgrind is not installed (on Debian: apt-get install valgrind)")
  }
  mkdirSync(scratch, { recursive: true })
  progress("building the benchmark processes")
  await Build.build()
  const rows = await measure()
  const machine = `${Os.cpus()[0]?.model ?? "unknown"}, ${Os.cpus().length} cores, Node ${process.version}, ${valgrind}`
  const file = only === undefined ? new URL("./INSTRUCTIONS.md", import.meta.url) : new URL("./out/INSTRUCTIONS.partial.md", import.meta.url)
  writeFileSync(file, report(rows, machine))
  progress(`wrote ${file.pathname}`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
