/**
 * `npm start`'s own command, and npm running it, its process group signalled as a terminal's Ctrl-C
 * signals it: one Ctrl-C stops the shards resumably, also when it reaches the CLI twice.
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

// `npm start` itself with `shell` as npm's script shell, its process group sent SIGINT once READY is out
const throughNpm = (shell: string) =>
  Effect.gen(function*() {
    const gateway = yield* LocalGateway.make({ token, shards: 1 })
    yield* gateway.startTraffic(20)
    const run = yield* Effect.async<{ code: number | null; stderr: string }>((resume) => {
      const child = spawn(
        "npm",
        ["start", `--script-shell=${shell}`, "--", "--token", secret, "--api", gateway.apiUrl, "--format", "ndjson"],
        { cwd: root, env: userEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true }
      )
      let stdout = ""
      let stderr = ""
      let signalled = false
      child.stderr!.setEncoding("utf8").on("data", (text: string) => void (stderr += text))
      child.stdout!.setEncoding("utf8").on("data", (text: string) => {
        stdout += text
        if (!signalled && stdout.includes('"t":"READY"')) {
          signalled = true
          setTimeout(() => process.kill(-child.pid!, "SIGINT"), 300)
        }
      })
      const groupKill = () => {
        try {
          process.kill(-child.pid!, "SIGKILL")
        } catch {
          // gone
        }
      }
      const kill = setTimeout(groupKill, 25_000)
      child.on("close", (code) => {
        clearTimeout(kill)
        resume(Effect.succeed({ code, stderr }))
      })
      return Effect.sync(() => {
        clearTimeout(kill)
        groupKill()
      })
    })
    return { run, log: yield* allClosed(gateway) }
  })

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

  // npm passes the group's SIGINT on to its script's process, which bash (the script shell of
  // macOS, Fedora, Arch) made the CLI itself: every Ctrl-C came twice, and the second, with
  // Effect's runMain no longer listening, killed the CLI with its shards unclosed (rereview69-1)
  for (const shell of ["/bin/bash", "/bin/sh"]) {
    it.scopedLive(`Ctrl-C to npm start's process group, ${shell} as the script shell, stops the CLI resumably`, () =>
      Effect.gen(function*() {
        const { log, run } = yield* throughNpm(shell)
        expect(run.stderr.split("\n").filter((line) => line !== "").at(-1)).toBe("stopped (interrupted); 1 resumable session(s)")
        expectResumableCloses(log)
      }), 40_000)
  }
})
