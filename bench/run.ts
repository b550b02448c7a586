/**
 * `npm run bench`: receive-path throughput of ours, the floor, the Effect floor, the skip floor
 * (filtered runs only), @discordjs/ws and ours on Effect with two lines changed
 * (bench/effectFix.mjs) against the benchmark gateway; idle-shard memory against the local gateway; startup under `TestClock`.
 * Writes bench/RESULTS.md; progress goes to stderr.
 *
 * Every client run consumes a workload's warm-up events, then the measured ones; RESULTS.md gives
 * both phases. Flags: `--quick` (1 repetition, 5k small / 100 large events: a smoke test, not a result),
 * `--reps N`, `--small N`, `--large N` (measured events), `--small-warmup N`, `--large-warmup N` (events
 * consumed before measuring), `--shards N` (idle shards), `--only NAME` (workloads whose
 * name contains NAME), `--no-memory`, `--no-startup`. `--quick`, `--only` and the `--no-*` flags
 * write bench/out/RESULTS.partial.md instead; a full run also adds its target figures to
 * bench/history.json. So does a run without zlib-sync (@discordjs/ws is then not at its fastest:
 * `npm install --no-save zlib-sync` first, which `npm ci` undoes), unless `--without-zlib-sync`
 * says it cannot be built here. `npm run bench` runs bench/etf.ts, bench/streamgc.ts and bench/validated.ts
 * first and this script last, so that `npm run bench -- --quick` hands its flags to this one.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import * as Os from "node:os"
import { mkdirSync, writeFileSync } from "node:fs"
import * as Build from "./build.ts"
import * as History from "./history.ts"
import type * as Task from "./clients/task.ts"
import type * as Shards from "./memory/shards.ts"
import * as Processes from "./processes.ts"
import * as Report from "./report.ts"
import type { Startup } from "./startup.ts"
import * as Workloads from "./workloads.ts"

const args = process.argv.slice(2)
const flag = (name: string): boolean => args.includes(name)
const option = (name: string, fallback: number): number => {
  const index = args.indexOf(name)
  return index >= 0 ? Number(args[index + 1]) : fallback
}
const text = (name: string): string | undefined => {
  const index = args.indexOf(name)
  return index >= 0 ? args[index + 1] : undefined
}

const quick = flag("--quick")
const settings = {
  reps: option("--reps", quick ? 1 : 9),
  small: option("--small", quick ? 5_000 : 50_000),
  large: option("--large", quick ? 100 : 1_000),
  // about 405 MB of JSON each, so that small and large runs are measured equally warm; multiples
  // of ten, so that the filtered run's measured events start a block of ten (workloads.ts). Long
  // enough that V8 is done compiling what runs once per socket read rather than once per event:
  // after 100,000 small events ours still spent about 45 ms of a filtered run's window compiling
  // on V8's helper threads (bench/PROFILE.md, "The measured window: code still compiling")
  smallWarmup: option("--small-warmup", quick ? 5_000 : 300_000),
  largeWarmup: option("--large-warmup", quick ? 60 : 3_600),
  shards: option("--shards", quick ? 100 : 1_000),
  memoryReps: quick ? 1 : 5,
  spacingMs: 50,
  // the memory gateway refuses no identify for its timing: a refused one's reconnect stays in the
  // client's RSS. With 25 ms, @discordjs/ws (its turns spaced from when they are granted, not
  // from the send) was refused 160-246 identifies a run, which put 20 KiB a shard on its figure
  identifyCooldownMs: 0,
  maxConcurrency: 16,
  settleMs: 3_000
}

const began = performance.now()
/** The module hook of the "ours, Effect fixed" client (bench/effectFix.mjs). */
const effectFix = new URL("./effectFix.mjs", import.meta.url).href

const progress = (message: string): void => {
  const seconds = Math.round((performance.now() - began) / 1000)
  process.stderr.write(`[bench ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}] ${message}\n`)
}

const zlibSyncInstalled = (): boolean => {
  try {
    createRequire(createRequire(import.meta.url).resolve("@discordjs/ws")).resolve("zlib-sync")
    return true
  } catch {
    return false
  }
}

/** Rotates the client order each repetition, so that drift hits every client alike. */
const rotate = <A>(list: ReadonlyArray<A>, by: number): ReadonlyArray<A> =>
  list.map((_, i) => list[(i + by) % list.length]!)

const throughput = async (): Promise<Array<Report.WorkloadResult>> => {
  const gateway = await Processes.startServer<{ readonly port: number }>("gateway")
  const base = `http://127.0.0.1:${gateway.info.port}`
  const results: Array<Report.WorkloadResult> = []
  try {
    const only = text("--only")
    const workloads = Workloads.all(settings).filter((workload) => only === undefined || workload.name.includes(only))
    for (const workload of workloads) {
      progress(`${workload.name}: encoding ${workload.warmup} warm-up and ${workload.events} measured events`)
      const query = new URLSearchParams({
        kind: workload.kind,
        compression: workload.compression,
        warmup: String(workload.warmup),
        events: String(workload.events)
      })
      const summary = await (await fetch(`${base}/prepare?${query}`)).json() as Report.StreamSummary
      const expected = Workloads.handled(workload, summary.byType, workload.events)
      const expectedWarmup = Workloads.handled(workload, summary.warmupByType, workload.warmup)
      const clients = Report.clients.filter((client) =>
        (client !== "discordjs" || workload.compression !== "zstd-stream") &&
        (client !== "skipFloor" || workload.wanted !== undefined)
      )
      const runs: Array<Report.Run> = []
      for (let rep = 0; rep < settings.reps; rep++) {
        for (const client of rotate(clients, rep)) {
          const task: Task.Task = {
            url: `ws://127.0.0.1:${gateway.info.port}/bench`,
            compression: workload.compression,
            events: workload.events,
            wanted: workload.wanted
          }
          try {
            const result = client === "oursEffectFix"
              ? await Processes.runOnce<Task.Result>("clients/ours", task, { nodeFlags: ["--import", effectFix] })
              : await Processes.runOnce<Task.Result>(`clients/${client}`, task)
            if (result.handled !== expected) throw new Error(`handled ${result.handled} events, expected ${expected}`)
            if (result.warmup.handled !== expectedWarmup) {
              throw new Error(`handled ${result.warmup.handled} warm-up events, expected ${expectedWarmup}`)
            }
            runs.push({ rep, client, result })
            progress(
              `${workload.name} rep ${rep + 1}/${settings.reps} ${client.padEnd(13)} ` +
                `${(result.cpuUs / workload.events).toFixed(2)} us/event, ` +
                `${Math.round(workload.events / (result.wallMs / 1000))} events/s`
            )
          } catch (error) {
            runs.push({ rep, client, error: (error as Error).message })
            progress(`${workload.name} rep ${rep + 1}/${settings.reps} ${client} FAILED: ${(error as Error).message}`)
          }
        }
      }
      results.push({ workload, summary, runs })
    }
  } finally {
    gateway.stop()
  }
  return results
}

const memory = async (): Promise<Report.MemoryResult> => {
  const gateway = await Processes.startServer<{ readonly url: string; readonly apiUrl: string; readonly logUrl: string }>(
    "memory/gateway",
    [JSON.stringify({ shards: settings.shards, maxConcurrency: settings.maxConcurrency, identifyCooldownMs: settings.identifyCooldownMs })]
  )
  const runs: Array<Report.MemoryRun> = []
  const gatewayLog = async () => await (await fetch(gateway.info.logUrl)).json() as Report.GatewayLog
  try {
    for (let rep = 0; rep < settings.memoryReps; rep++) {
      for (const client of rotate(["ours", "discordjs"] as const, rep)) {
        for (const shards of [0, settings.shards]) {
          const task: Shards.Task = {
            apiUrl: gateway.info.apiUrl,
            shards,
            maxConcurrency: settings.maxConcurrency,
            spacingMs: settings.spacingMs,
            settleMs: shards === 0 ? 1_000 : settings.settleMs
          }
          try {
            const before = await gatewayLog()
            const result = await Processes.runOnce<Shards.Result>(`memory/${client}`, task, {
              nodeFlags: ["--expose-gc"],
              timeoutMs: 180_000
            })
            runs.push({ rep, client, result, gatewayLog: Report.difference(await gatewayLog(), before) })
            progress(
              `memory rep ${rep + 1}/${settings.memoryReps} ${client.padEnd(13)} ${shards} shards: ` +
                `RSS ${(result.rssKb / 1024).toFixed(1)} MB` + (shards === 0 ? "" : `, all READY after ${Math.round(result.readyMs)} ms`)
            )
          } catch (error) {
            runs.push({ rep, client, error: `${shards} shards: ${(error as Error).message}` })
            progress(`memory ${client} ${shards} shards FAILED: ${(error as Error).message}`)
          }
        }
      }
    }
    return { shards: settings.shards, runs }
  } finally {
    gateway.stop()
  }
}

const git = (...args: ReadonlyArray<string>): string =>
  execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()

/**
 * The commit the benchmark runs on (`null` outside a git checkout), marked `+changes` where the
 * sources it builds differ from it: a run on a working tree measured no commit.
 */
const commitOf = (): string | null => {
  try {
    const head = git("rev-parse", "--short", "HEAD")
    const changed = git("status", "--porcelain", "--", "src", "bench/*.ts", "bench/*.mjs", "package-lock.json") !== ""
    return changed ? `${head}+changes` : head
  } catch {
    return null
  }
}

const main = async (): Promise<void> => {
  const zlibSync = zlibSyncInstalled()
  if (!zlibSync) {
    progress(
      "zlib-sync is not installed: @discordjs/ws runs in its node:zlib mode, not its fastest; " +
        (flag("--without-zlib-sync") ? "taken as the results (--without-zlib-sync)" : "results go to bench/out (`npm install --no-save zlib-sync` first)")
    )
  }
  progress("building the benchmark processes")
  // what is measured is what was built now: sources changed during the run are not in it
  const commit = commitOf()
  await Build.build()
  const machine: Report.Machine = {
    cpu: Os.cpus()[0]?.model ?? "unknown",
    cores: Os.cpus().length,
    node: process.version,
    date: new Date().toISOString(),
    command: `npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`,
    zlibSync
  }
  const workloads = await throughput()
  const memoryResult = flag("--no-memory") ? undefined : await memory()
  let startup: ReadonlyArray<Startup> | undefined
  if (!flag("--no-startup")) {
    progress("startup: 64 shards at max_concurrency 16 under TestClock")
    startup = await Processes.runOnce<ReadonlyArray<Startup>>("startup", {})
  }
  // a smoke test, a partial run, or one where @discordjs/ws lacked its fastest inflate, never
  // overwrites the results, nor goes into the history
  const partial = quick || text("--only") !== undefined || flag("--no-memory") || flag("--no-startup") ||
    (!zlibSync && !flag("--without-zlib-sync"))
  const measured: Report.Everything = { machine, settings, workloads, memory: memoryResult, startup, history: [] }
  const history = partial ? [] : History.append({
    date: machine.date,
    commit,
    warmup: { small: settings.smallWarmup, large: settings.largeWarmup },
    figures: Report.targetFigures(measured)
  })
  const markdown = Report.markdown({ ...measured, history })
  const target = partial ? "out/RESULTS.partial.md" : "RESULTS.md"
  mkdirSync(new URL("./out/", import.meta.url), { recursive: true })
  writeFileSync(new URL(`./${target}`, import.meta.url), markdown)
  progress(`wrote bench/${target} in ${Math.round((performance.now() - began) / 1000)} s`)
  process.stdout.write(markdown)
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
