/**
 * Idle shards, ours: a `Fleet` of `task.shards` sessions (zlib-stream) on the live transport,
 * with an in-memory identify limiter spaced as the memory gateway allows (with its default
 * margin, which each READY ends), every event drained. Reports memory once all are READY and
 * settled.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { Fleet, IdentifyLimiter, Intents, Session, WsTransport } from "../../src/index.ts"
import * as Shards from "./shards.ts"

const task = Shards.read()

const layer = Layer.mergeAll(
  WsTransport.layer,
  IdentifyLimiter.layerMemoryWith({ spacing: Duration.millis(task.spacingMs) }),
  NodeHttpClient.layerUndici
)

const program = Effect.gen(function*() {
  const started = performance.now()
  const fleet = yield* Fleet.make({
    token: Redacted.make(Shards.token),
    intents: Intents.Guilds | Intents.GuildMessages,
    api: `${task.apiUrl}/v10`,
    shardCount: task.shards,
    compression: "zlib-stream"
  })
  const allReady = yield* Deferred.make<void>()
  let ready = 0
  yield* Effect.forkScoped(Stream.runForEach(fleet.events, (event) =>
    event.t === "READY" && ++ready === task.shards ? Deferred.succeed(allReady, undefined) : Effect.void))
  yield* Deferred.await(allReady)
  const readyMs = performance.now() - started
  return yield* Effect.promise(() => Shards.measure(task, readyMs))
})

// The baseline makes the GET /gateway/bot of the run with shards (the fleet's), through the same
// client: a process's first request loads and compiles the HTTP client, which is no shard's
const baseline = Effect.flatMap(HttpClient.HttpClient, (client) =>
  client.get(`${task.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${Shards.token}` } })).pipe(
    Effect.flatMap((response) => response.json),
    Effect.zipRight(Effect.promise(() => Shards.measure(task, 0)))
  )

const run: Effect.Effect<Shards.Result, unknown, Session.Requirements> = task.shards === 0
  ? baseline
  : Effect.scoped(program)
Effect.runPromise(run.pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning))).then(Shards.report, Shards.fail)
