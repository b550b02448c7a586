/**
 * An identify limiter of the program's own (a distributed one, whose store keys its locks and
 * budget by the bot's token, as `test/session/Secrecy.test.ts`'s `quotingLimiter` has it) whose
 * `configure` or `snapshot` dies quoting its key, or whose `answered` fails (as a limiter in plain
 * JavaScript may): the session's end, `Fleet.make`'s failure and the log lines mask it, as they
 * mask such a defect from `identify`, `answered` and `budgetReady`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryApi from "../../src/testing/MemoryApi.ts"
import * as MemoryServer from "../../src/testing/MemoryServer.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, endPlaces, exitPlaces, leaksOf, lineTexts, spanTexts } from "../secrecy.ts"
import { options, secret, Session, settle, token } from "../session/harness.ts"

const leaksIn = leaksOf(secret)

type Limiter = IdentifyLimiter.IdentifyLimiter["Type"]

const unreachable = (key: string) => new Error(`lock store unreachable for key ${key}:${secret}`)

/** A limiter of the program's own: the in-memory transport and MemoryApi, and `service` over a limiter that allows everything. */
const withLimiter = (service: Partial<Limiter>) =>
  Layer.mergeAll(
    MemoryTransport.layer,
    MemoryApi.layer({ shards: 1, maxConcurrency: 1 }),
    Layer.succeed(IdentifyLimiter.IdentifyLimiter, {
      configure: () => Effect.void,
      identify: (_shard, send) => send(Effect.void),
      snapshot: Effect.succeed({ maxConcurrency: 1, budget: undefined, keys: [] }),
      ...service
    })
  )

/**
 * Where a session (no `gateway`: it asks GET /gateway/bot, which configures the limiter) run
 * until it ends shows the token: its end (await, events), its lines and its spans.
 */
const sessionEndLeaks = (captured: ReturnType<typeof capture>) =>
  Effect.gen(function*() {
    yield* MemoryServer.serve()
    const session = yield* Session.make(options({ gateway: undefined }))
    const events = yield* Effect.fork(Effect.exit(Stream.runDrain(session.events)))
    yield* settle
    const ended = yield* Effect.exit(session.await)
    expect(Exit.isFailure(ended)).toBe(true)
    return leaksIn(endPlaces(captured, ended, yield* Fiber.join(events)))
  })

/** Where `Fleet.make`'s failure, its lines and spans show the token. */
const fleetMakeLeaks = (captured: ReturnType<typeof capture>) =>
  Effect.gen(function*() {
    const made = yield* Effect.exit(Fleet.make({ token, intents: 513, compression: "none" }))
    expect(Exit.isFailure(made)).toBe(true)
    return leaksIn([...exitPlaces("Fleet.make exit", made), ...lineTexts(captured.lines), ...spanTexts(captured.spans)])
  })

// typed as the interface says (`Effect<void>`), failing as a JavaScript limiter may
const failing = Effect.fail(unreachable("answered")) as unknown as Effect.Effect<void>

describe("a limiter of the program's own quoting the token", () => {
  const ending: ReadonlyArray<readonly [string, Partial<Limiter>]> = [
    ["configure dies", { configure: () => Effect.die(unreachable("budget")) }],
    ["answered fails (a limiter in plain JavaScript)", { identify: (_shard, send) => send(failing) }]
  ]
  for (const [what, limiter] of ending) {
    it.scoped(`${what}: the session's end (await, events), its lines and spans do not repeat it`, () => {
      const captured = capture()
      return Effect.flatMap(sessionEndLeaks(captured), (leaks) => Effect.sync(() => expect(leaks).toEqual([]))).pipe(
        captured.provide,
        Effect.provide(withLimiter(limiter))
      )
    })
  }

  const failingMake: ReadonlyArray<readonly [string, Partial<Limiter>]> = [
    ["configure dies", { configure: () => Effect.die(unreachable("budget")) }],
    ["snapshot dies", { snapshot: Effect.die(unreachable("snapshot")) }]
  ]
  for (const [what, limiter] of failingMake) {
    it.scoped(`${what}: Fleet.make's failure does not repeat it`, () => {
      const captured = capture()
      return Effect.flatMap(fleetMakeLeaks(captured), (leaks) => Effect.sync(() => expect(leaks).toEqual([]))).pipe(
        captured.provide,
        Effect.provide(withLimiter(limiter))
      )
    })
  }
})
