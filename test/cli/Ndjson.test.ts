import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Ndjson from "../../src/cli/Ndjson.ts"
import * as Event from "../../src/protocol/Event.ts"
import { anyControl } from "../controls.ts"

describe("Ndjson", () => {
  it("writes one exact line per event", () => {
    const event = Event.make(2, 17, "MESSAGE_CREATE", { id: "1", content: "hi" })
    expect(Ndjson.line(event)).toBe(`{"shard":2,"seq":17,"t":"MESSAGE_CREATE","d":{"id":"1","content":"hi"}}`)
    // a dispatch that came without `d` (a custom gateway's) keeps the shape
    expect(Ndjson.line(Event.make(0, 7, "SOME_NEW_DISPATCH", undefined))).toBe(`{"shard":0,"seq":7,"t":"SOME_NEW_DISPATCH","d":null}`)
  })

  it("writes an event whose data is nested too deeply for JSON.stringify with d null and why, rather than throwing", () => {
    const depth = 100_000
    const d = JSON.parse(`{"content":${"[".repeat(depth)}${"]".repeat(depth)}}`) as unknown
    expect(JSON.parse(Ndjson.line(Event.make(0, 2, "MESSAGE_CREATE", d as never)))).toEqual({
      shard: 0,
      seq: 2,
      t: "MESSAGE_CREATE",
      d: null,
      error: "d is nested too deeply to write as JSON"
    })
  })

  it("writes no control character, and parses back to the same event, whatever the gateway sent", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.string({ unit: "binary" }),
        FastCheck.dictionary(FastCheck.string({ unit: "binary" }), FastCheck.string({ unit: "binary" })),
        (t, d) => {
          const line = Ndjson.line(Event.make(0, 1, t, d))
          expect(line).not.toMatch(anyControl)
          expect(JSON.parse(line)).toEqual({ shard: 0, seq: 1, t, d })
        }
      ),
      { numRuns: 2000 }
    )
  })
})
