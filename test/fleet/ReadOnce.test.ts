/**
 * A fleet's commands and options as it checked them: a program's getter answering each read anew
 * (a reactive store's) cannot route a command one way and send it another, and the presence a
 * fleet is made with is one object for every shard, which tells a resumed shard's presence.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type * as FleetOptions from "../../src/fleet/FleetOptions.ts"
import type * as Commands from "../../src/protocol/Commands.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { advance, configureLimiter, guildOn, options, serve, TestLayer, token } from "./harness.ts"

const presence = { since: null, activities: [{ name: "the gateway", type: 3 }], status: "idle", afk: false } as const

describe("a fleet reads what it is given once", () => {
  // each shard's options held a copy of the presence, which the fleet compares by identity: every
  // resumed shard was sent it again after RESUMED, a presence-limit place spent per shard; a point
  // that does not say what its gateway session shows (an older one, pointAfter's) is sent it once
  for (const [says, sent] of [[true, 0], [false, 1]] as const) {
    it.scoped(`a fleet resuming its shards with the presence it was made with, from points that ${says ? "say it" : "do not say"}, sends each ${sent} op 3`, () =>
      Effect.gen(function*() {
        yield* configureLimiter(2)
        const served = yield* serve()
        const resume = [0, 1].map((id) => ({
          shard: [id, 2] as const,
          sessionId: `session-${id}`,
          sequence: 10,
          resumeGatewayUrl: "ws://resume.test/",
          encoding: "json" as const,
          ...(says ? { presence: JSON.parse(JSON.stringify(presence)) as Commands.Presence } : {})
        }))
        yield* Fleet.make(options({ shardCount: 2, presence, resume }))
        yield* advance(30_000)
        expect(served.resumes).toHaveLength(2)
        const presences = [0, 1].map((id) => (served.commands.get(id) ?? []).filter((payload) => payload.op === 3).map((payload) => payload.d))
        expect(presences).toEqual([0, 1].map(() => Array.from({ length: sent }, () => presence)))
      }).pipe(Effect.provide(TestLayer)))
  }

  it.scoped("a resume point whose field a store's getter refuses to read is InvalidOptions naming it, never a defect", () =>
    Effect.gen(function*() {
      const refusing = Object.defineProperty({ shard: [0, 2] as const, sessionId: "session-0", sequence: 1, resumeGatewayUrl: "ws://resume.test/" }, "presence", {
        get: () => {
          throw new Error("the store is gone")
        }
      })
      const error = yield* Effect.flip(Fleet.make(options({ shardCount: 2, resume: [refusing] })))
      expect(error).toMatchObject({ _tag: "InvalidOptions", detail: "resume could not be read: the store is gone" })
      // the list itself, and a point that cannot even be asked what it is (a revoked proxy)
      const list = Object.defineProperty([], 0, {
        get: () => {
          throw new Error("the list is gone")
        }
      }) as Array<SessionOptions.ResumePoint>
      list.length = 1
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      for (const [resume, detail] of [[list, /^resume could not be read: the list is gone$/], [[proxy], /^resume could not be read: /]] as const) {
        expect(yield* Effect.flip(Fleet.make(options({ shardCount: 2, resume: resume as ReadonlyArray<SessionOptions.ResumePoint> })))).toMatchObject({
          _tag: "InvalidOptions",
          detail: expect.stringMatching(detail)
        })
      }
    }).pipe(Effect.provide(TestLayer)))

  // the fleet copied its options to read the points once, and lost what the caller's object
  // inherits: `shardCount`, `shards` and the session options (the shards asked GET /gateway/bot,
  // every one of them ran, and identified with no presence)
  it.scoped("options the caller's object inherits are read, a fleet's own and its sessions', with points given", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const base = Object.create(options({ shardCount: 3, shards: [1, 2], presence, intents: Intents.Guilds })) as FleetOptions.FleetOptions
      const resume = [{ shard: [2, 3] as const, sessionId: "session-2", sequence: 10, resumeGatewayUrl: "ws://resume.test/", encoding: "json" as const }]
      const fleet = yield* Fleet.make(Object.assign(Object.create(base), { resume }) as FleetOptions.FleetOptions)
      yield* advance(30_000)
      expect(fleet.shardIds).toEqual([1, 2])
      expect(served.identifies.map(({ presence, shard }) => ({ presence, shard }))).toEqual([{ presence, shard: 1 }])
      expect(served.resumes).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)))

  // read as given, several times each (rereview98): an inherited `gatewayUrl` or `shard` was taken
  // (every shard asked the session's URL source), a `shards` getter answering anew ran one shard
  // twice, and a `resume` getter that answered once and then threw was a defect
  it.scoped("each option is read once, inherited ones too: what was checked is what runs", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const point = { shard: [0, 2] as const, sessionId: "session-0", sequence: 10, resumeGatewayUrl: "ws://resume.test/", encoding: "json" as const }
      const reads = new Map<PropertyKey, number>()
      const counted = new Proxy(options({ shardCount: 2, shards: [0, 1], startupWindow: 1, bufferSize: 64, resume: [point] }), {
        get: (target, key, receiver) => {
          reads.set(key, (reads.get(key) ?? 0) + 1)
          return Reflect.get(target, key, receiver)
        }
      })
      yield* Effect.scoped(Fleet.make(counted))
      expect([...reads].filter(([, times]) => times > 1)).toEqual([])
      yield* advance(1_000)
      const before = served.identifies.length
      // a `shards` getter answering anew, a `resume` one that throws once read
      let asked = 0
      const fickle = Object.defineProperties(options({ shardCount: 2 }), {
        shards: { enumerable: true, get: () => asked++ === 0 ? [0, 1] : [1, 1] },
        resume: {
          enumerable: true,
          get: () => {
            if (asked > 1) throw new Error("the store is gone")
            return [point]
          }
        }
      })
      const fleet = yield* Fleet.make(fickle)
      yield* advance(12_000)
      expect(fleet.shardIds).toEqual([0, 1])
      expect(served.identifies.slice(before).map((identify) => identify.shard)).toEqual([1])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a session's option the fleet's options inherit is refused as an own one is, its source never asked", () =>
    Effect.gen(function*() {
      let asked = 0
      const source = Effect.sync(() => {
        asked++
        return "ws://gateway.test/"
      })
      for (const [inherited, name] of [[{ gatewayUrl: source }, "gatewayUrl"], [{ shard: [1, 2] }, "shard"]] as const) {
        const given = Object.create({ ...options({ shardCount: 2 }), ...inherited }) as FleetOptions.FleetOptions
        expect(yield* Effect.flip(Fleet.make(given))).toMatchObject({ _tag: "InvalidOptions", detail: expect.stringContaining(`${name} is a session's option, not a fleet's`) })
      }
      yield* advance(2_000)
      expect(asked).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  it("forShard keeps the presence the options were resolved with: the same object for every shard", () => {
    const resolved = Either.getOrThrow(SessionOptions.resolve({ token, intents: Intents.Guilds, presence, shard: [0, 2] }))
    expect(Either.getOrThrow(SessionOptions.forShard(resolved, [1, 2], undefined)).presence).toBe(resolved.presence)
  })

  // routed by the fleet's reading, the session read it again: a guild of another shard, refused
  it.scoped("a member request goes out as it was routed, whatever the program's getter answers later", () =>
    Effect.gen(function*() {
      yield* configureLimiter(2)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2, intents: Intents.Guilds | Intents.GuildMembers }))
      yield* advance(1_000)
      const [onZero, onOne] = [guildOn(0, 2), guildOn(1, 2)]
      let reads = 0
      const request = Object.defineProperty({ user_ids: ["80351110224678912"] }, "guild_id", {
        enumerable: true,
        get: () => reads++ === 0 ? onZero : onOne
      }) as unknown as Commands.MemberRequest
      const call = yield* Effect.fork(Effect.either(fleet.requestGuildMembers(request)))
      yield* advance(2_000)
      const sent = (served.commands.get(0) ?? []).filter((payload) => payload.op === 8).map((payload) => (payload.d as { guild_id: string }).guild_id)
      expect([sent, call.unsafePoll()]).toEqual([[onZero], null])
      yield* Fiber.interrupt(call)
    }).pipe(Effect.provide(TestLayer)))
})
