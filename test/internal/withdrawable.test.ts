import { describe, expect, it } from "@effect/vitest"
import * as Withdrawable from "../../src/internal/withdrawable.ts"

describe("withdrawable", () => {
  it("the newest update not given up on; an update given up on is as if never made, in whatever order", () => {
    for (const order of [[0, 1], [1, 0]]) {
      const value = Withdrawable.make("W")
      const updates = [value.add("A"), value.add("B")]
      expect(value.latest()).toBe("B")
      value.withdraw(updates[order[0]!]!)
      value.withdraw(updates[order[1]!]!)
      expect(value.latest()).toBe("W")
    }
  })

  it("an update that went out stays, given up on later; an older one going out after it changes nothing", () => {
    const value = Withdrawable.make("W")
    const a = value.add("A")
    const b = value.add("B")
    // an Identify carries the latest, B; A's own frame goes out after it
    value.carried(value.latest())
    value.wentOut(a)
    value.withdraw(b)
    expect(value.latest()).toBe("B")
    // a newer update on its way is the latest; given up on, the one that went out is again
    const c = value.add("C")
    expect(value.latest()).toBe("C")
    value.withdraw(c)
    expect(value.latest()).toBe("B")
  })

  it("an older update still on its way is not the latest once a newer one went out", () => {
    const value = Withdrawable.make("W")
    const a = value.add("A")
    const b = value.add("B")
    value.wentOut(b)
    expect(value.latest()).toBe("B")
    value.wentOut(a)
    expect(value.latest()).toBe("B")
  })

  it("keeps no update older than one that went out: a stream of updates, each overtaken by the next, holds one at most", () => {
    const value = Withdrawable.make(0)
    const kept = (withdrawable: Withdrawable.Withdrawable<number>) => (withdrawable as unknown as { pending: Array<unknown> }).pending.length
    let previous = value.add(0)
    for (let i = 1; i <= 1000; i++) {
      const next = value.add(i)
      // the newer one goes out in the older one's place; the older is never written nor given up on
      value.wentOut(next)
      expect(value.superseded(previous)).toBe(true)
      previous = next
    }
    expect([value.latest(), kept(value)]).toEqual([1000, 0])
    // given up on later, an overtaken update changes nothing
    value.withdraw(previous)
    expect(value.latest()).toBe(1000)
  })

  it("the update an Identify carried and the older ones are superseded (their op 3 would repeat it or show an older one), newer ones not", () => {
    const value = Withdrawable.make("W")
    const a = value.add("A")
    const b = value.add("B")
    expect([value.superseded(a), value.superseded(b)]).toEqual([false, false])
    value.carried(value.latest())
    const c = value.add("C")
    expect([value.superseded(a), value.superseded(b), value.superseded(c)]).toEqual([true, true, false])
    // A, moot, is given up on or taken off its way: the value stays as it was
    value.withdraw(a)
    expect(value.latest()).toBe("C")
    value.withdraw(c)
    expect(value.latest()).toBe("B")
  })

  // an Identify the socket refused carried nothing: what it took is on its way again, but for an
  // update given up on meanwhile (it showed after the next Identify), and only while nothing went
  // out since
  it("undoing a carry puts its updates on their way again, those given up on meanwhile left out", () => {
    const value = Withdrawable.make("W")
    const a = value.add("A")
    const b = value.add("B")
    const undo = value.carried(value.latest())
    expect([value.superseded(a), value.superseded(b)]).toEqual([true, true])
    value.withdraw(b)
    undo()
    expect([value.superseded(a), value.latest()]).toEqual([false, "A"])
    value.withdraw(a)
    expect(value.latest()).toBe("W")
    // once something went out since, an undo changes nothing
    const c = value.add("C")
    const late = value.carried("C")
    const d = value.add("D")
    value.wentOut(d)
    late()
    expect([value.latest(), value.superseded(c)]).toEqual(["D", true])
  })
})
