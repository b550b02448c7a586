/**
 * Stops of the CLI on a terminal that is slow to take its output (its reader paused): the view is
 * undone after the last event line, the stop line below it, and a second Ctrl-C meanwhile still
 * undoes it. The CLI runs on a pseudo-terminal (`script`, as test/cli/Terminal.test.ts does);
 * signals go to the CLI's own pid.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { bundledCli, root, userEnv } from "./support.ts"

const secret = "terminal-stops.Zm9vYmFy.c2VjcmV0"
const token = Redacted.make(secret)
const bundle = bundledCli("cli-terminal-stops")

interface Step {
  /** ms after the previous step (the first: after `ready` holds) */
  readonly after: number
  readonly act: "SIGINT" | "SIGTERM" | "pauseReader" | "resumeReader"
}

/**
 * Runs the CLI on a 30 x 100 pty; once `ready(screen)` holds, performs `steps`; returns all the
 * terminal got, and the CLI's exit status (the shell prints it after the CLI).
 */
const onTerminal = (args: ReadonlyArray<string>, ready: (screen: string) => boolean, steps: ReadonlyArray<Step>) =>
  Effect.async<{ screen: string; status: string }>((resume) => {
    const dir = mkdtempSync(join(tmpdir(), "terminal-stops-"))
    const pidFile = join(dir, "pid")
    const command = `stty rows 30 cols 100; sh -c 'echo $$ > ${pidFile}; exec ${process.execPath} ${bundle} ${
      args.join(" ")
    }'; echo "EXIT=$?"`
    const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })
    let screen = ""
    child.stdout!.setEncoding("utf8").on("data", (text: string) => void (screen += text))
    const timers: Array<ReturnType<typeof setTimeout>> = []
    let armed = false
    const pid = () => Number(readFileSync(pidFile, "utf8").trim())
    const poll = setInterval(() => {
      if (armed || !ready(screen)) return
      armed = true
      clearInterval(poll)
      let at = 0
      for (const step of steps) {
        at += step.after
        timers.push(setTimeout(() => {
          try {
            if (step.act === "pauseReader") child.stdout!.pause()
            else if (step.act === "resumeReader") child.stdout!.resume()
            else process.kill(pid(), step.act)
          } catch {
            // gone already
          }
        }, at))
      }
      // killed if it still runs 15 s after the last step (it was 25 s from the spawn, which a loaded
      // machine's start and its 4 s of steps took most of: killed mid-stop, the view never undone);
      // a run never `ready` ends with the test's timeout
      timers.push(setTimeout(() => child.kill("SIGKILL"), at + 15_000))
    }, 20)
    child.on("close", () => {
      for (const timer of timers) clearTimeout(timer)
      clearInterval(poll)
      rmSync(dir, { recursive: true, force: true })
      const status = /EXIT=(\d+)/.exec(screen)?.[1] ?? "none"
      resume(Effect.succeed({ screen, status }))
    })
    return Effect.sync(() => {
      for (const timer of timers) clearTimeout(timer)
      clearInterval(poll)
      child.kill("SIGKILL")
    })
  })

const reset = "\u001b[r"
// the status view's drawing: save the cursor, home
const statusDraw = "\u001b7\u001b["
const lastEvent = (screen: string) =>
  Math.max(screen.lastIndexOf("MESSAGE_"), screen.lastIndexOf("READY"), screen.lastIndexOf("GUILD_"), screen.lastIndexOf("TYPING"))

const facts = (screen: string, stopLine: RegExp) => {
  const end = screen.indexOf("EXIT=")
  const body = end >= 0 ? screen.slice(0, end) : screen
  const lastReset = body.lastIndexOf(reset)
  const stop = body.search(stopLine)
  return {
    resetPresent: lastReset >= 0,
    resetAfterLastEvent: lastReset > lastEvent(body),
    statusNotDrawnAfterReset: body.lastIndexOf(statusDraw) < lastReset,
    stopLineAfterReset: stop > lastReset,
    stopLineShown: stop >= 0
  }
}

const gatewayWithTraffic = (rate: number) =>
  Effect.gen(function*() {
    const gateway = yield* LocalGateway.make({ token, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
    yield* gateway.startTraffic(rate)
    return gateway
  })

const expected = {
  resetPresent: true,
  resetAfterLastEvent: true,
  statusNotDrawnAfterReset: true,
  stopLineAfterReset: true,
  stopLineShown: true
}

const enoughEvents = (screen: string) => (screen.match(/MESSAGE_CREATE/g) ?? []).length > 30

describe.concurrent("cli on a slow terminal: stops", () => {
  // the run's scope undid the view, then interrupted the fiber writing the events, which went on
  // writing its backlog below the view it had undone
  it.scopedLive("Ctrl-C with the terminal behind (its reader paused 4 s): the view undone after the last event, the stop line below it, no status drawn after", () =>
    Effect.gen(function*() {
      const gateway = yield* gatewayWithTraffic(1000)
      const run = yield* onTerminal(["--token", secret, "--api", gateway.apiUrl], enoughEvents, [
        { after: 0, act: "pauseReader" },
        { after: 4000, act: "SIGINT" },
        { after: 200, act: "resumeReader" }
      ])
      expect(facts(run.screen, /stopped \(interrupted\); /)).toEqual(expected)
      expect(run.status).toBe("0")
    }), 60_000)

  // the run's scope let go of the second-signal listener first: a second Ctrl-C while the terminal
  // caught up killed the process by SIGINT, the scroll region left set in the shell. The second
  // comes 800 ms after the first (within the stop's second for the terminal to catch up): 300 ms
  // apart, a full suite on a loaded machine once ended the run with 0, likely the two merged into
  // one by the kernel (a signal sent while the same one is pending), the CLI blocked writing to the
  // full terminal and given no CPU between them
  // a second SIGTERM ended it with 130 too, where a shell says 143 for a process SIGTERM ended
  for (const [second, status] of [["SIGINT", "130"], ["SIGTERM", "143"]] as const) {
    it.scopedLive(`a second ${second === "SIGINT" ? "Ctrl-C" : "SIGTERM"} during that stop ends the process (${status}) with the view undone`, () =>
      Effect.gen(function*() {
        const gateway = yield* gatewayWithTraffic(1000)
        const run = yield* onTerminal(["--token", secret, "--api", gateway.apiUrl], enoughEvents, [
          { after: 0, act: "pauseReader" },
          { after: 4000, act: second },
          { after: 800, act: second },
          { after: 50, act: "resumeReader" }
        ])
        const seen = facts(run.screen, /stopped \(interrupted\); /)
        expect({
          resetPresent: seen.resetPresent,
          resetAfterLastEvent: seen.resetAfterLastEvent,
          statusNotDrawnAfterReset: seen.statusNotDrawnAfterReset,
          status: run.status
        }).toEqual({ resetPresent: true, resetAfterLastEvent: true, statusNotDrawnAfterReset: true, status })
      }), 60_000)
  }
})
