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

  // Written raw, an override from any user's message reversed the rest of the line on a terminal
  // that does bidi ("transfer \u202e0001$ to eve"), and a separator split an ndjson line in two for
  // readers that split on it (Python's splitlines).
  it("writes the bidi embeddings, overrides and isolates and the line and paragraph separators as escapes", () => {
    expect(printable("transfer \u202e0001$ to eve")).toBe("transfer \\u202e0001$ to eve")
    expect(printable("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069")).toBe(
      "\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069"
    )
    expect(printable("one\u2028two\u2029three")).toBe("one\\u2028two\\u2029three")
    expect(JSON.parse(quoted("a\u202eb\u2028c"))).toBe("a\u202eb\u2028c")
    // the marks that only direct neutral characters stay
    expect(printable("a\u200eb\u200fc")).toBe("a\u200eb\u200fc")
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
