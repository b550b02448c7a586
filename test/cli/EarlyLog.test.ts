/**
 * The lines logged before the terminal's view is laid out, kept to be shown again after its first
 * layout: the log level, the cap, control characters, and no keeping once taken.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as EarlyLog from "../../src/cli/EarlyLog.ts"

const loggingTo = (early: EarlyLog.EarlyLog, level: LogLevel.LogLevel) => <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, early.logger)), Logger.withMinimumLogLevel(level))

describe("EarlyLog", () => {
  it.effect("keeps the lines at the minimum level or above, with their annotations, and none at level None", () =>
    Effect.gen(function*() {
      const early = EarlyLog.make()
      yield* Effect.logDebug("quiet").pipe(loggingTo(early, LogLevel.Info))
      yield* Effect.logInfo("starting 1 of 1 shards").pipe(Effect.annotateLogs({ shards: "0" }), loggingTo(early, LogLevel.Info))
      expect(early.take()).toEqual(["info: starting 1 of 1 shards (shards=0)"])
      const none = EarlyLog.make()
      yield* Effect.logError("boom").pipe(loggingTo(none, LogLevel.None))
      expect(none.take()).toEqual([])
    }))

  it.effect("keeps the last hundred, and none once taken", () =>
    Effect.gen(function*() {
      const early = EarlyLog.make()
      for (let i = 0; i < 250; i++) yield* Effect.logWarning(`line ${i}`).pipe(loggingTo(early, LogLevel.Info))
      const taken = early.take()
      expect([taken.length, taken[0]]).toEqual([100, "warn: line 150"])
      yield* Effect.logWarning("later").pipe(loggingTo(early, LogLevel.Info))
      expect(early.take()).toEqual([])
    }))

  it.effect("escapes control characters (ANSI, a newline, bidi) in messages and annotations", () =>
    Effect.gen(function*() {
      const early = EarlyLog.make()
      yield* Effect.logWarning("a \u001b[2Jreason\nnext \u202e").pipe(Effect.annotateLogs({ detail: "\u001b]0;title\u0007" }), loggingTo(early, LogLevel.Info))
      const [line] = early.take()
      expect(line).toBe("warn: a \\u001b[2Jreason\\u000anext \\u202e (detail=\\u001b]0;title\\u0007)")
    }))
})
