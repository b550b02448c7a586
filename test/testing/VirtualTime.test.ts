/**
 * The testing kit's way of moving virtual time: in steps, the forked fibers running between them.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import { MemoryServer, MemoryTransport, VirtualTime } from "../../src/testing/index.ts"

const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer)

describe("VirtualTime", () => {
  it.effect("advance moves the clock by the duration, in steps, with what each step's timers start run before the next step", () =>
    Effect.gen(function*() {
      const fired: Array<number> = []
      // a chain of timers, each started by the one before: a clock moved in one step fires only
      // the first, since the next is started after the step
      const chain = (left: number): Effect.Effect<void> =>
        left === 0 ? Effect.void : Effect.flatMap(Effect.sleep("1 second"), () =>
          Effect.flatMap(Clock.currentTimeMillis, (at) => {
            fired.push(at)
            return chain(left - 1)
          }))
      const running = yield* Effect.fork(chain(5))
      yield* VirtualTime.advance("5 seconds", { step: "1 second" })
      expect(fired).toEqual([1000, 2000, 3000, 4000, 5000])
      expect(yield* Clock.currentTimeMillis).toBe(5000)
      yield* Fiber.join(running)
      // the last step is what is left
      yield* VirtualTime.advance("1250 millis")
      expect(yield* Clock.currentTimeMillis).toBe(6250)
    }))

  // a negative length moved nothing and passed (effect's decoding takes it as none), a negative step
  // was told as "0 ms", and turns of NaN or Infinity settled for ever
  it.effect("a duration that is no finite length, a step that is not positive, or turns that are no whole number, dies naming it as given", () =>
    Effect.gen(function*() {
      for (const [advanced, told] of [
        [VirtualTime.advance(Infinity), "VirtualTime.advance: the duration must be a finite length, got Infinity ms"],
        [VirtualTime.advance(-1), "VirtualTime.advance: the duration must be a finite length, got -1 ms"],
        [VirtualTime.advance("-5 seconds"), "VirtualTime.advance: the duration must be a finite length, got \"-5 seconds\""],
        [VirtualTime.advance(Number.NaN), "VirtualTime.advance: the duration must be a finite length, got NaN ms"],
        [VirtualTime.advance([Number.NaN, 0]), "VirtualTime.advance: the duration must be a finite length, got NaN,0"],
        [VirtualTime.advance(-1n), "VirtualTime.advance: the duration must be a finite length, got -1 ns"],
        // a negative part is refused as every option's duration is
        [VirtualTime.advance([1, -1]), "VirtualTime.advance: the duration must be a finite length, got 1,-1"],
        [VirtualTime.advance("1 second", { step: 0 }), "VirtualTime.advance: the step must be a positive finite length, got 0 ms"],
        [VirtualTime.advance("1 second", { step: -1 }), "VirtualTime.advance: the step must be a positive finite length, got -1 ms"],
        [VirtualTime.advance("1 second", { turns: Number.NaN }), "VirtualTime: turns must be a whole number of at least 0, got NaN"],
        [VirtualTime.settle(Infinity), "VirtualTime: turns must be a whole number of at least 0, got Infinity"],
        [VirtualTime.settle(-1), "VirtualTime: turns must be a whole number of at least 0, got -1"]
      ] as const) {
        const exit = yield* Effect.exit(advanced)
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(told)
      }
      // nothing moved
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* VirtualTime.settle(0)
      // a length none the less, as every option's duration is read: none, and 999,999,999 ns
      yield* VirtualTime.advance("-0 millis")
      yield* VirtualTime.advance([0, 999_999_999], { step: "1 second" })
      expect(yield* Clock.currentTimeMillis).toBe(999.999999)
    }))

  it.scoped("keeps a session against MemoryServer connected for an hour of virtual time", () =>
    Effect.gen(function*() {
      yield* MemoryServer.serve({ heartbeatInterval: 41_250 })
      const session = yield* Session.make({ token: Redacted.make("test-token"), intents: Intents.Guilds, gateway: "ws://gateway.test", compression: "none" })
      yield* VirtualTime.advance("1 hour", { step: "5 seconds" })
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect((yield* session.snapshot).reconnects).toBe(0)
    }).pipe(Effect.provide(Services), Effect.withRandom(Random.fixed([0.5]))))

  // each sleep woken at its own time within a step, and a sleep begun by a woken fiber met as well
  it.effect("an advance wakes each sleep at its time, those begun by woken fibers too", () =>
    Effect.gen(function*() {
      const woke: Array<number> = []
      const at = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void woke.push(now)))
      yield* Effect.fork(Effect.zipRight(Effect.sleep("30 seconds"), Effect.zipRight(at, Effect.zipRight(Effect.sleep("1200 millis"), at))))
      yield* Effect.fork(Effect.zipRight(Effect.sleep("59 seconds"), at))
      yield* VirtualTime.advance("1 minute")
      expect(woke).toEqual([30_000, 31_200, 59_000])
      expect(yield* Clock.currentTimeMillis).toBe(60_000)
    }))

  // each step's TestClock.adjust lets real time pass (it waits on real timers), which a fiber
  // waiting on real I/O (a loopback socket's answer) needs: an advance that moved straight to the
  // next sleep due, skipping steps that woke none, left such a fiber's sleep unmet
  it.effect("a fiber that waits a few milliseconds of real time before its sleep still gets it within the advance", () =>
    Effect.gen(function*() {
      let woke = false
      yield* Effect.fork(
        Effect.zipRight(
          Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5))),
          Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => void (woke = true)))
        )
      )
      yield* VirtualTime.advance("10 seconds")
      expect(woke).toBe(true)
    }))
})
