import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/**
 * Test processes: one fewer than the cores, and at least three. Most tests wait on sockets, timers
 * and the `TestClock`'s real-time polls (a test simulating a day of reconnects is idle three
 * quarters of its time): three workers on two cores ran the suite in 3 min 42 s against 4 min 27 s
 * for two, at the same CPU time.
 */
const workers = Math.max(3, availableParallelism() - 1)

/** Test files that replace a module (`vi.mock`): they must not share loaded modules with others. */
const ownModules = ["test/codec/ZlibClose.test.ts", "test/codec/ZstdUnavailable.test.ts", "test/codec/ZstdUnbuilt.test.ts"]

export default defineConfig({
  test: {
    setupFiles: ["test/watchdog.ts", "test/leftovers.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // a worker runs its files one after another on the modules it already loaded: loading Effect
    // and the library again for every file cost about a third of the suite's CPU time
    isolate: false,
    // as many from the start: vitest 3.2 with `isolate: false` and fewer workers at least than at
    // most (3 and 1) ended the run before its last files with "Terminating worker thread"
    maxWorkers: workers,
    minWorkers: workers,
    // vitest gives each project fresh workers, and this one isolates its files from each other, so
    // these files load their own modules
    projects: [
      { extends: true, test: { name: "shared", include: ["test/**/*.test.ts"], exclude: ownModules } },
      { extends: true, test: { name: "own modules", include: ownModules, isolate: true } }
    ]
  }
})
