import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { options, resumeUrl, secret } from "./harness.ts"

const point = (shard: readonly [number, number], overrides: Partial<SessionOptions.ResumePoint> = {}) => ({
  sessionId: "s",
  sequence: 7,
  resumeGatewayUrl: resumeUrl,
  shard,
  ...overrides
})

const problemOf = (result: Either.Either<SessionOptions.ResolvedOptions, { readonly detail: string }>) =>
  Either.match(result, { onLeft: (error) => error.detail, onRight: () => "valid" })

describe("SessionOptions.resolve", () => {
  it("fills in the defaults", () => {
    const { compression: _compression, ...defaults } = options()
    const resolved = Either.getOrThrow(SessionOptions.resolve(defaults))
    expect(resolved.shard).toEqual([0, 1])
    expect(resolved.compression).toBe("zlib-stream")
    expect(resolved.encoding.name).toBe("json")
    expect(resolved.bufferSize).toBe(SessionOptions.defaultBufferSize)
    expect(resolved.timeouts).toEqual({ connect: "15 seconds", hello: "20 seconds", ready: "30 seconds", members: "30 seconds" })
  })

  it("names every problem of bad options, and never the token", () => {
    const cases: ReadonlyArray<[Partial<SessionOptions.SessionOptions>, string]> = [
      [{ shard: [0, 0] }, "shard count must be a positive integer, got 0"],
      [{ shard: [2, 2] }, "shard id must be in [0, 2), got 2"],
      [{ intents: -1 }, "intents must be a combination of known intent bits, got -1"],
      [{ gateway: "https://x.test" }, "gateway must be a ws:// or wss:// URL"],
      [{ api: "ftp://x.test" }, "api must be an http(s) URL"],
      [{ encoding: "xml" as never }, `encoding must be "json" or "etf", got "xml"`],
      [{ bufferSize: 0 }, "bufferSize must be a positive integer, got 0"],
      [{ backoff: { factor: 0.5 } }, "backoff.factor must be at least 1, got 0.5"],
      [{ resume: point([1, 2]) }, "resume.shard [1,2] is not this session's shard [0, 1]"],
      [{ resume: point([0, 1], { sequence: -1 }) }, "resume.sequence must be a non-negative integer"]
    ]
    for (const [overrides, problem] of cases) {
      const detail = problemOf(SessionOptions.resolve(options(overrides)))
      expect(detail).toContain(problem)
      expect(detail).not.toContain(secret)
    }
    const all = problemOf(SessionOptions.resolve(options({ shard: [3, 2], bufferSize: 0 })))
    expect(all).toBe("shard id must be in [0, 2), got 3; bufferSize must be a positive integer, got 0")
  })
})

describe("SessionOptions.forShard", () => {
  const shared = Either.getOrThrow(
    SessionOptions.resolve(options({ shard: [0, 4], events: ["MESSAGE_CREATE"], timeouts: { hello: "1 second" } }))
  )

  it("gives another shard the same options, sharing their parts, with its own resume point", () => {
    const third = Either.getOrThrow(SessionOptions.forShard(shared, [2, 4], point([2, 4])))
    expect(third.shard).toEqual([2, 4])
    expect(third.resume).toEqual(point([2, 4]))
    expect(third.events).toBe(shared.events)
    expect(third.timeouts).toBe(shared.timeouts)
    expect(third.backoff).toBe(shared.backoff)
    expect(Either.getOrThrow(SessionOptions.forShard(shared, [1, 4], undefined)).resume).toBeUndefined()
    expect(shared.shard).toEqual([0, 4])
  })

  it.effect("checks the shard and its resume point", () =>
    Effect.gen(function*() {
      expect(problemOf(SessionOptions.forShard(shared, [4, 4], undefined))).toBe("shard id must be in [0, 4), got 4")
      expect(problemOf(SessionOptions.forShard(shared, [1, 4], point([2, 4])))).toBe(
        "resume.shard [2,4] is not this session's shard [1, 4]"
      )
      for (const sessionId of ["", "s".repeat(257)]) {
        expect(problemOf(SessionOptions.forShard(shared, [1, 4], point([1, 4], { sessionId })))).toBe(
          "resume.sessionId must be a non-empty string of at most 256 characters"
        )
      }
      const error = yield* Effect.flip(SessionOptions.forShard(shared, [1, 4], point([1, 4], { sessionId: "" })))
      expect(error._tag).toBe("InvalidOptions")
    }))
})

describe("SessionOptions.withPresence", () => {
  const activity = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
  // the longest activity name an Identify of `options` can carry
  const longestFitting = (resolved: SessionOptions.ResolvedOptions) => {
    let length = 0
    while (Either.isRight(SessionOptions.withPresence(resolved, activity("x".repeat(length + 1))))) length++
    return length
  }

  it("gives the options a new presence while their Identify can carry it", () => {
    const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
    const watching = activity("the gateway")
    expect(Either.getOrThrow(SessionOptions.withPresence(resolved, watching)).presence).toBe(watching)
    const refused = Either.flip(SessionOptions.withPresence(resolved, activity("x".repeat(longestFitting(resolved) + 1))))
    expect(Either.getOrThrow(refused).reason).toBe("TooLarge")
  })

  it("measures the Identify in the options' encoding and for their shard", () => {
    const json = Either.getOrThrow(SessionOptions.resolve(options({ shard: [0, 1] })))
    const etf = Either.getOrThrow(SessionOptions.resolve(options({ shard: [0, 1], encoding: "etf" })))
    expect(longestFitting(etf)).not.toBe(longestFitting(json))
    // a presence that just fits shard 0's Identify does not fit shard 1000's, whose number is longer
    const justFitting = Either.getOrThrow(SessionOptions.withPresence(json, activity("x".repeat(longestFitting(json)))))
    expect(problemOf(SessionOptions.forShard(justFitting, [1000, 1001], undefined))).toMatch(/^Identify: payload is 4\d{3} bytes, the limit is 4096$/)
  })
})
