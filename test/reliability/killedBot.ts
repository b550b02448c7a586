/**
 * The bot test/reliability/Killed.test.ts kills: it stores its resume point as it handles events,
 * as the README's "A process that may end without its finalizers" loop does.
 *
 * `<bundle or node --import tsx test/reliability/killedBot.ts> <session|fleet> <gatewayUrl> <dir>
 * <label>` (the suite runs it bundled), the token in `KILLED_TOKEN`. It appends `chunk shard sequence t` for each handled event to
 * `<dir>/events-<label>.txt`, and after each chunk stores the point(s) in `<dir>/points.json`
 * (written to a temporary file and renamed, so a kill never leaves half a file).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as WsTransport from "../../src/transport/WsTransport.ts"

const [mode, gatewayUrl, dir, label] = process.argv.slice(2)
if ((mode !== "session" && mode !== "fleet") || gatewayUrl === undefined || dir === undefined || label === undefined) {
  throw new Error("usage: killedBot.ts <session|fleet> <gatewayUrl> <dir> <label>")
}
const token = Redacted.make(process.env["KILLED_TOKEN"] ?? "")
const pointsFile = `${dir}/points.json`
const eventsFile = `${dir}/events-${label}.txt`

// the program's own store: a file
const loadPoints = Effect.sync((): ReadonlyArray<SessionOptions.ResumePoint> =>
  existsSync(pointsFile) ? JSON.parse(readFileSync(pointsFile, "utf8")) as ReadonlyArray<SessionOptions.ResumePoint> : []
)
const savePoints = (points: ReadonlyArray<SessionOptions.ResumePoint>) =>
  Effect.sync(() => {
    writeFileSync(`${pointsFile}.tmp`, JSON.stringify(points))
    renameSync(`${pointsFile}.tmp`, pointsFile)
  })

let chunkIndex = 0
// the bot's handling of one event: a write of its own, and some work (KILLED_HANDLE_MS), so that a
// kill can land in the middle of a chunk
const handleMs = Number(process.env["KILLED_HANDLE_MS"] ?? "0")
const handle = (event: GatewayEvent) =>
  Effect.zipRight(
    Effect.sync(() => appendFileSync(eventsFile, `${chunkIndex} ${event.shard} ${event.sequence} ${event.t}\n`)),
    handleMs > 0 ? Effect.sleep(handleMs) : Effect.void
  )

const common = {
  token,
  intents: Intents.Guilds | Intents.GuildMessages,
  gateway: gatewayUrl,
  compression: "none",
  backoff: { initial: "20 millis", max: "100 millis", afterInvalidSession: ["20 millis", "100 millis"] },
  timeouts: { connect: "2 seconds", hello: "2 seconds", ready: "2 seconds", members: "2 seconds" }
} as const

const sessionProgram = Effect.gen(function*() {
  let point = (yield* loadPoints)[0]
  const session = yield* Session.make({ ...common, resume: point })
  process.stdout.write(`started ${point === undefined ? "fresh" : `from ${point.sequence}`}\n`)
  yield* Stream.runForEachChunk(session.events, (chunk) =>
    Effect.gen(function*() {
      chunkIndex++
      yield* Effect.forEach(chunk, handle, { discard: true })
      point = Chunk.reduce(chunk, point, SessionOptions.pointAfter)
      if (point !== undefined) yield* savePoints([point])
    }))
})

const fleetProgram = Effect.gen(function*() {
  const points = new Map((yield* loadPoints).map((point) => [point.shard[0], point] as const))
  const fleet = yield* Fleet.make({ ...common, shardCount: 2, resume: [...points.values()] })
  process.stdout.write(`started ${points.size === 0 ? "fresh" : `from ${[...points.values()].map((p) => `${p.shard[0]}:${p.sequence}`).join(",")}`}\n`)
  yield* Stream.runForEachChunk(fleet.events, (chunk) =>
    Effect.gen(function*() {
      chunkIndex++
      yield* Effect.forEach(chunk, handle, { discard: true })
      for (const event of chunk) {
        const next = SessionOptions.pointAfter(points.get(event.shard), event)
        if (next !== undefined) points.set(event.shard, next)
      }
      if (points.size > 0) yield* savePoints([...points.values()])
    }))
})

const ClientLayer = Layer.mergeAll(
  WsTransport.layer,
  IdentifyLimiter.layerMemoryWith({ spacing: "150 millis" }),
  NodeHttpClient.layerUndici
)

Effect.runPromise((mode === "session" ? sessionProgram : fleetProgram).pipe(Effect.scoped, Effect.provide(ClientLayer))).then(
  () => process.stdout.write("ended\n"),
  (error: unknown) => {
    process.stderr.write(`failed: ${String(error)}\n`)
    process.exitCode = 1
  }
)
