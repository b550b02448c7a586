/**
 * Options given past the Session and Fleet checks: a program's own GatewayCache, a stored point
 * through SessionOptions.forShard, a plain Encoding where layerConfig takes a Config, and which
 * option a backoff problem names.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Duration, Effect, Either, Exit, Layer, Option, Redacted } from "effect"
import { Etf, Fleet, GatewayCache, IdentifyLimiter, Intents, Session, SessionOptions } from "../../src/index.ts"
import { MemoryApi, MemoryTransport } from "../../src/testing/index.ts"
import { exitPlaces, leaksOf } from "../secrecy.ts"
import { acceptAndHello, options, secret, settle } from "./harness.ts"

const token = Redacted.make(secret)
const Api = Layer.mergeAll(IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 4, maxConcurrency: 4 }))
const Bot = Layer.mergeAll(MemoryTransport.layer, Api)

describe("GatewayCache.make's options", () => {
  // a NaN maxAge (Number of an unset variable) was read as none: a GET /gateway/bot at every call
  it.effect("a maxAge that is no duration (NaN) is refused, not a GET /gateway/bot at every call", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.exit(Effect.gen(function*() {
        const cache = yield* GatewayCache.make({ api: SessionOptions.defaultApi, token, maxAge: Number(undefined), timeout: "5 seconds" })
        yield* cache.info
        yield* cache.info
        yield* cache.info
        return yield* cache.fetches
      }))
      if (Exit.isSuccess(outcome)) expect(outcome.value, "requests made for three calls within a second").toBe(1)
      else expect(Cause.pretty(outcome.cause)).toMatch(/maxAge/)
    }).pipe(Effect.provide(Api)))

  // a NaN timeout was read as none: every fetch failed at once ("no answer within 0"), a passing
  // failure its callers asked again for ever
  it.effect("a timeout that is no duration (NaN) is refused, not every fetch failing at once with 'no answer within 0'", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.exit(Effect.gen(function*() {
        const cache = yield* GatewayCache.make({ api: SessionOptions.defaultApi, token, maxAge: "1 hour", timeout: Number.NaN })
        return yield* cache.info
      }))
      // either the in-memory API's answer (it answers at once) or a refusal naming the option
      if (Exit.isFailure(outcome)) {
        expect(Option.isNone(Cause.failureOption(outcome.cause)), Cause.pretty(outcome.cause)).toBe(true)
        expect(Cause.pretty(outcome.cause)).toMatch(/timeout/)
      }
    }).pipe(Effect.provide(Api)))

  // a misspelt maxAge (`maxage`) was a defect saying only "Invalid DurationInput"
  it.effect("a misspelt maxAge (maxage) is told by its name, not as 'Invalid DurationInput'", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.exit(GatewayCache.make({ api: SessionOptions.defaultApi, token, maxage: "1 hour", timeout: "5 seconds" } as never))
      expect(Exit.isFailure(outcome)).toBe(true)
      if (Exit.isFailure(outcome)) expect(Cause.pretty(outcome.cause)).toMatch(/maxage|maxAge/)
    }).pipe(Effect.provide(Api)))

  // a Map holds no options as properties: each was read as left out
  it.effect("options that are no object (a Map) are told by their kind", () =>
    Effect.gen(function*() {
      const given = new Map<string, unknown>([["api", SessionOptions.defaultApi], ["token", token], ["maxAge", "1 hour"], ["timeout", "5 seconds"]])
      const outcome = yield* Effect.exit(GatewayCache.make(given as never))
      expect(Exit.isFailure(outcome) && Cause.pretty(outcome.cause)).toMatch(/the options must be an object, got a Map/)
    }).pipe(Effect.provide(Api)))

  // the checks take what a session passes: an infinite maxAge, and a connect timeout past the
  // longest timer (made infinite)
  it.scoped("a session with an infinite gatewayInfoMaxAge and a 30-day connect timeout makes its cache and identifies", () =>
    Effect.gen(function*() {
      const { gateway: _, ...withoutGateway } = options()
      const session = yield* Session.make({
        ...withoutGateway,
        api: "http://api.test/api/v10",
        gatewayInfoMaxAge: Duration.infinity,
        timeouts: { connect: "30 days" }
      })
      const { first } = yield* acceptAndHello(3_600_000)
      expect(first.op).toBe(2)
      yield* settle
      yield* session.disconnect()
    }).pipe(Effect.provide(Bot)))

  it.effect("GatewayCache.make takes Duration.infinity for both maxAge and timeout", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(GatewayCache.make({
        api: "http://api.test/api/v10",
        token,
        maxAge: Duration.infinity,
        timeout: Duration.infinity
      }))
      expect(Exit.isSuccess(exit)).toBe(true)
    }).pipe(Effect.provide(Layer.mergeAll(IdentifyLimiter.layerMemory, MemoryApi.layer({ shards: 1 })))))

  // refused as a session refuses it: a token given with the REST header's "Bot " prefix got a 401,
  // after which the cache refused every caller for good
  it.effect("a token that is no bare token (a \"Bot \" prefix, a newline) is refused at once, not quoted", () =>
    Effect.gen(function*() {
      for (const [given, problem] of [[`Bot ${secret}`, "without the \"Bot \" prefix"], [`${secret}\n`, "whitespace"]] as const) {
        const exit = yield* Effect.exit(GatewayCache.make({ api: SessionOptions.defaultApi, token: Redacted.make(given), maxAge: "1 hour", timeout: "5 seconds" }))
        const told = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        expect(told).toContain(`GatewayCache.make: token must`)
        expect(told).toContain(problem)
        expect(told).not.toContain(secret)
      }
    }).pipe(Effect.provide(Api)))
})

describe("GatewayCache.make's refusal of its api", () => {
  // a proxy that takes the token in its path, written with the wrong scheme: the defect quoted its
  // first 60 characters raw, 40 of them the token's, where Session.make masks the same api
  it.effect("an api with the wrong scheme holding the token is quoted masked, as Session.make quotes it", () =>
    Effect.gen(function*() {
      const api = `ws://proxy.example/${secret}/api/v10`
      const leaksIn = leaksOf(secret)
      const session = yield* Effect.exit(Effect.scoped(Session.make(options({ gateway: undefined, api }))))
      expect(Exit.isFailure(session)).toBe(true)
      expect(leaksIn(exitPlaces("Session.make", session))).toEqual([])
      const cache = yield* Effect.exit(GatewayCache.make({ api, token, maxAge: "1 hour", timeout: "5 seconds" }))
      expect(Exit.isFailure(cache) ? Cause.pretty(cache.cause) : "made").toContain(`api must be an http:// or https:// URL, got "ws://proxy.example/<token>...`)
      expect(leaksIn(exitPlaces("GatewayCache.make", cache))).toEqual([])
    }).pipe(Effect.provide(Bot)))
})

describe("GatewayCache.make's refusal of options it cannot read", () => {
  // the masking of a refusal read the token of options that were none (a TypeError from inside
  // the library), or ran a token getter that threw (its Error in place of the refusal); and the
  // check of misspelt keys read every option's getter
  for (const given of [undefined, null]) {
    it.effect(`options ${String(given)}: the defect says the options must be an object`, () =>
      Effect.gen(function*() {
        const outcome = yield* Effect.exit(GatewayCache.make(given as never))
        expect(Exit.isFailure(outcome) ? Cause.pretty(outcome.cause) : "made").toContain(`GatewayCache.make: the options must be an object, got ${String(given)}`)
      }).pipe(Effect.provide(Api)))
  }

  it.effect("a token getter that throws: the refusal of a wrong-scheme api is still said", () =>
    Effect.gen(function*() {
      const given = {
        api: "ws://proxy.example/api/v10",
        get token(): string {
          throw new Error("vault locked")
        },
        maxAge: "1 hour",
        timeout: "5 seconds"
      }
      const outcome = yield* Effect.exit(GatewayCache.make(given as never))
      expect(Exit.isFailure(outcome) ? Cause.pretty(outcome.cause) : "made").toContain("GatewayCache.make: api must be an http:// or https:// URL")
    }).pipe(Effect.provide(Api)))
})

describe("SessionOptions.forShard with a stored point", () => {
  const base = Either.getOrThrow(SessionOptions.resolve(options({ shard: [0, 4] })))
  const stored = (shard: unknown) => JSON.parse(JSON.stringify({ sessionId: "s", sequence: 3, resumeGatewayUrl: "ws://resume.test/", shard }))

  // a stored point's shard of null threw a TypeError out of forShard
  it("a point whose shard is null (as a store gives it back) is InvalidOptions, not a thrown TypeError", () => {
    let result: Either.Either<SessionOptions.ResolvedOptions, unknown> | undefined
    expect(() => {
      result = SessionOptions.forShard(base, [1, 4], stored(null))
    }).not.toThrow()
    expect(result !== undefined && Either.isLeft(result)).toBe(true)
  })

  // one of strings was told as "resume.shard [1,4] is not this session's shard [1, 4]"
  it("a point whose shard pair is strings is told as no pair of whole numbers, not as '[1,4] is not this session's shard [1, 4]'", () => {
    const result = SessionOptions.forShard(base, [1, 4], stored(["1", "4"]))
    const problems = Either.isLeft(result) ? result.left.problems.map((p) => p.problem) : []
    expect(problems.length).toBeGreaterThan(0)
    for (const problem of problems) expect(problem).not.toMatch(/is not this session's shard/)
  })
})

describe("layerConfig: a plain value where a Config goes", () => {
  // the library's own Etf.encoding, a plain object, given as it is: the error named its members
  // (`encoding.name`, `encoding.decode`...), each told to be a Config.succeed, not the option
  it.effect("Etf.encoding given as it is is a ConfigError naming encoding, not its members", () =>
    Effect.gen(function*() {
      const layer = Session.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Intents.config("DISCORD_INTENTS"),
        gateway: Config.succeed("ws://gateway.test/"),
        encoding: Etf.encoding as never
      })
      const provider = ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", secret], ["DISCORD_INTENTS", "GUILDS"]]))
      const error = yield* Effect.flip(Layer.build(layer).pipe(Effect.withConfigProvider(provider)))
      expect(error._tag).not.toBe("InvalidOptions")
      const text = String(error)
      expect(text).toContain("Invalid data at encoding:")
      expect(text).not.toMatch(/encoding\.(name|decode|encode|decodedSize)/)
    }).pipe(Effect.scoped, Effect.provide(Bot)))

  // options from JavaScript, or built lazily: a getter that throws died with the thrown Error, a
  // defect, where `make` tells the same options as InvalidOptions
  it.effect("a getter that throws is a ConfigError naming its option, of a session's layer and of a fleet's", () =>
    Effect.gen(function*() {
      const given = (where: "top" | "nested") => ({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Config.succeed(513),
        get gateway(): Config.Config<string> {
          if (where === "top") throw new Error("no gateway configured")
          return Config.succeed("ws://gateway.test/")
        },
        timeouts: {
          get connect(): Config.Config<Duration.Duration> {
            throw new Error("no timeout configured")
          }
        }
      })
      const provider = ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", secret]]))
      const failure = <A, E>(layer: Layer.Layer<A, E>) =>
        Layer.build(layer).pipe(Effect.withConfigProvider(provider), Effect.scoped, Effect.exit, Effect.map((exit) =>
          Exit.isFailure(exit) ? Option.match(Cause.failureOption(exit.cause), { onNone: () => "no failure", onSome: String }) : "built"))
      expect(yield* failure(Layer.provide(Session.layerConfig(given("top")), Bot)))
        .toContain(`Invalid data at gateway: "gateway could not be read: no gateway configured"`)
      expect(yield* failure(Layer.provide(Fleet.layerConfig(given("nested")), Bot)))
        .toContain(`Invalid data at timeouts.connect: "timeouts.connect could not be read: no timeout configured"`)
    }))
})

describe("layerConfig: a getter that throws what holds the token", () => {
  const tokenProvider = ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", secret]]))
  const failureOf = <A, E>(layer: Layer.Layer<A, E>) =>
    Layer.build(layer).pipe(Effect.withConfigProvider(tokenProvider), Effect.scoped, Effect.exit)

  // `make` says only "token could not be read" of a token getter that throws (what it threw cannot
  // be masked), and masks the token in what another getter threw; a layer's error quoted both raw
  it.effect("is told without what it threw: the token's own getter never, another's only when short", () =>
    Effect.gen(function*() {
      const leaksIn = leaksOf(secret)
      const tokenThrows = {
        get token(): Config.Config<Redacted.Redacted<string>> {
          throw new Error(`not a bot token: ${secret}`)
        },
        intents: Config.succeed(513)
      }
      const gatewayThrows = {
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Config.succeed(513),
        get gateway(): Config.Config<string> {
          throw new Error(`no gateway for the bot ${secret}`)
        }
      }
      const exits: ReadonlyArray<Exit.Exit<unknown, unknown>> = [
        yield* failureOf(Layer.provide(Session.layerConfig(tokenThrows as never), Bot)),
        yield* failureOf(Layer.provide(Fleet.layerConfig(tokenThrows as never), Bot))
      ]
      for (const exit of exits) {
        expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "built").toContain(`Invalid data at token: "token could not be read"`)
        expect(leaksIn(exitPlaces("layerConfig", exit))).toEqual([])
      }
      const gateway = yield* failureOf(Layer.provide(Session.layerConfig(gatewayThrows), Bot))
      expect(Exit.isFailure(gateway) ? Cause.pretty(gateway.cause) : "built").toContain("gateway could not be read (what it threw, 82 characters, not shown)")
      expect(leaksIn(exitPlaces("layerConfig", gateway))).toEqual([])
    }))
})

describe("which option a problem names", () => {
  // `backoff.max` alone, below the default `initial` (1 s), was named `backoff.initial`, a key the
  // program never gave
  it("backoff.max given alone, below the default initial, is named backoff.max", () => {
    const result = SessionOptions.resolve(options({ backoff: { max: "500 millis" } }))
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) expect(result.left.problems.map((p) => p.option)).toEqual(["backoff.max"])
  })
})
