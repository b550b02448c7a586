import { describe, expect, it } from "@effect/vitest"
import * as EventRate from "../../src/session/EventRate.ts"

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

  it("starts over when the wall clock steps back: the rate reads right again, not 0 for as long as the step", () => {
    const rate = EventRate.make(10)
    const start = 1_700_000_000_000
    const hour = 60 * 60 * 1000
    for (let second = 0; second < 20; second++) rate.record(100, start + second * 1000)
    const back = start + 20_000 - hour
    const readings: Array<number> = []
    for (let second = 0; second < 20; second++) {
      rate.record(100, back + second * 1000)
      readings.push(rate.perSecond(back + second * 1000 + 999))
    }
    // as for a meter that just started: no complete second at first, then 100/s
    expect(readings).toEqual([0, ...Array.from({ length: 19 }, () => 100)])
  })

  it("counts a second seen again after a short step back once, not with its count from before", () => {
    const rate = EventRate.make(10)
    const start = 1_700_000_000_000
    for (let second = 0; second < 10; second++) rate.record(100, start + second * 1000)
    const back = start + 10_000 - 5_000
    for (let second = 0; second < 10; second++) rate.record(10, back + second * 1000)
    expect(rate.perSecond(back + 10_000)).toBe(10)
  })
})
