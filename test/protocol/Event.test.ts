import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type { APIMessage, GatewayGuildCreateDispatchData, GatewayMessageCreateDispatchData } from "discord-api-types/v10"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as Event from "../../src/protocol/Event.ts"
import type { EventData, EventName, EventOf, GatewayEvent } from "../../src/protocol/Event.ts"

setFlagsFromString("--expose-gc")
setFlagsFromString("--allow-natives-syntax")
const collectYoung = (runInNewContext("gc") as (options: { readonly type: "minor" }) => void).bind(undefined, { type: "minor" })
const isYoung = new Function("value", "return %InYoungGeneration(value)") as (value: unknown) => boolean

type MakeEvent = (shard: number, sequence: number, t: string, d: unknown) => unknown

/** A maker of object literal events, with an allocation site no other function shares. */
const freshLiteral = (): MakeEvent =>
  new Function("shard", "sequence", "t", "d", "return { shard, sequence, t, d }") as MakeEvent

/**
 * Makes events with `make` in rounds of 20,000 that are all kept through a young-generation
 * collection (as a consumer holding chunks keeps them), and returns the first round after which
 * `make` allocates in the old generation, or `undefined` if it never does in 30 rounds.
 */
const roundsUntilAllocatedOld = (make: MakeEvent): number | undefined => {
  for (let round = 0; round < 30; round++) {
    const kept = Array.from({ length: 20_000 }, (_, i) => make(0, i, "MESSAGE_CREATE", [i]))
    collectYoung()
    if (kept.length > 0 && !isYoung(make(0, 0, "MESSAGE_CREATE", null))) return round
  }
  return undefined
}

describe("GatewayEvent", () => {
  it("narrowing on t types d", () => {
    const contentOf = (event: GatewayEvent): string | undefined => {
      if (event.t === "MESSAGE_CREATE") {
        expectTypeOf(event.d.content).toEqualTypeOf<string>()
        expectTypeOf(event.d).toEqualTypeOf<GatewayMessageCreateDispatchData>()
        return event.d.content
      }
      if (event.t === "GUILD_CREATE") expectTypeOf(event.d).toEqualTypeOf<GatewayGuildCreateDispatchData>()
      return undefined
    }
    const event = { shard: 0, sequence: 3, t: "MESSAGE_CREATE", d: { content: "hi" } } as GatewayEvent
    expect(contentOf(event)).toBe("hi")
  })

  it("EventOf picks one event, also out of events sharing a payload type", () => {
    expectTypeOf<EventOf<"MESSAGE_CREATE">["d"]>().toExtend<APIMessage>()
    expectTypeOf<EventOf<"AUTO_MODERATION_RULE_DELETE">["t"]>().toEqualTypeOf<"AUTO_MODERATION_RULE_DELETE">()
    expectTypeOf<EventData<"RESUMED">>().toEqualTypeOf<undefined>()
    expectTypeOf<EventOf<"READY">>().toHaveProperty("shard").toEqualTypeOf<number>()
  })

  it("EventName is the set of plain dispatch names", () => {
    expectTypeOf<"MESSAGE_CREATE">().toExtend<EventName>()
    expectTypeOf<"READY">().toExtend<EventName>()
    expectTypeOf<"NOT_AN_EVENT">().not.toExtend<EventName>()
    expectTypeOf<EventName>().toExtend<string>()
  })

  it("make builds an event with its shard, sequence, type and data", () => {
    const event = Event.make(2, 7, "MESSAGE_CREATE", { content: "hi" })
    expect(event).toEqual({ shard: 2, sequence: 7, t: "MESSAGE_CREATE", d: { content: "hi" } })
    expect(JSON.parse(JSON.stringify(event))).toEqual({ shard: 2, sequence: 7, t: "MESSAGE_CREATE", d: { content: "hi" } })
    // an instance of a class, as the README says: a strict match against a plain object fails
    expect(event).not.toStrictEqual({ shard: 2, sequence: 7, t: "MESSAGE_CREATE", d: { content: "hi" } })
    expect(Object.keys(event)).toEqual(["shard", "sequence", "t", "d"])
  })

  it("make's events stay young where V8 would allocate an object literal's in the old generation", () => {
    // the same rounds first grow the young generation to its largest, which V8 waits for
    expect(roundsUntilAllocatedOld(Event.make)).toBeUndefined()
    // the control: an object literal's objects are allocated old once V8 has seen most of them
    // survive. In about one process in twenty a literal's site never flips (it depends on when V8
    // optimized its function), so the control tries up to three literals, each with its own site
    const literalAllocatedOld = Array.from({ length: 3 }).some(() => roundsUntilAllocatedOld(freshLiteral()) !== undefined)
    expect(literalAllocatedOld).toBe(true)
  })
})
