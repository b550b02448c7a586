/**
 * The CLI on a real terminal (a pseudo-terminal): its view laid out over what was told before it,
 * and the terminal closed under it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { hangUp } from "./hangup.ts"
import { allClosed, bundled, expectResumableCloses, root, userEnv } from "./support.ts"

const secret = "cli-terminal.Zm9vYmFy.c2VjcmV0"
const token = Redacted.make(secret)
const bundle = bundled("cli-terminal")

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line !== "")

/** Runs the CLI (`script`, as test/cli/Lifecycle.test.ts does) on a 20 x 100 terminal until it exits: all the terminal was sent. */
const onTerminal = (args: ReadonlyArray<string>) =>
  Effect.async<string>((resume) => {
    const command = `stty rows 20 cols 100; ${[process.execPath, bundle, ...args].join(" ")}`
    const child = spawn("script", ["-q", "-c", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })
    let output = ""
    child.stdout!.setEncoding("utf8").on("data", (text: string) => void (output += text))
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.on("close", () => {
      clearTimeout(kill)
      resume(Effect.succeed(output))
    })
    return Effect.sync(() => {
      clearTimeout(kill)
      child.kill("SIGKILL")
    })
  })

describe.concurrent("cli on a terminal", () => {
  it.live("a warning told before the view was laid out is on the screen after its clear (it was erased unread)", () =>
    Effect.gen(function*() {
      const screen = yield* onTerminal(["--duration", "1", "--events", "MESAGE_CREATE,READY"])
      const warning = "warning: --events: MESAGE_CREATE: not a dispatch type this version knows"
      expect(screen).toContain("stopped after 1 s")
      const lastClear = screen.lastIndexOf("\u001b[2J")
      expect(lastClear).toBeGreaterThanOrEqual(0)
      expect(screen.indexOf(warning, lastClear)).toBeGreaterThan(lastClear)
      // and the embedded gateway's address
      expect(screen.indexOf("embedded local gateway on ws://", lastClear)).toBeGreaterThan(lastClear)
    }))

  it.scopedLive("a terminal hung up as events stream (EIO, under a shell that passes no SIGHUP on) is a normal end: exit 0, not `stdout cannot be written (EIO)` and exit 1", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      yield* gateway.startTraffic(200)
      const run = yield* hangUp(bundle, ["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson"], "member")
      expectResumableCloses(yield* allClosed(gateway))
      expect(run.sawReady).toBe(true)
      expect(lines(run.stderr).filter((line) => line.startsWith("error:")), run.stderr).toEqual([])
      expect(run.stderr).toMatch(/stopped: the terminal was closed(?: \(SIGHUP\))?; 1 resumable session\(s\)/)
      expect(run.code).toBe(0)
    }))

  it.scopedLive("a closed terminal (SIGHUP) ends the CLI with its exit code, not SIGABRT after a native stack trace (Node 20 restoring the gone terminal)", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      // READY is the last write: the SIGHUP is all the CLI learns of the hang-up
      const run = yield* hangUp(bundle, ["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--events", "READY"], "leader")
      expectResumableCloses(yield* allClosed(gateway))
      expect(run.sawReady).toBe(true)
      // by SIGHUP, or by EIO when a write (an empty one for a skipped event) comes first
      expect(run.stderr).toMatch(/stopped: the terminal was closed(?: \(SIGHUP\))?; 1 resumable session\(s\)/)
      expect(run.stderr).not.toContain("Native stack trace")
      expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null })
    }))
})
