/**
 * What the runner tells a client process and what the client answers: the task comes as JSON in
 * `argv[2]`, the result goes to stdout as one JSON line.
 *
 * @since 0.1.0
 */
import { writeSync } from "node:fs"
import type { Compression } from "../../src/codec/Compression.ts"

/**
 * One client run: connect to `url` with `compression`, consume `events` events after READY
 * (then the end marker), handing the program only the `wanted` types (`undefined`: all).
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
 * What a client measured over the consumption phase (READY to the end marker).
 *
 * @since 0.1.0
 */
export interface Result {
  /** Events the program handled (all of them, or the wanted ones). */
  readonly handled: number
  readonly wallMs: number
  /** Process CPU time, user + system, over the consumption phase. */
  readonly cpuUs: number
  /** `process.resourceUsage().maxRSS` at the end, in KiB. */
  readonly maxRssKb: number
  /** What the client used, e.g. which inflate. */
  readonly note: string
  /** The consumption phase on the monotonic clock (`process.hrtime`), in microseconds: for the profile. */
  readonly window: readonly [from: number, to: number]
}

/**
 * Reads the task from the command line.
 *
 * @since 0.1.0
 */
export const read = (): Task => JSON.parse(process.argv[2] ?? "") as Task

/**
 * Measures the consumption phase: `start` at READY, `stop` at the end marker.
 *
 * @since 0.1.0
 */
export class Meter {
  private startedAt = 0n
  private startCpu: NodeJS.CpuUsage | undefined

  start(): void {
    this.startCpu = process.cpuUsage()
    this.startedAt = process.hrtime.bigint()
  }

  stop(handled: number, note: string): Result {
    const stoppedAt = process.hrtime.bigint()
    const cpu = process.cpuUsage(this.startCpu)
    return {
      handled,
      wallMs: Number(stoppedAt - this.startedAt) / 1e6,
      cpuUs: cpu.user + cpu.system,
      maxRssKb: process.resourceUsage().maxRSS,
      note,
      window: [Number(this.startedAt / 1000n), Number(stoppedAt / 1000n)]
    }
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
