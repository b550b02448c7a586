/**
 * How many columns text takes on a terminal, and text cut to fit: a user-perceived character (a
 * grapheme cluster, e.g. an emoji with its skin tone, or a letter with its accents) takes two
 * columns when it is wide (CJK, Hangul, fullwidth forms, emoji shown as emoji), none when it is
 * only marks or format characters, one otherwise. This is what terminals do for nearly all text;
 * a terminal with other rules for rare characters may still differ by a column.
 *
 * @since 0.1.0
 */

// what is one column per UTF-16 unit: printable ASCII, the common case, measured without segmenting
const narrowOnly = /^[\u0020-\u007e]*$/

// East Asian Wide and Fullwidth blocks: Hangul Jamo, the two angle brackets of U+2329 and U+232A,
// CJK radicals to CJK compatibility, CJK ideographs, Yi, Hangul Jamo Extended-A, Hangul
// syllables, compatibility ideographs, vertical and fullwidth forms, ideographic symbols, Tangut,
// Khitan, Kana supplements and Nushu, enclosed ideographs, and the supplementary ideographic planes
const wideRanges: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fff],
  [0x17000, 0x18cff],
  [0x18d00, 0x18d7f],
  [0x1aff0, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x20000, 0x3fffd]
]

// no column of their own: marks, format characters, and Hangul's medial vowels and final
// consonants (they join the initial consonant's two columns)
const zeroWidth = /[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff\ud7b0-\ud7ff]/u

const emojiPresentation = /^\p{Emoji_Presentation}|\uFE0F|^\p{Regional_Indicator}/u
const invisible = /^[\p{M}\p{Cf}]*$/u

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" })

const isWide = (codePoint: number): boolean => wideRanges.some(([from, to]) => codePoint >= from && codePoint <= to)

// The columns one grapheme cluster takes: an emoji two; else each of its characters as terminals
// draw them one by one (wcwidth): a wide one two, a mark none, any other one (a letter, a spacing
// vowel sign of Devanagari or Tamil, Thai's SARA AM, the second letter of a conjunct) one
const clusterWidth = (cluster: string): number => {
  if (invisible.test(cluster)) return 0
  if (emojiPresentation.test(cluster)) return 2
  if (cluster.length === 1) return isWide(cluster.charCodeAt(0)) ? 2 : 1
  let columns = 0
  // a mark first: some sit among wide ones (kana's combining voiced marks)
  for (const char of cluster) columns += zeroWidth.test(char) ? 0 : isWide(char.codePointAt(0)!) ? 2 : 1
  return columns
}

/**
 * The start of `text` that is measured for `columns` columns: 16 UTF-16 units a column, and 64
 * more. Text of more units a column than that (letters under heaps of marks) is cut shorter than
 * it could be, as if it did not fit. Node's segmenter takes time in the length of the whole text
 * at each step: a message of 80,000 characters took 10 s to cut to 60 columns.
 *
 * @since 0.1.0
 */
export const head = (text: string, columns: number): string => {
  const bound = 16 * columns + 64
  return text.length > bound ? text.slice(0, bound) : text
}

/**
 * The columns `text` takes. It segments the whole text: for text of any length, measure what
 * {@link cut} leaves.
 *
 * @since 0.1.0
 */
export const width = (text: string): number => {
  if (narrowOnly.test(text)) return text.length
  let total = 0
  for (const { segment } of segmenter.segment(text)) total += clusterWidth(segment)
  return total
}

/**
 * `text` cut to at most `columns` columns, between characters: never inside a surrogate pair or a
 * grapheme cluster, and a wide character that would end one column over is left out. Its time
 * grows with `columns`, not with the length of `text`.
 *
 * @since 0.1.0
 */
export const cut = (text: string, columns: number): string => {
  if (narrowOnly.test(text)) return text.slice(0, columns)
  const prefix = head(text, columns)
  let used = 0
  let end = 0
  for (const { index, segment } of segmenter.segment(prefix)) {
    used += clusterWidth(segment)
    // the prefix's last cluster may go on past it
    if (used > columns || (prefix !== text && index + segment.length === prefix.length)) break
    end = index + segment.length
  }
  return text.slice(0, end)
}

/**
 * `text` padded with spaces to `columns` columns, or as it is when it takes more: never cut. Its
 * time grows with `columns`, not with the length of `text`.
 *
 * @since 0.1.0
 */
export const padTo = (text: string, columns: number): string => {
  const fits = cut(text, columns)
  return fits.length < text.length ? text : text + " ".repeat(Math.max(0, columns - width(fits)))
}
