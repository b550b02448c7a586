import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, leaksOf, lineTexts } from "../secrecy.ts"
import { options, programLimiter, readySession, secret, Session, settle } from "./harness.ts"

const leaksIn = leaksOf(secret)

// Effect's "unhandled error" lines (the first, cut short) and the lines that quote the token
const quietAbout = (lines: ReadonlyArray<string>) => ({
  unhandled: lines.filter((line) => line.includes("unhandled error")).length,
  leaks: leaksIn(lineTexts(lines)).length,
  unhandledLine: lines.find((line) => line.includes("unhandled error"))?.slice(0, 90)
})

// a lock let go over the network as it is interrupted, whose release fails quoting its key (the
// token in it), as test/session/Secrecy.test.ts's limiters do
const releaseFails = () => Effect.die(new Error(`lock store unreachable for key identify:${secret}`))

describe("secrecy: work interrupted and not waited for, whose interruption dies quoting the token", () => {
  // README, Token and secrecy: "No fiber fails unobserved: none of the session's fibers does
  // (Effect's own line would repeat a defect)". A limiter's `answered` is interrupted at the
  // session's end in the background, where the catchAllCause that masks does not run: a defect of
  // its interruption ended that fiber unobserved, and Effect logged "Fiber terminated with an
  // unhandled error" with the token in the clear.
  it.scoped("a custom limiter's answered whose interruption dies quoting the token: no unhandled-error line, no token in any log line", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const { session } = yield* readySession({}, 3_600_000)
      yield* settle
      const stopping = yield* Effect.fork(Effect.exit(session.disconnect("1 second")))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopping)
      yield* settle
      expect(quietAbout(captured.lines)).toEqual({ unhandled: 0, leaks: 0, unhandledLine: undefined })
    }).pipe(
      captured.provide,
      Effect.provide(programLimiter({
        identify: (_shard, send) => send(Effect.zipRight(Effect.yieldNow(), Effect.onInterrupt(Effect.never, releaseFails)))
      }))
    )
  })

  // README, Token and secrecy: "No fiber fails unobserved". GET /gateway/bot, interrupted by a
  // stop or the connect timeout, lets go in the background: a defect of the request's
  // interruption (an abort that fails quoting the Authorization header) ended that fiber
  // unobserved, and Effect logged it with the token in the clear.
  it.scoped("an HttpClient whose interruption dies quoting the token, interrupted by a stop: no unhandled-error line, no token in any log line", () => {
    const captured = capture()
    const { gateway: _, ...withoutGateway } = options()
    return Effect.gen(function*() {
      const session = yield* Scope.extend(Session.make(withoutGateway), yield* Scope.make())
      yield* settle
      const stopping = yield* Effect.fork(session.disconnect("1 second"))
      for (let i = 0; i < 20; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      expect(stopping.unsafePoll() !== null).toBe(true)
      expect(quietAbout(captured.lines)).toEqual({ unhandled: 0, leaks: 0, unhandledLine: undefined })
    }).pipe(
      captured.provide,
      Effect.provide(Layer.mergeAll(
        MemoryTransport.layer,
        IdentifyLimiter.layerMemory,
        Layer.succeed(HttpClient.HttpClient, HttpClient.make((request) =>
          Effect.onInterrupt(Effect.never, () => Effect.die(new Error(`abort failed for ${request.url}: authorization: ${request.headers["authorization"]}`)))))
      ))
    )
  })
})
