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

// East Asian Wide and Fullwidth blocks: Hangul Jamo, CJK radicals to CJK compatibility, CJK
// ideographs, Yi, Hangul syllables, compatibility ideographs, vertical and fullwidth forms, and the
// supplementary ideographic planes
const wideRanges: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x20000, 0x3fffd]
]

const emojiPresentation = /^\p{Emoji_Presentation}|\uFE0F|^\p{Regional_Indicator}/u
const invisible = /^[\p{M}\p{Cf}]*$/u

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" })

const isWide = (codePoint: number): boolean => wideRanges.some(([from, to]) => codePoint >= from && codePoint <= to)

// the columns one grapheme cluster takes
const clusterWidth = (cluster: string): number => {
  if (invisible.test(cluster)) return 0
  return isWide(cluster.codePointAt(0)!) || emojiPresentation.test(cluster) ? 2 : 1
}

/**
 * The columns `text` takes.
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
 * grapheme cluster, and a wide character that would end one column over is left out.
 *
 * @since 0.1.0
 */
export const cut = (text: string, columns: number): string => {
  if (narrowOnly.test(text)) return text.slice(0, columns)
  let used = 0
  let end = 0
  for (const { index, segment } of segmenter.segment(text)) {
    used += clusterWidth(segment)
    if (used > columns) break
    end = index + segment.length
  }
  return text.slice(0, end)
}
