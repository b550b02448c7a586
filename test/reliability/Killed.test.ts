/**
 * A bot process that stores its resume point as it goes (the README's `pointAfter` loop) is
 * SIGKILLed mid-stream, events go on while nothing is connected, and a second process resumes from
 * the stored point: checked against the local gateway's log and the files the processes wrote.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { shardOf } from "../../src/fleet/Routing.ts"
import type { ResumePoint } from "../../src/session/SessionOptions.ts"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import * as Log from "../../src/testing/Log.ts"
import { bundled, root } from "../bundled.ts"

// run by plain node: through tsx, each start compiled the library again, 5-7 s on a loaded machine
const script = bundled("killed-bot", "test/reliability/killedBot.ts")
const secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GxYz12.killed-secret-0123456789abcdef"
const token = Redacted.make(secret)

interface Child {
  readonly process: ChildProcess
  readonly output: () => string
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** Spawns the helper bot; killed (SIGKILL) with the scope if still running. */
const startChild = (mode: "session" | "fleet", url: string, dir: string, label: string, handleMs: number): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [script, mode, url, dir, label], {
        cwd: root,
        env: { ...process.env, KILLED_TOKEN: secret, KILLED_HANDLE_MS: String(handleMs) },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (data: Buffer) => (output += data.toString()))
      child.stderr!.on("data", (data: Buffer) => (output += data.toString()))
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal }))
      )
      return { process: child, output: () => output, exited: Effect.promise(() => exit) }
    }),
    (child) =>
      Effect.suspend(() => {
        if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL")
        return child.exited.pipe(Effect.timeout("3 seconds"), Effect.ignore)
      })
  )

const within = (label: string, duration: Duration.DurationInput = "6 seconds") => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(self, { duration, onTimeout: () => new Error(`timed out waiting for ${label}`) }).pipe(Effect.orDie)

/** Polls (every 25 ms) until `check` gives a value. */
const pollFor = <A>(label: string, check: () => A | undefined, duration: Duration.DurationInput = "6 seconds") =>
  Effect.suspend(() => {
    const value = check()
    return value === undefined ? Effect.fail("not yet" as const) : Effect.succeed(value)
  }).pipe(
    Effect.retry(Schedule.spaced("25 millis")),
    within(label, duration)
  )

interface Handled {
  readonly chunk: number
  readonly shard: number
  readonly sequence: number
  readonly t: string
}

const readHandled = (file: string): ReadonlyArray<Handled> =>
  existsSync(file)
    ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const [chunk, shard, sequence, t] = line.split(" ")
      return { chunk: Number(chunk), shard: Number(shard), sequence: Number(sequence), t: t! }
    })
    : []

const readPoints = (file: string): ReadonlyArray<ResumePoint> | undefined =>
  existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) as ReadonlyArray<ResumePoint> : undefined

const aGuildOf = (gateway: LocalGateway.LocalGateway, shard: number, count: number) =>
  gateway.world.guilds.find((guild) => shardOf(guild.id, count) === shard)!.id

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(`${tmpdir()}/killed-`)),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const message = (guild: string, id: string, content: string) => ({ id, guild_id: guild, channel_id: "1", content, author: { id: "2", username: "u" } })

/**
 * The scenario, for a session (1 shard) or a fleet of 2: the first process handles traffic, a stall
 * gives it a large chunk, it is SIGKILLed while handling it; events go on while nothing is
 * connected; a second process starts from the stored points.
 */
const scenario = (mode: "session" | "fleet") =>
  Effect.gen(function*() {
    const count = mode === "session" ? 1 : 2
    const gateway = yield* LocalGateway.make({
      token,
      shards: count,
      heartbeatInterval: "1 second",
      identifyCooldown: "100 millis",
      logCapacity: 100_000,
      // traffic goes on while no process is up: a slow start (a loaded machine) must not outlast
      // the replay (its default 1000 dispatches), which would answer the Resume with op 9
      replayBufferSize: 100_000
    })
    const dir = yield* tempDir
    const shards = Array.from({ length: count }, (_, i) => i)
    const guilds = shards.map((shard) => aGuildOf(gateway, shard, count))
    const firstFile = `${dir}/events-first.txt`
    const secondFile = `${dir}/events-second.txt`

    // the first process: READY, then traffic
    const first = yield* startChild(mode, gateway.url, dir, "first", 2)
    const ready = yield* gateway.awaitLog((log) => Log.sessionIds(log).length === count).pipe(
      within("the first process's READY", "25 seconds"),
      Effect.tapDefect(() => Effect.sync(() => console.log(first.output())))
    )
    const sessionIds = shards.map((shard) => Log.sessionIds(ready, shard)[0]!)
    yield* gateway.startTraffic(300)
    yield* pollFor("the first process handling traffic", () => readHandled(firstFile).length >= 60 * count ? true : undefined)
    // a stall: what it held comes at once, a large chunk the program takes a while to handle
    yield* gateway.stall("all", "300 millis")
    yield* Effect.sleep("300 millis")
    const before = readHandled(firstFile).length
    yield* pollFor("the first process into the burst", () => readHandled(firstFile).length >= before + 20 ? true : undefined)

    // killed for real, mid-stream: no finalizer runs
    first.process.kill("SIGKILL")
    const exit = yield* first.exited.pipe(within("the first process's exit"))
    expect(exit.signal).toBe("SIGKILL")
    const stored = readPoints(`${dir}/points.json`)!
    expect(stored.map((point) => point.shard[0]).sort()).toEqual(shards)
    const handledFirst = readHandled(firstFile)

    // the gateway notices; events go on while nothing is connected
    yield* gateway.awaitLog((log) => log.connections.every((c) => c.closedAt !== undefined)).pipe(within("the gateway seeing the connections lost"))
    for (const guild of guilds) {
      for (let i = 0; i < 5; i++) expect(yield* gateway.dispatch("all", "MESSAGE_CREATE", message(guild, `9000${i}`, "while down"))).toBe(1)
    }
    yield* Effect.sleep("300 millis")

    // the second process, from the stored points
    const second = yield* startChild(mode, gateway.url, dir, "second", 0)
    const resumed = yield* gateway.awaitLog((log) => log.resumes.length >= count).pipe(
      within("the second process's Resumes", "25 seconds"),
      Effect.tapDefect(() => Effect.sync(() => console.log(second.output())))
    )
    for (const point of stored) {
      expect(resumed.resumes.find((r) => r.sessionId === point.sessionId)).toMatchObject({ seq: point.sequence, outcome: "resumed" })
    }
    const sent = (yield* gateway.log).dispatches.length
    yield* gateway.awaitLog((log) => log.dispatches.length >= sent + 100 * count).pipe(within("traffic on the second process"))
    yield* gateway.stopTraffic
    for (const guild of guilds) expect(yield* gateway.dispatch("all", "MESSAGE_CREATE", message(guild, "99999", "last"))).toBe(1)
    const log = yield* gateway.log
    const expectedOf = (shard: number) =>
      Log.dispatchedTo(log, sessionIds[shard]!).filter((d) => d.t !== "RESUMED").map((d) => ({ sequence: d.seq, t: d.t }))
    yield* pollFor("the second process handling the last events", () =>
      shards.every((shard) => readHandled(secondFile).some((e) => e.shard === shard && e.sequence === expectedOf(shard).at(-1)!.sequence))
        ? true
        : undefined).pipe(Effect.tapDefect(() => Effect.sync(() => console.log(second.output()))))
    const handledSecond = readHandled(secondFile).filter((e) => e.t !== "RESUMED")

    // no new Identify: each shard's session, resumed once
    expect(log.identifies).toHaveLength(count)
    expect(log.resumes).toHaveLength(count)
    expect(log.violations).toEqual([])
    expect(Log.sessionIds(log)).toHaveLength(count)

    const seqs = (events: ReadonlyArray<{ readonly sequence: number }>) => events.map((e) => e.sequence)
    const lastChunk = handledFirst.at(-1)!.chunk
    for (const shard of shards) {
      const point = stored.find((p) => p.shard[0] === shard)!
      expect(point.sessionId).toBe(sessionIds[shard])
      const expected = expectedOf(shard)
      const firstOf = handledFirst.filter((e) => e.shard === shard)
      const secondOf = handledSecond.filter((e) => e.shard === shard)
      // events were sent while nothing was connected, and the resume replayed them
      expect(log.dispatches.filter((d) => d.sessionId === sessionIds[shard] && d.connection === undefined).length).toBeGreaterThanOrEqual(5)
      // the first process handled a prefix of what was sent, in order; its stored point is where a whole chunk ended
      expect(seqs(firstOf)).toEqual(seqs(expected).slice(0, firstOf.length))
      const storedAfter = [firstOf.filter((e) => e.chunk < lastChunk).at(-1)?.sequence, firstOf.at(-1)?.sequence]
      expect(storedAfter).toContain(point.sequence)
      // the second process got every event after the stored point, once, in order
      expect(seqs(secondOf)).toEqual(seqs(expected.filter((d) => d.sequence > point.sequence)))
      // handled twice: only events of the chunk handled but not stored
      const twice = firstOf.filter((e) => e.sequence > point.sequence)
      expect(twice.every((e) => e.chunk === lastChunk)).toBe(true)
      // nothing missing
      expect(new Set([...seqs(firstOf), ...seqs(secondOf)])).toEqual(new Set(seqs(expected)))
    }
  })

describe("a bot SIGKILLed mid-stream, restarted from the point it stored as it went", () => {
  it.scopedLive("session: the second process resumes (no Identify), gets every event after the stored point, and handles again only the chunk handled but not stored", () =>
    scenario("session"), { timeout: 60_000 })

  it.scopedLive("fleet of 2: each shard resumes (no Identify), gets every event after its stored point, and handles again only the chunk handled but not stored", () =>
    scenario("fleet"), { timeout: 60_000 })

  it.scopedLive("session killed twice, the second time in the middle of its resume's replay: the third process resumes from the second's stored point, nothing missing", () =>
    Effect.gen(function*() {
      const gateway = yield* LocalGateway.make({ token, heartbeatInterval: "1 second", identifyCooldown: "100 millis", logCapacity: 100_000, replayBufferSize: 100_000 })
      const dir = yield* tempDir
      const guild = aGuildOf(gateway, 0, 1)
      const file = (label: string) => `${dir}/events-${label}.txt`

      const first = yield* startChild("session", gateway.url, dir, "first", 0)
      const ready = yield* gateway.awaitLog((log) => Log.sessionIds(log).length === 1).pipe(within("READY", "25 seconds"))
      const sessionId = Log.sessionIds(ready)[0]!
      yield* gateway.startTraffic(300)
      yield* pollFor("the first process handling traffic", () => readHandled(file("first")).length >= 60 ? true : undefined)
      first.process.kill("SIGKILL")
      yield* first.exited.pipe(within("the first exit"))
      const pointA = readPoints(`${dir}/points.json`)![0]!
      yield* gateway.awaitLog((log) => log.connections.every((c) => c.closedAt !== undefined)).pipe(within("the first connection lost"))

      // the second handles slowly (4 ms an event): a replay of hundreds takes it a while; killed in it
      const second = yield* startChild("session", gateway.url, dir, "second", 4)
      yield* gateway.awaitLog((log) => log.resumes.length === 1).pipe(within("the second Resume", "25 seconds"))
      yield* pollFor("the second process into its replay", () => readHandled(file("second")).length >= 50 ? true : undefined)
      second.process.kill("SIGKILL")
      yield* second.exited.pipe(within("the second exit"))
      const pointB = readPoints(`${dir}/points.json`)![0]!
      yield* gateway.awaitLog((log) => log.connections.every((c) => c.closedAt !== undefined)).pipe(within("the second connection lost"))
      for (let i = 0; i < 5; i++) expect(yield* gateway.dispatch("all", "MESSAGE_CREATE", message(guild, `9000${i}`, "while down"))).toBe(1)

      const third = yield* startChild("session", gateway.url, dir, "third", 0)
      yield* gateway.awaitLog((log) => log.resumes.length === 2).pipe(within("the third Resume", "25 seconds"))
      const sent = (yield* gateway.log).dispatches.length
      yield* gateway.awaitLog((log) => log.dispatches.length >= sent + 100).pipe(within("traffic on the third"))
      yield* gateway.stopTraffic
      expect(yield* gateway.dispatch("all", "MESSAGE_CREATE", message(guild, "99999", "last"))).toBe(1)
      const log = yield* gateway.log
      const expected = Log.dispatchedTo(log, sessionId).filter((d) => d.t !== "RESUMED").map((d) => d.seq)
      yield* pollFor("the third handling the last event", () =>
        readHandled(file("third")).some((e) => e.sequence === expected.at(-1)) ? true : undefined).pipe(
          Effect.tapDefect(() => Effect.sync(() => console.log(third.output())))
        )

      expect(log.identifies).toHaveLength(1)
      expect(log.resumes.map((r) => [r.seq, r.outcome])).toEqual([[pointA.sequence, "resumed"], [pointB.sequence, "resumed"]])
      expect(log.violations).toEqual([])
      const [a, b, c] = ["first", "second", "third"].map((label) => readHandled(file(label)).filter((e) => e.t !== "RESUMED"))
      const seqs = (events: ReadonlyArray<Handled>) => events.map((e) => e.sequence)
      // the replay may come as one chunk: a process killed in it may have stored nothing new
      expect(pointB.sequence).toBeGreaterThanOrEqual(pointA.sequence)
      expect(seqs(a!)).toEqual(expected.slice(0, a!.length))
      expect(seqs(b!)).toEqual(expected.filter((s) => s > pointA.sequence).slice(0, b!.length))
      expect(seqs(c!)).toEqual(expected.filter((s) => s > pointB.sequence))
      expect(a!.filter((e) => e.sequence > pointA.sequence).every((e) => e.chunk === a!.at(-1)!.chunk)).toBe(true)
      expect(b!.filter((e) => e.sequence > pointB.sequence).every((e) => e.chunk === b!.at(-1)!.chunk)).toBe(true)
      expect(new Set([...seqs(a!), ...seqs(b!), ...seqs(c!)])).toEqual(new Set(expected))
    }), { timeout: 60_000 })
})
