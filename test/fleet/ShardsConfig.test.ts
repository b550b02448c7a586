/**
 * `FleetOptions.shardsConfig`: the shards a fleet runs, read from a deployment's settings.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as FleetOptions from "../../src/fleet/FleetOptions.ts"
import { secret, TestLayer } from "../session/harness.ts"

const read = (value: string | undefined) =>
  FleetOptions.shardsConfig("SHARDS").pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(value === undefined ? [] : [["SHARDS", value]]))),
    Effect.either
  )
const message = (result: Either.Either<FleetOptions.ShardSelection, ConfigError.ConfigError>) => Either.isLeft(result) ? String(result.left) : undefined

describe("FleetOptions.shardsConfig", () => {
  it.effect("reads all, ids and ranges that take both their ends", () =>
    Effect.gen(function*() {
      expect(yield* read("all")).toEqual(Either.right("all"))
      expect(yield* read(" ALL ")).toEqual(Either.right("all"))
      // a comma at its end, as in a list of ids (it was refused)
      expect(yield* read("all,")).toEqual(Either.right("all"))
      expect(yield* read("0-7")).toEqual(Either.right(FleetOptions.range(0, 8)))
      expect(yield* read(" 0, 2 ,4 - 6,")).toEqual(Either.right([0, 2, 4, 5, 6]))
      expect(yield* read("9")).toEqual(Either.right([9]))
      expect(yield* read("3-3")).toEqual(Either.right([3]))
      // every id an Identify can carry, and no more
      expect(Either.map(yield* read("0-65534"), (ids) => ids.length)).toEqual(Either.right(65_535))
    }))

  it.effect("refuses what is no selection, naming the key; a long value is not quoted", () =>
    Effect.gen(function*() {
      expect(message(yield* read(""))).toContain("but received an empty value")
      expect(message(yield* read(" , "))).toContain("but received only commas")
      expect(message(yield* read("0-3,x"))).toContain(`but received "x"`)
      expect(message(yield* read("1.5"))).toContain(`but received "1.5"`)
      expect(message(yield* read("-1"))).toContain(`but received "-1"`)
      expect(message(yield* read("0-"))).toContain(`but received "0-"`)
      expect(message(yield* read("all,1"))).toContain(`but received "all"`)
      expect(message(yield* read("8-3"))).toContain(`Expected ranges that do not run backwards (0-7, not 7-0) but received "8-3"`)
      expect(message(yield* read("65535"))).toContain(`shard ids of at most 65534 (an Identify carries no more) but received "65535"`)
      expect(message(yield* read("0-99999"))).toContain(`shard ids of at most 65534 (an Identify carries no more) but received "0-99999"`)
      // refused before a list of 131,070 ids is made
      expect(message(yield* read("0-65534,0-65534"))).toContain("Expected at most 65535 shard ids in all (more repeat some) but received 131070 or more")
      const token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"
      expect(message(yield* read(token))).toContain(`a value of ${token.length} characters (not shown)`)
      expect(message(yield* read(token))).not.toContain(token)
      expect(message(yield* read(undefined))).toContain("SHARDS")
    }))

  // a layer reads what follows "but received" as the value, and does not quote a long one: what
  // is wrong with the value is said before it, so that the layer's error says it too
  it.effect("a layer's error says why its shards were refused, and quotes a short value", () =>
    Effect.gen(function*() {
      const layer = Fleet.layerConfig({
        token: Config.redacted("DISCORD_TOKEN"),
        intents: Config.succeed(513),
        shardCount: Config.succeed(4),
        shards: FleetOptions.shardsConfig("SHARDS")
      })
      const built = (shards: string) =>
        Effect.flip(Effect.scoped(Layer.build(Layer.provide(layer, TestLayer)))).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DISCORD_TOKEN", secret], ["SHARDS", shards]]))),
          Effect.map(String)
        )
      expect(yield* built("65535")).toContain(`SHARDS`)
      expect(yield* built("65535")).toContain(`shard ids of at most 65534 (an Identify carries no more) but received "65535"`)
      expect(yield* built("10000-9999")).toContain(`Expected ranges that do not run backwards (0-7, not 7-0) but received "10000-9999"`)
      expect(yield* built("0-65534,0-65534")).toContain("(more repeat some) but received 131070 or more")
    }))

  it("is what Fleet.layerConfig's shards take", () => {
    const layer = Fleet.layerConfig({ token: Config.redacted("DISCORD_TOKEN"), intents: Config.succeed(513), shards: FleetOptions.shardsConfig("SHARDS") })
    expectTypeOf(layer).not.toBeAny()
  })
})
