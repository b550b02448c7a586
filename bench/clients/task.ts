/**
 * What the runner tells a client process and what the client answers: the task comes as JSON in
 * `argv[2]`, the result goes to stdout as one JSON line.
 *
 * @since 0.1.0
 */
import { readdirSync, readFileSync, writeSync } from "node:fs"
import type { Compression } from "../../src/codec/Compression.ts"
import { endMarker, startMarker } from "../workloads.ts"

/**
 * One client run: connect to `url` with `compression`, consume the warm-up events after READY,
 * then the `events` measured events between the start and the end marker, handing the program
 * only the `wanted` types (`undefined`: all).
 *
 * @since 0.1.0
 */
export interface Task {
  readonly url: string
  readonly compression: Compression
  readonly events: number
  readonly wanted: ReadonlyArray<string> | undefined
}

/**
 * What a client measured over one phase of its run.
 *
 * @since 0.1.0
 */
export interface Phase {
  /** Events the program handled (all of them, or the wanted ones). */
  readonly handled: number
  readonly wallMs: number
  /** Process CPU time, user + system, over the phase. */
  readonly cpuUs: number
  /**
   * The part of `cpuUs` spent on threads other than the main one: V8's optimizing compiler and
   * garbage collector helpers, libuv's pool. Absent where `/proc/self/task` is not readable.
   */
  readonly otherThreadsCpuUs?: number | undefined
}

/**
 * What a client measured: over the measured events (the start marker to the end marker), and
 * over the warm-up before them (READY to the start marker), the first events of a fresh process.
 *
 * @since 0.1.0
 */
export interface Result extends Phase {
  readonly warmup: Phase
  /** `process.resourceUsage().maxRSS` at the end, in KiB. */
  readonly maxRssKb: number
  /** What the client used, e.g. which inflate. */
  readonly note: string
  /** The measured phase on the monotonic clock (`process.hrtime`), in microseconds: for the profile. */
  readonly window: readonly [from: number, to: number]
}

/**
 * Reads the task from the command line.
 *
 * @since 0.1.0
 */
export const read = (): Task => JSON.parse(process.argv[2] ?? "") as Task

/**
 * CPU time (µs) the process's threads other than the main one have used so far, from each thread's
 * `/proc/self/task/<tid>/schedstat` (nanoseconds on the CPU); `undefined` where that is not readable.
 * A thread that ended since an earlier reading drops out of the sum; V8's and libuv's helper threads
 * live as long as the process.
 */
const otherThreadsCpuUs = (): number | undefined => {
  let tids: ReadonlyArray<string>
  try {
    tids = readdirSync("/proc/self/task")
  } catch {
    return undefined
  }
  let total = 0
  for (const tid of tids) {
    if (Number(tid) === process.pid) continue
    try {
      total += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1000
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total
}

/** CPU time between two readings of {@link otherThreadsCpuUs}, if both were taken. */
const between = (before: number | undefined, after: number | undefined): number | undefined =>
  before === undefined || after === undefined ? undefined : after - before

/**
 * Measures a run's two phases: `start` at READY, `lap` at the start marker, `stop` at the end
 * marker, each given the events handled since the last.
 *
 * @since 0.1.0
 */
export class Meter {
  private startedAt = 0n
  private startCpu: NodeJS.CpuUsage | undefined
  private startOthers: number | undefined
  private warmup: Phase | undefined

  start(others: number | undefined = otherThreadsCpuUs()): void {
    this.startOthers = others
    this.startCpu = process.cpuUsage()
    this.startedAt = process.hrtime.bigint()
  }

  lap(handled: number): void {
    const lappedAt = process.hrtime.bigint()
    const cpu = process.cpuUsage(this.startCpu)
    const othersNow = otherThreadsCpuUs()
    const others = between(this.startOthers, othersNow)
    this.warmup = { handled, wallMs: Number(lappedAt - this.startedAt) / 1e6, cpuUs: cpu.user + cpu.system, otherThreadsCpuUs: others }
    this.start(othersNow)
  }

  stop(handled: number, note: string): Result {
    const stoppedAt = process.hrtime.bigint()
    const cpu = process.cpuUsage(this.startCpu)
    const others = between(this.startOthers, otherThreadsCpuUs())
    if (this.warmup === undefined) throw new Error("the end marker came before the start marker")
    return {
      warmup: this.warmup,
      handled,
      wallMs: Number(stoppedAt - this.startedAt) / 1e6,
      cpuUs: cpu.user + cpu.system,
      otherThreadsCpuUs: others,
      maxRssKb: process.resourceUsage().maxRSS,
      note,
      window: [Number(this.startedAt / 1000n), Number(stoppedAt / 1000n)]
    }
  }
}

/**
 * Counts the dispatches of a run by type: READY starts the meter, the start marker ends the
 * warm-up, the end marker reports the result (with `note`) and ends the process; a wanted type
 * is counted.
 *
 * @since 0.1.0
 */
export const makeCounter = (task: Task, note: string): (t: string | null) => void => {
  const meter = new Meter()
  const wanted = task.wanted === undefined ? undefined : new Set(task.wanted)
  let handled = 0
  return (t) => {
    if (t === "READY") meter.start()
    else if (t === startMarker) {
      meter.lap(handled)
      handled = 0
    } else if (t === endMarker) report(meter.stop(handled, note))
    else if (t !== null && (wanted === undefined || wanted.has(t))) handled++
  }
}

/**
 * Writes the result line and ends the process at once (no teardown is measured or awaited).
 *
 * @since 0.1.0
 */
export const report = (result: object): never => {
  writeSync(1, `${JSON.stringify(result)}\n`)
  process.exit(0)
}

/**
 * Ends the process with an error the runner shows.
 *
 * @since 0.1.0
 */
export const fail = (error: unknown): never => {
  writeSync(2, `${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
}

/**
 * Whether zlib-sync (@discordjs/ws's fastest inflate) is installed here.
 *
 * @since 0.1.0
 */
export const hasZlibSync = async (): Promise<boolean> => {
  try {
    await import("zlib-sync" as string)
    return true
  } catch {
    return false
  }
}
