import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { printable, quoted } from "../../src/internal/printable.ts"
import { anyControl } from "../controls.ts"

describe("printable", () => {
  it("writes C0, DEL and C1 control characters as escapes and leaves the rest", () => {
    expect(printable("\u001b[2J\u001b]0;owned\u0007")).toBe("\\u001b[2J\\u001b]0;owned\\u0007")
    expect(printable("a\u007fb\u009b2Jc\u0085")).toBe("a\\u007fb\\u009b2Jc\\u0085")
    expect(printable("héllo wörld ✓ \u00a0 ☃ 😀")).toBe("héllo wörld ✓ \u00a0 ☃ 😀")
  })

  it("quotes text as a JSON string with no control character left, which parses back to the text", () => {
    const text = "a\u007f\u009b2J\u001b[2J\n\"b\""
    expect(quoted(text)).toBe(`"a\\u007f\\u009b2J\\u001b[2J\\n\\"b\\""`)
    expect(JSON.parse(quoted(text))).toBe(text)
  })

  it("leaves no control character in any text", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary" }), (text) => {
        expect(printable(text)).not.toMatch(anyControl)
      }),
      { numRuns: 2000 }
    )
  })
})
