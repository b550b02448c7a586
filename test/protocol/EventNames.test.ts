import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type { EventName } from "../../src/protocol/Event.ts"
import * as EventNames from "../../src/protocol/EventNames.ts"
import * as Session from "../../src/session/Session.ts"

const read = (value: string | undefined) =>
  EventNames.config("DISCORD_EVENTS").pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(value === undefined ? [] : [["DISCORD_EVENTS", value]]))),
    Effect.either
  )
const message = (result: Either.Either<ReadonlyArray<EventName>, ConfigError.ConfigError>) => Either.isLeft(result) ? String(result.left) : undefined

describe("EventNames.config", () => {
  it.effect("reads a comma-separated list of dispatch types, in any case, a name the typings do not know included", () =>
    Effect.gen(function*() {
      expect(yield* read(" message_create, GUILD_CREATE ,")).toEqual(Either.right(["MESSAGE_CREATE", "GUILD_CREATE"]))
      // Discord adds types before the typings have them
      expect(yield* read("SOME_NEW_EVENT")).toEqual(Either.right(["SOME_NEW_EVENT"]))
    }))

  it.effect("refuses an empty value and a name no dispatch type can have, naming the key; a long value is not quoted", () =>
    Effect.gen(function*() {
      expect(message(yield* read(""))).toContain("but received an empty value")
      expect(message(yield* read(" , "))).toContain("but received only commas")
      expect(message(yield* read("MESSAGE_CREATE,message-create"))).toContain(`but received "message-create"`)
      // upper-cased, ſ is an S: taken as MESSAGE_CREATE
      expect(message(yield* read("meſſage_create"))).toContain("Expected dispatch types")
      expect(message(yield* read("MESSAGE_CREATE,X"))).toBeUndefined()
      const token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"
      expect(message(yield* read(token))).toContain(`a value of ${token.length} characters (not shown)`)
      expect(message(yield* read(token))).not.toContain(token)
      expect(message(yield* read(undefined))).toContain("DISCORD_EVENTS")
    }))

  // `Config.array(Config.string())` is no list of EventNames to the types: the option read from a
  // variable needed a cast
  it("is what the layerConfigs' events take, optional or not", () => {
    const optional = EventNames.config("DISCORD_EVENTS").pipe(Config.option, Config.map(Option.getOrUndefined))
    const session = Session.layerConfig({ token: Config.redacted("DISCORD_TOKEN"), intents: Config.succeed(513), events: optional })
    const fleet = Fleet.layerConfig({ token: Config.redacted("DISCORD_TOKEN"), intents: Config.succeed(513), events: EventNames.config("EVENTS") })
    expectTypeOf(session).not.toBeAny()
    expectTypeOf(fleet).not.toBeAny()
  })
})
