import { describe, expect, it } from "@effect/vitest"
import * as EventRate from "../../src/fleet/EventRate.ts"

describe("EventRate", () => {
  it("averages over the complete seconds of the window, or over those since the first event while fewer", () => {
    const rate = EventRate.make(10)
    const start = 1_000_000
    expect(rate.perSecond(start)).toBe(0)
    const readings: Array<number> = []
    // 50 events a second for 20 s, read at the end of each second
    for (let second = 0; second < 20; second++) {
      rate.record(50, start + second * 1000 + 500)
      readings.push(rate.perSecond(start + second * 1000 + 999))
    }
    // within the first second none is complete yet; from then on 50/s, not 50 spread over 10 s
    expect(readings).toEqual([0, ...Array.from({ length: 19 }, () => 50)])
    // a quiet spell after: the window empties
    expect(rate.perSecond(start + 25_000)).toBe(25)
    expect(rate.perSecond(start + 35_000)).toBe(0)
  })
})
