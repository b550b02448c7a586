/**
 * Commands from JavaScript holding values that cannot be read as data: an object that refers to
 * itself, a getter or a proxy that throws. Each is an `InvalidCommand` saying where, never a
 * stack overflow or a throw at the call.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Commands from "../../src/protocol/Commands.ts"

const online = { since: null, activities: [], status: "online", afk: false } as const

const throwing = (): never => {
  throw new Error("the program's getter threw")
}

const refusal = <A>(result: Either.Either<A, Commands.InvalidCommand>): string =>
  Either.match(result, { onLeft: (error) => `${error._tag} ${error.reason}: ${error.message}`, onRight: () => "accepted" })

describe("a command that cannot be read as data", () => {
  // each recursed until the stack overflowed: a RangeError defect, where InvalidCommand is due
  it("an object that refers to itself (at the top, or an activity's field) is refused, saying where", () => {
    const presence: Record<string, unknown> = { ...online }
    presence["self"] = presence
    const activity: Record<string, unknown> = { name: "the gateway", type: 3 }
    activity["parent"] = activity
    const inList: Array<unknown> = []
    inList.push(inList)
    // the command is a copy of the presence's fields: its `self` is the presence, whose own is the cycle
    expect(refusal(Commands.encode(Commands.presenceUpdate(presence as unknown as Commands.Presence)))).toBe(
      "InvalidCommand Invalid: PresenceUpdate: self.self refers to an object it is in"
    )
    expect(refusal(Commands.encode(Commands.presenceUpdate({ ...online, activities: [activity as unknown as Commands.Activity] })))).toBe(
      "InvalidCommand Invalid: PresenceUpdate: activities[0].parent refers to an object it is in"
    )
    expect(refusal(Commands.encode(Commands.requestSoundboardSounds(inList as unknown as ReadonlyArray<string>)))).toBe(
      "InvalidCommand Invalid: RequestSoundboardSounds: guild_ids[0] refers to an object it is in"
    )
  })

  // the path quoted the program's key whole: 10,063 characters
  it("a cycle under a key of 10,000 characters: the path is cut short", () => {
    const activity: Record<string, unknown> = { name: "the gateway", type: 3 }
    activity[`${"k".repeat(10_000)} `] = activity
    const said = refusal(Commands.encode(Commands.presenceUpdate({ ...online, activities: [activity as unknown as Commands.Activity] })))
    expect(said).toMatch(/^InvalidCommand Invalid: PresenceUpdate: activities\[0\]\["k{60,}\.\.\. refers to an object it is in$/)
    expect(said.length).toBeLessThan(200)
  })

  it("frozen objects, a proxy that throws nothing and a getter that answers are read as data: the payload as before", () => {
    const frozen = Object.freeze({ name: "x", type: 0 }) as Commands.Activity
    const proxied = new Proxy({ name: "y", type: 3 }, {}) as Commands.Activity
    const answering = Object.defineProperty({ type: 2 }, "name", { get: () => "z", enumerable: true }) as unknown as Commands.Activity
    const encoded = Commands.encode(Commands.presenceUpdate({ ...online, activities: Object.freeze([frozen, proxied, answering]) }))
    expect(JSON.parse(Either.getOrThrow(encoded) as string).d.activities).toEqual([
      { name: "x", type: 0 },
      { name: "y", type: 3 },
      { name: "z", type: 2 }
    ])
  })

  it("one object in two places is no cycle: checked as any other", () => {
    const shared = { name: "the gateway", type: 3 } as const
    expect(refusal(Commands.encode(Commands.presenceUpdate({ ...online, activities: [shared, shared] })))).toBe("accepted")
  })

  it("a getter or a proxy that throws is refused, saying where and what it threw", () => {
    const activity = Object.defineProperty({ type: 0 }, "name", { get: throwing, enumerable: true })
    expect(refusal(Commands.encode(Commands.presenceUpdate({ ...online, activities: [activity as unknown as Commands.Activity] })))).toBe(
      "InvalidCommand Invalid: PresenceUpdate: activities[0].name could not be read (the program's getter threw)"
    )
    const list = new Proxy(["1"], { get: throwing })
    expect(refusal(Commands.encode(Commands.requestSoundboardSounds(list)))).toBe(
      "InvalidCommand Invalid: RequestSoundboardSounds: guild_ids could not be read (the program's getter threw)"
    )
    const opaque = new Proxy({}, { get: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, has: throwing })
    expect(refusal(Commands.memberRequest(opaque as unknown as Commands.MemberRequest, "1"))).toBe(
      "InvalidCommand Invalid: RequestGuildMembers: the value could not be read (the program's getter threw)"
    )
  })

  // a builder spreads the program's fields: the getter threw at the call, before any Effect
  it("built: a builder's spread that throws is a refusal, not a throw", () => {
    const voice = Object.defineProperty({ channel_id: null, self_mute: false, self_deaf: false }, "guild_id", { get: throwing, enumerable: true })
    expect(refusal(Commands.built("VoiceStateUpdate", () => Commands.voiceStateUpdate(voice as unknown as Omit<Commands.VoiceStateUpdate, "_tag">)))).toBe(
      "InvalidCommand Invalid: VoiceStateUpdate: the value could not be read (the program's getter threw)"
    )
  })

  // a getter answering each read anew: checked on its first answer, the payload took a later one
  const answers = (...said: ReadonlyArray<unknown>) => {
    let reads = 0
    return () => said[Math.min(reads++, said.length - 1)]!
  }

  it("a getter whose next answer breaks a rule: refused, the payload never built from what was not checked", () => {
    const activity = Object.defineProperty({ type: 0 }, "name", { get: answers("fine", 42), enumerable: true })
    expect(refusal(Commands.encode(Commands.presenceUpdate({ ...online, activities: [activity as unknown as Commands.Activity] })))).toMatch(
      /^InvalidCommand Invalid: PresenceUpdate: activities\[0\]\.name /
    )
    const guild = answers("81384788765712384", "not a snowflake")
    const ids = new Proxy(["81384788765712384"], { get: (target, key) => key === "0" ? guild() : Reflect.get(target, key) })
    expect(refusal(Commands.encode(Commands.requestSoundboardSounds(ids)))).toMatch(/^InvalidCommand Invalid: RequestSoundboardSounds: guild_ids\[0\] /)
  })

  it("validate hands back the command as checked: plain data, read once, which later answers do not change", () => {
    const read = answers("first", "second", "third")
    const activity = Object.defineProperty({ type: 0 }, "name", { get: read, enumerable: true })
    const checked = Either.getOrThrow(Commands.validate(Commands.presenceUpdate({ ...online, activities: [activity as unknown as Commands.Activity] })))
    const name = checked.activities[0]!.name
    expect(checked.activities[0]!.name).toBe(name)
    // encoding the checked copy reads no getter: the same name, however often
    const encoded = (command: Commands.Command) => JSON.parse(Either.getOrThrow(Commands.encode(command)) as string).d.activities[0].name
    expect([encoded(checked), encoded(checked)]).toEqual([name, name])
    expect(Object.getOwnPropertyDescriptor(checked.activities[0], "name")?.get).toBeUndefined()
  })

  it("a getter that throws at the second read (the copy's) is refused naming the command, as at the first", () => {
    let reads = 0
    const activity = Object.defineProperty({ type: 0 }, "name", {
      enumerable: true,
      get: () => {
        if (reads++ === 0) return "the gateway"
        throw new Error("gone")
      }
    })
    expect(refusal(Commands.encode(Commands.presenceUpdate({ ...online, activities: [activity as unknown as Commands.Activity] })))).toBe(
      "InvalidCommand Invalid: PresenceUpdate: the value could not be read (gone)"
    )
  })

  // one id is taken as a list of one: the check of which read it, the spread read it again
  it("a member request's user ids are read once: a getter answering a list, then one id, is taken as its first answer", () => {
    let reads = 0
    const request = Object.defineProperty({ guild_id: "80351110224678912" }, "user_ids", {
      enumerable: true,
      get: () => reads++ === 0 ? ["80351110224678913"] : "80351110224678914"
    }) as unknown as Commands.MemberRequest
    const encoded = Either.flatMap(Commands.memberRequest(request, "n"), (command) => Commands.encode(command))
    expect(JSON.parse(Either.getOrThrow(encoded) as string).d.user_ids).toEqual(["80351110224678913"])
    expect(reads).toBe(1)
  })
})
