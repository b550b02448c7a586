import { describe, expect, it } from "@effect/vitest"
import { deflateSync } from "node:zlib"
import * as Etf from "../../src/codec/Etf.ts"
import * as Rules from "../../src/testing/Rules.ts"

const bytes = (text: string) => new TextEncoder().encode(text)

describe("Rules", () => {
  it("decodes payloads and rejects oversized, invalid and op-less ones", () => {
    expect(Rules.decode(bytes('{"op":1,"d":7}'))).toEqual({ _tag: "Payload", op: 1, d: 7 })
    expect(Rules.decode(bytes("x".repeat(4097)))._tag).toBe("TooLarge")
    expect(Rules.decode(bytes(`{"op":1,"d":"${"x".repeat(4080)}"}`))._tag).toBe("Payload")
    expect(Rules.decode(bytes("{op"))._tag).toBe("Invalid")
    expect(Rules.decode(bytes("[1]"))._tag).toBe("Invalid")
    expect(Rules.decode(bytes('{"op":"1"}'))._tag).toBe("Invalid")
  })

  it("decodes ETF payloads and refuses a compressed term: a client's frames are never compressed (it passed 4096 bytes inflating to 40 KB)", () => {
    const heartbeat = Etf.encode({ op: 1, d: "x".repeat(40_000) })
    const term = heartbeat.subarray(1)
    const size = Buffer.alloc(4)
    size.writeUInt32BE(term.length)
    const compressed = Buffer.concat([Buffer.of(131, 80), size, deflateSync(term)])
    expect(compressed.length).toBeLessThan(4096)
    expect(Rules.decodeEtf(Etf.encode({ op: 1, d: 7 }))).toEqual({ _tag: "Payload", op: 1, d: 7 })
    expect(Rules.decodeEtf(compressed)).toEqual({ _tag: "Invalid", detail: "a compressed term (tag 80): a client's frames are never compressed" })
  })

  it("a sliding window allows `limit` hits per window", () => {
    const window = new Rules.SlidingWindow(3, 1000)
    expect([0, 10, 20, 30].map((t) => window.hit(t))).toEqual([true, true, true, false])
    expect(window.hit(1011)).toBe(true)
  })

  it("identify buckets: one identify per key per cooldown", () => {
    const buckets = new Rules.IdentifyBuckets(5000)
    expect(Rules.IdentifyBuckets.key(17, 16)).toBe(1)
    expect(buckets.take(0, 0)).toBe(true)
    expect(buckets.take(1, 0)).toBe(true)
    expect(buckets.take(0, 4999)).toBe(false)
    expect(buckets.take(0, 5000)).toBe(true)
  })

  it("member requests: retry_after in seconds within the cooldown", () => {
    const limiter = new Rules.MemberRequestLimiter(30_000)
    expect(limiter.take("1", 0)).toBe(0)
    expect(limiter.take("2", 0)).toBe(0)
    expect(limiter.take("1", 10_000)).toBe(20)
    expect(limiter.take("1", 30_000)).toBe(0)
  })

  it("heartbeats: far too early is under half an interval; the answer to op 1 is exempt", () => {
    const clock = new Rules.HeartbeatClock(1000, 150)
    expect(clock.beat(0).tooEarlyBy).toBeUndefined()
    expect(clock.beat(1000).tooEarlyBy).toBeUndefined()
    clock.requested(1050)
    expect(clock.beat(1100)).toEqual({ requested: true, tooEarlyBy: undefined })
    expect(clock.beat(2000).tooEarlyBy).toBeUndefined()
    expect(clock.beat(2400).tooEarlyBy).toBe(400)
    // two op 1s, one beat: the other is answered by none later than answerWithin
    clock.requested(2450)
    clock.requested(2450)
    expect(clock.beat(2460).requested).toBe(true)
    expect(clock.beat(2700)).toEqual({ requested: false, tooEarlyBy: 300 })
  })

  it("validates shards and intents", () => {
    expect(Rules.validShard(undefined, undefined)).toEqual([0, 1])
    expect(Rules.validShard([3, 4], undefined)).toEqual([3, 4])
    expect(typeof Rules.validShard([4, 4], undefined)).toBe("string")
    expect(typeof Rules.validShard([0, 2], 4)).toBe("string")
    expect(typeof Rules.validShard(["0", 1], undefined)).toBe("string")
    expect(Rules.validIntents(1 << 17)).toBe(false)
    expect(Rules.validIntents(3276799)).toBe(true)
    expect(Rules.validIntents(513)).toBe(true)
    expect(Rules.validIntents(undefined)).toBe(false)
    expect(Rules.validIntents(-1)).toBe(false)
  })

  it("the session start limit counts identifies and resets after reset_after", () => {
    const full = new Rules.SessionStartLimit(3, 3, 1000, 0)
    // a full budget's window starts at its first identify
    expect(full.current(50)).toEqual({ remaining: 3, resetAfter: 1000 })
    expect(full.take(100)).toBe(true)
    expect(full.current(600)).toEqual({ remaining: 2, resetAfter: 500 })
    expect(full.current(1100)).toEqual({ remaining: 3, resetAfter: 1000 })
    // one made partly spent is in a window already: reset_after counts down from when it was made
    const limit = new Rules.SessionStartLimit(3, 2, 1000, 0)
    expect(limit.current(0)).toEqual({ remaining: 2, resetAfter: 1000 })
    expect(limit.take(100)).toBe(true)
    expect(limit.take(200)).toBe(true)
    expect(limit.take(300)).toBe(false)
    expect(limit.current(600)).toEqual({ remaining: 0, resetAfter: 400 })
    expect(limit.current(1000)).toEqual({ remaining: 3, resetAfter: 1000 })
  })

  it("a session start limit made spent refills once reset_after has passed (it never did: the next Identify reset the token)", () => {
    const spent = new Rules.SessionStartLimit(1000, 0, 10_000, 5_000)
    expect(spent.current(5_000)).toEqual({ remaining: 0, resetAfter: 10_000 })
    expect(spent.current(9_000).resetAfter).toBe(6_000)
    expect(spent.take(14_999)).toBe(false)
    expect(spent.take(15_000)).toBe(true)
    expect(spent.current(15_000)).toEqual({ remaining: 999, resetAfter: 10_000 })
  })

  it("places a guild on (id >> 22) % shard_count", () => {
    expect(Rules.shardOf("41771983423143937", 1)).toBe(0)
    expect(Rules.shardOf(((5n << 22n) | 7n).toString(), 4)).toBe(1)
  })
})
