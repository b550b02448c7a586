/**
 * Startup under `TestClock`: 64 shards at max_concurrency 16 on the in-memory transport with the
 * scripted gateway of test/fleet/harness.ts (READY at once on every Identify, which ends the
 * limiter's margin at once). Prints, for the identify limiter's default margin (200 ms) and for
 * margin 0, when the last shard was READY, counted from the first identify, next to Discord's
 * limit (ceil(64 / 16) - 1 = 3 steps of 5 s), and the closest two identifies of one rate-limit key
 * came (at least 5 s: READY sooner than the limit would mean the rule was broken).
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestContext from "effect/TestContext"
import { writeSync } from "node:fs"
import { IdentifyLimiter } from "../src/index.ts"
import * as MemoryTransport from "../src/transport/MemoryTransport.ts"
import { startup } from "../test/fleet/harness.ts"

const SHARDS = 64
const MAX_CONCURRENCY = 16
const LIMIT_MS = (Math.ceil(SHARDS / MAX_CONCURRENCY) - 1) * 5000

/**
 * One startup: when each shard identified and was READY, by the `TestClock`.
 *
 * @since 0.1.0
 */
export interface Startup {
  readonly marginMs: number
  readonly shardsReady: number
  readonly limitMs: number
  /** The last READY, in ms after the first identify. */
  readonly allReadyMs: number
  /** The least time between two identifies of one rate-limit key (Discord's rule: 5000). */
  readonly closestSpacingMs: number
}

// the least gap between two of `times`, in order (none: Infinity)
const closestGap = (times: ReadonlyArray<number>): number =>
  times.slice(1).reduce((least, at, i) => Math.min(least, at - times[i]!), Number.POSITIVE_INFINITY)

const run = (marginMs: number) =>
  Effect.gen(function*() {
    const { identifiesOf, ready, served } = yield* startup({ shards: SHARDS, maxConcurrency: MAX_CONCURRENCY, until: LIMIT_MS + 4 * (5000 + marginMs) })
    const firstIdentify = Math.min(...served.identifies.map((identify) => identify.at))
    return {
      marginMs,
      shardsReady: ready.length,
      limitMs: LIMIT_MS,
      allReadyMs: Math.max(...ready.map((r) => r.at)) - firstIdentify,
      closestSpacingMs: Math.min(...Array.from({ length: MAX_CONCURRENCY }, (_, key) => closestGap(identifiesOf(key))))
    } satisfies Startup
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(
      MemoryTransport.layer,
      IdentifyLimiter.layerMemoryWith({ margin: Duration.millis(marginMs) }),
      FetchHttpClient.layer
    )),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

Effect.runPromise(Effect.all([run(200), run(0)])).then(
  (results) => {
    writeSync(1, `${JSON.stringify(results)}\n`)
    process.exit(0)
  },
  (error) => {
    writeSync(2, `${String(error)}\n`)
    process.exit(1)
  }
)
