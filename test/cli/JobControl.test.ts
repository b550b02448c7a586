/**
 * Ctrl-Z on the CLI's terminal view: the job stops with the terminal as the shell expects it. The
 * CLI runs under an interactive bash on a pseudo-terminal (`script`), so a typed ^Z stops the job
 * as it does for a user (under `script -c` alone the job's process group is orphaned, and the
 * kernel drops SIGTSTP).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { bundledCli, root, userEnv } from "./support.ts"

const secret = "job-control-token.Sk9CQ1RM.c2VjcmV0"
const token = Redacted.make(secret)
const bundle = bundledCli("cli-job-control")

/** What the terminal showed: the CLI's view, a ^Z typed once READY showed, then `fg` and the job killed. */
const stoppedAndContinued = (apiUrl: string) =>
  Effect.async<string>((resume) => {
    const child = spawn("script", ["-qfc", "bash --norc --noprofile -i", "/dev/null"], {
      cwd: root,
      env: { ...userEnv(), PS1: "PROMPT$ ", DISCORD_TOKEN: secret },
      stdio: ["pipe", "pipe", "ignore"]
    })
    let screen = ""
    child.stdout!.setEncoding("utf8").on("data", (text: string) => void (screen += text))
    child.stdin!.write(`stty rows 30 cols 100; ${process.execPath} ${bundle} --api ${apiUrl} --log-level none\n`)
    const timers: Array<ReturnType<typeof setTimeout>> = []
    // each key is typed once the terminal shows what the one before it brought about (typed at fixed
    // times after READY, `fg` came before the shell said the job stopped, and ^C before the view
    // was laid out again, when a loaded machine's CLI was slow to stop or to go on): ^Z 500 ms after
    // READY, `fg` once the shell says the job stopped, ^C once a scroll region is set again after
    // it, `exit` once a prompt is back (bash's own for root, who keeps no PS1 from the environment);
    // a step that never comes leaves the rest untyped, and the run is killed at the end
    let step = 0
    const after = (marker: string, pattern: RegExp) => {
      const at = screen.indexOf(marker)
      return at > -1 && pattern.test(screen.slice(at + marker.length))
    }
    const poll = setInterval(() => {
      if (step === 0 && screen.includes("READY")) {
        step = 1
        timers.push(setTimeout(() => {
          screen += "<<^Z>>"
          child.stdin!.write("\u001a")
        }, 500))
      } else if (step === 1 && after("<<^Z>>", /Stopped/)) {
        step = 2
        screen += "<<fg>>"
        child.stdin!.write("fg\n")
      } else if (step === 2 && after("<<fg>>", /\u001b\[\d+;\d+r/)) {
        step = 3
        screen += "<<^C>>"
        child.stdin!.write("\u0003")
      } else if (step === 3 && after("<<^C>>", /[$#] $/)) {
        step = 4
        clearInterval(poll)
        child.stdin!.write("exit\n")
        timers.push(setTimeout(() => child.kill("SIGKILL"), 2000))
      }
    }, 20)
    timers.push(setTimeout(() => child.kill("SIGKILL"), 25_000))
    child.on("close", () => {
      for (const timer of timers) clearTimeout(timer)
      clearInterval(poll)
      resume(Effect.succeed(screen))
    })
    return Effect.sync(() => {
      for (const timer of timers) clearTimeout(timer)
      clearInterval(poll)
      child.kill("SIGKILL")
    })
  })

describe("the CLI's view and job control", () => {
  // the shell's prompt came back inside the view's scroll region, under status lines frozen above
  // it, until the job was resumed and ended (or the user typed `reset`)
  it.scopedLive("Ctrl-Z undoes the view's scroll region before the job stops, and fg lays it out again", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      yield* gateway.startTraffic(5)
      const screen = yield* stoppedAndContinued(gateway.apiUrl)
      const typed = screen.indexOf("<<^Z>>")
      const stopped = screen.indexOf("Stopped", typed)
      const continued = screen.indexOf("<<fg>>", stopped)
      expect([typed, stopped, continued].every((at) => at > -1)).toBe(true)
      // undone before the shell said the job stopped
      expect(screen.slice(typed, stopped)).toContain("\u001b[r")
      // a scroll region set again (ESC [ top;bottom r) once the job went on
      expect(screen.slice(continued)).toMatch(/\u001b\[\d+;\d+r/)
    }), 40_000)
})
