/**
 * The command line as a user runs it, spawned as a child process (no shell) and pointed at a local
 * gateway started by the test on 127.0.0.1: `npm start`'s way (`node --import tsx src/cli/main.ts`)
 * for the run without a token, and the same sources bundled once by esbuild (the compiler tsx uses)
 * for the others, which then start in a third of the CPU time.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { allClosed, bundledCli, expectResumableCloses, root, userEnv } from "./support.ts"

const secret = "cli-test-token.Zm9vYmFy.c2VjcmV0"
const token = Redacted.make(secret)
const wrongSecret = "cli-wrong-token.YmFyYmF6.bm9wZQ"

/** What a finished CLI process left behind. */
interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** When it exited (`Date.now()`, the gateway's live clock). */
  readonly exitedAt: number
  /** Milliseconds from the stop (if one was made) to exit. */
  readonly afterStop: number | undefined
}

/** How a test stops a CLI that runs without `--duration`: Ctrl-C, or the reader of stdout going away. */
interface Stop {
  /** Stop once stdout so far satisfies this. */
  readonly when: (stdout: string) => boolean
  readonly by: "SIGINT" | "SIGTERM" | "SIGHUP" | "closing stdout"
}

/** How a test runs the CLI. */
interface How {
  /** Stop it as a user would once its output says so; without this it runs until it exits. */
  readonly stop?: Stop
  /** Modules loaded before the CLI (`--import`). */
  readonly preloads?: ReadonlyArray<string>
  /** The sources through tsx, as `npm start` runs them, instead of the bundle. */
  readonly tsx?: boolean
  /**
   * Where stdout goes instead of being read: a file descriptor, or "stalled", a pipe nobody reads
   * until the CLI says it stopped (a slow consumer, `| sleep 60`).
   */
  readonly stdout?: "stalled" | number
}

const bundle = bundledCli("cli")

/** Spawns the CLI and waits for it to exit. The process is killed if the test is interrupted. */
const cli = (args: ReadonlyArray<string>, { preloads = [], stdout: out, stop, tsx = false }: How = {}) =>
  Effect.async<Run>((resume) => {
    let stoppedAt: number | undefined
    const imports = [...(tsx ? ["tsx"] : []), ...preloads].flatMap((module) => ["--import", module])
    const entry = tsx ? "src/cli/main.ts" : bundle
    const child = spawn(process.execPath, [...imports, entry, ...args], {
      cwd: root,
      env: userEnv(),
      stdio: ["ignore", typeof out === "number" ? out : "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    if (out === "stalled") child.stdout?.pause()
    else {
      child.stdout?.setEncoding("utf8").on("data", (text: string) => {
        stdout += text
        if (stop !== undefined && stoppedAt === undefined && stop.when(stdout)) {
          stoppedAt = Date.now()
          if (stop.by !== "closing stdout") child.kill(stop.by)
          else child.stdout?.destroy()
        }
      })
    }
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      stderr += text
      // the stop was made: the stalled reader reads on, so that the process can exit
      if (out === "stalled" && /stopped/.test(stderr)) child.stdout?.resume()
    })
    child.on("close", (code, signal) => {
      const now = Date.now()
      resume(Effect.succeed({
        code,
        signal,
        stdout,
        stderr,
        exitedAt: now,
        afterStop: stoppedAt === undefined ? undefined : now - stoppedAt
      }))
    })
    return Effect.sync(() => void child.kill("SIGKILL"))
  })

/** One parsed ndjson line. */
interface Line {
  readonly shard: number
  readonly seq: number
  readonly t: string
  readonly d: Record<string, unknown>
}

const shape = /^\{"shard":\d+,"seq":\d+,"t":"[A-Z0-9_]+","d":\{.*\}\}$/

/** Parses stdout as ndjson, insisting on the exact line shape and key order. */
const ndjson = (stdout: string): Array<Line> => {
  expect(stdout === "" || stdout.endsWith("\n")).toBe(true)
  return stdout.split("\n").filter((text) => text !== "").map((text) => {
    expect(text).toMatch(shape)
    const value = JSON.parse(text) as Record<string, unknown>
    expect(Object.keys(value)).toEqual(["shard", "seq", "t", "d"])
    expect(typeof value["d"] === "object" && value["d"] !== null && !Array.isArray(value["d"])).toBe(true)
    return value as unknown as Line
  })
}

const lines = (text: string): Array<string> => text.split("\n").filter((line) => line !== "")

describe.concurrent("the command line", () => {
  it.scopedLive("streams exact ndjson for every shard, then closes resumably and exits 0", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
      yield* gateway.startTraffic(20)
      // stopped once each shard showed six events (a --duration counts the start too, which a loaded
      // machine's can take most of)
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson"], {
        stop: { when: (stdout) => [0, 1].every((shard) => stdout.split(`{"shard":${shard},`).length > 6), by: "SIGINT" }
      })
      const log = yield* allClosed(gateway)
      expect(run.stderr).not.toContain("{\"shard\"")
      expect(run.code).toBe(0)
      const events = ndjson(run.stdout)

      const sessions = new Map<number, string>()
      for (const shard of [0, 1]) {
        const own = events.filter((event) => event.shard === shard)
        expect(own[0]?.t).toBe("READY")
        expect(own.length).toBeGreaterThan(5)
        // sequences: 1, 2, 3, ... with nothing lost or repeated
        expect(own.map((event) => event.seq)).toEqual(own.map((_, i) => i + 1))
        sessions.set(shard, String(own[0]!.d["session_id"]))
      }
      expect(events.every((event) => sessions.has(event.shard))).toBe(true)
      // each line is the dispatch the gateway sent with that sequence
      for (const event of events) {
        const sent = log.dispatches.find((d) => d.sessionId === sessions.get(event.shard) && d.seq === event.seq)
        expect(sent?.t).toBe(event.t)
      }
      expect(log.violations).toEqual([])
      expect(log.identifies.map((i) => i.shard[0]).sort()).toEqual([0, 1])
      expectResumableCloses(log)
      expect(run.stderr).toContain("2 resumable session(s)")
      expect(run.stdout + run.stderr).not.toContain(secret)
    }))

  it.scopedLive("--events MESSAGE_CREATE shows only message creates; a name it does not know is warned about", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      yield* gateway.startTraffic(40)
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--events", "MESSAGE_CREATE,MESAGE_UPDATE"], {
        stop: { when: (stdout) => stdout.includes(`"t":"MESSAGE_CREATE"`), by: "SIGINT" }
      })
      expect(run.stderr).toContain("warning: --events: MESAGE_UPDATE: not a dispatch type this version knows")
      const log = yield* allClosed(gateway)
      expect(run.code).toBe(0)
      const events = ndjson(run.stdout)
      expect(events.length).toBeGreaterThan(0)
      expect(new Set(events.map((event) => event.t))).toEqual(new Set(["MESSAGE_CREATE"]))
      // the gateway did send other types, which were left out
      const sentTypes = new Set(log.dispatches.map((d) => d.t))
      expect(sentTypes).toContain("READY")
      expect(sentTypes).toContain("GUILD_CREATE")
      // the lines are the message creates sent, in order, none skipped (the last ones may be cut by the close)
      const sent = log.dispatches.filter((d) => d.t === "MESSAGE_CREATE" && d.connection !== undefined).map((d) => d.seq)
      expect(events.map((event) => event.seq)).toEqual(sent.slice(0, events.length))
      expect(log.violations).toEqual([])
    }))

  it.scopedLive("--shards 1 --shard-count 2 runs shard 1 only", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 2, strictShardCount: true })
      yield* gateway.startTraffic(20)
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--shards", "1", "--shard-count", "2"], {
        stop: { when: (stdout) => stdout.split("\n").length > 2, by: "SIGINT" }
      })
      const log = yield* allClosed(gateway)
      expect(run.code).toBe(0)
      const events = ndjson(run.stdout)
      expect(events[0]?.t).toBe("READY")
      expect(events.length).toBeGreaterThan(1)
      expect(events.every((event) => event.shard === 1)).toBe(true)
      expect(log.identifies.map((i) => i.shard)).toEqual([[1, 2]])
      expect(log.connections.every((c) => c.shard?.[0] === 1)).toBe(true)
      expect(log.violations).toEqual([])
      expectResumableCloses(log)
    }))

  // known only from GET /gateway/bot: the fleet's words named no flag
  it.scopedLive("--shards past the recommended shard count exits 2 with one error line naming the flags", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 2 })
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--shards", "0-3"])
      expect(run.code).toBe(2)
      expect(lines(run.stderr)).toEqual([
        "error: invalid options: shard ids must be below the shard count 2 (GET /gateway/bot's recommendation; give shardCount for another), got 2, 3; on the command line: --shards or --shard-count"
      ])
    }))

  it.scopedLive("--max-message-bytes reaches the shards: a message over it, sent again on the resume, ends the run naming the flag", () =>
    Effect.gen(function*() {
      // with presences, a small guild's GUILD_CREATE lists its 40 members: some 7 KB, READY under 1 KB
      const gateway = yield* LocalGateway.make({ token, membersPerGuild: 40 })
      const run = yield* cli([
        "--token",
        secret,
        "--api",
        gateway.apiUrl,
        "--duration",
        "30",
        "--intents",
        "Guilds,GuildPresences",
        "--max-message-bytes",
        "4KiB"
      ])
      const log = yield* allClosed(gateway)
      expect(run.code).toBe(1)
      expect(lines(run.stderr).at(-1)).toMatch(
        /^error: shard 0: the gateway sent a message over maxMessageBytes \(4096 bytes\) after sequence 1, and again on the next try; .*; on the command line: --max-message-bytes$/
      )
      // it was given up at once on the second try, well before --duration
      expect(log.connections.length).toBe(2)
      expect(log.violations).toEqual([])
    }))

  // the fleet's words named no flag, as they do for the shards and the message size
  it.scopedLive("privileged intents the application has not enabled (4014) end the run naming --intents", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, privilegedIntents: 0 })
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--duration", "30", "--intents", "Guilds,GuildMembers"])
      expect(run.code).toBe(1)
      expect(lines(run.stderr).at(-1)).toMatch(/^error: shard 0: the gateway closed with 4014 .*; on the command line: --intents$/)
    }))

  it.scopedLive("a token the gateway rejects (4004) ends the run at once with exit 1 and one error line", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      // --gateway with --shard-count: no GET /gateway/bot, straight to Identify
      const run = yield* cli(["--token", wrongSecret, "--gateway", gateway.url, "--shard-count", "1", "--duration", "30"])
      const log = yield* gateway.log
      expect(log.connections.map((c) => [c.closedBy, c.closeCode])).toEqual([["server", 4004]])
      expect(log.violations.map((v) => v.kind)).toEqual(["AuthenticationFailed"])
      expect(run.code).toBe(1)
      // no reconnect, no waiting for --duration: gone within moments of the close
      expect(run.exitedAt - log.connections[0]!.closedAt!).toBeLessThan(2000)
      expect(run.stdout).toBe("")
      const errors = lines(run.stderr).filter((line) => line.startsWith("error:"))
      expect(errors).toHaveLength(1)
      expect(lines(run.stderr).at(-1)).toBe(errors[0])
      expect(errors[0]).toMatch(/4004/)
      expect(errors[0]).toMatch(/authentication failed|token/i)
      expect(run.stderr).not.toMatch(/^\s+at /m)
      expect(run.stderr).not.toContain(wrongSecret)
    }))

  it.scopedLive("a token GET /gateway/bot refuses (401) ends the run at once with exit 1 and one error line", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      const run = yield* cli(["--token", wrongSecret, "--api", gateway.apiUrl, "--duration", "30"])
      const log = yield* gateway.log
      expect(log.connections).toEqual([])
      // ended by the 401, not retried until the --duration stop (which exits 0 and says so); no
      // spawn-to-exit time here: a cold start alone can take seconds on a loaded machine
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(lines(run.stderr)).toEqual([expect.stringMatching(/^error: .*token was rejected.*401/)])
      expect(run.stderr).not.toContain(wrongSecret)
    }))

  // It exited 1 at the first failure, where a session's own fetch is retried: a deploy during a
  // network blip or an API outage stayed down.
  it.scopedLive("a first GET /gateway/bot that fails for a passing reason (503, then 429) is tried again with a warning, then the run goes on", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      const answer = yield* gateway.gatewayBot
      const asked: Array<number> = []
      const api = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const server = Http.createServer((_request, response) => {
            asked.push(Date.now())
            const [status, body] = asked.length === 1
              ? [503, { message: "upstream unavailable" }]
              : asked.length === 2
              ? [429, { message: "You are being rate limited.", retry_after: 0.2, global: false }]
              : [200, answer]
            response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`))
      // stopped once READY is out (a --duration would count the retries too, and a loaded machine's slow start)
      const run = yield* cli(["--token", secret, "--api", api, "--format", "ndjson", "--events", "READY"], {
        stop: { when: (stdout) => /"t":"READY"/.test(stdout), by: "SIGINT" }
      })
      expect(run.code).toBe(0)
      expect(asked).toHaveLength(3)
      // the 429's wait (0.2 s), then the backoff's (at least half of its first second)
      expect(asked[2]! - asked[1]!).toBeGreaterThanOrEqual(700)
      expect(ndjson(run.stdout).map((line) => line.t)).toEqual(["READY"])
      const warnings = lines(run.stderr).filter((line) => /GET \/gateway\/bot failed/.test(line))
      expect(warnings).toEqual([expect.stringContaining(`status 503 for ${api}/gateway/bot; trying again`), expect.stringContaining("429 Too Many Requests")])
      expect(run.stderr).not.toContain(secret)
    }))

  // a preload (a data: URL module) that makes a send throw, or writing a READY line, or drawing the
  // status view: a bug inside
  const defectWhere = (target: "the Identify's send" | "the output" | "the status view") =>
    "data:text/javascript," + encodeURIComponent(
      target !== "the Identify's send"
        ? `const write = process.stdout.write.bind(process.stdout)
process.stdout.write = (text, ...rest) => {
  if (String(text).includes(${JSON.stringify(target === "the output" ? "READY" : "events/s")})) throw new Error("injected output defect")
  return write(text, ...rest)
}`
        : `import { createRequire } from "node:module"
const WebSocket = createRequire(${JSON.stringify(`${root}package.json`)})("ws")
const send = WebSocket.prototype.send
WebSocket.prototype.send = function (data, ...rest) {
  if (String(data).includes('"op":2')) throw new Error("injected defect")
  return send.call(this, data, ...rest)
}`
    )
  // (the status view's, on a fiber nobody joined, left the view frozen and the run went on: cli4-3)
  for (const target of ["the Identify's send", "the output", "the status view"] as const) {
    it.scopedLive(`a defect in ${target} ends the run with exit 1 and one error line`, () =>
      Effect.gen(function*() {
        const gateway = yield* LocalGateway.make({ token })
        yield* gateway.startTraffic(10)
        const format = target === "the status view" ? "pretty" : "ndjson"
        const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", format, "--duration", "20"], { preloads: [defectWhere(target)] })
        expect(run.code).toBe(1)
        // the defect ended it, not --duration: the run did not go on unseen
        expect(run.stderr).not.toContain("stopped after")
        const errors = lines(run.stderr).filter((line) => line.startsWith("error:"))
        expect(errors).toEqual([expect.stringMatching(/^error: unexpected failure \(a bug\): injected (output )?defect$/)])
        expect(run.stderr).not.toMatch(/^\s+at /m)
      }))
  }

  it.live("bad flags exit 2 with one error line naming the flag; --help prints usage and exits 0", () =>
    Effect.gen(function*() {
      const [shards, compress, unknown, emptyToken, restGateway, help] = yield* Effect.all([
        cli(["--shards", "x"]),
        cli(["--compress", "gzip"]),
        cli(["--frobnicate", "1"]),
        cli(["--token="]),
        // the REST URL copied: the fleet refused it in words that named no flag
        cli(["--token", secret, "--gateway", "https://gateway.discord.gg"]),
        cli(["--help"])
      ], { concurrency: "unbounded" })
      for (
        const [run, flag] of [
          [shards, "--shards"],
          [compress, "--compress"],
          [unknown, "--frobnicate"],
          [emptyToken, "--token"],
          [restGateway, "--gateway"]
        ] as const
      ) {
        expect(run.code).toBe(2)
        expect(run.stdout).toBe("")
        expect(lines(run.stderr)).toHaveLength(1)
        expect(run.stderr).toMatch(/^error: /)
        expect(run.stderr).toContain(flag)
      }
      expect(compress.stderr).toContain("gzip")
      expect(help.code).toBe(0)
      expect(help.stdout).toMatch(/^Usage: effect-discord-gateway \[flags\]/)
      for (const flag of ["--token", "--api", "--shards", "--events", "--format", "--duration"]) expect(help.stdout).toContain(flag)
      expect(help.stderr).toBe("")
    }))

  it.live("with no token it runs the embedded gateway and prints ndjson", () =>
    Effect.gen(function*() {
      // stopped once READY is out: a --duration (2 s) counted the start of the embedded gateway's
      // shard too, which a loaded machine's can take most of
      const run = yield* cli(["--format", "ndjson"], { tsx: true, stop: { when: (stdout) => /"t":"READY".*\n/.test(stdout), by: "SIGINT" } })
      expect(run.code).toBe(0)
      const events = ndjson(run.stdout)
      expect(events.length).toBeGreaterThan(0)
      expect(events.filter((event) => event.t === "READY").length).toBeGreaterThan(0)
      expect(run.stderr).toContain("embedded local gateway on ws://127.0.0.1:")
      expect(run.stderr).not.toContain("{\"shard\"")
      // tsx compiles the sources as it starts: near 30 s on a loaded machine
    }), 60_000)

  const signals = [
    { by: "SIGINT", told: "stopped (interrupted); 2 resumable session(s)" },
    { by: "SIGTERM", told: "stopped (interrupted); 2 resumable session(s)" },
    // the terminal closed
    { by: "SIGHUP", told: "stopped: the terminal was closed (SIGHUP); 2 resumable session(s)" }
  ] as const
  for (const { by, told } of signals) {
    it.scopedLive(`${by} closes the shards resumably and exits 0 promptly`, () =>
      Effect.gen(function*() {
        const gateway = yield* LocalGateway.make({ token, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
        yield* gateway.startTraffic(20)
        const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson"], {
          stop: {
            when: (stdout) => /"shard":0,"seq":1,"t":"READY".*\n/.test(stdout) && /"shard":1,"seq":1,"t":"READY".*\n/.test(stdout),
            by
          }
        })
        const log = yield* allClosed(gateway)
        // a signal is a normal way to end a run: exit code 0, not 128 + its number, and no signal death
        expect(run.signal).toBeNull()
        expect(run.code).toBe(0)
        // within the 5 s a stop gives the gateway (it answers at once here: this is the bound a loaded
        // machine, five CLIs at once, still keeps)
        expect(run.afterStop).toBeLessThan(4500)
        expect(ndjson(run.stdout).length).toBeGreaterThanOrEqual(2)
        expect(lines(run.stderr).filter((line) => line.startsWith("error:"))).toEqual([])
        // the operator is told it stopped, as after --duration
        expect(lines(run.stderr).at(-1)).toBe(told)
        expect(log.violations).toEqual([])
        expect(log.connections).toHaveLength(2)
        expectResumableCloses(log)
      }))
  }

  it.scopedLive("a closed stdout (| head) stops the run quietly: resumable closes, exit 0, no EPIPE crash", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, shards: 2, sessionStartLimit: { maxConcurrency: 2 } })
      yield* gateway.startTraffic(20)
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", "pretty"], {
        stop: {
          when: (stdout) => /shard 0 +#1 +READY/.test(stdout) && /shard 1 +#1 +READY/.test(stdout),
          by: "closing stdout"
        }
      })
      const log = yield* allClosed(gateway)
      expect(run.code).toBe(0)
      expect(run.afterStop).toBeLessThan(4500)
      // the plain (not a terminal) pretty view: a status block, then one summary line per event
      expect(run.stdout).toMatch(/^shard +state +seq +latency +reconnects +events\/s +why$/m)
      expect(run.stdout).not.toContain("{\"shard\"")
      expect(run.stderr).toContain("stopped: stdout was closed; 2 resumable session(s)")
      expect(run.stderr).not.toMatch(/EPIPE|^\s+at /m)
      expect(log.violations).toEqual([])
      expectResumableCloses(log)
    }))

  it.scopedLive("a slow reader holds the events back (in the fleet's buffer and TCP), not in the CLI's memory", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      yield* gateway.startTraffic(5000)
      // reports the most output ever held unwritten in the process, when the stop is made
      const probe = "data:text/javascript," + encodeURIComponent(`let most = 0
setInterval(() => { most = Math.max(most, process.stdout.writableLength) }, 50).unref()
const write = process.stderr.write.bind(process.stderr)
process.stderr.write = (text, ...rest) => {
  if (String(text).includes("stopped")) write("most buffered: " + most + "\\n")
  return write(text, ...rest)
}`)
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--duration", "4"], {
        stdout: "stalled",
        preloads: [probe]
      })
      expect(run.code).toBe(0)
      // about 2 MB a second came in; without waiting for stdout, all of it piled up
      expect(Number(/most buffered: (\d+)/.exec(run.stderr)?.[1])).toBeLessThan(1024 * 1024)
    }))

  it.scopedLive("a stdout that cannot be written (a full disk) ends the run with exit 1, not as a closed stdout", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token })
      yield* gateway.startTraffic(50)
      const full = openSync("/dev/full", "w")
      yield* Effect.addFinalizer(() => Effect.sync(() => closeSync(full)))
      const run = yield* cli(["--token", secret, "--api", gateway.apiUrl, "--format", "ndjson", "--duration", "10"], { stdout: full })
      expect(run.code).toBe(1)
      expect(lines(run.stderr).filter((line) => line.startsWith("error:"))).toEqual([
        "error: stdout cannot be written (ENOSPC); 1 resumable session(s)"
      ])
      expect(run.stderr).not.toContain("stdout was closed")
    }))

  it.scopedLive("--help into a stdout that cannot be written (a full disk) exits 1, saying so", () =>
    Effect.gen(function*() {
      const full = openSync("/dev/full", "w")
      yield* Effect.addFinalizer(() => Effect.sync(() => closeSync(full)))
      // it exited 0 with nothing said: `--help > file` on a full disk left an empty file
      const run = yield* cli(["--help"], { stdout: full })
      expect(run.code).toBe(1)
      expect(run.stderr).toBe("error: stdout cannot be written (ENOSPC)\n")
    }))
})
