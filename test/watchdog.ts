/**
 * A test that never gives the event loop back fails, instead of hanging the run.
 *
 * Vitest's time limit is a timer, and a timer needs the event loop. Effect (from 3.20.0) gives it a
 * turn only after 2,048 microtask hops of one fiber, counted per fiber: a loop that forks a fresh
 * fiber each round (a `timeout` around a sleep of zero under `TestClock`, which ends at once) never
 * gets there, and the test process spins until CI gives up on it. So a thread of its own watches the
 * test process's event loop: if it has had no turn for `stalledAfter`, the thread names the test that
 * was running and kills the process, which vitest reports as a failed run.
 */
import { beforeEach } from "vitest"
import { Worker } from "node:worker_threads"

/** How long the event loop may go without a turn. No test here holds it for more than seconds. */
const stalledAfter = 60_000

const watcher = `
const { parentPort, workerData } = require("node:worker_threads")
const { writeSync } = require("node:fs")
const turns = new Int32Array(workerData.turns)
let test = "(before the first test)"
let counted = Atomics.load(turns, 0)
let countedAt = Date.now()
parentPort.on("message", (name) => { test = name })
setInterval(() => {
  const count = Atomics.load(turns, 0)
  if (count !== counted) {
    counted = count
    countedAt = Date.now()
  } else if (Date.now() - countedAt > workerData.stalledAfter) {
    const seconds = workerData.stalledAfter / 1000
    writeSync(2, "\\nwatchdog: the event loop had no turn for " + seconds + " s, in " + test + ". Killing the test process.\\n")
    process.kill(process.pid, "SIGKILL")
  }
}, 1000)
`

/** Starts the watching thread and the counter of turns it reads. */
const start = (): Worker => {
  const turns = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)
  const worker = new Worker(watcher, {
    eval: true,
    workerData: { turns, stalledAfter }
  })
  worker.unref()
  const counter = new Int32Array(turns)
  setInterval(() => Atomics.add(counter, 0, 1), 1000).unref()
  return worker
}

// a test process that runs several files (vitest's `isolate: false`) runs this file before each:
// one watcher per process is enough
const key = Symbol.for("effect-discord-gateway/test-watchdog")
const holder = globalThis as { [key]?: Worker }
const worker = holder[key] ??= start()

beforeEach((context) => {
  worker.postMessage(`${context.task.file.name} > ${context.task.name}`)
})
