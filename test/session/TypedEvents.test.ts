import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { GatewayDispatchEvents } from "discord-api-types/v10"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type { EventOf, GatewayEvent } from "../../src/protocol/Event.ts"
import type { GatewayInfoError, InvalidOptions } from "../../src/session/SessionError.ts"
import * as Session from "../../src/session/Session.ts"
import type { SessionOptions } from "../../src/session/SessionOptions.ts"
import * as Validated from "../../src/stream/Validated.ts"
import { options as fleetOptions } from "../fleet/harness.ts"
import { acceptAndHello, options, ready, TestLayer, token } from "./harness.ts"

describe("the events option types the events", () => {
  it.scoped("a session's events are of the types it names, their data typed without a check of `t`", () =>
    Effect.gen(function*() {
      const session = yield* Session.make({ ...options(), events: ["MESSAGE_CREATE"] })
      expectTypeOf(session.events).toEqualTypeOf<Stream.Stream<EventOf<"MESSAGE_CREATE">, Session.SessionError>>()
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.sendJson(ready())
      yield* peer.send(`{"t":"TYPING_START","s":2,"op":0,"d":{"channel_id":"1"}}`)
      yield* peer.send(`{"t":"MESSAGE_CREATE","s":3,"op":0,"d":{"content":"hi"}}`)
      const first = Chunk.unsafeHead(yield* Stream.runCollect(Stream.take(session.events, 1)))
      // `d` is a message's data, with no `if (event.t === ...)` before it
      const content: string = first.d.content
      expect([first.t, content]).toEqual(["MESSAGE_CREATE", "hi"])
    }).pipe(Effect.provide(TestLayer)))

  it("several names give their union, discord-api-types' enum members included", () => {
    const make = Session.make({ ...options(), events: [GatewayDispatchEvents.Ready, "GUILD_CREATE"] })
    expectTypeOf(make).toEqualTypeOf<
      Effect.Effect<Session.Session<EventOf<"READY" | "GUILD_CREATE">>, InvalidOptions, Scope.Scope | Session.Requirements>
    >()
  })

  it("without the option, or with a list of any names, every event", () => {
    expectTypeOf(Session.make(options())).toExtend<Effect.Effect<Session.Session, unknown, unknown>>()
    expectTypeOf<Session.Session>().toExtend<Effect.Effect.Success<ReturnType<typeof Session.make>>>()
    const names: ReadonlyArray<GatewayEvent["t"]> = ["READY"]
    expectTypeOf(Session.make({ ...options(), events: names })).toExtend<Effect.Effect<Session.Session, unknown, unknown>>()
    // a narrowed session is still a session: the Layer's service, a function taking any session
    expectTypeOf<Session.Session<EventOf<"READY">>>().toExtend<Session.Session>()
  })

  // a list that may be absent narrowed the type to its names, and an absent one delivers every type:
  // the program's first "MESSAGE_CREATE" was a READY
  it("a list that may be undefined, or options typed without one, types every event", () => {
    const only = (wanted: boolean) => wanted ? ["MESSAGE_CREATE" as const] : undefined
    expectTypeOf(Session.make({ ...options(), events: only(false) })).toEqualTypeOf<
      Effect.Effect<Session.Session, InvalidOptions, Scope.Scope | Session.Requirements>
    >()
    const typed: SessionOptions<"MESSAGE_CREATE"> = { token, intents: 513 }
    expectTypeOf(Session.make(typed)).toEqualTypeOf<Effect.Effect<Session.Session, InvalidOptions, Scope.Scope | Session.Requirements>>()
    // @ts-expect-error a type argument without a list to deliver only those types
    Session.make<"MESSAGE_CREATE">(options())
    expectTypeOf(Fleet.make({ ...fleetOptions(), events: only(true) })).toEqualTypeOf<
      Effect.Effect<Fleet.Fleet, InvalidOptions | GatewayInfoError, Scope.Scope | Session.Requirements>
    >()
  })

  it.scoped("a list that may be undefined and is delivers every event, as its type says", () =>
    Effect.gen(function*() {
      const list: ReadonlyArray<"MESSAGE_CREATE"> | undefined = undefined as ReadonlyArray<"MESSAGE_CREATE"> | undefined
      const session = yield* Session.make({ ...options(), events: list })
      const { peer } = yield* acceptAndHello(60_000)
      yield* peer.sendJson(ready())
      const first = Chunk.unsafeHead(yield* Stream.runCollect(Stream.take(session.events, 1)))
      expect(first.t).toBe("READY")
      // typed as every event: narrowing on `t` is needed, and READY's data is READY's
      if (first.t === "READY") expect(first.d.session_id).toBe("session-1")
    }).pipe(Effect.provide(TestLayer)))

  it("validating a narrowed stream keeps its other types as they were", () => {
    const events = Stream.empty as Stream.Stream<EventOf<"MESSAGE_CREATE" | "GUILD_CREATE">, Session.SessionError>
    const validated = events.pipe(Validated.events({ MESSAGE_CREATE: Schema.Struct({ content: Schema.String }) }))
    expectTypeOf<Stream.Stream.Success<typeof validated>["t"]>().toEqualTypeOf<"MESSAGE_CREATE" | "GUILD_CREATE">()
    expectTypeOf<Extract<Stream.Stream.Success<typeof validated>, { t: "GUILD_CREATE" }>>().toEqualTypeOf<EventOf<"GUILD_CREATE">>()
  })

  it("a fleet's merged events too", () => {
    const make = Fleet.make({ ...fleetOptions(), events: ["MESSAGE_CREATE", "MESSAGE_DELETE"] })
    expectTypeOf(make).toEqualTypeOf<
      Effect.Effect<
        Fleet.Fleet<EventOf<"MESSAGE_CREATE" | "MESSAGE_DELETE">>,
        InvalidOptions | GatewayInfoError,
        Scope.Scope | Session.Requirements
      >
    >()
    expectTypeOf<Fleet.Fleet<EventOf<"MESSAGE_CREATE">>>().toExtend<Fleet.Fleet>()
  })
})
