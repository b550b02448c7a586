import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { GatewayDispatchEvents } from "discord-api-types/v10"
import type { GatewayMessageCreateDispatchData } from "discord-api-types/v10"
import * as Chunk from "effect/Chunk"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as Event from "../../src/protocol/Event.ts"
import type { EventData, EventOf } from "../../src/protocol/Event.ts"
import * as Validated from "../../src/stream/Validated.ts"
import { anyControl, loneSurrogate } from "../controls.ts"
import * as FleetHarness from "../fleet/harness.ts"
import { acceptAndHello, dispatch, options, ready, Session, TestLayer } from "../session/harness.ts"

const MessageCreate = Schema.Struct({ id: Schema.BigInt, content: Schema.String })

const run = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const validatedSource = () => Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: "7", content: "a" }))

describe("Validated", () => {
  it("a class's private field beside its schemas is no event's (it was taken for a schema, and threw)", () => {
    class Schemas {
      readonly MESSAGE_CREATE = MessageCreate
      private readonly label = "messages"
      get name() {
        return this.label
      }
    }
    expect(() => Validated.only(new Schemas() as never)).not.toThrow()
  })

  it("a map whose value for a type is no Schema (from JavaScript, or a cast) is refused saying so (it threw reading '_tag')", () => {
    expect(() => Validated.only({ MESSAGE_CREATE: "MessageCreate" } as never)).toThrow("Validated: the schema for MESSAGE_CREATE is no Schema, but a string")
    expect(() => Validated.events({ GUILD_CREATE: { id: 1 } } as never)).toThrow("Validated: the schema for GUILD_CREATE is no Schema, but an object")
  })

  it.effect("a class with a private helper method: its getter's schema checks its events, the method is no schema (it was taken for one, and threw)", () =>
    Effect.gen(function*() {
      class Schemas {
        get MESSAGE_CREATE() {
          return this.pick()
        }
        private pick() {
          return MessageCreate
        }
      }
      const exit = yield* Effect.exit(Effect.suspend(() => Stream.runCollect(validatedSource().pipe(Validated.only(new Schemas())))))
      expect(exit._tag).toBe("Success")
      if (exit._tag === "Success") expect(Chunk.size(exit.value)).toBe(1)
    }))

  // a private field is an own property like any other
  it.effect("a class with a private field holding the schema works", () =>
    Effect.gen(function*() {
      class Schemas {
        private readonly chosen = MessageCreate
        get MESSAGE_CREATE() {
          return this.chosen
        }
      }
      const exit = yield* Effect.exit(Effect.suspend(() => Stream.runCollect(validatedSource().pipe(Validated.only(new Schemas())))))
      expect(exit._tag).toBe("Success")
    }))

  // own properties that are not enumerable (`Object.defineProperty`, `Object.create(proto,
  // descriptors)`) are the map's as its type sees them: their events passed unchecked, typed as
  // decoded, and a bad one was never told
  it.effect("a schema held by an own property that is not enumerable checks its events", () =>
    Effect.gen(function*() {
      const schemas = Object.defineProperty({}, "MESSAGE_CREATE", { value: MessageCreate }) as { readonly MESSAGE_CREATE: typeof MessageCreate }
      const told: Array<number> = []
      const out = yield* Stream.runCollect(
        Stream.make(
          Event.make(0, 1, "MESSAGE_CREATE", { id: "7", content: "a" } as never),
          Event.make(0, 2, "MESSAGE_CREATE", { id: "not a snowflake", content: "b" } as never)
        ).pipe(Validated.events(schemas, { onInvalid: (invalid) => Effect.sync(() => told.push(invalid.sequence)) }))
      )
      const ids = Chunk.toReadonlyArray(out).map((event) => event.t === "MESSAGE_CREATE" ? event.d.id : undefined)
      expect({ ids, told }).toEqual({ ids: [7n], told: [2] })
    }))

  it.effect("a schema given by an own getter that is not enumerable checks its events (only dropped them)", () =>
    Effect.gen(function*() {
      const schemas = Object.create(null, { MESSAGE_CREATE: { get: () => MessageCreate } }) as { readonly MESSAGE_CREATE: typeof MessageCreate }
      const out = yield* Stream.runCollect(
        Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: "7", content: "a" } as never)).pipe(Validated.only(schemas))
      )
      expect(Chunk.toReadonlyArray(out).map((event) => event.d.id)).toEqual([7n])
    }))

  it.effect("a map made with Object.create(null) still works", () =>
    Effect.gen(function*() {
      const schemas: { MESSAGE_CREATE?: typeof MessageCreate } = Object.create(null)
      schemas.MESSAGE_CREATE = MessageCreate
      const all = yield* Stream.runCollect(validatedSource().pipe(Validated.only(schemas)))
      expect(Chunk.size(all)).toBe(1)
    }))

  it.effect("an inherited map (Object.create(base)) uses the base's schemas", () =>
    Effect.gen(function*() {
      const base = { MESSAGE_CREATE: MessageCreate }
      const schemas: typeof base = Object.create(base)
      const all = yield* Stream.runCollect(validatedSource().pipe(Validated.only(schemas)))
      expect(Chunk.size(all)).toBe(1)
    }))
  it.effect("a transformation throwing an Error whose message is no string makes the event invalid (the report threw, and the stream died)", () =>
    Effect.gen(function*() {
      for (const message of [Object.create(null), Symbol("odd")]) {
        const Odd = Schema.transform(Schema.String, Schema.String, {
          decode: (text) => {
            if (text === "bad") throw Object.assign(new Error(), { message })
            return text
          },
          encode: (text) => text
        })
        const reported: Array<string> = []
        const handled: Array<number> = []
        const exit = yield* Stream.runForEach(
          Stream.make(Event.make(0, 1, "GUILD_DELETE", "bad"), Event.make(0, 2, "GUILD_DELETE", "good")).pipe(
            Validated.events({ GUILD_DELETE: Odd }, { onInvalid: (i) => Effect.sync(() => void reported.push(i.problems)) })
          ),
          (e) => Effect.sync(() => void handled.push(e.sequence))
        ).pipe(Effect.exit)
        expect(exit._tag).toBe("Success")
        expect(handled).toEqual([2])
        expect(reported).toEqual([expect.stringContaining("the schema threw")])
      }
    }))

  it.effect("schemas given by a class's getters are used (they were skipped: raw data typed as decoded, and only dropped every event)", () =>
    Effect.gen(function*() {
      class Schemas {
        get MESSAGE_CREATE() {
          return MessageCreate
        }
      }
      const source = Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: "7", content: "a" }))
      const all = yield* Stream.runCollect(source.pipe(Validated.events(new Schemas())))
      const first = Chunk.unsafeGet(all, 0)
      const id: unknown = first.t === "MESSAGE_CREATE" ? first.d.id satisfies bigint : undefined
      expect(typeof id).toBe("bigint")
      const only = yield* Stream.runCollect(source.pipe(Validated.only(new Schemas())))
      expect(Chunk.size(only)).toBe(1)
    }))

  it.effect("only: keeps the types it has a schema for, decoded, in order, with shard and sequence", () =>
    Effect.gen(function*() {
      const events = Stream.make(
        Event.make(3, 10, "MESSAGE_CREATE", { id: "123", content: "a", extra: true }),
        Event.make(3, 11, "TYPING_START", { channel_id: "1" }),
        Event.make(3, 12, "MESSAGE_CREATE", { id: "456", content: "b" })
      )
      const got = yield* run(events.pipe(Validated.only({ MESSAGE_CREATE: MessageCreate })))
      const ids: ReadonlyArray<bigint> = got.map((event) => event.d.id)
      expect(ids).toEqual([123n, 456n])
      expect(got.map((event) => [event.t, event.shard, event.sequence, event.d.content])).toEqual([
        ["MESSAGE_CREATE", 3, 10, "a"],
        ["MESSAGE_CREATE", 3, 12, "b"]
      ])
      // the schema's output, not the input: the unknown key is gone
      expect(got[0]!.d).toEqual({ id: 123n, content: "a" })
    }))

  it("keeps the order and loses nothing but the bad events, however the events are chunked", () => {
    const item = FastCheck.record({ kind: FastCheck.constantFrom("valid", "invalid", "other"), endsChunk: FastCheck.boolean() })
    FastCheck.assert(
      FastCheck.property(FastCheck.array(item, { maxLength: 60 }), (items) => {
        const chunks: Array<Chunk.Chunk<Event.GatewayEvent>> = []
        let chunk: Array<Event.GatewayEvent> = []
        items.forEach(({ endsChunk, kind }, i) => {
          const d = kind === "invalid" ? { id: "x", content: i } : { id: String(i), content: "c" }
          chunk.push(Event.make(0, i + 1, kind === "other" ? "TYPING_START" : "MESSAGE_CREATE", d))
          if (endsChunk) {
            chunks.push(Chunk.unsafeFromArray(chunk))
            chunk = []
          }
        })
        chunks.push(Chunk.unsafeFromArray(chunk))
        const sequences = (kinds: ReadonlyArray<string>) => items.flatMap(({ kind }, i) => kinds.includes(kind) ? [i + 1] : [])
        const check = (
          kept: ReadonlyArray<string>,
          validate: (options: Validated.Options<never, never>) => (self: Stream.Stream<Event.GatewayEvent>) => Stream.Stream<{ readonly sequence: number }>
        ) => {
          const reported: Array<number> = []
          const onInvalid = (invalid: Validated.InvalidEvent) => Effect.sync(() => void reported.push(invalid.sequence))
          const got = Effect.runSync(run(Stream.fromChunks(...chunks).pipe(validate({ onInvalid }))))
          expect(got.map((event) => event.sequence)).toEqual(sequences(kept))
          expect(reported).toEqual(sequences(["invalid"]))
        }
        check(["valid", "other"], (options) => Validated.events({ MESSAGE_CREATE: MessageCreate }, options))
        check(["valid"], (options) => Validated.only({ MESSAGE_CREATE: MessageCreate }, options))
      })
    )
  })

  it.effect("events: keeps every event in order, the others as they came; narrowing on t types d", () =>
    Effect.gen(function*() {
      const typing = Event.make(1, 2, "TYPING_START", { channel_id: "1", user_id: "2", timestamp: 3 })
      const events = Stream.make(Event.make(1, 1, "MESSAGE_CREATE", { id: "1", content: "a" }), typing, Event.make(1, 3, "MESSAGE_CREATE", { id: "3", content: "c" }))
      const got = yield* run(events.pipe(Validated.events({ MESSAGE_CREATE: MessageCreate })))
      expect(got.map((event) => event.sequence)).toEqual([1, 2, 3])
      expect(got[1]).toBe(typing)
      const described = got.map((event) =>
        event.t === "MESSAGE_CREATE" ? `${event.d.id + 1n}` : event.t === "TYPING_START" ? event.d.channel_id : "other"
      )
      expect(described).toEqual(["2", "1", "4"])
    }))

  it.effect("drops an event whose data does not pass, reports why, and goes on with the next", () =>
    Effect.gen(function*() {
      const reported = yield* Ref.make<ReadonlyArray<Validated.InvalidEvent>>([])
      const events = Stream.make(
        Event.make(0, 1, "MESSAGE_CREATE", { id: "1", content: "a" }),
        Event.make(0, 2, "MESSAGE_CREATE", { id: "not a number", content: 5 }),
        Event.make(0, 3, "MESSAGE_CREATE", { id: "3", content: "c" })
      )
      const got = yield* run(events.pipe(Validated.only({ MESSAGE_CREATE: MessageCreate }, {
        onInvalid: (invalid) => Ref.update(reported, (all) => [...all, invalid])
      })))
      expect(got.map((event) => event.sequence)).toEqual([1, 3])
      const [invalid, ...rest] = yield* Ref.get(reported)
      expect(rest).toEqual([])
      expect(invalid).toBeInstanceOf(Validated.InvalidEvent)
      expect(invalid!._tag).toBe("InvalidEvent")
      expect([invalid!.t, invalid!.shard, invalid!.sequence]).toEqual(["MESSAGE_CREATE", 0, 2])
      expect(invalid!.problems).toContain("id")
      expect(invalid!.problems).toContain("content")
    }))

  it.effect("says what is wrong with a value without passing on its control characters (a user's text)", () =>
    Effect.gen(function*() {
      const reported = yield* Ref.make<ReadonlyArray<Validated.InvalidEvent>>([])
      yield* run(
        Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: "\u009b2J\u001b]0;x\u0007", content: "a" })).pipe(
          Validated.only({ MESSAGE_CREATE: Schema.Struct({ id: Schema.NumberFromString, content: Schema.String }) }, {
            onInvalid: (invalid) => Ref.update(reported, (all) => [...all, invalid])
          })
        )
      )
      const [invalid] = yield* Ref.get(reported)
      expect(invalid!.problems).toContain("\\u009b2J")
      // the lines of its explanation stay lines; nothing else of C0, DEL or C1 is left
      expect(invalid!.problems.replaceAll("\n", "")).not.toMatch(anyControl)
    }))

  it.effect("by default logs a warning with the type, shard and sequence, and counts the event by type", () =>
    Effect.gen(function*() {
      const counter = Metric.tagged(Validated.invalidEvents, "type", "MESSAGE_UPDATE")
      const before = (yield* Metric.value(counter)).count
      const logs = yield* Ref.make<ReadonlyArray<{ level: string; message: unknown; annotations: Record<string, unknown> }>>([])
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        const entry = { level: logLevel.label, message: Array.isArray(message) ? message[0] : message, annotations: Object.fromEntries(annotations) }
        Effect.runSync(Ref.update(logs, (all) => [...all, entry]))
      })
      const got = yield* run(
        Stream.make(Event.make(2, 7, "MESSAGE_UPDATE", { id: 7 })).pipe(
          Validated.events({ MESSAGE_UPDATE: Schema.Struct({ id: Schema.String }) })
        )
      ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(got).toEqual([])
      const [entry, ...others] = yield* Ref.get(logs)
      expect(others).toEqual([])
      expect(entry!.level).toBe("WARN")
      expect(String(entry!.message)).toMatch(/^dropped MESSAGE_UPDATE: it did not pass its schema: /)
      expect(entry!.annotations).toEqual({ type: "MESSAGE_UPDATE", shard: 2, sequence: 7 })
      expect((yield* Metric.value(counter)).count).toBe(before + 1)
    }))

  it.effect("a failing onInvalid fails the stream with its error, after the events before the bad one (in its chunk too); none after it", () =>
    Effect.gen(function*() {
      const [good, bad, later] = [
        Event.make(0, 1, "MESSAGE_CREATE", { id: "1", content: "a" }),
        Event.make(0, 2, "MESSAGE_CREATE", {}),
        Event.make(0, 3, "MESSAGE_CREATE", { id: "3", content: "c" })
      ]
      // the bad event starting a chunk, and in the middle of one
      for (const events of [Stream.concat(Stream.make(good), Stream.make(bad, later)), Stream.fromChunk(Chunk.make(good, bad, later))]) {
        const handled: Array<number> = []
        const error = yield* Stream.runForEach(
          events.pipe(Validated.events({ MESSAGE_CREATE: MessageCreate }, { onInvalid: Effect.fail })),
          (event) => Effect.sync(() => handled.push(event.sequence))
        ).pipe(Effect.flip)
        expect(error).toBeInstanceOf(Validated.InvalidEvent)
        expect([error.sequence, handled]).toEqual([2, [1]])
      }
    }))

  it.effect("runs each report in its bad event's place within a chunk: after the events before it, before those after", () =>
    Effect.gen(function*() {
      const timeline: Array<string> = []
      const chunk = Chunk.make(
        Event.make(0, 1, "MESSAGE_CREATE", { id: "1", content: "a" }),
        Event.make(0, 2, "MESSAGE_CREATE", {}),
        Event.make(0, 3, "TYPING_START", { channel_id: "1" }),
        Event.make(0, 4, "MESSAGE_CREATE", {}),
        Event.make(0, 5, "MESSAGE_CREATE", {}),
        Event.make(0, 6, "MESSAGE_CREATE", { id: "6", content: "f" })
      )
      yield* Stream.runForEach(
        Stream.fromChunk(chunk).pipe(Validated.events({ MESSAGE_CREATE: MessageCreate }, {
          onInvalid: (invalid) => Effect.sync(() => void timeline.push(`bad ${invalid.sequence}`))
        })),
        (event) => Effect.sync(() => void timeline.push(`${event.sequence}`))
      )
      expect(timeline).toEqual(["1", "bad 2", "3", "bad 4", "bad 5", "6"])
    }))

  it.effect("a schema's effects for the events after a bad one run once it was reported, and never when the report fails", () =>
    Effect.gen(function*() {
      const Audited = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: (id) => Effect.as(Effect.sync(() => void timeline.push(`decoded ${id}`)), id),
        encode: ParseResult.succeed
      })
      const timeline: Array<string> = []
      const chunk = Chunk.make(Event.make(0, 1, "GUILD_DELETE", "a"), Event.make(0, 2, "GUILD_DELETE", 2), Event.make(0, 3, "GUILD_DELETE", "c"))
      for (const onInvalid of [() => Effect.sync(() => void timeline.push("bad")), Effect.fail]) {
        yield* Stream.runForEach(
          Stream.fromChunk(chunk).pipe(Validated.only({ GUILD_DELETE: Audited }, { onInvalid })),
          (event) => Effect.sync(() => void timeline.push(`handled ${event.d}`))
        ).pipe(Effect.ignore)
      }
      // the schema's effects for "c" ran as the chunk was read, before "a" was handled, and also
      // when the failing report ended the stream before "c"
      expect(timeline).toEqual([
        "decoded a", "handled a", "bad", "decoded c", "handled c",
        "decoded a", "handled a"
      ])
    }))

  it.effect("a schema that cannot decode synchronously reports the event rather than waiting", () =>
    Effect.gen(function*() {
      const Slow = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: (text) => Effect.delay(ParseResult.succeed(text), "1 second"),
        encode: ParseResult.succeed
      })
      const reported = yield* Ref.make(List.empty<string>())
      const got = yield* run(
        Stream.make(Event.make(0, 1, "GUILD_DELETE", "x")).pipe(
          Validated.events({ GUILD_DELETE: Slow }, { onInvalid: (invalid) => Ref.update(reported, List.prepend(invalid.problems)) })
        )
      )
      expect(got).toEqual([])
      expect(List.size(yield* Ref.get(reported))).toBe(1)
    }))

  it("takes no schema that needs services (a type error)", () => {
    class Lookup extends Context.Tag("Lookup")<Lookup, { readonly name: (id: string) => string }>() {}
    const Named = Schema.transformOrFail(Schema.String, Schema.String, {
      decode: (id) => Effect.map(Lookup, (lookup) => lookup.name(id)),
      encode: ParseResult.succeed
    })
    // @ts-expect-error: Schemas takes schemas that need no services
    const validate = () => Validated.only({ GUILD_DELETE: Named })
    // nor in a map keyed by any string: it was taken, and every event of its type dropped as
    // "Service not found"
    const table: Record<string, typeof Named> = { GUILD_DELETE: Named }
    // @ts-expect-error: Schemas takes schemas that need no services
    const fromTable = () => Validated.events(table)
    expect([typeof validate, typeof fromTable]).toEqual(["function", "function"])
  })

  it("on a stream the events option narrowed, the types it never carries stay out, checked or not", () => {
    const events = Stream.empty as Stream.Stream<EventOf<"MESSAGE_CREATE" | "GUILD_CREATE">>
    const GuildCreate = Schema.Struct({ id: Schema.BigInt })
    const checked = events.pipe(Validated.events({ GUILD_CREATE: GuildCreate, TYPING_START: Schema.Unknown }))
    expectTypeOf<Stream.Stream.Success<typeof checked>["t"]>().toEqualTypeOf<"MESSAGE_CREATE" | "GUILD_CREATE">()
    expectTypeOf<Extract<Stream.Stream.Success<typeof checked>, { t: "MESSAGE_CREATE" }>>().toEqualTypeOf<EventOf<"MESSAGE_CREATE">>()
    expectTypeOf<Extract<Stream.Stream.Success<typeof checked>, { t: "GUILD_CREATE" }>["d"]>().toEqualTypeOf<{ readonly id: bigint }>()
    const only = events.pipe(Validated.only({ GUILD_CREATE: GuildCreate, TYPING_START: Schema.Unknown }))
    expectTypeOf<Stream.Stream.Success<typeof only>["t"]>().toEqualTypeOf<"GUILD_CREATE">()
  })

  it.scoped("validates a session's events: the dispatches of the types asked for, READY left out", () =>
    Effect.gen(function*() {
      const session = yield* Session.make(options())
      const messages = session.events.pipe(Validated.only({ MESSAGE_CREATE: MessageCreate }))
      const taken = yield* Effect.fork(run(Stream.take(messages, 2)))
      const { peer } = yield* acceptAndHello()
      yield* peer.sendJson(ready(1))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", { id: "20", content: "x" }))
      yield* peer.sendJson(dispatch(3, "GUILD_CREATE", { id: "9" }))
      yield* peer.sendJson(dispatch(4, "MESSAGE_CREATE", { id: "40", content: "y" }))
      const got = yield* Fiber.join(taken)
      expect(got.map((event) => [event.sequence, event.d.id])).toEqual([[2, 20n], [4, 40n]])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("types: discord-api-types' enum members name events too; a type whose schema may be absent may come raw; a misspelled key is refused", () =>
    Effect.gen(function*() {
      expectTypeOf<EventOf<GatewayDispatchEvents.MessageCreate>>().toEqualTypeOf<EventOf<"MESSAGE_CREATE">>()
      expectTypeOf<EventData<GatewayDispatchEvents.MessageCreate>>().toEqualTypeOf<GatewayMessageCreateDispatchData>()
      const source = () => Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: "5", content: "a" }))
      // keyed by the enum: decoded at run time, and so typed (it was typed raw, and `only` as never)
      const all = yield* run(source().pipe(Validated.events({ [GatewayDispatchEvents.MessageCreate]: MessageCreate })))
      const only = yield* run(source().pipe(Validated.only({ [GatewayDispatchEvents.MessageCreate]: MessageCreate })))
      expect([typeof (all[0]!.d as { id: unknown }).id, only.length]).toEqual(["bigint", 1])
      expectTypeOf<Extract<(typeof all)[number], { t: "MESSAGE_CREATE" }>["d"]>().toEqualTypeOf<{ readonly id: bigint; readonly content: string }>()
      expectTypeOf<(typeof only)[number]["d"]>().toEqualTypeOf<{ readonly id: bigint; readonly content: string }>()
      // a schema given only sometimes: the event may come as it was, and the type says so
      const schemasWhen = (strict: boolean) => ({ ...(strict ? { MESSAGE_CREATE: MessageCreate } : {}) })
      const maybe = yield* run(source().pipe(Validated.events(schemasWhen(false))))
      expect(typeof (maybe[0]!.d as { id: unknown }).id).toBe("string")
      expectTypeOf<EventOf<"MESSAGE_CREATE">>().toExtend<(typeof maybe)[number]>()
      // or given as `undefined` (as every optional of the library may be): no schema, and the type says so too
      const orUndefined = (strict: boolean) => ({ MESSAGE_CREATE: strict ? MessageCreate : undefined })
      const unchecked = yield* run(source().pipe(Validated.events(orUndefined(false))))
      expect(typeof (unchecked[0]!.d as { id: unknown }).id).toBe("string")
      expectTypeOf<EventOf<"MESSAGE_CREATE">>().toExtend<(typeof unchecked)[number]>()
      // refused alone, and next to a right one too (its events would never be checked)
      // @ts-expect-error: no such dispatch
      const alone = () => Validated.events({ MESAGE_UPDATE: MessageCreate })
      // @ts-expect-error: no such dispatch, beside one that is
      const beside = () => Validated.events({ MESSAGE_CREATE: MessageCreate, MESAGE_UPDATE: MessageCreate })
      expect([typeof alone, typeof beside]).toEqual(["function", "function"])
      // a map keyed by any string (built at run time, from a table) is taken as it is
      const table: Record<string, Schema.Schema.AnyNoContext> = { MESSAGE_CREATE: MessageCreate }
      const fromTable = yield* run(source().pipe(Validated.events(table)))
      const fromEntries = yield* run(source().pipe(Validated.only(Object.fromEntries([["MESSAGE_CREATE", MessageCreate]]))))
      expect([typeof (fromTable[0]!.d as { id: unknown }).id, fromEntries.length]).toEqual(["bigint", 1])
    }))

  it.effect("a key from the data is quoted in InvalidEvent's problems: its line break cannot start a log line of its own", () =>
    Effect.gen(function*() {
      const reported: Array<Validated.InvalidEvent> = []
      const Roles = Schema.Struct({ roles: Schema.Record({ key: Schema.String, value: Schema.String }) })
      yield* run(Stream.make(Event.make(0, 1, "GUILD_CREATE", { roles: { "1\nlevel=ERROR forged": 5 } })).pipe(
        Validated.events({ GUILD_CREATE: Roles }, { onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid)) })
      ))
      expect(reported.map((invalid) => invalid.problems)).toEqual([`roles["1\\nlevel=ERROR forged"] Expected string, actual 5`])
    }))

  it.effect("InvalidEvent's problems are bounded: at most 10 issues, each cut at 200 characters (an invalid GUILD_CREATE made a 1.3 MB line)", () =>
    Effect.gen(function*() {
      const reported: Array<string> = []
      const Guild = Schema.Struct({ members: Schema.Array(Schema.Struct({ nick: Schema.Number })), name: Schema.Number })
      const members = Array.from({ length: 5000 }, (_, i) => ({ nick: `member ${i}`, bio: "x".repeat(200) }))
      yield* run(Stream.make(Event.make(0, 1, "GUILD_CREATE", { members, name: "y".repeat(1_000_000) })).pipe(
        Validated.events({ GUILD_CREATE: Guild }, { onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid.problems)) })
      ))
      const [message] = reported
      expect(message!.length).toBeLessThan(11 * 210)
      expect(message).toMatch(/^members\[0\]\.nick Expected number, actual "member 0"; /)
      expect(message).toMatch(/; and 4991 more$/)
    }))

  it.effect("a schema whose transformation throws makes the event invalid, not the stream die; onInvalid itself is called in the event's place", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const Snowflake = Schema.transform(Schema.String, Schema.BigIntFromSelf, { decode: (text) => BigInt(text), encode: String })
      const events = Stream.make(
        Event.make(0, 1, "GUILD_DELETE", "1"),
        Event.make(0, 2, "GUILD_DELETE", "not a number"),
        Event.make(0, 3, "GUILD_DELETE", "3")
      ).pipe(Validated.events({ GUILD_DELETE: Snowflake }, {
        onInvalid: (invalid) => {
          // the function's own work, not only its effect, comes after the events before it
          order.push(`invalid ${invalid.sequence}: ${invalid.problems}`)
          return Effect.void
        }
      }))
      yield* Stream.runForEach(events, (event) => Effect.sync(() => void order.push(`event ${event.sequence}`)))
      expect(order).toEqual(["event 1", "invalid 2: the schema threw: Cannot convert not a number to a BigInt", "event 3"])
    }))

  it.effect("an asynchronous schema is started once per event (it was twice: to decode, then to explain), and interrupted (it was left running)", () =>
    Effect.gen(function*() {
      let started = 0
      let interrupted = 0
      const Lookup = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: () =>
          Effect.async<string, ParseResult.ParseIssue>(() => {
            started++
            return Effect.sync(() => void interrupted++)
          }),
        encode: ParseResult.succeed
      })
      const reported: Array<string> = []
      const got = yield* run(Stream.make(Event.make(0, 1, "GUILD_DELETE", "x")).pipe(
        Validated.events({ GUILD_DELETE: Lookup }, { onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid.problems)) })
      ))
      expect([got.length, reported.length, started, interrupted]).toEqual([0, 1, 1, 1])
      expect(reported[0]).toBe("cannot be resolved synchronously: the schema waits for asynchronous work")
    }))

  it.effect("InvalidEvent's problems never cut an emoji in half, and stay within 200 characters per issue once escaped", () =>
    Effect.gen(function*() {
      const reported: Array<string> = []
      const Content = Schema.Struct({ content: Schema.Number })
      // a user's message of emoji (where the cut falls depends on the text before them), and one of
      // C1 characters, which JSON leaves raw and which are escaped into six characters each
      const contents = [`${"😀".repeat(150)}`, `a${"😀".repeat(150)}`, "\u0085".repeat(1000)]
      yield* run(Stream.fromIterable(contents.map((content, i) => Event.make(0, i + 1, "MESSAGE_CREATE", { content }))).pipe(
        Validated.events({ MESSAGE_CREATE: Content }, { onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid.problems)) })
      ))
      expect(reported).toHaveLength(3)
      for (const problems of reported) {
        expect(problems).not.toMatch(loneSurrogate)
        expect(problems.length).toBeLessThanOrEqual(200)
      }
      expect(reported[2]).toMatch(/^content Expected number, actual "(\\u0085)+\\u0{0,2}\.\.\.$/)
    }))

  it.effect("a stream stopped by onInvalid: Effect.fail says which event was bad: InvalidEvent's message names its type, shard and sequence", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(run(Stream.make(Event.make(3, 42, "MESSAGE_CREATE", { id: "1", content: null })).pipe(
        Validated.events({ MESSAGE_CREATE: MessageCreate }, { onInvalid: Effect.fail })
      )))
      const error = Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : "succeeded"
      expect(error).toBe("InvalidEvent: MESSAGE_CREATE (shard 3, sequence 42): content Expected string, actual null")
    }))
})

/** Runs `stream` to its end: the sequences it handed on (or that it died), and the reports. */
const outcome = <A extends { readonly sequence: number }, E>(
  make: (onInvalid: (invalid: Validated.InvalidEvent) => Effect.Effect<void>) => Stream.Stream<A, E>
) =>
  Effect.gen(function*() {
    const reported: Array<string> = []
    const exit = yield* Effect.exit(run(make((invalid) => Effect.sync(() => void reported.push(`${invalid.sequence}: ${invalid.problems}`)))))
    return {
      delivered: Exit.isSuccess(exit) ? exit.value.map((event) => event.sequence) : "the stream died",
      reported
    }
  })

describe("Validated: schemas that misbehave", () => {
  it.effect("a schema's synchronous effects run with the program's services: its Clock is the TestClock, its logs the program's logger (they ran on Effect's default ones)", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 hour")
      const Stamped = Schema.transformOrFail(Schema.String, Schema.Struct({ text: Schema.String, at: Schema.Number }), {
        decode: (text) =>
          Effect.gen(function*() {
            yield* Effect.logInfo(`stamping ${text}`)
            return { text, at: yield* Clock.currentTimeMillis }
          }),
        encode: (stamped) => ParseResult.succeed(stamped.text)
      })
      const lines: Array<unknown> = []
      const got = yield* run(Stream.make(Event.make(0, 1, "GUILD_DELETE", "x")).pipe(Validated.only({ GUILD_DELETE: Stamped }))).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(message))))
      )
      expect(got.map((event) => event.d)).toEqual([{ text: "x", at: 3_600_000 }])
      expect(lines.flat()).toEqual(["stamping x"])
    }))

  it.effect("a schema with effects runs once for a bad event too, its work before the first problem included, and logs no line but its own", () =>
    Effect.gen(function*() {
      const runs: Array<string> = []
      const Normalized = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: (text) =>
          Effect.gen(function*() {
            runs.push(text)
            yield* Effect.logDebug(`normalizing ${text}`)
            return text.trim()
          }),
        encode: ParseResult.succeed
      }).pipe(Schema.filter((text) => text.length > 0 || "is empty"))
      const lines: Array<unknown> = []
      const got = yield* run(
        Stream.make(Event.make(0, 1, "GUILD_DELETE", " ok "), Event.make(0, 2, "GUILD_DELETE", "   ")).pipe(
          Validated.only({ GUILD_DELETE: Normalized }, { onInvalid: () => Effect.void })
        )
      ).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void lines.push(message)))),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      expect(got.map((event) => event.sequence)).toEqual([1])
      // it ran twice for the bad event: to decode, then to list every problem
      expect(runs).toEqual([" ok ", "   "])
      // and each bad event logged "Fiber terminated with an unhandled error" too
      expect(lines.flat()).toEqual(["normalizing  ok ", "normalizing    "])
    }))

  it.effect("an asynchronous field the first problem came before does not hide it: the report gives that problem", () =>
    Effect.gen(function*() {
      let started = 0
      const Slow = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: (text) => Effect.zipRight(Effect.sync(() => void started++), Effect.as(Effect.sleep("1 millis"), text)),
        encode: ParseResult.succeed
      })
      const reported: Array<string> = []
      yield* run(Stream.make(Event.make(0, 1, "MESSAGE_DELETE", { id: "7", content: 5 })).pipe(
        Validated.only({ MESSAGE_DELETE: Schema.Struct({ id: Slow, content: Schema.String }) }, {
          onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid.problems))
        })
      ))
      // started once, by the run that lists every problem (the first stopped before it)
      expect(started).toBe(1)
      // it said "cannot be resolved synchronously", not what was wrong
      expect(reported).toHaveLength(1)
      expect(reported[0]).toContain("content")
      expect(reported[0]).not.toContain("synchronously")
    }))

  it.effect("an effect that throws past the first problem does not hide it: the report gives that problem", () =>
    Effect.gen(function*() {
      const Id = Schema.transformOrFail(Schema.String, Schema.BigIntFromSelf, {
        decode: (text) => Effect.sync(() => BigInt(text)),
        encode: (id) => ParseResult.succeed(String(id))
      })
      const reported: Array<string> = []
      yield* run(Stream.make(Event.make(0, 1, "MESSAGE_DELETE", { content: 5, id: "abc" })).pipe(
        Validated.only({ MESSAGE_DELETE: Schema.Struct({ content: Schema.String, id: Id }) }, {
          onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid.problems))
        })
      ))
      // it said only "the schema threw: Cannot convert abc to a BigInt", of the run listing every problem
      expect(reported).toHaveLength(1)
      expect(reported[0]).toContain("content")
      expect(reported[0]).not.toContain("threw")
    }))

  it.effect("a pure schema's bad event has every problem listed (its second run costs only time)", () =>
    Effect.gen(function*() {
      const Message = Schema.Struct({ id: Schema.BigInt, content: Schema.String, pinned: Schema.Boolean })
      const reported: Array<string> = []
      yield* run(Stream.make(Event.make(0, 1, "MESSAGE_DELETE", { id: "7", content: 5, pinned: "no" })).pipe(
        Validated.only({ MESSAGE_DELETE: Message }, { onInvalid: (invalid) => Effect.sync(() => void reported.push(invalid.problems)) })
      ))
      expect(reported).toHaveLength(1)
      expect(reported[0]).toContain("content")
      expect(reported[0]).toContain("pinned")
    }))

  it.effect("an asynchronous schema's work is interrupted in place: before the event is reported and the next one handed on", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const Lookup = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: () => Effect.async<string, ParseResult.ParseIssue>(() => Effect.sync(() => void order.push("interrupted"))),
        encode: ParseResult.succeed
      })
      yield* Stream.runForEach(
        Stream.make(Event.make(0, 1, "GUILD_DELETE", "x"), Event.make(0, 2, "TYPING_START", {})).pipe(
          Validated.events({ GUILD_DELETE: Lookup }, { onInvalid: () => Effect.sync(() => void order.push("reported")) })
        ),
        (event) => Effect.sync(() => void order.push(`event ${event.sequence}`))
      )
      expect(order).toEqual(["interrupted", "reported", "event 2"])
    }))

  it.effect("an asynchronous schema's work is interrupted also in a stream run where interruption is off (a finalizer draining events)", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const Lookup = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: (id) => Effect.as(Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => void order.push(`looked up ${id}`))), id),
        encode: ParseResult.succeed
      })
      yield* Effect.uninterruptible(Stream.runForEach(
        Stream.make(Event.make(0, 1, "GUILD_DELETE", "x")).pipe(
          Validated.events({ GUILD_DELETE: Lookup }, { onInvalid: () => Effect.sync(() => void order.push("reported")) })
        ),
        () => Effect.void
      ))
      yield* TestClock.adjust("2 seconds")
      expect(order).toEqual(["reported"])
    }))

  it.effect("data nested too deeply to quote: each problem is told apart, the deep one by what was expected, the others as usual", () =>
    Effect.gen(function*() {
      const deep: unknown = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: 5, content: deep })).pipe(
          Validated.events({ MESSAGE_CREATE: Schema.Struct({ id: Schema.String, content: Schema.String }) }, { onInvalid })
        )
      )
      expect(result.reported).toEqual(["1: id Expected string, actual 5; content Expected string, actual a value nested too deeply to be shown"])
    }))

  it.effect("a message annotation that throws a RangeError of its own is told as the schema throwing, not as data nested too deeply", () =>
    Effect.gen(function*() {
      const Picky = Schema.String.annotations({ message: () => "x".repeat(-1) })
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { content: 5 })).pipe(
          Validated.events({ MESSAGE_CREATE: Schema.Struct({ content: Picky }) }, { onInvalid })
        )
      )
      expect(result.reported).toEqual([expect.stringContaining("1: the schema threw while saying what was wrong")])
    }))

  it.effect("a transformation that dies is reported as one that throws: the schema threw, with no stack trace", () =>
    Effect.gen(function*() {
      const Dying = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: (text) => text === "bad" ? Effect.die(new Error("boom")) : ParseResult.succeed(text),
        encode: ParseResult.succeed
      })
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "GUILD_DELETE", "bad"), Event.make(0, 2, "GUILD_DELETE", "good")).pipe(
          Validated.events({ GUILD_DELETE: Dying }, { onInvalid })
        )
      )
      expect(result).toEqual({ delivered: [2], reported: ["1: the schema threw: boom"] })
    }))

  it.effect("a value nested too deeply to be quoted is reported by its path and what was expected (it was blamed on the schema)", () =>
    Effect.gen(function*() {
      // V8's JSON.parse is not recursive: a message of 100,000 nested arrays parses
      const deep: unknown = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { content: deep }), Event.make(0, 2, "MESSAGE_CREATE", { content: "ok" })).pipe(
          Validated.events({ MESSAGE_CREATE: Schema.Struct({ content: Schema.String }) }, { onInvalid })
        )
      )
      expect(result).toEqual({ delivered: [2], reported: ["1: content Expected string, actual a value nested too deeply to be shown"] })
    }))

  it.effect("an asynchronous schema inside a struct is started once per event, as README says (a field's was started twice)", () =>
    Effect.gen(function*() {
      let started = 0
      const Lookup = Schema.transformOrFail(Schema.String, Schema.String, {
        decode: () => Effect.async<string, ParseResult.ParseIssue>(() => void started++),
        encode: ParseResult.succeed
      })
      // the async part as a field, as a program writes it (the existing test has it at the top level)
      const Guild = Schema.Struct({ id: Schema.String, name: Lookup })
      const { delivered, reported } = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "GUILD_CREATE", { id: "1", name: "x" })).pipe(Validated.events({ GUILD_CREATE: Guild }, { onInvalid }))
      )
      expect(delivered).toEqual([])
      expect(reported).toHaveLength(1)
      expect(reported[0]).toContain("cannot be resolved synchronously")
      // README: "its work is started once per event"
      expect(started).toBe(1)
    }))

  it.effect("a schema whose message annotation throws makes the event invalid, and the stream goes on (it died)", () =>
    Effect.gen(function*() {
      // the schema's own code throwing, as a transformation's `BigInt("abc")` does: README says the
      // event is then invalid ("the schema threw: ..."), the stream does not die
      const Message = Schema.Struct({
        id: Schema.String.annotations({ message: () => { throw new Error("no message for you") } })
      })
      const result = yield* outcome((onInvalid) =>
        Stream.make(
          Event.make(0, 1, "MESSAGE_CREATE", { id: 5 }),
          Event.make(0, 2, "MESSAGE_CREATE", { id: "2" })
        ).pipe(Validated.events({ MESSAGE_CREATE: Message }, { onInvalid }))
      )
      expect(result.delivered).toEqual([2])
      expect(result.reported).toHaveLength(1)
    }))

  // the words a message annotation threw went out raw and whole: a terminal's control sequences and
  // a forged log line, 5,000 characters of them
  it.effect("a message annotation that throws quoting the data: its words are escaped and cut at 200 characters, as every problem's", () =>
    Effect.gen(function*() {
      const Id = Schema.String.annotations({
        message: (issue) => {
          throw new Error(`cannot describe ${String(issue.actual)}`)
        }
      })
      const text = `\u001b]0;owned\u0007\n2026-01-01 level=ERROR forged ${"x".repeat(5_000)}`
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "MESSAGE_CREATE", { id: [text] }), Event.make(0, 2, "MESSAGE_CREATE", { id: "2" })).pipe(
          Validated.events({ MESSAGE_CREATE: Schema.Struct({ id: Id }) }, { onInvalid })
        )
      )
      expect(result.delivered).toEqual([2])
      expect(result.reported).toEqual([expect.stringContaining("the schema threw while saying what was wrong: cannot describe")])
      expect(result.reported[0]).not.toMatch(anyControl)
      expect(result.reported[0]!.length).toBeLessThanOrEqual("1: ".length + 200)
    }))

  // a message annotation ran for each of 5,000 bad members, to tell ten
  it.effect("the problems past the tenth are counted, not formatted", () =>
    Effect.gen(function*() {
      let made = 0
      const Nick = Schema.Number.annotations({
        message: () => {
          made++
          return "must be a number"
        }
      })
      const Guild = Schema.Struct({ members: Schema.Array(Schema.Struct({ nick: Nick })) })
      const members = Array.from({ length: 5000 }, (_, i) => ({ nick: `member ${i}` }))
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "GUILD_CREATE", { members })).pipe(Validated.events({ GUILD_CREATE: Guild }, { onInvalid }))
      )
      expect(result.reported).toEqual([
        `1: ${Array.from({ length: 10 }, (_, i) => `members[${i}].nick must be a number`).join("; ")}; and 4990 more`
      ])
      // the ten the second run tells
      expect(made).toBe(10)
    }))

  // the count of problems was of fields, where a struct's message speaks for its fields as one:
  // five told and "9990 more" for 5,000 members of two bad fields each
  it.effect("a message annotation above problems speaks for them as one: the count is of what is told", () =>
    Effect.gen(function*() {
      const Member = Schema.Struct({ nick: Schema.String, deaf: Schema.Boolean }).annotations({ message: () => ({ message: "not a member", override: true }) })
      const members = Array.from({ length: 5000 }, () => ({ nick: 1, deaf: "no" }))
      const guilds = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "GUILD_CREATE", { members })).pipe(
          Validated.events({ GUILD_CREATE: Schema.Struct({ members: Schema.Array(Member) }) }, { onInvalid })
        )
      )
      expect(guilds.reported).toEqual([`1: ${Array.from({ length: 10 }, (_, i) => `members[${i}] not a member`).join("; ")}; and 4990 more`])
      const fields = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, Schema.String]))
      const Guild = Schema.Struct(fields).annotations({ message: () => ({ message: "not a guild", override: true }) })
      const whole = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 2, "GUILD_CREATE", Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, i])))).pipe(
          Validated.events({ GUILD_CREATE: Guild }, { onInvalid })
        )
      )
      expect(whole.reported).toEqual(["2: not a guild"])
    }))

  it.effect("a transformation that throws a value String() cannot render makes the event invalid (the stream died)", () =>
    Effect.gen(function*() {
      const Odd = Schema.transform(Schema.String, Schema.String, {
        decode: (text) => {
          if (text === "bad") throw Object.create(null)
          return text
        },
        encode: (text) => text
      })
      const result = yield* outcome((onInvalid) =>
        Stream.make(Event.make(0, 1, "GUILD_DELETE", "bad"), Event.make(0, 2, "GUILD_DELETE", "good")).pipe(
          Validated.events({ GUILD_DELETE: Odd }, { onInvalid })
        )
      )
      expect(result.delivered).toEqual([2])
      expect(result.reported).toHaveLength(1)
    }))
})

describe("Validated.handler", () => {
  it.effect("checks each event as events does: decoded to the handler, a bad one reported in its place, the others as they came", () =>
    Effect.gen(function*() {
      const timeline: Array<string> = []
      const handle = Validated.handler(
        { MESSAGE_CREATE: MessageCreate },
        (event) => {
          if (event.t === "MESSAGE_CREATE") expectTypeOf(event.d.id).toEqualTypeOf<bigint>()
          return Effect.sync(() => void timeline.push(`${event.t} ${event.t === "MESSAGE_CREATE" ? typeof event.d.id : "as it came"}`))
        },
        { onInvalid: (invalid) => Effect.sync(() => void timeline.push(`bad ${invalid.sequence}`)) }
      )
      const counted = Metric.tagged(Validated.invalidEvents, "type", "MESSAGE_CREATE")
      const before = (yield* Metric.value(counted)).count
      yield* Effect.forEach([
        Event.make(0, 1, "MESSAGE_CREATE", { id: "1", content: "a" }),
        Event.make(0, 2, "MESSAGE_CREATE", { id: "x" }),
        Event.make(0, 3, "TYPING_START", { channel_id: "1" })
      ], handle)
      expect(timeline).toEqual(["MESSAGE_CREATE bigint", "bad 2", "TYPING_START as it came"])
      expect((yield* Metric.value(counted)).count - before).toBe(1)
      // by default, a warning names the event
      const lines: Array<unknown> = []
      yield* Validated.handler({ MESSAGE_CREATE: MessageCreate }, () => Effect.void)(Event.make(3, 4, "MESSAGE_CREATE", {})).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ annotations, message }) => void lines.push([message, Object.fromEntries(annotations)]))))
      )
      expect(lines).toEqual([[["dropped MESSAGE_CREATE: it did not pass its schema: id is missing; content is missing"], { type: "MESSAGE_CREATE", shard: 3, sequence: 4 }]])
    }))

  // a loop handling each chunk whole, in one uninterruptible step, with the events checked: `events`
  // splits a chunk at each bad event to report it in its place, and a stop between the pieces lost
  // the rest of the chunk (other shards' events among them), which the resume points counted
  it.scoped("in a loop handling each chunk whole, a stop while a bad event is reported loses no event of the handoff", () =>
    Effect.gen(function*() {
      yield* FleetHarness.configureLimiter(2)
      const served = yield* FleetHarness.serve()
      const fleet = yield* Fleet.make(FleetHarness.options({ shardCount: 2 }))
      yield* FleetHarness.advance(500)
      const handled: Array<string> = []
      // a program whose onInvalid waits (it writes to an audit store)
      const handle = Validated.handler(
        { MESSAGE_CREATE: Schema.Struct({ id: Schema.String }) },
        (event) => Effect.sync(() => void handled.push(`${event.shard}:${event.sequence}`)),
        { onInvalid: () => Effect.sleep("1 second") }
      )
      const peer = (shard: number) => served.peers.get(shard)!
      yield* peer(0).sendJson(FleetHarness.dispatch(2, "MESSAGE_CREATE", { id: "2" }))
      yield* peer(0).sendJson(FleetHarness.dispatch(3, "MESSAGE_CREATE", { id: 3 }))
      yield* peer(0).sendJson(FleetHarness.dispatch(4, "MESSAGE_CREATE", { id: "4" }))
      yield* peer(1).sendJson(FleetHarness.dispatch(2, "MESSAGE_CREATE", { id: "5" }))
      yield* FleetHarness.settle
      const main = yield* Effect.fork(Stream.runForEachChunk(fleet.events, (chunk) => Effect.uninterruptible(Effect.forEach(chunk, handle))))
      yield* FleetHarness.settle
      // Ctrl-C while the bad event is reported, then the finalizer's disconnect and drain
      const stopped = yield* Effect.fork(Fiber.interrupt(main))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopped)
      const points = yield* fleet.disconnect()
      yield* Stream.runForEach(fleet.events, handle).pipe(Effect.ignore)
      expect(points.map((point) => `${point.shard[0]}:${point.sequence}`).sort()).toEqual(["0:4", "1:2"])
      expect(handled.sort()).toEqual(["0:1", "0:2", "0:4", "1:1", "1:2"])
    }).pipe(Effect.provide(FleetHarness.TestLayer)))
})
