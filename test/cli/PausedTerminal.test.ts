/**
 * The CLI on a paused terminal (Ctrl-S, through `script`): log and stop lines on stderr wait in its
 * buffer as the events do on stdout, so the shards go on and a stop ends in time.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { execFileSync, spawn } from "node:child_process"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { root, userEnv } from "./support.ts"

const secret = "cli-paused.Zm9vYmFy.c2VjcmV0"
const token = Redacted.make(secret)

describe("the CLI on a paused terminal", () => {
  // stderr was written synchronously: the fleet's Info line for a session lost (op 9, not
  // resumable) stopped the whole process on a paused terminal, the other shard's heartbeats with it
  it.scopedLive("a paused terminal (^S) at the default log level: a session lost meanwhile does not stop the other shard's heartbeats", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({
        token,
        shards: 2,
        sessionStartLimit: { maxConcurrency: 2 },
        heartbeatInterval: "1 second",
        heartbeatSlack: "1 second"
      })
      yield* gateway.startTraffic(500)
      const command = `stty cols 100 rows 30; exec ${process.execPath} --import tsx src/cli/main.ts --token ${secret} --api ${gateway.apiUrl} --compress none`
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      let screen = ""
      child.stdout!.setEncoding("utf8").on("data", (text: string) => void (screen += text))
      yield* gateway.awaitLog((log) => log.identifies.filter((identify) => identify.outcome === "ready").length >= 2 && log.dispatches.length > 100).pipe(
        Effect.timeoutFail({ duration: Duration.seconds(15), onTimeout: () => new Error("no READY") }),
        Effect.orDie
      )
      child.stdin!.write("\u0013")
      const pausedAt = Date.now()
      // the events fill what the paused terminal takes, as they do in the existing test
      yield* Effect.sleep("1 second")
      const before = (yield* gateway.log).heartbeats.length
      yield* gateway.invalidateSession({ shard: 0 }, false)
      const during = yield* gateway.awaitLog((log) => log.heartbeats.length >= before + 5).pipe(
        Effect.timeout(Duration.seconds(5)),
        Effect.option,
        Effect.zipRight(gateway.log)
      )
      const missed = during.violations.filter((violation) => violation.kind === "HeartbeatMissed" && violation.at >= pausedAt)
      child.stdin!.write("\u0011")
      yield* Effect.sleep("200 millis")
      child.stdin!.write("\u0003")
      yield* Effect.timeout(Effect.async<void>((resume) => void child.once("close", () => resume(Effect.void))), "10 seconds").pipe(Effect.ignore)
      expect({ beats: during.heartbeats.length - before >= 5, missed: missed.map((violation) => violation.detail) }).toEqual({ beats: true, missed: [] })
    }), 40_000)

  // the stop line, written to the paused terminal's stderr, held the exit until it was resumed
  it.scopedLive("SIGTERM to the CLI on a paused terminal (^S) exits within a few seconds", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 1, heartbeatInterval: "1 second" })
      yield* gateway.startTraffic(500)
      const command = `stty cols 100 rows 30; exec ${process.execPath} --import tsx src/cli/main.ts --token ${secret} --api ${gateway.apiUrl} --compress none`
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: userEnv(), stdio: ["pipe", "pipe", "ignore"] })),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      child.stdout!.setEncoding("utf8").on("data", () => {})
      const closed = Effect.async<void>((resume) => void child.once("close", () => resume(Effect.void)))
      yield* gateway.awaitLog((log) => log.identifies.some((identify) => identify.outcome === "ready") && log.dispatches.length > 100).pipe(
        Effect.timeoutFail({ duration: Duration.seconds(15), onTimeout: () => new Error("no READY") }),
        Effect.orDie
      )
      // the CLI: the node process script runs (exec'd by its shell)
      const pid = Number(execFileSync("pgrep", ["-P", String(child.pid), "-f", "src/cli/main.ts"], { encoding: "utf8" }).trim().split("\n")[0])
      child.stdin!.write("\u0013")
      yield* Effect.sleep("1 second")
      process.kill(pid, "SIGTERM")
      const sentAt = Date.now()
      const exited = yield* Effect.timeout(closed, "6 seconds").pipe(Effect.option)
      const took = Date.now() - sentAt
      child.stdin!.write("\u0011")
      expect({ exited: exited._tag === "Some", withinFiveSeconds: took < 5000 }).toEqual({ exited: true, withinFiveSeconds: true })
    }), 30_000)
})
