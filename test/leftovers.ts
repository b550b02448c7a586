/**
 * No test file leaves a socket, a listening server or a child process behind. Vitest runs a worker's
 * files in one process (`isolate: false`), so what one file left open would otherwise go on running
 * under the next; this setup file checks the process's active handles after each file instead.
 */
import { afterAll, expect } from "vitest"

/** The kinds of handle that only a test's own work opens. */
const leftover = (resource: string): boolean => resource.startsWith("TCP") || resource === "ProcessWrap"

/** How long a closing socket may take to be gone. */
const grace = 2000

afterAll(async () => {
  const until = Date.now() + grace
  let open = process.getActiveResourcesInfo().filter(leftover)
  while (open.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    open = process.getActiveResourcesInfo().filter(leftover)
  }
  expect(open, "sockets, servers or child processes left open by this file").toEqual([])
})
