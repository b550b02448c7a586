/**
 * An identify limiter of the program's own (a distributed one, whose store keys its locks and
 * budget by the bot's token, as `test/session/Secrecy.test.ts`'s `quotingLimiter` has it) whose
 * `configure` or `snapshot` dies quoting its key, or whose `answered` fails (as a limiter in plain
 * JavaScript may): the session's end, `Fleet.make`'s failure and the log lines mask it, as they
 * mask such a defect from `identify`, `answered` and `budgetReady`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
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
import { capture, leaksOf, lineTexts, type Place, renderings, spanTexts } from "../secrecy.ts"
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

const exitPlaces = (label: string, exit: Exit.Exit<unknown, unknown>): Array<Place> => [
  ...renderings(label, exit),
  ...(Exit.isFailure(exit) ? [[`${label} Cause.pretty`, Cause.pretty(exit.cause)] as const] : [])
]

/** A session (no `gateway`: it asks GET /gateway/bot, which configures the limiter) run until it ends. */
const sessionEnd = Effect.gen(function*() {
  yield* MemoryServer.serve()
  const session = yield* Session.make(options({ gateway: undefined }))
  const events = yield* Effect.fork(Effect.exit(Stream.runDrain(session.events)))
  yield* settle
  const ended = yield* Effect.exit(session.await)
  const streamEnd = yield* Fiber.join(events)
  return { ended, streamEnd }
})

describe("a limiter of the program's own quoting the token", () => {
  it.scoped("configure dies: the session's end (await, events) and the log lines do not repeat it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const { ended, streamEnd } = yield* sessionEnd
      expect(Exit.isFailure(ended)).toBe(true)
      expect(leaksIn([
        ...exitPlaces("await exit", ended),
        ...exitPlaces("events exit", streamEnd),
        ...lineTexts(captured.lines),
        ...spanTexts(captured.spans)
      ])).toEqual([])
    }).pipe(captured.provide, Effect.provide(withLimiter({ configure: () => Effect.die(unreachable("budget")) })))
  })

  it.scoped("configure dies: Fleet.make's failure does not repeat it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const made = yield* Effect.exit(Fleet.make({ token, intents: 513, compression: "none" }))
      expect(Exit.isFailure(made)).toBe(true)
      expect(leaksIn([...exitPlaces("Fleet.make exit", made), ...lineTexts(captured.lines), ...spanTexts(captured.spans)])).toEqual([])
    }).pipe(captured.provide, Effect.provide(withLimiter({ configure: () => Effect.die(unreachable("budget")) })))
  })

  it.scoped("snapshot dies: Fleet.make's failure does not repeat it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const made = yield* Effect.exit(Fleet.make({ token, intents: 513, compression: "none" }))
      expect(Exit.isFailure(made)).toBe(true)
      expect(leaksIn([...exitPlaces("Fleet.make exit", made), ...lineTexts(captured.lines), ...spanTexts(captured.spans)])).toEqual([])
    }).pipe(captured.provide, Effect.provide(withLimiter({ snapshot: Effect.die(unreachable("snapshot")) })))
  })

  it.scoped("answered fails (a limiter in plain JavaScript): its Error line and the session's end do not repeat it", () => {
    const captured = capture()
    // typed as the interface says (`Effect<void>`), failing as a JavaScript limiter may
    const failing = Effect.fail(unreachable("answered")) as unknown as Effect.Effect<void>
    return Effect.gen(function*() {
      const { ended, streamEnd } = yield* sessionEnd
      expect(Exit.isFailure(ended)).toBe(true)
      expect(leaksIn([
        ...exitPlaces("await exit", ended),
        ...exitPlaces("events exit", streamEnd),
        ...lineTexts(captured.lines),
        ...spanTexts(captured.spans)
      ])).toEqual([])
    }).pipe(captured.provide, Effect.provide(withLimiter({ identify: (_shard, send) => send(failing) })))
  })
})
