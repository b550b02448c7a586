/**
 * A limiter's `budgetReady` runs on a fiber of its own while the session waits for the budget: one
 * that fails or dies (quoting the token) is told by the session, masked, and Effect's own line for
 * a fiber that failed never repeats it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options, programLimiter, secret, Session, settle } from "./harness.ts"

const limiterWith = (budgetReady: (shardId: number) => Effect.Effect<void, IdentifyLimiter.IdentifyBudgetExhausted>) =>
  programLimiter({ budgetReady })

const capture = () => {
  const lines: Array<string> = []
  const logger = Logger.make<unknown, void>((entry) => {
    lines.push(`${String(entry.message)} ${Cause.pretty(entry.cause)}`)
  })
  return {
    lines,
    provide: <A, E, R>(self: Effect.Effect<A, E, R>) =>
      self.pipe(Logger.withMinimumLogLevel(LogLevel.All), Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  }
}

const run = (budgetReady: (shardId: number) => Effect.Effect<void, IdentifyLimiter.IdentifyBudgetExhausted>) => {
  const captured = capture()
  return Effect.gen(function*() {
    const session = yield* Session.make(options())
    yield* settle
    const exit = yield* Effect.exit(session.await)
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    expect(captured.lines.some((line) => line.includes("the session ended for good"))).toBe(true)
    const leaks = captured.lines.filter((line) => line.includes(secret.slice(0, 24)))
    expect(leaks).toEqual([])
  }).pipe(captured.provide, Effect.provide(limiterWith(budgetReady)))
}

describe("budgetReady's forked fiber", () => {
  it.scoped("a limiter's budgetReady that dies at once quoting the token: no log line repeats it", () =>
    run(() => Effect.die(new Error(`budget store unreachable for key budget:${secret}`))))

  it.scoped("the in-memory limiter's budgetReady failing IdentifyBudgetExhausted: no 'Fiber terminated with an unhandled error' line beside the session's own Error line", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 0, resetAfter: 3600_000 })
      const session = yield* Session.make(options())
      yield* settle
      const error = yield* Effect.flip(session.await)
      expect(error._tag).toBe("IdentifyBudgetExhausted")
      expect(captured.lines.filter((line) => line.includes("unhandled error"))).toEqual([])
    }).pipe(captured.provide, Effect.provide(Layer.mergeAll(MemoryTransport.layer, FetchHttpClient.layer, IdentifyLimiter.layerMemory)))
  })

  it.scoped("a limiter's budgetReady that dies after waiting quoting the token: no log line repeats it", () =>
    run(() => Effect.zipRight(Effect.yieldNow(), Effect.zipRight(Effect.yieldNow(), Effect.die(new Error(`budget store unreachable for key budget:${secret}`))))))
})
