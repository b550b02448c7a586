/**
 * The testing kit's options given from plain JavaScript: what its types refuse is refused at
 * `make`, `serve` or as a layer is built, naming the option, never taken as something else (a
 * misspelt cooldown kept at 5 s, a port string taken for a Unix socket path) nor left to fail
 * later (a token that is no `Redacted` threw out of the HTTP handler at the first request).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { LocalGateway, MemoryApi, MemoryServer, MemoryTransport, VirtualTime } from "../../src/testing/index.ts"

const token = Redacted.make("kit-options-token")

// what `make` died with, given `options` (undefined: it made a gateway)
const refusal = (options: Record<string, unknown>) =>
  Effect.map(
    Effect.exit(Effect.scoped(LocalGateway.make(options as unknown as LocalGateway.Options))),
    (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  )

describe("LocalGateway.make options", () => {
  // a Map holds no options as properties: each was read as left out, the token missing
  it.live("refuses options that are no object, naming their kind", () =>
    Effect.gen(function*() {
      for (const [options, kind] of [[null, "null"], [new Map([["token", token]]), "a Map"]] as const) {
        expect(yield* refusal(options as never)).toEqual(new TypeError(`LocalGateway.make: options must be an object with a token, got ${kind}`))
      }
    }))

  it.live("refuses a token that is no Redacted without quoting it, and a port that is no number", () =>
    Effect.gen(function*() {
      const plain = yield* refusal({ token: "kit-options-token" })
      expect(plain).toEqual(new TypeError("token must be a Redacted (Redacted.make(token)), got a string"))
      expect(String(plain)).not.toContain("kit-options-token")
      // a string is a Unix socket path to Node's `listen`
      expect(yield* refusal({ token, port: "/tmp/kit.sock" })).toEqual(
        new TypeError(`port must be a port number (a whole number from 0 to 65535), got "/tmp/kit.sock"`)
      )
    }))

  it.live("refuses misspelt options, privileged intents that are no intent bits, and counts past 65535, naming each", () =>
    Effect.gen(function*() {
      const refused = [
        [{ identifyColdown: "50 millis" }, "unknown option identifyColdown (misspelt?)"],
        [{ sessionStartLimit: { totl: 5 } }, "unknown option sessionStartLimit.totl (misspelt?)"],
        [{ privilegedIntents: Number.NaN }, "privilegedIntents must be intent bits (a whole number whose bits are intents), got NaN"],
        [{ privilegedIntents: -1 }, "privilegedIntents must be intent bits (a whole number whose bits are intents), got -1"],
        [{ shards: 70_000, guilds: 0 }, "shards must be a whole number from 1 to 65535, got 70000"],
        [{ sessionStartLimit: { maxConcurrency: 70_000 } }, "maxConcurrency must be a whole number from 1 to 65535, got 70000"],
        [{ guilds: 2.5 }, "guilds must be a whole number of at least 0, got 2.5"]
      ] as const
      for (const [options, message] of refused) {
        expect(yield* refusal({ token, ...options })).toEqual(new RangeError(message))
      }
      // an option left out as undefined is no misspelling
      expect(yield* refusal({ token, shards: 1, port: undefined, identifyCooldown: undefined })).toBeUndefined()
    }))

  // "false" (from a JSON or env config) was taken as true: every Identify of another shard count
  // was closed with 4010, nothing said at make
  it.live("refuses a strictShardCount that is no boolean, naming it", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ token, shards: 2, strictShardCount: "false" })).toEqual(
        new TypeError(`strictShardCount must be true or false, got "false"`)
      )
      expect(yield* refusal({ token, shards: 2, strictShardCount: false })).toBeUndefined()
    }))

  // a code given as a string ("4000") was refused as "close code 4000 cannot be sent in a close
  // frame", a code a close frame carries: the reader could not tell the string was the problem
  it.live("refuses a closeOnMissedHeartbeat given as a string saying it is no number", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ token, closeOnMissedHeartbeat: "4000" })).toEqual(
        new TypeError(`closeOnMissedHeartbeat must be true, false or a close code (a number), got "4000"`)
      )
      expect(yield* refusal({ token, closeOnMissedHeartbeat: 4000 })).toBeUndefined()
    }))

  // served as given, and refilled to the total after the reset: a budget no Discord answer says
  it.live("refuses a sessionStartLimit with more remaining than its total, naming both", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ token, sessionStartLimit: { total: 5, remaining: 10 } })).toEqual(
        new RangeError("sessionStartLimit.remaining must be at most its total (5), got 10")
      )
      expect(yield* refusal({ token, sessionStartLimit: { remaining: 1001 } })).toEqual(
        new RangeError("sessionStartLimit.remaining must be at most its total (1000), got 1001")
      )
      expect(yield* refusal({ token, sessionStartLimit: { total: 5, remaining: 5 } })).toBeUndefined()
    }))
})

describe("MemoryApi answers", () => {
  it("refuses an answer no client takes, or a misspelt field, naming it", () => {
    expect(() => MemoryApi.body({ shards: 2.5 })).toThrow(new RangeError("MemoryApi: shards must be a whole number from 1 to 65535, got 2.5"))
    expect(() => MemoryApi.body({ maxConcurrency: 0 })).toThrow(
      new RangeError("MemoryApi: maxConcurrency must be a whole number from 1 to 65535, got 0")
    )
    expect(() => MemoryApi.body({ maxConcurency: 16 } as MemoryApi.Answer)).toThrow(
      new RangeError("MemoryApi: unknown option maxConcurency (misspelt?)")
    )
    expect(MemoryApi.body({ shards: 65_535, maxConcurrency: 16 }).shards).toBe(65_535)
    // more left than the day holds (its default: 1000, or twice the shards)
    expect(() => MemoryApi.body({ total: 5, remaining: 10 })).toThrow(new RangeError("MemoryApi: remaining must be at most total (5), got 10"))
    expect(() => MemoryApi.body({ shards: 600, remaining: 1201 })).toThrow(new RangeError("MemoryApi: remaining must be at most total (1200), got 1201"))
    expect(MemoryApi.body({ shards: 600, remaining: 1200 }).session_start_limit.remaining).toBe(1200)
  })

  it.effect("dies as its layer is built", () =>
    Effect.gen(function*() {
      const built = yield* Effect.exit(Effect.scoped(Layer.build(MemoryApi.layer({ shards: 2.5 }))))
      expect(Exit.isFailure(built) && Cause.squash(built.cause)).toEqual(
        new RangeError("MemoryApi: shards must be a whole number from 1 to 65535, got 2.5")
      )
    }))
})

describe("MemoryServer.serve options", () => {
  const Services = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, MemoryApi.layer())
  const served = (options: Record<string, unknown>) =>
    Effect.map(
      Effect.exit(Effect.scoped(MemoryServer.serve(options as MemoryServer.Options))),
      (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    )

  it.effect("refuses a misspelt option, and a readyAfter or resumeWindow that is none, negative or NaN, naming them", () =>
    Effect.gen(function*() {
      expect(yield* served({ heartbeatIntervall: 1000 })).toEqual(
        new RangeError("MemoryServer.serve: unknown option heartbeatIntervall (misspelt?)")
      )
      for (const [readyAfter, shown] of [["3 minutez", `"3 minutez"`], [-5000, "-5000"], [Number.NaN, "NaN"]] as const) {
        expect(yield* served({ readyAfter })).toEqual(
          new RangeError(`MemoryServer.serve: readyAfter must be a duration of at least 0, got ${shown}`)
        )
      }
      expect(yield* served({ readyAfter: "1 second" })).toBeUndefined()
      for (const [resumeWindow, shown] of [["3 minutez", `"3 minutez"`], [-1, "-1"]] as const) {
        expect(yield* served({ resumeWindow })).toEqual(
          new RangeError(`MemoryServer.serve: resumeWindow must be a duration of at least 0, got ${shown}`)
        )
      }
      expect(yield* served({ resumeWindow: Infinity })).toBeUndefined()
      // a Map holds no options as properties: each was read as left out
      expect(yield* served(new Map([["heartbeatInterval", 1000]]) as never)).toEqual(
        new TypeError("MemoryServer.serve: options must be an object, got a Map")
      )
    }).pipe(Effect.provide(Services)))

  // one with no session id (`session_id`, the gateway's spelling) was kept under `undefined`, and
  // the Resume of the point it meant got op 9, unsaid; a resume point's other fields are let through
  it.effect("refuses a sessions entry with no session id, shard or sequence, naming it; takes a resume point as it is", () =>
    Effect.gen(function*() {
      const point = { sessionId: "s-1", shard: [0, 1], sequence: 5, resumeGatewayUrl: "wss://resume.gateway.test", encoding: "json" }
      const refused = [
        [{ ...point, sessionId: undefined, session_id: "s-1" }, `sessions[1].sessionId must be a session id (a non-empty string), got undefined`],
        [{ ...point, shard: [1, 1] }, "sessions[1].shard must be [id, count] with 0 <= id < count, got an array"],
        [{ ...point, sequence: -1 }, "sessions[1].sequence must be a whole number of at least 0, got -1"]
      ] as const
      for (const [entry, message] of refused) {
        expect(yield* served({ sessions: [point, entry] })).toEqual(new RangeError(`MemoryServer.serve: ${message}`))
      }
      expect(yield* served({ sessions: [point] })).toBeUndefined()
    }).pipe(Effect.provide(Services)))

  // one resume point given bare, not in a list, died with JavaScript's "(options.sessions ?? []).map
  // is not a function", naming nothing the test wrote
  it.effect("refuses a sessions option that is no list, naming it", () =>
    Effect.gen(function*() {
      const point = { sessionId: "s-1", shard: [0, 1], sequence: 3 }
      expect(yield* served({ sessions: point })).toEqual(
        new TypeError("MemoryServer.serve: sessions must be a list of resume points, got an object")
      )
    }).pipe(Effect.provide(Services)))
})

describe("VirtualTime.advance", () => {
  // one that is no duration died with Effect's bare "Invalid DurationInput", or V8's BigInt error
  it.effect("dies with a RangeError naming a duration or a step that is none, as given", () =>
    Effect.gen(function*() {
      const died = (advanced: Effect.Effect<void>) =>
        Effect.map(Effect.exit(advanced), (exit) => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)
      expect(yield* died(VirtualTime.advance("3 secondz" as never))).toEqual(
        new RangeError(`VirtualTime.advance: the duration must be a finite length, got "3 secondz"`)
      )
      expect(yield* died(VirtualTime.advance([1e300, 0]))).toEqual(
        new RangeError("VirtualTime.advance: the duration must be a finite length, got 1e+300,0")
      )
      expect(yield* died(VirtualTime.advance("3 seconds", { step: "1 secondz" as never }))).toEqual(
        new RangeError(`VirtualTime.advance: the step must be a positive finite length, got "1 secondz"`)
      )
    }))
})
