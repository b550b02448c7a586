/**
 * Shared pieces of the reliability tests: a small seeded PRNG (so a fault schedule replays from
 * its seed), a figures printer whose lines REPORT.md is made from, and a `gc` that works without
 * `--expose-gc` on the command line.
 */
import * as Vm from "node:vm"
import * as V8 from "node:v8"
import * as Traffic from "../../src/testing/Traffic.ts"

/** A tiny seeded generator of numbers in [0, 1) (the local gateway's own). */
export const prng = Traffic.seeded

/** An integer in [min, max] drawn from `random`. */
export const between = (random: () => number, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1))

/** One element of `items` drawn from `random`. */
export const pick = <A>(random: () => number, items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!

/** Prints one line of figures, prefixed so that REPORT.md can be assembled from a run's output. */
export const figures = (section: string, values: Record<string, unknown>): void => {
  // eslint-disable-next-line no-console
  console.log(`[reliability] ${section} ${JSON.stringify(values)}`)
}

/**
 * A full garbage collection: `global.gc` when node runs with `--expose-gc`, otherwise the same
 * function obtained by turning the flag on at run time (V8 exposes `gc` to new contexts then).
 */
export const collectGarbage: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === "function") return exposed
  V8.setFlagsFromString("--expose-gc")
  return Vm.runInNewContext("gc") as () => void
})()
