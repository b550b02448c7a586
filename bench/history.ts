/**
 * The target figures of every full `npm run bench`, oldest first, kept in bench/history.json: on a
 * noisy machine one run cannot settle a target within a few hundredths, several can.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"

/**
 * The figures kept per run: ours against the floor (CPU per event) per workload, and ours against
 * @discordjs/ws (RSS per idle shard).
 *
 * @since 0.1.0
 */
export const keys = ["small zlib-stream", "large zlib-stream", "small none", "filtered zlib-stream", "filtered none", "memory"] as const

/**
 * One of {@link keys}.
 *
 * @since 0.1.0
 */
export type Key = typeof keys[number]

/**
 * Each target's limit (issue 6): at most this much of the floor's CPU per event, or of @discordjs/ws's
 * RSS per idle shard.
 *
 * @since 0.1.0
 */
export const limits: Readonly<Record<Key, number>> = {
  "small zlib-stream": 1.15,
  "large zlib-stream": 1.10,
  "small none": 1.15,
  "filtered zlib-stream": 0.5,
  "filtered none": 0.5,
  memory: 0.8
}

/**
 * How many events a client consumed before its measured ones.
 *
 * @since 0.1.0
 */
export interface Warmup {
  readonly small: number
  readonly large: number
}

/**
 * The warm-up of the dated runs recorded without one (the first seven, before the warm-up grew).
 *
 * @since 0.1.0
 */
const earlierWarmup: Warmup = { small: 100_000, large: 1_200 }

/**
 * A run's warm-up: as recorded, {@link earlierWarmup} for a dated run without one, `undefined` for
 * the runs taken from the README (not recorded).
 *
 * @since 0.1.0
 */
export const warmupOf = (entry: Entry): Warmup | undefined =>
  entry.warmup ?? (entry.date === null ? undefined : earlierWarmup)

/**
 * One full run: when it ran and on which commit (`null` for the runs recorded before this file
 * existed, taken from the README's record of them), its warm-up (see {@link warmupOf}) and its
 * figures (a figure with no record is absent).
 *
 * @since 0.1.0
 */
export interface Entry {
  readonly date: string | null
  readonly commit: string | null
  readonly warmup?: Warmup | undefined
  readonly figures: Partial<Record<Key, number>>
}

const file = new URL("./history.json", import.meta.url)

/**
 * The runs recorded so far, oldest first.
 *
 * @since 0.1.0
 */
export const read = (): ReadonlyArray<Entry> =>
  existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ReadonlyArray<Entry>) : []

/**
 * Records one more run; returns every run, this one last.
 *
 * @since 0.1.0
 */
export const append = (entry: Entry): ReadonlyArray<Entry> => {
  const entries = [...read(), entry]
  writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`)
  return entries
}
