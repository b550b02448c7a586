/**
 * Options given as objects of kinds other than a plain object: taken where their properties are
 * their entries (Effect's Data, class instances, defaults under Object.create), refused where they
 * are not (a Map).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import { LocalGateway } from "../../src/testing/index.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as WsTransport from "../../src/transport/WsTransport.ts"
import { options } from "./harness.ts"

const problemOf = (given: unknown) =>
  Either.match(SessionOptions.resolve(given as SessionOptions.SessionOptions), { onLeft: (error) => error.detail, onRight: () => "valid" })

// a program's defaults, tagged with a symbol of its own (a brand, a `util.inspect.custom`)
const brandedDefaults = { [Symbol.for("my-bot/defaults")]: true, intents: 513, compression: "none" as const }
// a program's options class that names itself to `String(options)` and loggers
class BotOptions {
  constructor(readonly token: unknown, readonly intents: number, readonly gateway: string) {}
  get [Symbol.toStringTag]() {
    return "BotOptions"
  }
}

describe("options given as objects of other kinds", () => {
  // objects whose properties are their entries, whatever their prototype holds: a check refusing
  // a Map for whole options refused these too
  it("a Data.struct, a Data.case, a class naming itself by Symbol.toStringTag and Object.create of symbol-tagged defaults are taken as options", () => {
    const plain = options()
    const given: Record<string, unknown> = {
      "Data.struct": Data.struct({ ...plain }),
      "Data.case": Data.case<typeof plain>()({ ...plain }),
      "class with Symbol.toStringTag": new BotOptions(plain.token, 513, plain.gateway as string),
      "Object.create of symbol-tagged defaults": Object.assign(Object.create(brandedDefaults), { token: plain.token, gateway: plain.gateway })
    }
    const found = Object.fromEntries(Object.entries(given).map(([name, value]) => [name, problemOf(value)]))
    expect(found).toEqual(Object.fromEntries(Object.keys(given).map((name) => [name, "valid"])))
  })

  // and so are the nested maps: a struct of timeouts was "timeouts must be an object, got an object"
  it("timeouts, backoff and properties given as Data.structs are taken, their entries read", () => {
    const resolved = SessionOptions.resolve(options({
      timeouts: Data.struct({ connect: "5 seconds" }),
      backoff: Data.struct({ initial: "2 seconds" }),
      properties: Data.struct({ os: "linux" })
    }))
    expect(Either.map(resolved, (taken) => [taken.timeouts.connect, taken.backoff.initial, taken.properties.os]))
      .toEqual(Either.right(["5 seconds", "2 seconds", "linux"]))
  })

  // the same check guards every other constructor
  it.effect("IdentifyLimiter.make and WsTransport.make take options made with Data.struct", () =>
    Effect.gen(function*() {
      const limiter = yield* Effect.exit(IdentifyLimiter.make(Data.struct({ spacing: "5 seconds" })))
      let transport = "made"
      try {
        WsTransport.make(Data.struct({ highWaterMark: 1 << 20 }) as never)
      } catch (error) {
        transport = String(error)
      }
      expect({ limiter: Exit.isFailure(limiter) ? Cause.pretty(limiter.cause).split("\n")[0] : "made", transport }).toEqual({ limiter: "made", transport: "made" })
    }))

  it("plain, class instance, null prototype, Object.create(defaults), frozen, proxy are taken as options", () => {
    const plain = options()
    class Opts {
      token = plain.token
      intents = 513
      gateway = plain.gateway
      compression = "none"
    }
    const nullProto = Object.assign(Object.create(null), plain)
    const created = Object.assign(Object.create({ intents: 513, compression: "none" }), { token: plain.token, gateway: plain.gateway })
    for (const value of [plain, new Opts(), nullProto, created, Object.freeze({ ...plain }), new Proxy({ ...plain }, {})]) {
      expect(problemOf(value)).toBe("valid")
    }
  })
})

describe("nested options given as a Map", () => {
  // its entries were read as no options, and the default budget kept
  it.live("LocalGateway.make refuses a sessionStartLimit given as a Map, naming its kind", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(LocalGateway.make({
        token: Redacted.make("options-kinds-token"),
        sessionStartLimit: new Map([["total", 1], ["remaining", 0]]) as never
      })))
      expect(Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : "made").toMatch(/sessionStartLimit must be an object, got a Map/)
    }))
})
