/**
 * What the runner tells an idle-shards memory client and what it answers: the task as JSON in
 * `argv[2]`, the result as one JSON line on stdout. `shards: 0` is the baseline run: the same
 * process with the same imports, nothing started.
 *
 * @since 0.1.0
 */
import { setTimeout as sleep } from "node:timers/promises"

/**
 * The token the memory gateway accepts.
 *
 * @since 0.1.0
 */
export const token = "bench-token"

/**
 * One memory run.
 *
 * @since 0.1.0
 */
export interface Task {
  /** The local gateway's REST base (`http://127.0.0.1:PORT/api`). */
  readonly apiUrl: string
  readonly shards: number
  readonly maxConcurrency: number
  /** Between two identifies of one rate-limit key. */
  readonly spacingMs: number
  /** How long to let the connected shards sit before measuring. */
  readonly settleMs: number
}

/**
 * What a memory run measured, once every shard was READY and had settled, after a full GC.
 *
 * @since 0.1.0
 */
export interface Result {
  readonly shards: number
  /** From the start of the connections to the last READY. */
  readonly readyMs: number
  /**
   * The process's CPU time (user + system) from its start to the last READY (the baseline: to the
   * same point, its shards' fetch of GET /gateway/bot made): what starting the shards cost.
   */
  readonly startupCpuMs: number
  readonly rssKb: number
  readonly heapUsedKb: number
  readonly externalKb: number
  readonly maxRssKb: number
}

/**
 * Reads the task from the command line.
 *
 * @since 0.1.0
 */
export const read = (): Task => JSON.parse(process.argv[2] ?? "") as Task

/**
 * Waits `settleMs`, collects garbage (the process runs with `--expose-gc`), and reads the
 * process's memory.
 *
 * @since 0.1.0
 */
export const measure = async (task: Task, readyMs: number): Promise<Result> => {
  const cpu = process.cpuUsage()
  await sleep(task.settleMs)
  globalThis.gc?.()
  globalThis.gc?.()
  await sleep(500)
  const usage = process.memoryUsage()
  return {
    shards: task.shards,
    readyMs,
    startupCpuMs: (cpu.user + cpu.system) / 1000,
    rssKb: Math.round(usage.rss / 1024),
    heapUsedKb: Math.round(usage.heapUsed / 1024),
    externalKb: Math.round(usage.external / 1024),
    maxRssKb: process.resourceUsage().maxRSS
  }
}

/** The result line and the error line, as the throughput clients write them. */
export { fail, report } from "../clients/task.ts"
