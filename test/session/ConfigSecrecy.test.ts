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

describe("Config: the token in the wrong variable", () => {
  for (const key of ["DISCORD_GATEWAY", "DISCORD_API"] as const) {
    it.scoped(`DISCORD_TOKEN and ${key} swapped: Session.layerConfig's InvalidOptions does not quote the token`, () =>
      Effect.gen(function*() {
        const layer = Session.layerConfig({
          token: Config.redacted("DISCORD_TOKEN"),
          intents: Intents.config("DISCORD_INTENTS"),
          gateway: optional(Config.string("DISCORD_GATEWAY")),
          api: optional(Config.string("DISCORD_API"))
        })
        const swapped = key === "DISCORD_GATEWAY" ? "wss://gateway.discord.gg" : "https://discord.com/api/v10"
        const error = yield* Effect.flip(Effect.scoped(Layer.build(layer))).pipe(
          Effect.withConfigProvider(provider({ DISCORD_TOKEN: swapped, DISCORD_INTENTS: "513", [key]: secret }))
        )
        expect(error._tag).toBe("InvalidOptions")
        expectNoTokenIn(shown(error))
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("DISCORD_TOKEN and DISCORD_GATEWAY swapped: Fleet.layerConfig's InvalidOptions does not quote the token", () =>
    Effect.gen(function*() {
      const layer = Fleet.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Intents.config("DISCORD_INTENTS"),
        gateway: optional(Config.string("DISCORD_GATEWAY")),
        shardCount: Config.succeed(1)
      })
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer))).pipe(
        Effect.withConfigProvider(provider({ DISCORD_TOKEN: "wss://gateway.discord.gg", DISCORD_INTENTS: "513", DISCORD_GATEWAY: secret }))
      )
      expect(error._tag).toBe("InvalidOptions")
      expectNoTokenIn(shown(error))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("the token in DISCORD_GATEWAY while DISCORD_TOKEN is empty (the secret mapped to the wrong name): not quoted", () =>
    Effect.gen(function*() {
      const layer = Session.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Intents.config("DISCORD_INTENTS"),
        gateway: optional(Config.string("DISCORD_GATEWAY"))
      })
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer))).pipe(
        Effect.withConfigProvider(provider({ DISCORD_TOKEN: "", DISCORD_INTENTS: "513", DISCORD_GATEWAY: secret }))
      )
      expect(error._tag).toBe("InvalidOptions")
      expectNoTokenIn(shown(error))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("the token in a variable read with Schema.Config (Effect's schema-checked Config): the ConfigError does not quote it", () =>
    Effect.gen(function*() {
      const layer = Session.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Intents.config("DISCORD_INTENTS"),
        largeThreshold: Schema.Config("LARGE_THRESHOLD", Schema.NumberFromString)
      })
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer))).pipe(
        Effect.withConfigProvider(provider({ DISCORD_TOKEN: secret, DISCORD_INTENTS: "513", LARGE_THRESHOLD: secret }))
      )
      expect(error._tag).toBe("ConfigError")
      expect(String(error)).toContain("LARGE_THRESHOLD")
      expectNoTokenIn(shown(error))
    }).pipe(Effect.provide(TestLayer)))
})
