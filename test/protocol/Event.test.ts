import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type { APIMessage, GatewayGuildCreateDispatchData, GatewayMessageCreateDispatchData } from "discord-api-types/v10"
import type { EventData, EventName, EventOf, GatewayEvent } from "../../src/protocol/Event.ts"

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
})
