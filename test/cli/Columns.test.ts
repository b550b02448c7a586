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
      ["ab😀cd", 6],
      ["कि", 2], // a letter and a spacing vowel sign: one character, two columns (it was counted as one)
      ["हिन्दी", 5], // a conjunct (न्द) is one character of two columns, as terminals draw its letters one by one
      ["กำ", 2], // Thai SARA AM: a letter (not a mark) in its consonant's cluster, a column of its own (it was counted as none)
      ["ꥠ", 2], // Hangul Jamo Extended-A: wide (it was counted as one column)
      ["\u{17000}", 2], // Tangut
      ["\u1100\u1161\u11a8", 2], // conjoining Hangul jamo: one syllable of two columns
      ["\u304b\u3099", 2], // a kana with a combining voiced mark (NFD が), a mark among wide characters: none (it took two)
      ["\u4e00\u302a", 2], // an ideograph with a tone mark
      ["\u2329x\u232a", 5] // the angle brackets of U+2329 and U+232A: wide (each was counted as one column)
    ]
    for (const [text, columns] of cases) expect([text, Columns.width(text)]).toEqual([text, columns])
  })

  it("cuts Thai text to the columns it is drawn in (its lines wrapped, SARA AM counted as none)", () => {
    expect(Columns.cut("กำ".repeat(30), 20)).toBe("กำ".repeat(10))
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

  // Node's segmenter takes time in the whole text's length at each step: cutting a message of
  // 80,000 characters to 60 columns took 10 s, the event loop held. What is segmented is bounded.
  it("segments at most a bounded prefix of long text, whatever its length, and cuts it as it would the whole", () => {
    const segment = Intl.Segmenter.prototype.segment
    const lengths: Array<number> = []
    Intl.Segmenter.prototype.segment = function(this: Intl.Segmenter, input: string) {
      lengths.push(input.length)
      return segment.call(this, input)
    }
    try {
      const long = "é日😀".repeat(100_000)
      expect(Columns.cut(long, 60)).toBe("é日😀".repeat(12))
      expect(Columns.padTo(long, 22)).toBe(long)
      expect(Columns.padTo("é日", 22)).toBe(`é日${" ".repeat(19)}`)
      // a cluster of many marks past the bound: cut before it
      expect(Columns.cut(`ab${"e" + "\u0301".repeat(5000)}`, 10)).toBe("ab")
      expect(Math.max(...lengths)).toBeLessThanOrEqual(16 * 60 + 64)
    } finally {
      Intl.Segmenter.prototype.segment = segment
    }
  })
})
