/**
 * A stop while the reader of stdout has fallen behind: stdout gets one second to drain, whatever
 * stopped the run, and what the reader has not taken by then is dropped. A `--duration` or
 * SIGHUP stop waited for that reader to read everything (for ever if it never read again), and the
 * terminal view's Ctrl-C stop gave stdout a second before the shards' close and another after it.
 * The CLI is spawned as test/cli/cli.test.ts does it, bundled, against a gateway on loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { bundledCli, root, userEnv } from "./support.ts"

const secret = "stop-drain-test-token.U1RPUERSQUlO.c2VjcmV0"
const token = Redacted.make(secret)
const bundle = bundledCli("cli-stop-drain")

// how long the reader stalls before it reads again: far past any stop's bound
const stall = 12_000

/**
 * Runs the CLI with `args`, nobody reading its stdout for `stall` ms; `signal` is sent once
 * `identified` completes (the gateway saw the Identify: the CLI's handlers are in place) and a
 * second more went by, for the events to fill stdout. Its exit code, its stderr, and the
 * milliseconds from the stop (the signal, or the stop line where no signal was sent) to the exit.
 */
const stalledRun = (args: ReadonlyArray<string>, identified: Effect.Effect<void>, signal?: NodeJS.Signals) =>
  Effect.gen(function*() {
    const child = spawn(process.execPath, [bundle, ...args], { cwd: root, env: userEnv(), stdio: ["ignore", "pipe", "pipe"] })
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    child.stdout.pause()
    let stderr = ""
    let stopAt: number | undefined
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text
      if (stopAt === undefined && /stopped/.test(stderr)) stopAt = Date.now()
    })
    const reading = setTimeout(() => child.stdout.resume(), stall)
    const exited = Effect.async<number | null>((resume) => void child.once("exit", (code) => resume(Effect.succeed(code))))
    if (signal !== undefined) {
      yield* identified
      yield* Effect.sleep("1 second")
      stopAt = Date.now()
      child.kill(signal)
    }
    const code = yield* exited
    clearTimeout(reading)
    return { code, stderr, afterStop: Date.now() - (stopAt ?? Number.NaN) }
  })

/**
 * A gateway (JSON, no compression) that answers an Identify with READY and 3000 MESSAGE_CREATEs of
 * about 1 KB (more than a pipe and the CLI's stdout hold), then stops reading: the client's close
 * is never answered. `identified` completes at the Identify.
 */
const floodThenDeaf = Effect.acquireRelease(
  Effect.async<WebSocketServer>((resume) => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
    server.once("listening", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      for (const client of server.clients) client.terminate()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => {
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  const identify = Effect.runSync(Deferred.make<void>())
  server.on("connection", (socket, request) => {
    socket.on("error", () => {})
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null }))
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { readonly op: number; readonly d: { readonly shard?: unknown } }
      if (message.op !== 2) return
      Deferred.unsafeDone(identify, Exit.void)
      const user = { id: "1234567890123456", username: "bot" }
      const d = { v: 10, session_id: "deadbeef", resume_gateway_url: url, user, application: { id: user.id }, guilds: [], shard: message.d.shard }
      socket.send(JSON.stringify({ op: 0, s: 1, t: "READY", d }))
      for (let s = 2; s < 3000; s++) {
        const created = { id: String(s), channel_id: "1", guild_id: "2", author: { id: "3", username: "someone" }, content: "x".repeat(1000) }
        socket.send(JSON.stringify({ op: 0, s, t: "MESSAGE_CREATE", d: created }))
      }
      setTimeout(() => {
        request.socket.removeAllListeners("data")
        request.socket.on("data", () => {})
      }, 200)
    })
  })
  return { url, identified: Deferred.await(identify) }
}))

/** What the local gateway's log says once a shard identified. */
const identifiedOn = (gateway: LocalGateway.LocalGateway) => Effect.asVoid(gateway.awaitLog((log) => log.identifies.length > 0))

describe.concurrent("a stop with the reader of stdout behind", () => {
  it.scopedLive("--duration exits within its bound of the stop line, not when the stalled reader reads again", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 1 })
      yield* gateway.startTraffic(2000)
      const args = ["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--duration", "2", "--log-level", "none"]
      const run = yield* stalledRun(args, identifiedOn(gateway))
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("stopped after 2 s; 1 resumable session(s)")
      // a second to drain after the stop line (it exited when the reader came back)
      expect(run.afterStop).toBeLessThan(stall / 2)
    }), 30_000)

  it.scopedLive("a closed terminal (SIGHUP) exits within about 2 s, not when the stalled reader reads again", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 1 })
      yield* gateway.startTraffic(2000)
      const args = ["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--log-level", "none"]
      const run = yield* stalledRun(args, identifiedOn(gateway), "SIGHUP")
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("stopped: the terminal was closed (SIGHUP); 1 resumable session(s)")
      expect(run.afterStop).toBeLessThan(stall / 2)
    }), 30_000)

  // the view's release let stdout out for a second before the shards' close began (a second more
  // for a gateway that does not answer it), then the run's last flush waited on it again: 3 s
  it.scopedLive("Ctrl-C on the terminal view with a gateway that does not answer the close: one second for the close, one for stdout", () =>
    Effect.gen(function*() {
      const { url, identified } = yield* floodThenDeaf
      const args = ["--token", secret, "--gateway", url, "--compress", "none", "--format", "pretty", "--log-level", "none"]
      const run = yield* stalledRun(args, identified, "SIGINT")
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("stopped (interrupted); 1 resumable session(s)")
      expect(run.afterStop).toBeLessThan(2700)
    }), 30_000)

  // the status view waits for room in stdout as the events do, and is drawn once there is: skipped
  // while stdout was full, it was never drawn again for a reader slower than the events, whose
  // lines refill stdout the moment it drains (rereview69-2)
  it.scopedLive("a reader slower than the events still gets the plain output's status block now and then", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 1 })
      yield* gateway.startTraffic(1000)
      const out = yield* Effect.async<string>((resume) => {
        const child = spawn(process.execPath, [bundle, "--token", secret, "--api", gateway.apiUrl, "--format", "pretty", "--duration", "9"], {
          cwd: root,
          env: userEnv(),
          stdio: ["ignore", "pipe", "ignore"]
        })
        // read in paused mode throughout, and decoded at the end: switching the stream to flowing
        // after `read(n)` once threw a TypeError out of Node's stream code (howMuchToRead) on a
        // loaded machine, and the run never closed
        const chunks: Array<Buffer> = []
        const stdout = child.stdout!
        // some 20 KB a second, less than the events' lines
        const slowly = setInterval(() => {
          const chunk = stdout.read(2048) as Buffer | null
          if (chunk !== null) chunks.push(chunk)
        }, 100)
        const drain = () => {
          for (let chunk = stdout.read() as Buffer | null; chunk !== null; chunk = stdout.read() as Buffer | null) chunks.push(chunk)
        }
        child.on("exit", () => {
          clearInterval(slowly)
          stdout.on("readable", drain)
          drain()
        })
        // (a run that does not end in time is cut short: what it wrote by then is judged)
        const cut = setTimeout(() => child.kill("SIGKILL"), 15_000)
        child.on("close", () => {
          clearTimeout(cut)
          resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
        })
        return Effect.sync(() => {
          clearInterval(slowly)
          clearTimeout(cut)
          child.kill("SIGKILL")
        })
      })
      const blocks = out.split("\n").filter((line) => line.includes("events/s")).length
      // drawn at the start and once stdout had room after 5 s (about 6.5 s in): the second is out
      // of the process well before it exits, and read from the pipe after
      expect(blocks).toBeGreaterThanOrEqual(2)
    }), 40_000)
})
