import { describe, expect, it } from "@effect/vitest"
import * as Columns from "../../src/cli/Columns.ts"
import { loneSurrogate } from "../controls.ts"

describe("Columns", () => {
  it("counts the columns a terminal gives: two for wide characters and emoji, none for marks, one for the rest", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["hello", 5],
      ["", 0],
      ["héllo", 5], // precomposed é
      ["he\u0301llo", 5], // e and a combining acute accent: one character
      ["日本語", 6],
      ["한국어", 6],
      ["ＡＢ", 4], // fullwidth forms
      ["😀", 2],
      ["👍🏽", 2], // with a skin tone
      ["👨‍👩‍👧", 2], // a ZWJ family: one glyph
      ["🇫🇷", 2], // a flag: two regional indicators
      ["❤", 1], // text presentation
      ["❤️", 2], // emoji presentation (U+FE0F)
      ["a\u200bb", 2], // a zero-width space
      ["ab😀cd", 6]
    ]
    for (const [text, columns] of cases) expect([text, Columns.width(text)]).toEqual([text, columns])
  })

  it("cuts between characters: never inside a surrogate pair or a cluster, never a column over", () => {
    expect(Columns.cut("hello world", 5)).toBe("hello")
    expect(Columns.cut("ab😀cd", 3)).toBe("ab")
    expect(Columns.cut("ab😀cd", 4)).toBe("ab😀")
    expect(Columns.cut("日本語", 5)).toBe("日本")
    expect(Columns.cut("👍🏽👍🏽", 3)).toBe("👍🏽")
    expect(Columns.cut("e\u0301e\u0301", 1)).toBe("e\u0301")
    expect(Columns.cut("short", 80)).toBe("short")
    for (const text of ["ab😀cd", "日本語テキスト", "👨‍👩‍👧 family", "mixed 한국어 and 😀"]) {
      for (let columns = 0; columns <= 20; columns++) {
        const cut = Columns.cut(text, columns)
        expect(Columns.width(cut)).toBeLessThanOrEqual(columns)
        expect(text.startsWith(cut)).toBe(true)
        expect(cut).not.toMatch(loneSurrogate)
      }
    }
  })
})
