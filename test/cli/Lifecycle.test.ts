/**
 * The command line's process lifecycle when things around it fail: Ctrl-C and --duration with a
 * gateway that stopped answering, and a stderr nobody reads. The CLI is spawned as
 * test/cli/cli.test.ts does it: the sources bundled once by esbuild into node_modules/.cache, run
 * by plain node against a gateway on loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { readyingGateway } from "../readyingGateway.ts"
import { allClosed, bundledCli, expectResumableCloses, root, userEnv } from "./support.ts"

/** A recognizable token: it must never show up in any output. */
const secret = "lifecycle-test-token.Q0xJTElGRQ.c2VjcmV0"
const token = Redacted.make(secret)

const bundle = bundledCli("cli-lifecycle")

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** Milliseconds from the first signal to the exit. */
  readonly afterSignal: number | undefined
}

interface How {
  /** Sends these signals (spaced by `gap` ms) once `when` holds for the output so far. */
  readonly signals?: ReadonlyArray<NodeJS.Signals>
  readonly when?: (output: { stdout: string; stderr: string }) => boolean
  readonly gap?: number
  /** Milliseconds between `when` holding and the first signal. */
  readonly delay?: number
  /** Kill it (SIGKILL) if it has not exited this long after the first signal. */
  readonly deadline?: number
  /** Its stdout is /dev/full, where every write fails (ENOSPC: a full disk), instead of a pipe. */
  readonly full?: boolean
  /** The reader of its stdout is gone before it writes anything (`| true`). */
  readonly stdoutClosed?: boolean
  /** The sources run through tsx, as `npm start` runs them, instead of the bundle. */
  readonly sources?: boolean
  /** Modules loaded before it (`node --import`). */
  readonly imports?: ReadonlyArray<string>
}

/** Spawns the CLI, signals it as told, and waits for it to exit (and its stdout to end). */
const cli = (args: ReadonlyArray<string>, how: How = {}) =>
  Effect.async<Run>((resume) => {
    const full = how.full === true ? openSync("/dev/full", "w") : undefined
    const imports = [...(how.sources === true ? ["tsx"] : []), ...(how.imports ?? [])].flatMap((module) => ["--import", module])
    const child: ChildProcess = spawn(process.execPath, [...imports, how.sources === true ? "src/cli/main.ts" : bundle, ...args], {
      cwd: root,
      env: userEnv(),
      stdio: ["ignore", full ?? "pipe", "pipe"]
    })
    if (full !== undefined) closeSync(full)
    let stdout = ""
    let stderr = ""
    let signalledAt: number | undefined
    let exitedAt: number | undefined
    let code: number | null = null
    let signal: NodeJS.Signals | null = null
    const timers: Array<ReturnType<typeof setTimeout>> = []
    let armed = false
    const check = () => {
      if (armed || how.signals === undefined) return
      if (how.when !== undefined && !how.when({ stdout, stderr })) return
      armed = true
      clearInterval(poll)
      timers.push(setTimeout(() => {
        signalledAt = Date.now()
        how.signals!.forEach((sig, i) => timers.push(setTimeout(() => child.kill(sig), i * (how.gap ?? 300))))
        timers.push(setTimeout(() => child.kill("SIGKILL"), how.deadline ?? 8000))
      }, how.delay ?? 0))
    }
    const poll = setInterval(check, 20)
    if (how.stdoutClosed === true) child.stdout?.destroy()
    child.stdout?.setEncoding("utf8")
    child.stdout?.on("data", (text: string) => {
      stdout += text
      check()
    })
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      stderr += text
      check()
    })
    check()
    child.on("exit", (c, s) => {
      exitedAt = Date.now()
      code = c
      signal = s
    })
    child.on("close", () => {
      for (const timer of timers) clearTimeout(timer)
      clearInterval(poll)
      resume(Effect.succeed({
        code,
        signal,
        stdout,
        stderr,
        afterSignal: signalledAt === undefined ? undefined : (exitedAt ?? Date.now()) - signalledAt
      }))
    })
    return Effect.sync(() => {
      for (const timer of timers) clearTimeout(timer)
      clearInterval(poll)
      child.kill("SIGKILL")
    })
  })

/**
 * A gateway that answers Hello and READY, then stops reading its socket: the client's close frame
 * never reaches `ws`, so the close handshake never completes, as when the network went away or the
 * gateway hangs (the case where an operator reaches for Ctrl-C). `ws` gives up on a close
 * handshake after 30 s. It turns deaf `deafAfter` ms after READY; `closeCame` tells whether the
 * client's close frame came since (its stop began).
 */
const deafGateway = (deafAfter = 50) => {
  // when the close frame came (`performance.now()`), if it did
  let closeAt: number | undefined
  return Effect.map(
    readyingGateway({
      readied: (request) => {
        // what comes is dropped, unread by `ws`; a masked client frame's first byte holds the
        // opcode, 0x8 for a close (nothing else is sent once READY came)
        const deafen = () => {
          request.socket.removeAllListeners("data")
          request.socket.on("data", (bytes: Buffer) => {
            if (closeAt === undefined && (bytes[0]! & 0x0f) === 0x8) closeAt = performance.now()
          })
        }
        if (deafAfter === 0) deafen()
        else setTimeout(deafen, deafAfter)
      }
    }),
    (url) => ({ url, closeCame: () => closeAt !== undefined, closeCameAt: () => closeAt })
  )
}

/**
 * A gateway that answers Hello and READY, then answers the client's close frame with 4004 (the
 * token was reset meanwhile) instead of its echo: read from the TCP socket before `ws` reads it.
 * Nothing else is sent, so the client's close frame comes alone in its read.
 */
const fatalOnCloseGateway = readyingGateway({
  connected: (socket, request) => {
    // a masked client frame's first byte: FIN and the opcode, 0x8 for a close
    request.socket.prependListener("data", (bytes: Buffer) => {
      if ((bytes[0]! & 0x0f) === 0x8) socket.close(4004, "Authentication failed.")
    })
  }
})

/** A gateway that answers every websocket upgrade with 429 and an hour's Retry-After. */
const refusingGateway = Effect.acquireRelease(
  Effect.async<Http.Server>((resume) => {
    const server = Http.createServer((_request, response) => response.writeHead(404).end())
    server.on("upgrade", (_request, socket) => {
      socket.end("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => `ws://127.0.0.1:${(server.address() as AddressInfo).port}`))

/** An API on loopback that answers every request with `status`; how many it was asked. */
const failingApi = (status: number) =>
  Effect.gen(function*() {
    let asked = 0
    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        const server = Http.createServer((_request, response) => {
          asked++
          response.writeHead(status).end()
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    )
    return { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, asked: () => asked }
  })

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line !== "")

/**
 * Runs the CLI with its stdout on a TCP connection to a reader that takes nothing and, a moment
 * after the first bytes came, goes away with them unread (a reset): the CLI's next write fails with
 * ECONNRESET where a pipe's gone reader gives EPIPE.
 */
const withSocketStdout = (args: ReadonlyArray<string>) =>
  Effect.async<{ readonly code: number | null; readonly stderr: string }>((resume) => {
    const server = Net.createServer((peer) => {
      peer.pause()
      peer.once("readable", () => setTimeout(() => peer.resetAndDestroy(), 300))
    })
    let child: ChildProcess | undefined
    let client: Net.Socket | undefined
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      client = Net.connect(port, "127.0.0.1", () => {
        child = spawn(process.execPath, [bundle, ...args], { cwd: root, env: userEnv(), stdio: ["ignore", client!, "pipe"] })
        // the child has its own copy of the descriptor
        client!.destroy()
        let stderr = ""
        child.stderr!.setEncoding("utf8").on("data", (text: string) => void (stderr += text))
        child.on("close", (code) => {
          server.close()
          resume(Effect.succeed({ code, stderr }))
        })
      })
      client.on("error", () => {})
    })
    return Effect.sync(() => {
      child?.kill("SIGKILL")
      client?.destroy()
      server.close()
    })
  })

describe.concurrent("CLI lifecycle", () => {
  it.scopedLive("Ctrl-C with a gateway that no longer answers exits within a few seconds, not after ws's 30 s close timeout", () =>
    Effect.gen(function*() {
      const { url } = yield* deafGateway()
      const run = yield* cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson"], {
        signals: ["SIGINT"],
        when: ({ stdout }) => /"t":"READY"/.test(stdout),
        delay: 300,
        // killed here if it has not exited by then (ws alone would hold the socket 30 s)
        deadline: 12_000
      })
      // the session's own stop waits 1 s for the close (its scope finalizer), then gives up
      expect(run.signal).toBeNull()
      expect(run.code).toBe(0)
      expect(run.afterSignal).toBeLessThan(8000)
      expect(run.stdout + run.stderr).not.toContain(secret)
    }))

  // while the stop waits for a gateway that no longer answers: a Ctrl-C passed on again at once (by
  // npm, by tsx's launcher) is the same one, and the stop runs on; a second one later ends the
  // process at once with 130, as a shell says of a process Ctrl-C ended (Node's default killed it
  // by the signal, once Effect's runMain no longer listened) (rereview69-1)
  for (const [gap, ends] of [[30, "the stop"], [450, "the process, at once"]] as const) {
    it.scopedLive(`a second Ctrl-C ${gap} ms after the first ends ${ends}`, () =>
      Effect.gen(function*() {
        const { url } = yield* deafGateway()
        const run = yield* cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson"], {
          signals: ["SIGINT", "SIGINT"],
          gap,
          when: ({ stdout }) => /"t":"READY"/.test(stdout),
          delay: 300,
          deadline: 12_000
        })
        expect(run.signal).toBeNull()
        if (gap === 30) {
          expect(run.code).toBe(0)
          expect(run.stderr).toContain("stopped (interrupted); 1 resumable session(s)")
        } else {
          expect(run.code).toBe(130)
          expect(run.stderr).not.toContain("resumable session(s)")
        }
      }))
  }

  // the stop after a closed terminal (or stdout) waited the session's default 5 s for the close,
  // where Ctrl-C's waits 1 s: about 6 s to exit, the README says about 2
  // (the two run side by side, under the same load: what is compared is their difference, 5 s before)
  it.scopedLive("a closed terminal (SIGHUP) with a gateway that no longer answers exits as soon as Ctrl-C would", () =>
    Effect.gen(function*() {
      const stopBy = (signal: NodeJS.Signals) =>
        Effect.flatMap(deafGateway(), ({ url }) =>
          cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson"], {
            signals: [signal],
            when: ({ stdout }) => /"t":"READY"/.test(stdout),
            delay: 300,
            deadline: 15_000
          }))
      const [hungUp, interrupted] = yield* Effect.all([stopBy("SIGHUP"), stopBy("SIGINT")], { concurrency: 2 })
      expect([hungUp.signal, hungUp.code, interrupted.code]).toEqual([null, 0, 0])
      expect(hungUp.stderr).toContain("1 resumable session(s)")
      expect(hungUp.afterSignal!).toBeLessThan(interrupted.afterSignal! + 2500)
    }))

  // It exited 0 without a word: the operator could not tell a stop from a run that never began.
  it.scopedLive("Ctrl-C while the first GET /gateway/bot is tried again (an API that answers 503) says the shards never started, and exits 0", () =>
    Effect.gen(function*() {
      const { api } = yield* failingApi(503)
      const run = yield* cli(["--token", secret, "--api", api], {
        signals: ["SIGINT"],
        when: ({ stderr }) => /trying again/.test(stderr)
      })
      expect(run.signal).toBeNull()
      expect(run.code).toBe(0)
      expect(run.stderr.trim().split("\n").at(-1)).toBe("stopped (interrupted) before the shards started")
      expect(run.stdout + run.stderr).not.toContain(secret)
    }))

  // A closed terminal, or --duration (a cron job during an API outage), were heard only once the
  // fleet had started: the retries went on for ever.
  it.scopedLive("a closed terminal (SIGHUP) or --duration ends a run whose first GET /gateway/bot keeps failing", () =>
    Effect.gen(function*() {
      const { api } = yield* failingApi(503)
      const [hungUp, timedOut] = yield* Effect.all([
        cli(["--token", secret, "--api", api], { signals: ["SIGHUP"], when: ({ stderr }) => /trying again/.test(stderr) }),
        // killed (no exit code) if it still runs 15 s after its first retry was told: timed from its
        // start, a loaded machine's start alone took most of the 22 s it had
        cli(["--token", secret, "--api", api, "--duration", "2"], { signals: ["SIGKILL"], when: ({ stderr }) => /trying again/.test(stderr), delay: 15_000 })
      ], { concurrency: "unbounded" })
      expect([hungUp.code, timedOut.code]).toEqual([0, 0])
      expect(hungUp.stderr.trim().split("\n").at(-1)).toBe("stopped: the terminal was closed (SIGHUP) before the shards started")
      expect(timedOut.stderr.trim().split("\n").at(-1)).toBe("stopped after 2 s before the shards started")
    }), 60_000)

  // Every failure but a rejected token was tried again: a wrong --api looped for ever.
  it.scopedLive("a first GET /gateway/bot answered 404 (a wrong --api) is not tried again: exit 1 and one error line", () =>
    Effect.gen(function*() {
      const { api, asked } = yield* failingApi(404)
      // killed (no exit code) if it still runs 15 s after the API was first asked, time enough to ask
      // again (timed from its start, a loaded machine's start alone took most of the 22 s it had)
      const run = yield* cli(["--token", secret, "--api", api], { signals: ["SIGKILL"], when: () => asked() > 0, delay: 15_000 })
      expect({ code: run.code, asked: asked() }).toEqual({ code: 1, asked: 1 })
      expect(lines(run.stderr)).toEqual([`error: GET /gateway/bot failed: status 404 for ${api}/gateway/bot; trying again cannot mend it: check the api option`])
    }), 60_000)

  it.scopedLive("--duration with a gateway that no longer answers stops within the disconnect bound and exits", () =>
    Effect.gen(function*() {
      const { url } = yield* deafGateway()
      // --duration counts from the CLI's start, before it connects: it must outlast the way to READY,
      // which a loaded machine's CLIs (a dozen starting at once here) took over 2 s for (with 1 s, the
      // stop came before READY, at a gateway not yet deaf, with no session to resume). No event of
      // the CLI's tells when its --duration began: a margin
      const run = yield* cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson", "--duration", "5"], {
        // no signal: SIGWINCH is ignored by node; only the deadline below counts, from READY
        signals: ["SIGWINCH"],
        when: ({ stdout }) => /"t":"READY"/.test(stdout),
        deadline: 16_000
      })
      // at most 5 s of --duration from READY, then fleet.disconnect waits at most 1 s for the close to
      // go through, and the socket at most 1 s more (ws alone would hold it 30 s: killed at the deadline)
      expect(run.signal).toBeNull()
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("stopped after 5 s; 1 resumable session(s)")
      expect(run.afterSignal).toBeLessThan(14_000)
    }), 45_000)

  // the view showed "Disconnected" only, and at the default log level nothing was told until the
  // fifth failure in a row: five hours later
  it.scopedLive("a shard the gateway keeps away (its upgrade answered 429, Retry-After an hour) shows why in the status view", () =>
    Effect.gen(function*() {
      const url = yield* refusingGateway
      const run = yield* cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--format", "pretty"], {
        signals: ["SIGINT"],
        // the second status block (5 s after the first) comes after the refusal
        when: ({ stdout }) => (stdout.match(/^shard +state/gm) ?? []).length >= 2
      })
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^0 +Disconnected .*connect failed: HTTP 429; retry after 3600 s$/m)
    }))

  // a script running --duration must learn that its token is dead: it was told "stopped", exit 0
  it.scopedLive("a fatal close answering the stop's own close (--duration, or Ctrl-C) is an error: exit 1, its error line last", () =>
    Effect.gen(function*() {
      const url = yield* fatalOnCloseGateway
      const args = ["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson"]
      const runs = yield* Effect.all([
        // --duration counts from the CLI's start, before it connects: it must outlast the way to
        // READY, which took over 2 s on a loaded machine (a stop before it, and the run had no READY
        // line). No event of the CLI's tells when its --duration began: a margin
        cli([...args, "--duration", "5"]),
        cli(args, { signals: ["SIGINT"], when: ({ stdout }) => /"t":"READY"/.test(stdout) })
      ], { concurrency: "unbounded" })
      for (const run of runs) {
        expect(run.stdout).toMatch(/"t":"READY"/)
        const errors = lines(run.stderr).filter((line) => line.startsWith("error:"))
        expect({ code: run.code, errors, last: lines(run.stderr).at(-1) }).toEqual({
          code: 1,
          errors: [expect.stringMatching(/4004/)],
          last: expect.stringMatching(/^error: .*4004/)
        })
        expect(run.stderr).not.toContain(secret)
      }
    }), 45_000)

  it.scopedLive("a closed terminal (SIGHUP) while a Ctrl-C stop waits for the gateway lets that stop finish: exit 0, not death by the signal", () =>
    Effect.gen(function*() {
      const { url } = yield* deafGateway(0)
      const run = yield* cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson"], {
        signals: ["SIGINT", "SIGHUP"],
        when: ({ stdout }) => /"t":"READY"/.test(stdout),
        delay: 300,
        gap: 200,
        deadline: 12_000
      })
      expect(run.signal).toBeNull()
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("stopped (interrupted); 1 resumable session(s)")
    }))

  it.live("--help into a pipe whose reader is gone (`npm start -- --help | true`) exits 0 without an EPIPE stack trace", () =>
    Effect.gen(function*() {
      const run = yield* cli(["--help"], { stdoutClosed: true, sources: true })
      expect(run.stderr).not.toMatch(/EPIPE|^\s+at /m)
      expect([run.signal, run.code]).toEqual([null, 0])
      // tsx compiles the sources as it starts: over 30 s on a loaded machine
    }), 60_000)

  // README: "a stdout socket whose reader went away (ECONNRESET ...)" stops the run as a closed
  // stdout does: it was "error: stdout cannot be written (ECONNRESET)", exit 1 (inetd, systemd's
  // socket output)
  it.live("a stdout socket whose reader went away (ECONNRESET) is a closed stdout: exit 0", () =>
    Effect.gen(function*() {
      const run = yield* withSocketStdout(["--shards", "0", "--format", "ndjson"])
      expect(run.stderr).not.toMatch(/error: stdout cannot be written/)
      expect(run.stderr).toMatch(/stopped: stdout was closed/)
      expect(run.code).toBe(0)
    }), 30_000)

  // it said "0 resumable session(s) of 1 shard (the others had no session to resume)": there are
  // no others (and then, for two, "none had no session", as if both had one)
  it.live("a stop with no session to resume says its shard had none, or that none had one", () =>
    Effect.gen(function*() {
      // a port on loopback that refuses connections: the shard never connects
      const port = yield* Effect.async<number>((resume) => {
        const server = Http.createServer().listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          server.close(() => resume(Effect.succeed(port)))
        })
      })
      const run = yield* cli(["--token", secret, "--gateway", `ws://127.0.0.1:${port}`, "--duration", "1.5", "--log-level", "none"])
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("stopped after 1.5 s; 0 resumable session(s) of 1 shard (it had no session to resume)")
      const two = yield* cli(["--token", secret, "--gateway", `ws://127.0.0.1:${port}`, "--shards", "0,1", "--duration", "1", "--log-level", "none"])
      expect(two.stderr).toContain("stopped after 1 s; 0 resumable session(s) of 2 shards (none had a session to resume)")
      // two CLI starts one after the other: over 30 s on a loaded machine
    }), 60_000)

  it.scopedLive("--duration past what one timer waits (30 days; 2^31 - 1 ms is 24.8) still stops the run", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      // every timer of over 10^8 ms (only such a --duration asks for one) fires after 200 ms: a run
      // that schedules its stop stops at once; one whose sleep was never scheduled runs on
      const shortened = "data:text/javascript," + encodeURIComponent(`const real = globalThis.setTimeout
globalThis.setTimeout = (fn, ms, ...rest) => real(fn, typeof ms === "number" && ms > 1e8 ? 200 : ms, ...rest)`)
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--duration", "2592000"], {
        imports: [shortened],
        signals: ["SIGWINCH"],
        when: ({ stdout }) => /"t":"READY"/.test(stdout),
        deadline: 10_000
      })
      expect([run.signal, run.code]).toEqual([null, 0])
      expect(run.stderr).toContain("stopped after 2592000 s")
    }))

  it.scopedLive("Ctrl-C while it stops because stdout cannot be written (a full disk) keeps exit 1", () =>
    Effect.gen(function*() {
      const { closeCame, url } = yield* deafGateway(0)
      const run = yield* cli(["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--format", "ndjson"], {
        full: true,
        // READY's line fails to be written, and the stop that follows waits 1 s for the deaf
        // gateway's answer to its close: the signal comes during that wait
        signals: ["SIGINT"],
        when: closeCame,
        delay: 200,
        deadline: 12_000
      })
      // one stop, told once: Ctrl-C waited for the one under way
      expect(run.stderr).toContain("error: stdout cannot be written (ENOSPC); 1 resumable session(s)")
      expect(run.stderr).not.toContain("stopped (interrupted)")
      expect(run.signal).toBeNull()
      expect(run.code).toBe(1)
    }))

  it.live("a second Ctrl-C on a terminal, while a stop (--duration) waits for the gateway, restores the terminal before the process ends", () =>
    Effect.gen(function*() {
      // One run: the screen, and whether the second ^C went while the stop still waited (within
      // 600 ms of its close frame, of the 1 s it waits): on a loaded machine this process's timer
      // may come after the stop's end, and such a run shows nothing of the second ^C
      const run = Effect.scoped(Effect.gen(function*() {
        const { closeCame, closeCameAt, url } = yield* deafGateway(0)
        // `script` runs the CLI on a pseudo-terminal (the pretty view, its scroll region set); a ^C
        // typed into it signals the CLI through the terminal, as a user's does; the stop
        // (--duration, from the CLI's start) must come after READY, which a loaded machine takes
        // seconds to reach
        const args = ["--token", secret, "--gateway", url, "--shard-count", "1", "--compress", "none", "--duration", "4"]
        const command = [process.execPath, bundle, ...args].join(" ")
        let secondAt: number | undefined
        const screen = yield* Effect.async<string>((resume) => {
          const child = spawn("script", ["-q", "-c", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })
          let output = ""
          child.stdout!.setEncoding("utf8").on("data", (text: string) => void (output += text))
          const timers = [
            setInterval(() => {
              if (!closeCame()) return
              clearInterval(timers[0])
              // the stop began (its close frame came) and waits 1 s for the deaf gateway's answer:
              // the first ^C waits for it, the second ends the process (400 ms on: one within
              // Signals.sameSignalMs of the first is that one passed on again)
              child.stdin!.write("\u0003")
              timers.push(setTimeout(() => {
                secondAt = performance.now()
                child.stdin!.write("\u0003")
              }, 400))
            }, 20),
            setTimeout(() => child.kill("SIGKILL"), 12_000)
          ]
          child.on("close", () => {
            for (const timer of timers) clearTimeout(timer)
            resume(Effect.succeed(output))
          })
          return Effect.sync(() => {
            for (const timer of timers) clearTimeout(timer)
            child.kill("SIGKILL")
          })
        })
        const closedAt = closeCameAt()
        return { screen, inTime: secondAt !== undefined && closedAt !== undefined && secondAt - closedAt < 600 }
      }))
      let last = yield* run
      for (let tries = 1; tries < 3 && !last.inTime; tries++) last = yield* run
      expect(last.inTime, "no run of three had its second ^C within the stop's wait").toBe(true)
      const { screen } = last
      const first = screen.indexOf("^C")
      expect(first).toBeGreaterThan(-1)
      // the scroll region is reset (ESC [ r) after the ^Cs, and the process gone before the stop said
      // anything
      expect(screen.indexOf("\u001b[r", first)).toBeGreaterThan(first)
      expect(screen).not.toContain("resumable session(s)")
      expect(screen).not.toContain(secret)
    }), 60_000)

  // the stop's flush of stdout, bounded to a second, ran in a finalizer, where its timeout could not
  // cut the wait short: the stop line, the shards' closes and the exit waited for the reader (it
  // exited 12 s after the signal, as the reader's `sleep 15` ended)
  it.scopedLive("SIGTERM with a stdout reader far behind stops the shards and exits within a few seconds, every line before the last whole", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 1 })
      yield* gateway.startTraffic(2000)
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, [bundle, "--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--log-level", "none"], {
            cwd: root,
            env: userEnv(),
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      // nobody reads stdout for now
      child.stdout.pause()
      let stderr = ""
      child.stderr.setEncoding("utf8").on("data", (text: string) => void (stderr += text))
      let exitedAt: number | undefined
      // the reader takes what there is once the process is gone: from the exit event itself, as
      // Node lets the stream flow into nothing on the next tick of an exit (data unread then is lost)
      let stdout = ""
      const stdoutEnded = yield* Deferred.make<string>()
      const exited = yield* Effect.fork(Effect.async<number | null>((resume) =>
        void child.once("exit", (code) => {
          exitedAt = Date.now()
          child.stdout.setEncoding("utf8").on("data", (chunk: string) => void (stdout += chunk))
          child.stdout.once("end", () => Deferred.unsafeDone(stdoutEnded, Exit.succeed(stdout)))
          child.stdout.resume()
          resume(Effect.succeed(code))
        })
      ))
      // more than the pipe and the reader's buffer hold (some 200 KB), then a second for stdout to fill
      yield* gateway.awaitLog((log) => log.dispatches.length > 400).pipe(Effect.timeout("20 seconds"), Effect.orDie)
      yield* Effect.sleep("1 second")
      const signalledAt = Date.now()
      child.kill("SIGTERM")
      yield* Effect.ignore(Effect.timeout(Fiber.await(exited), "5 seconds"))
      const stopped = { stopLine: /stopped \(interrupted\); 1 resumable session\(s\)/.test(stderr), exitedWithin5s: exitedAt !== undefined && exitedAt - signalledAt < 5000 }
      const code = yield* Effect.timeout(Fiber.join(exited), "10 seconds")
      expect({ ...stopped, code }).toEqual({ stopLine: true, exitedWithin5s: true, code: 0 })
      // what the pipe had taken: every event from the first, each line whole, but for the last, which
      // the exit may cut (the pipe took part of a write, and the rest was still in the process)
      const lines = (yield* Effect.timeout(Deferred.await(stdoutEnded), "10 seconds")).split("\n")
      lines.pop()
      expect(lines.length).toBeGreaterThan(0)
      const sequences = lines.map((line) => (JSON.parse(line) as { readonly seq: number }).seq)
      expect(sequences).toEqual(sequences.map((_, i) => i + 1))
      expectResumableCloses(yield* allClosed(gateway))
    }), 45_000)

  it.scopedLive("a stderr nobody reads any more (2> >(head -1), a log pipe that died) does not crash the run", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      yield* gateway.startTraffic(20)
      const run = yield* Effect.async<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string }>(
        (resume) => {
          const child = spawn(process.execPath, [bundle, "--token", secret, "--api", gateway.apiUrl, "--format", "ndjson"], {
            cwd: root,
            env: userEnv(),
            stdio: ["ignore", "pipe", "pipe"]
          })
          // the reader of stderr is gone before the CLI writes its first line
          child.stderr!.destroy()
          let stdout = ""
          // stopped once READY and an event after it are out, the stop line then written to the dead
          // stderr too (a --duration of 2 s counted the start, which a loaded machine's took most of:
          // the stop came before READY)
          let stopped = false
          child.stdout!.setEncoding("utf8").on("data", (text: string) => {
            stdout += text
            if (!stopped && /"t":"READY"/.test(stdout) && /"seq":2,/.test(stdout)) {
              stopped = true
              child.kill("SIGINT")
            }
          })
          // a run that hangs (or never gets to READY) is killed: no exit code
          const kill = setTimeout(() => child.kill("SIGKILL"), 25_000)
          child.on("close", (code, signal) => {
            clearTimeout(kill)
            resume(Effect.succeed({ code, signal, stdout }))
          })
          return Effect.sync(() => {
            clearTimeout(kill)
            child.kill("SIGKILL")
          })
        }
      )
      const log = yield* allClosed(gateway)
      // as with a stderr that is read: events streamed, resumable close, exit 0
      expect(run.stdout).toContain("\"t\":\"READY\"")
      expect(run.code).toBe(0)
      expectResumableCloses(log)
    }), 45_000)
})
