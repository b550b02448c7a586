import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/** Test processes: one fewer than the cores, and at least two. */
const workers = Math.max(2, availableParallelism() - 1)

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
    // most tests wait on sockets and timers: two workers even on two cores (vitest's default is one
    // fewer than the cores). As many from the start: vitest 3.2 with `isolate: false` and fewer
    // workers at least than at most (3 and 1) ends the run before its last files with "Terminating
    // worker thread"
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
