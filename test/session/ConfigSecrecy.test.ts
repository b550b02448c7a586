/**
 * The token, read through `Config`, put in the wrong variable (README: "neither quoting the token"):
 * swapped with the gateway URL or the REST base (the token option then holds no token to mask), or
 * read by another reader than Config's own (`Schema.Config`, whose messages quote the value inside
 * its own words).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { inspect } from "node:util"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import { secret, Session, TestLayer } from "./harness.ts"

const provider = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))
const optional = <A>(config: Config.Config<A>) => config.pipe(Config.option, Config.map(Option.getOrUndefined))

const shown = (value: unknown): string =>
  [String(value), JSON.stringify(value), inspect(value, { depth: 10 }), Cause.pretty(Cause.fail(value))].join("\n")

// no run of 16 characters of the token anywhere in `text`
const expectNoTokenIn = (text: string) => {
  for (let i = 0; i + 16 <= secret.length; i += 4) expect(text).not.toContain(secret.slice(i, i + 16))
}

// the variables every case reads, the token's among them
const common = { token: Config.redacted("DISCORD_TOKEN"), intents: Intents.config("DISCORD_INTENTS") }
const gateway = optional(Config.string("DISCORD_GATEWAY"))

// a layer built on the in-memory services, for its failure
const built = <A, E>(layer: Layer.Layer<A, E, Layer.Layer.Success<typeof TestLayer>>): Effect.Effect<unknown, unknown> =>
  Effect.scoped(Layer.build(Layer.provide(layer, TestLayer)))

const cases: ReadonlyArray<{
  readonly name: string
  readonly built: Effect.Effect<unknown, unknown>
  readonly variables: Record<string, string>
  readonly error: "InvalidOptions" | "ConfigError"
}> = [
  {
    name: "DISCORD_TOKEN and DISCORD_GATEWAY swapped, for a session",
    built: built(Session.layerConfig({ ...common, gateway })),
    variables: { DISCORD_TOKEN: "wss://gateway.discord.gg", DISCORD_GATEWAY: secret },
    error: "InvalidOptions"
  },
  {
    name: "DISCORD_TOKEN and DISCORD_API swapped, for a session",
    built: built(Session.layerConfig({ ...common, api: optional(Config.string("DISCORD_API")) })),
    variables: { DISCORD_TOKEN: "https://discord.com/api/v10", DISCORD_API: secret },
    error: "InvalidOptions"
  },
  {
    name: "DISCORD_TOKEN and DISCORD_GATEWAY swapped, for a fleet",
    built: built(Fleet.layerConfig({ ...common, gateway, shardCount: Config.succeed(1) })),
    variables: { DISCORD_TOKEN: "wss://gateway.discord.gg", DISCORD_GATEWAY: secret },
    error: "InvalidOptions"
  },
  {
    name: "the token in DISCORD_GATEWAY, DISCORD_TOKEN empty (the secret mapped to the wrong name)",
    built: built(Session.layerConfig({ ...common, gateway })),
    variables: { DISCORD_TOKEN: "", DISCORD_GATEWAY: secret },
    error: "InvalidOptions"
  },
  {
    name: "the token in a variable read with Schema.Config (its message quotes the value in its own words)",
    built: built(Session.layerConfig({ ...common, largeThreshold: Schema.Config("LARGE_THRESHOLD", Schema.NumberFromString) })),
    variables: { DISCORD_TOKEN: secret, LARGE_THRESHOLD: secret },
    error: "ConfigError"
  }
]

describe("Config: the token in the wrong variable", () => {
  for (const { built, error: tag, name, variables } of cases) {
    it.scoped(`${name}: the ${tag} does not quote the token`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(built).pipe(
          Effect.withConfigProvider(provider({ DISCORD_INTENTS: "513", ...variables }))
        )
        expect(error).toMatchObject({ _tag: tag })
        if (tag === "ConfigError") expect(String(error)).toContain("LARGE_THRESHOLD")
        expectNoTokenIn(shown(error))
      }))
  }
})
