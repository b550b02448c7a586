/**
 * The CLI on a real terminal (a pseudo-terminal): its view laid out over what was told before it,
 * and the terminal closed under it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { hangUp } from "./hangup.ts"
import { allClosed, bundledCli, expectResumableCloses, root, userEnv } from "./support.ts"

const secret = "cli-terminal.Zm9vYmFy.c2VjcmV0"
const token = Redacted.make(secret)
const bundle = bundledCli("cli-terminal")

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line !== "")

/** Runs the CLI (`script`, as test/cli/Lifecycle.test.ts does) on a 20 x 100 terminal until it exits: all the terminal was sent. */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<string>((resume) => {
    const command = `stty rows 20 cols 100; ${[process.execPath, bundle, ...args].join(" ")}`
    const child = spawn("script", ["-q", "-c", command, "/dev/null"], { cwd: root, env: { ...userEnv(), ...env }, stdio: ["pipe", "pipe", "ignore"] })
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
  // no-color.org: a program that colors by default does not where NO_COLOR is set (not empty)
  for (const [noColor, colored] of [[undefined, true], ["1", false], ["", true]] as const) {
    it.live(`log lines on a terminal's stderr are ${colored ? "colored" : "plain"} with NO_COLOR ${noColor === undefined ? "unset" : JSON.stringify(noColor)}`, () =>
      Effect.gen(function*() {
        const screen = yield* onTerminal(["--duration", "1", "--shards", "0", "--format", "ndjson"], { TERM: "xterm-256color", ...(noColor === undefined ? {} : { NO_COLOR: noColor }) })
        const logLine = lines(screen).find((line) => line.includes("starting 1 of 4 shards"))
        expect(logLine).toBeDefined()
        expect(/\u001b\[[0-9;]*m/.test(logLine!)).toBe(colored)
      }), 30_000)
  }

  // TERM=dumb says the terminal takes no escape sequence (Emacs' shell, some CI consoles), as Node's
  // own `hasColors()` and git read it: colours, a scroll region and a cleared screen came out as garbage
  it.live("on a TERM=dumb terminal: log lines carry no colours, and the view lays out no scroll region and clears no screen", () =>
    Effect.gen(function*() {
      const [logged, viewed] = yield* Effect.all([
        onTerminal(["--duration", "1", "--shards", "0", "--format", "ndjson"], { TERM: "dumb" }),
        onTerminal(["--duration", "1", "--shards", "0"], { TERM: "dumb" })
      ], { concurrency: 2 })
      const logLine = lines(logged).find((line) => line.includes("starting 1 of 4 shards"))
      expect(logLine).toBeDefined()
      expect(/\u001b\[[0-9;]*m/.test(logLine!)).toBe(false)
      expect(viewed).toContain("stopped after 1 s")
      expect(viewed).not.toContain("\u001b[2J")
      expect(viewed).not.toMatch(/\u001b\[\d+;\d+r/)
    }), 30_000)

  // Node writes to a terminal synchronously on POSIX: a paused (^S) terminal stopped the whole
  // process, and no heartbeat went out until it took output again (Discord closes such a
  // connection as a zombie); ^Q then ^C, the layout is undone before the process exits
  it.scopedLive("a paused terminal (^S) holds the events back, not the heartbeats; the view is undone at the end", () =>
    Effect.gen(function*() {
      // a heartbeat missed once none came for 2.5 s (1.5 intervals and the slack): a loaded machine's
      // CLI (or this process, whose timer then fires before it reads the beat that came) was late by
      // more than the 300 ms slack once; a paused process sends none for the whole pause
      const gateway = yield* LocalGateway.make({ token, shards: 1, heartbeatInterval: "1 second", heartbeatSlack: "1 second" })
      yield* gateway.startTraffic(500)
      const command = `stty cols 100 rows 30; exec ${process.execPath} ${bundle} --token ${secret} --gateway ${gateway.url} --compress none --log-level warning`
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      let screen = ""
      child.stdout!.setEncoding("utf8").on("data", (text: string) => void (screen += text))
      yield* gateway.awaitLog((log) => log.identifies.some((identify) => identify.outcome === "ready") && log.dispatches.length > 50).pipe(
        Effect.timeoutFail({ duration: Duration.seconds(15), onTimeout: () => new Error("no READY") }),
        Effect.orDie
      )
      const before = (yield* gateway.log).heartbeats.length
      child.stdin!.write("\u0013")
      const pausedAt = Date.now()
      // paused until a 1 s heartbeat went out 5 times, for up to 10 s (6 s, and 5 beats, were within
      // a second of what a CLI whose timers a loaded machine delays sends)
      const during = yield* gateway.awaitLog((log) => log.heartbeats.length >= before + 5).pipe(
        Effect.timeout(Duration.seconds(10)),
        Effect.option,
        Effect.zipRight(gateway.log)
      )
      const missed = during.violations.filter((violation) => violation.kind === "HeartbeatMissed" && violation.at >= pausedAt)
      expect({ beats: during.heartbeats.length - before >= 5, missed: missed.map((violation) => violation.detail) }).toEqual({ beats: true, missed: [] })
      const closed = Effect.async<void>((resume) => void child.once("close", () => resume(Effect.void)))
      child.stdin!.write("\u0011")
      yield* Effect.sleep("200 millis")
      child.stdin!.write("\u0003")
      yield* Effect.timeout(closed, "10 seconds")
      // the scroll region reset, after the last of the log
      expect(screen.lastIndexOf("\u001b[r")).toBeGreaterThan(screen.lastIndexOf("MESSAGE_CREATE"))
      expect(screen).not.toContain(secret)
    }), 40_000)

  it.live("a warning told before the view was laid out is on the screen after its clear (it was erased unread)", () =>
    Effect.gen(function*() {
      const screen = yield* onTerminal(["--duration", "1", "--events", "MESAGE_CREATE,READY"])
      const warning = "warning: --events: MESAGE_CREATE: not a dispatch type this version knows"
      expect(screen).toContain("stopped after 1 s")
      // the embedded gateway's shards 2 and 3 wait 5 s for their identify turn: not ready at 1 s
      expect(screen).toMatch(/stopped after 1 s; (?:0 resumable session\(s\) of 4 shards \(none had a session|[12] resumable session\(s\) of 4 shards \(the others had no session) to resume\)/)
      const lastClear = screen.lastIndexOf("\u001b[2J")
      expect(lastClear).toBeGreaterThanOrEqual(0)
      expect(screen.indexOf(warning, lastClear)).toBeGreaterThan(lastClear)
      // and the embedded gateway's address
      expect(screen.indexOf("embedded local gateway on ws://", lastClear)).toBeGreaterThan(lastClear)
      // and what the library logged before it (only the command line's own lines were)
      expect(screen.indexOf("info: starting 4 of 4 shards", lastClear)).toBeGreaterThan(lastClear)
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
  // the events waited for a paused terminal (Ctrl-S) to drain; the status view was drawn every 500
  // ms all the same, each frame kept in stdout's buffer and all of them replayed once it took output
  // again (about 2 KB a second for four shards; a screenful a frame for a large fleet) (cli4-2)
  it.scopedLive("a paused terminal (^S) holds the status view's redraws back too: stdout's buffer stops growing once it is full", () =>
    Effect.gen(function*() {
      const probe = `${tmpdir()}/terminal-paused-${process.pid}.txt`
      const preload = `${root}node_modules/.cache/effect-discord-gateway/terminal-paused-${process.pid}.mjs`
      // what stdout holds unwritten, and whether it asked for a drain, four times a second, into a
      // file (stderr is the paused terminal too)
      writeFileSync(
        preload,
        `import { appendFileSync } from "node:fs"
setInterval(() => appendFileSync(${JSON.stringify(probe)}, process.stdout.writableLength + " " + process.stdout.writableNeedDrain + "\\n"), 250).unref()
`
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => [preload, probe].forEach((path) => rmSync(path, { force: true }))))
      const gateway = yield* LocalGateway.make({ token, shards: 4, sessionStartLimit: { maxConcurrency: 4 } })
      yield* gateway.startTraffic(500)
      const command = `stty cols 120 rows 30; exec ${process.execPath} --import ${preload} ${bundle} --token ${secret} --gateway ${gateway.url} --shards 0-3 --compress none --log-level warning`
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })),
        (child) => Effect.sync(() => void child.kill("SIGKILL"))
      )
      child.stdout!.resume()
      yield* gateway.awaitLog((log) => log.identifies.some((identify) => identify.outcome === "ready") && log.dispatches.length > 50).pipe(
        Effect.timeoutFail({ duration: Duration.seconds(15), onTimeout: () => new Error("no READY") }),
        Effect.orDie
      )
      child.stdin!.write("\u0013")
      const samples = () =>
        existsSync(probe)
          ? readFileSync(probe, "utf8").split("\n").filter((line) => line !== "").map((line) => {
            const [length, needDrain] = line.split(" ")
            return { length: Number(length), needDrain: needDrain === "true" }
          })
          : []
      // the events filled stdout's buffer: from here on they wait for it to drain
      const firstFull = Effect.sync(() => samples().find((sample) => sample.needDrain))
      const full = yield* Effect.flatMap(firstFull, (sample) => sample === undefined ? Effect.fail("not yet") : Effect.succeed(sample)).pipe(
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeoutFail({ duration: Duration.seconds(10), onTimeout: () => new Error("stdout never filled") }),
        Effect.orDie
      )
      // a second on, then four more: the events held back add nothing; what is added is the redraws
      yield* Effect.sleep("1 second")
      const before = samples().at(-1)!.length
      yield* Effect.sleep("4 seconds")
      const after = samples().at(-1)!.length
      child.stdin!.write("\u0011")
      yield* Effect.sleep("200 millis")
      child.stdin!.write("\u0003")
      yield* Effect.async<void>((resume) => void child.once("close", () => resume(Effect.void))).pipe(Effect.timeout("10 seconds"), Effect.ignore)
      expect(full.needDrain).toBe(true)
      expect(after - before).toBeLessThan(512)
    }), 40_000)
})
