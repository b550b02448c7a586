import { describe, expect, it } from "@effect/vitest"
import * as Withdrawable from "../../src/internal/withdrawable.ts"

describe("withdrawable", () => {
  it("the newest update on its way, else what went out last; an update given up on is as if never made", () => {
    const value = Withdrawable.make("W")
    const a = value.add("A")
    const b = value.add("B")
    expect(value.latest()).toBe("B")
    value.withdraw(b)
    expect(value.latest()).toBe("A")
    value.withdraw(a)
    expect(value.latest()).toBe("W")
  })

  it("what went out is taken in the order it went out: an Identify that carried B, then A written after it", () => {
    const value = Withdrawable.make("W")
    const a = value.add("A")
    const b = value.add("B")
    value.wentOut(value.latest())
    value.wentOut("A", a)
    expect(value.latest()).toBe("B")
    // B given up on: the other side shows A, written last
    value.withdraw(b)
    expect(value.latest()).toBe("A")
  })
})
