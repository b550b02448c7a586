/**
 * `npm start`'s own command, run as npm runs it (its process group signalled as a terminal's Ctrl-C
 * signals it): the CLI in node's own process, with no launcher between it and the signal.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { allClosed, expectResumableCloses, root, userEnv } from "./support.ts"

const secret = "cli-start-script.Zm9vYmFy.c2VjcmV0"
const token = Redacted.make(secret)

const startScript: string = JSON.parse(readFileSync(`${root}package.json`, "utf8")).scripts.start

/**
 * A preload (NODE_OPTIONS takes it for every node process of the run) that, in the CLI's process,
 * keeps the event loop busy for `ms` once the first READY line is out, saying "stalling" on stderr
 * first: the moment's work a large GUILD_CREATE, a major GC or a loaded machine gives a process.
 */
const stallPreload = (ms: number): string => {
  const path = `${root}node_modules/.cache/effect-discord-gateway/start-stall-${process.pid}.mjs`
  writeFileSync(
    path,
    `if ((process.argv[1] ?? "").endsWith("main.ts")) {
  const write = process.stdout.write.bind(process.stdout)
  let done = false
  process.stdout.write = (text, ...rest) => {
    const written = write(text, ...rest)
    if (!done && String(text).includes('"t":"READY"')) {
      done = true
      setTimeout(() => {
        process.stderr.write("stalling\\n")
        const until = Date.now() + ${ms}
        while (Date.now() < until);
      }, 0)
    }
    return written
  }
}
`
  )
  return path
}

describe("npm start's command", () => {
  // tsx's own launcher (`tsx src/cli/main.ts`, the script before) sends a Ctrl-C on to the CLI again
  // when the CLI has not told it within 30 ms that it got the signal, and kills it 30 ms later: a
  // Ctrl-C finding the CLI busy for a moment was taken for a second one (exit 130 at once, no close)
  // or killed it, its shards dropped unclosed and nothing said (cli4-1)
  it.scopedLive("Ctrl-C to its process group while the CLI is busy for a moment closes resumably and exits 0", () =>
    Effect.gen(function*() {
      expect(startScript.startsWith("node ")).toBe(true)
      const preload = stallPreload(250)
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(preload, { force: true })))
      const gateway = yield* LocalGateway.make({ token, shards: 1 })
      yield* gateway.startTraffic(20)
      const [command, ...args] = startScript.split(" ")
      const run = yield* Effect.async<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resume) => {
        const child = spawn(command!, [...args, "--token", secret, "--api", gateway.apiUrl, "--format", "ndjson"], {
          cwd: root,
          env: { ...userEnv(), NODE_OPTIONS: `--import=${preload}` },
          stdio: ["ignore", "ignore", "pipe"],
          detached: true
        })
        let stderr = ""
        let signalled = false
        child.stderr!.setEncoding("utf8").on("data", (text: string) => {
          stderr += text
          if (!signalled && stderr.includes("stalling\n")) {
            signalled = true
            process.kill(-child.pid!, "SIGINT")
          }
        })
        const groupKill = () => {
          try {
            process.kill(-child.pid!, "SIGKILL")
          } catch {
            // gone
          }
        }
        const kill = setTimeout(groupKill, 20_000)
        child.on("close", (code, signal) => {
          clearTimeout(kill)
          resume(Effect.succeed({ code, signal, stderr }))
        })
        return Effect.sync(() => {
          clearTimeout(kill)
          groupKill()
        })
      })
      const log = yield* allClosed(gateway)
      const last = run.stderr.split("\n").filter((line) => line !== "").at(-1)
      expect({ code: run.code, signal: run.signal, last }).toEqual({ code: 0, signal: null, last: "stopped (interrupted); 1 resumable session(s)" })
      expectResumableCloses(log)
    }), 30_000)
})
