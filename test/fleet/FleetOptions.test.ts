/**
 * `InvalidOptions.problems` of a fleet's own options: which option each problem is about.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Json from "../../src/codec/Json.ts"
import * as FleetOptions from "../../src/fleet/FleetOptions.ts"
import type { InvalidOptions } from "../../src/session/SessionError.ts"
import { options, resumeUrl, secret } from "./harness.ts"

const problemsOf = (result: Either.Either<unknown, InvalidOptions>) =>
  Either.match(result, { onLeft: (error) => error.problems, onRight: () => [] })

const selectionProblems = (overrides: Record<string, unknown>) =>
  problemsOf(FleetOptions.checkSelection({ ...options(), ...overrides } as FleetOptions.FleetOptions))

describe("FleetOptions: InvalidOptions.problems", () => {
  it("names shardCount and startupWindow, in the message's order", () => {
    expect(selectionProblems({ shardCount: 0, startupWindow: 0 })).toEqual([
      { option: "shardCount", problem: "shardCount must be a positive integer, got 0" },
      { option: "startupWindow", problem: "startupWindow must be a positive integer, got 0" }
    ])
  })

  it("names shards for each problem with the shard ids, those past the shard count too", () => {
    expect(selectionProblems({ shards: [0, 0, -1] })).toEqual([
      { option: "shards", problem: "shard ids must be non-negative integers, got -1" },
      { option: "shards", problem: "shard ids must not repeat" }
    ])
    expect(problemsOf(FleetOptions.resolveShards(options({ shards: [0, 2, 3], shardCount: 2 }), 2, Json.encoding, 513))).toEqual([
      { option: "shards", problem: "shard ids must be below the shard count 2, got 2, 3" }
    ])
  })

  it("names a session's option given to a fleet when it is one, none when both", () => {
    expect(selectionProblems({ shard: [0, 1] }).map(({ option }) => option)).toEqual(["shard"])
    expect(selectionProblems({ shard: [0, 1], gatewayUrl: resumeUrl }).map(({ option }) => option)).toEqual([""])
  })

  it("names resume for a resume point's problem", () => {
    const point = { sessionId: `s-${secret}`, sequence: 7, resumeGatewayUrl: resumeUrl, shard: [1, 2] }
    expect(selectionProblems({ resume: [point] })).toEqual([
      { option: "resume", problem: "resume.sessionId holds the token: identify anew (leave the point out) (shard 1)" }
    ])
  })

  it("masks the token in a problem quoting the value that holds it", () => {
    // a URL-like value is quoted, cut at 60 characters: 50 of them the token's
    const problems = selectionProblems({ startupWindow: `wss://${secret}` })
    expect(problems).toEqual([{ option: "startupWindow", problem: `startupWindow must be a positive integer, got "wss://<token>...` }])
    for (let at = 0; at + 12 <= secret.length; at++) expect(JSON.stringify(problems)).not.toContain(secret.slice(at, at + 12))
  })
})

describe("FleetOptions.range", () => {
  it("gives the ids from its first bound up to its second, none when the second is not above the first", () => {
    expect(FleetOptions.range(8, 12)).toEqual([8, 9, 10, 11])
    expect(FleetOptions.range(3, 3)).toEqual([])
    expect(FleetOptions.range(5, 2)).toEqual([])
    // the fleet refuses such ids, naming them (FleetOptions' checks): range makes them as asked
    expect(FleetOptions.range(-2, 1)).toEqual([-2, -1, 0])
    expect(FleetOptions.range(0, 65_535)).toHaveLength(65_535)
  })

  // range(0, Infinity) said "Invalid array length"; range(0, 1e9) built a billion ids
  it("throws a RangeError naming its bounds for bounds that are no integers or span more ids than shards may be", () => {
    for (const [from, until, shown] of [
      [0, Infinity, "0 to Infinity"],
      [0, 1e9, "0 to 1000000000"],
      [0, 65_536, "0 to 65536"],
      [Number.NaN, 4, "NaN to 4"],
      [0.5, 4, "0.5 to 4"]
    ] as const) {
      expect(() => FleetOptions.range(from, until)).toThrow(
        new RangeError(`FleetOptions.range: expected integer bounds at most 65535 ids apart, got ${shown}`)
      )
    }
  })
})
