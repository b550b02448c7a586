/**
 * The command line at `--log-level trace` never writes the token, however it is given (a `Bot `
 * prefix, whitespace, DISCORD_TOKEN) or misplaced (another flag's value, a positional, a typo).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { leaksOf } from "../secrecy.ts"
import { bundledCli, root, userEnv } from "./support.ts"

const secret = "MTE4OTQ1NjEyMzQ1Njc4OTAxMg.GhQk2a.t0pS3cr3t_HmAcPaRt-9f8e7d6c5b4a3210zyxwvuts"
const token = Redacted.make(secret)

const leaksIn = leaksOf(secret)

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const bundle = bundledCli("secrets-cli")

const cli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) =>
  Effect.async<Run>((resume) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd: root,
      env: { ...userEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => void (stdout += text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => void (stderr += text))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => void child.kill("SIGKILL"))
  })

const leaksOfRun = (run: Run) => leaksIn([["stdout", run.stdout], ["stderr", run.stderr]])

describe.concurrent("secrecy: the CLI", () => {
  it.scopedLive("--token 'Bot <t>' at --log-level trace, ndjson, against the local gateway: no run of the token on stdout or stderr", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "500 millis" })
      yield* gateway.startTraffic(20)
      const run = yield* cli(["--token", `Bot ${secret}`, "--api", gateway.apiUrl, "--duration", "2", "--format", "ndjson", "--log-level", "trace"])
      expect(run.code).toBe(0)
      expect(run.stderr).toMatch(/DEBUG|TRACE/)
      expect(leaksOfRun(run)).toEqual([])
    }))

  it.scopedLive("--token with surrounding whitespace, pretty, etf + zstd-stream, at trace: no run of the token", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "500 millis" })
      yield* gateway.startTraffic(20)
      const run = yield* cli([
        "--token",
        `  ${secret}\n`,
        "--api",
        gateway.apiUrl,
        "--duration",
        "2",
        "--format",
        "pretty",
        "--encoding",
        "etf",
        "--compress",
        "zstd-stream",
        "--log-level",
        "TRACE"
      ])
      expect(run.code).toBe(0)
      expect(leaksOfRun(run)).toEqual([])
    }))

  it.scopedLive("DISCORD_TOKEN=' Bot <t> ' with --gateway, closed with 4004 mid-run: exit 1, no run of the token", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "500 millis" })
      const running = yield* Effect.fork(cli(["--gateway", gateway.url, "--duration", "20", "--log-level", "trace"], { DISCORD_TOKEN: ` Bot ${secret} ` }))
      yield* gateway.awaitLog((log) => log.identifies.some((i) => i.outcome === "ready"))
      yield* gateway.close("all", 4004, "Authentication failed.")
      const run = yield* Fiber.join(running)
      expect(run.code).toBe(1)
      expect(leaksOfRun(run)).toEqual([])
    }))

  it.scopedLive("a token GET /gateway/bot refuses (401), from DISCORD_TOKEN, at trace: no run of the token", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      const run = yield* cli(["--api", gateway.apiUrl, "--duration", "20", "--log-level", "trace"], { DISCORD_TOKEN: `${secret}Q` })
      expect(run.code).toBe(1)
      expect(leaksOfRun(run)).toEqual([])
    }))

  const misplaced: ReadonlyArray<ReadonlyArray<string>> = [
    ["--token", secret, "--token", secret],
    ["--token", secret, secret],
    ["--token", "Bot", secret],
    ["--shards", secret],
    ["--shard-count", secret],
    ["--intents", secret],
    ["--intents", `Guilds,${secret}`],
    ["--events", secret, "--duration", "1"],
    ["--api", secret],
    ["--gateway", secret, "--token", secret],
    ["--compress", secret],
    ["--encoding", secret],
    ["--format", secret],
    ["--duration", secret],
    ["--max-message-bytes", secret],
    ["--log-level", secret],
    [`--token=${secret}`, `--tokn=${secret}`],
    [`--${secret}`],
    ["--token", `${secret}\u200b`],
    ["--token", `Bot  ${secret} trailing`]
  ]
  for (const args of misplaced) {
    it.scopedLive(`the token in the wrong place (${args.map((a) => a.replace(secret, "<t>")).join(" ")}): no run of it`, () =>
      Effect.gen(function*() {
        const run = yield* cli([...args, "--log-level", "trace"])
        expect(leaksOfRun(run)).toEqual([])
      }))
  }
})
