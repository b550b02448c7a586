import { describe, expect, it } from "@effect/vitest"
import * as CloseCode from "../../src/protocol/CloseCode.ts"

describe("CloseCode.classify", () => {
  const table: ReadonlyArray<readonly [number | undefined, CloseCode.CloseAction]> = [
    [4000, "resume"],
    [4001, "resume"],
    [4002, "resume"],
    [4003, "new-session"],
    [4004, "fatal"],
    [4005, "new-session"],
    [4006, "resume"],
    [4007, "new-session"],
    [4008, "resume"],
    [4009, "new-session"],
    [4010, "fatal"],
    [4011, "fatal"],
    [4012, "fatal"],
    [4013, "fatal"],
    [4014, "fatal"],
    [undefined, "resume"],
    [1000, "resume"],
    [1001, "resume"],
    [1006, "resume"],
    [CloseCode.ResumableClose, "resume"],
    [4999, "resume"]
  ]
  it.each(table)("classifies %s as %s", (code, action) => {
    expect(CloseCode.classify(code)).toBe(action)
  })

  it("names every Discord code and agrees with the table by name", () => {
    expect(CloseCode.classify(CloseCode.CloseCode.AuthenticationFailed)).toBe("fatal")
    expect(CloseCode.classify(CloseCode.CloseCode.InvalidSeq)).toBe("new-session")
    for (const code of Object.values(CloseCode.CloseCode)) {
      expect(CloseCode.describe(code)).not.toMatch(/^close code/)
    }
  })

  it("describes lost connections, normal closures and unknown codes", () => {
    expect(CloseCode.describe(undefined)).toBe("connection lost")
    expect(CloseCode.describe(1000)).toBe("normal closure")
    expect(CloseCode.describe(4014)).toContain("privileged")
    expect(CloseCode.describe(4321)).toBe("close code 4321")
  })
})
