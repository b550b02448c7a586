/**
 * What a program reads when something fails, across the modules: each typed error says what is
 * wrong with the value it got, bounded and escaped whatever that value, and is the typed failure
 * its API documents.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { RouteError } from "../../src/fleet/Routing.ts"
import { FatalClose, GatewayInfoError, InvalidOptions, SessionClosed } from "../../src/session/SessionError.ts"
import { TransportError } from "../../src/transport/GatewayTransport.ts"
import { captured } from "../logLines.ts"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Commands from "../../src/protocol/Commands.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as GatewayInfo from "../../src/session/GatewayInfo.ts"
import * as FleetOptions from "../../src/fleet/FleetOptions.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { inspect } from "node:util"
import { freePort } from "../freePort.ts"
import { options, secret, Session } from "../session/harness.ts"

/** GatewayInfo.fetch through a client that fails every request with a Transport error caused by `cause`. */
const failingWith = (cause: (authorization: string) => Error) => {
  const client = HttpClient.make((request) =>
    Effect.fail(
      new HttpClientError.RequestError({ request, reason: "Transport", cause: cause(request.headers["authorization"] ?? "") })
    ).pipe(Effect.map(() => HttpClientResponse.fromWeb(request, new Response(""))))
  )
  return GatewayInfo.fetch("https://discord.test/api/v10", Redacted.make(secret), "15 seconds").pipe(
    Effect.provideService(HttpClient.HttpClient, client),
    Effect.flip
  )
}

// the longest start (8 characters or more) of the token's secret parts (its timestamp and HMAC) in `text`
const tokenPieces = (text: string): ReadonlyArray<string> => {
  const secretParts = secret.split(".").slice(1).join(".")
  let longest: string | undefined
  for (let length = 8; length <= secretParts.length; length++) {
    if (text.includes(secretParts.slice(0, length))) longest = secretParts.slice(0, length)
  }
  return longest === undefined ? [] : [longest]
}

const detailOf = (result: Either.Either<unknown, { readonly message: string }>) =>
  Either.match(result, { onLeft: (error) => error.message, onRight: () => "valid" })

describe("Typed errors' messages", () => {
  it("InvalidOptions quotes a non-number intents/bufferSize (as from JavaScript or a parsed file) as show() does: `got 513` reads as if 513 were refused", () => {
    const given = (overrides: Record<string, unknown>) =>
      detailOf(SessionOptions.resolve({ ...options(), ...overrides } as SessionOptions.SessionOptions))
    // the string "513" (a config value never converted) is refused, rightly, but the message says
    // it got 513, which is a valid set of intents: the user cannot tell what is wrong
    expect(given({ intents: "513" })).toContain(`got "513"`)
    expect(given({ bufferSize: "4096" })).toContain(`got "4096"`)
  })

  it("InvalidOptions for a bad intents value is bounded and escaped whatever the value (a 100 KB string with a terminal escape)", () => {
    const evil = `\u001b]0;pwned\u0007${"9".repeat(100_000)}`
    const result = SessionOptions.resolve({ ...options(), intents: evil as unknown as number })
    expect(Either.isLeft(result)).toBe(true)
    const message = detailOf(result)
    expect(message.length).toBeLessThan(1000)
    expect(message).not.toMatch(/[\u0000-\u001f]/)
  })

  it("Session.make with a Symbol for intents fails with InvalidOptions; it threw a TypeError synchronously, before any Effect ran", () => {
    let made: unknown
    // resolve runs when make is called: `${options.intents}` in its message throws
    expect(() => {
      made = Session.make({ ...options(), intents: Symbol("intents") as unknown as number })
    }).not.toThrow()
    expect(Effect.isEffect(made)).toBe(true)
    expect(Either.isLeft(SessionOptions.resolve({ ...options(), intents: Symbol("intents") as unknown as number }))).toBe(true)
  })

  it("Fleet options quote a non-number shardCount: `shardCount must be a positive integer, got 4` for the string \"4\"", () => {
    const message = detailOf(FleetOptions.checkSelection({ ...options(), shardCount: "4" } as unknown as FleetOptions.FleetOptions))
    expect(message).toContain(`got "4"`)
    expect(message).not.toContain(secret)
  })

  it.scopedLive("LocalGateway.make with a port it cannot listen on (70000) fails with LocalGatewayError as documented, not a RangeError defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(LocalGateway.make({ token: Redacted.make("x"), port: 70_000 })))
      // documented: "fails with LocalGatewayError when it cannot listen on the port asked for"
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : `not a typed failure: ${exit._tag === "Failure" ? exit.cause._tag : "success"}`)
        .toBe("LocalGatewayError")
      const caught = yield* Effect.scoped(LocalGateway.make({ token: Redacted.make("x"), port: -1 })).pipe(
        Effect.as("listened"),
        Effect.catchTag("LocalGatewayError", () => Effect.succeed("caught")),
        Effect.catchAllDefect((defect) => Effect.succeed(`defect: ${String(defect)}`))
      )
      expect(caught).toBe("caught")
    }))

  it.effect("IdentifyBudgetExhausted says when the budget refills in whole units, not to the nanosecond of a fractional clock", () =>
    Effect.gen(function*() {
      const limiter = yield* IdentifyLimiter.make({ margin: 0 })
      yield* limiter.configure({ maxConcurrency: 1, total: 1000, remaining: 0, resetAfter: 60_000 })
      // the live clock's monotonic millis have fractions (process.hrtime): so does resetAfter
      yield* TestClock.adjust("250001 micros")
      const refused = yield* Effect.flip(limiter.identify(0, () => Effect.void))
      expect(refused._tag).toBe("IdentifyBudgetExhausted")
      // "it refills in 59s 749ms 999000ns (identifying ...)"
      expect(refused.message).not.toMatch(/\d+ns\b/)
    }))

  it.live("GatewayInfoError over FetchHttpClient says why the request failed (connection refused), not only `fetch failed`", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const error = yield* Effect.flip(
        GatewayInfo.fetch(`http://127.0.0.1:${port}/api`, Redacted.make(secret), "5 seconds").pipe(Effect.provide(FetchHttpClient.layer))
      )
      expect(error._tag).toBe("GatewayInfoError")
      // "GET /gateway/bot failed: Transport error for http://127.0.0.1:PORT/api/gateway/bot: fetch failed"
      expect(error.message).toContain("ECONNREFUSED")
    }))

  it("Intents.parse: the InvalidIntents message is bounded whatever the text (an env variable of 100,000 digits)", () => {
    for (const text of ["9".repeat(100_000), `${"0".repeat(100_000)}67108864`]) {
      const parsed = Intents.parse(text)
      expect(Either.isLeft(parsed)).toBe(true)
      if (Either.isLeft(parsed)) expect(parsed.left.message.length).toBeLessThan(1000)
    }
  })

  it("Commands.validate: the InvalidCommand for an unknown _tag quotes it bounded and escaped", () => {
    const tag = `\u001b[2J${"X".repeat(100_000)}`
    const result = Commands.validate({ _tag: tag } as unknown as Commands.Command)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.message.length).toBeLessThan(1000)
      expect(result.left.message).not.toMatch(/[\u0000-\u001f]/)
    }
  })

  it.effect("GatewayInfoError never shows part of the token when a cause quoting the Authorization header is clipped at 200 characters", () =>
    Effect.gen(function*() {
      // a client (a proxy agent, a logging wrapper) that says which request it refused, the
      // headers after the URL: the token starts at character 147 of the message
      const error = yield* failingWith((authorization) =>
        new Error(
          `request GET https://discord.test/api/v10/gateway/bot?${"x".repeat(56)} refused; headers: authorization: ${authorization}`
        )
      )
      const text = `${error.message} ${error.detail}`
      // a message clipped at 200 before the token was taken out cut the token in half, and its
      // first half no longer matched it
      expect(text).not.toContain(secret)
      expect(tokenPieces(text)).toEqual([])
    }))

  it.effect("GatewayInfoError says why a dual-stack connect was refused (Node's AggregateError has an empty message), not `fetch failed: `", () =>
    Effect.gen(function*() {
      // what undici's fetch fails with when the host has an IPv6 and an IPv4 address (localhost on
      // many systems) and both refuse: Node's net gives an AggregateError whose message is ""
      const refused = Object.assign(
        new AggregateError([new Error("connect ECONNREFUSED ::1:443"), new Error("connect ECONNREFUSED 127.0.0.1:443")]),
        { code: "ECONNREFUSED" }
      )
      const error = yield* failingWith(() => new TypeError("fetch failed", { cause: refused }))
      // it said "Transport error for https://discord.test/api/v10/gateway/bot: fetch failed: "
      expect(error.detail).not.toMatch(/: $/)
      expect(error.detail).toContain("ECONNREFUSED")
    }))

  it("Intents.parse(NaN) says it got NaN, not the string \"NaN\" (as SessionOptions does for the same value)", () => {
    const parsed = Intents.parse(Number.NaN)
    expect(Either.isLeft(parsed)).toBe(true)
    const message = Either.isLeft(parsed) ? parsed.left.message : ""
    // SessionOptions says "... got NaN" for intents: NaN
    const resolved = SessionOptions.resolve({ ...options(), intents: Number.NaN })
    expect(Either.isLeft(resolved) ? resolved.left.message : "").toContain("got NaN")
    // it said: intents must be a non-negative integer, got "NaN"
    expect(message).toBe("intents must be a non-negative integer, got NaN")
    const infinite = Intents.parse(Number.POSITIVE_INFINITY)
    expect(Either.isLeft(infinite) ? infinite.left.message : "").toBe("intents must be a non-negative integer, got Infinity")
  })

  // Data's JSON writes the fields only: an error whose message is made from them was logged by
  // `Effect.logError(error)` as `{"code":4014,"shard":2,"_tag":"FatalClose"}`
  it.effect("every error whose message is made from its fields carries it in its JSON and in Effect's log line of it", () =>
    Effect.gen(function*() {
      const errors = [
        new FatalClose({ code: 4014, shard: 2, reason: "Disallowed intent(s)." }),
        new GatewayInfoError({ reason: "Http", detail: "status 404 for https://api.test/v10/gateway/bot" }),
        new SessionClosed({ detail: "the session ended", shards: [0], guildIds: [] }),
        new RouteError({ reason: "NotRunning", shard: 3 }),
        new IdentifyLimiter.IdentifyBudgetExhausted({ shard: 1, total: 1000, resetAfter: 60_000 }),
        new TransportError({ reason: "Connect", status: 503 })
      ]
      const { layer, lines } = captured()
      for (const error of errors) {
        expect(JSON.parse(JSON.stringify(error))).toMatchObject({ _tag: error._tag, message: error.message })
        yield* Effect.provide(Effect.logError(error), layer)
      }
      expect(lines.map((line, i) => line.includes(errors[i]!.message))).toEqual(errors.map(() => true))
      expect(lines[0]).toContain("enable the privileged intents")
    }))

  // a close reason is the peer's text, and only the message escaped it: the error's JSON (what
  // Effect's loggers write for it) and util.inspect (console.error) wrote C1, bidi and line
  // separators raw
  it("FatalClose keeps its reason with control characters escaped: its message, JSON and inspection write none raw", () => {
    // (inspect writes line breaks of its own)
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/
    const error = new FatalClose({ code: 4004, shard: 0, reason: "denied \u009b2J by \u202eyxorp\u2028next\u001b" })
    expect(error.reason).toBe("denied \\u009b2J by \\u202eyxorp\\u2028next\\u001b")
    for (const printed of [error.message, JSON.stringify(error), inspect(error)]) expect(printed).not.toMatch(raw)
    // quotes and backslashes escaped too: a peer's ESC and its literal text `\u001b` read apart, and
    // a reason's own quotes cannot end the quotation early
    const esc = new FatalClose({ code: 4004, shard: 0, reason: "bad\u001b" })
    const literal = new FatalClose({ code: 4004, shard: 0, reason: "bad\\u001b" })
    expect(esc.message === literal.message).toBe(false)
    expect(new FatalClose({ code: 4004, shard: 0, reason: `x"; the gateway says "reconnect` }).message).toContain(
      `saying "x\\"; the gateway says \\"reconnect"`
    )
    expect(new FatalClose({ code: 4014, shard: 2, reason: "" }).message).toBe(
      "shard 2: the gateway closed with 4014 (disallowed intents: enable the privileged intents in the developer portal); not reconnecting"
    )
  })

  // a transport in plain JavaScript failing with a string, or an object with a message: its words
  // were lost ("transport connect failed", then "connect failed: no reason given")
  it("a TransportError keeps its cause's words, whatever the cause is", () => {
    expect(new TransportError({ reason: "Connect", cause: "getaddrinfo ENOTFOUND gateway.test" }).message).toBe(
      "transport connect failed: getaddrinfo ENOTFOUND gateway.test"
    )
    expect(new TransportError({ reason: "Send", cause: { message: "write EPIPE" } }).message).toBe("transport send failed: write EPIPE")
    expect(new TransportError({ reason: "Send", cause: { message: 5 } }).message).toBe("transport send failed")
    expect(new TransportError({ reason: "Connect", cause: new Error("refused"), status: 503, retryAfter: 2 }).message).toBe(
      "transport connect failed: refused; retry after 2 s"
    )
  })

  // a fatal one (a 404 from a wrong api) read as a passing failure, naming nothing to do
  it("a GatewayInfoError trying again cannot mend says so and what to check; a passing one does not", () => {
    expect(new GatewayInfoError({ reason: "Http", status: 404, detail: "status 404 for https://api.test/gateway/bot" }).message).toBe(
      "GET /gateway/bot failed: status 404 for https://api.test/gateway/bot; trying again cannot mend it: check the api option"
    )
    expect(new GatewayInfoError({ reason: "Http", status: 503, detail: "status 503 for https://api.test/gateway/bot" }).message).toBe(
      "GET /gateway/bot failed: status 503 for https://api.test/gateway/bot"
    )
  })

  // a fleet's own options were "invalid session options"
  it("InvalidOptions names no session: a fleet's own options are refused by it too", () => {
    const problem = "shards must not be empty"
    expect(new InvalidOptions({ detail: problem, problems: [{ option: "shards", problem }] }).message).toBe("invalid options: shards must not be empty")
  })
})
