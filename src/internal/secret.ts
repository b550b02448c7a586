/**
 * The token kept out of text that may quote it: a value given in the wrong option (the token as
 * the gateway URL, say) is quoted in the error that refuses it.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import { isRecord } from "./record.ts"

/**
 * The fewest characters of the token in a row that are masked: a quoted value is cut at 60
 * characters, so what leaks is a run of the token, not always the whole of it. A token shorter
 * than this (a test's) is masked where it is quoted whole.
 */
const shortestRun = 12

/**
 * The shortest token masked: a shorter one (`"1"`, `"test"`) is a test's, matched inside every word
 * and id (a session id `"session-1"` held the token `"1"`, and was refused as quoting it).
 */
const shortestToken = 8

/**
 * `text` with every run of at least 12 characters of `token` in it (the whole token, where it is
 * shorter) replaced by `<token>`, in any case of its ASCII letters: a URL's host is written lower
 * case, a token in it too. A `token` under 8 characters, or that is no `Redacted` or string
 * (options from JavaScript), masks nothing.
 *
 * @since 0.1.0
 */
export const withoutToken = (text: string, token: unknown): string => {
  const secret = secretOf(token)
  if (secret === undefined) return text
  const folded = foldCase(text)
  if (!quotes(folded, secret)) return text
  const shortest = runOf(secret)
  let masked = ""
  let i = 0
  while (i < text.length) {
    let run = 0
    while (i + run < folded.length && secret.includes(folded.slice(i, i + run + 1))) run++
    if (run >= shortest) {
      masked += "<token>"
      i += run
    } else {
      masked += text[i]
      i++
    }
  }
  return masked
}

/**
 * Whether `text` quotes a run of `token` that {@link withoutToken} would mask.
 *
 * @since 0.1.0
 */
export const quotesToken = (text: string, token: unknown): boolean => {
  const secret = secretOf(token)
  return secret !== undefined && quotes(foldCase(text), secret)
}

// the token, its letters in lower case
const secretOf = (token: unknown): string | undefined => {
  const secret = Redacted.isRedacted(token) ? Redacted.value(token) : token
  return typeof secret === "string" && secret.length >= shortestToken ? foldCase(secret) : undefined
}

// ASCII letters in lower case, every other character as it is: the same length, so an index into
// the folded text is one into the text (a token is printable ASCII)
const foldCase = (text: string): string => text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())

// the shortest run of `secret` masked
const runOf = (secret: string): number => Math.min(shortestRun, secret.length)

// every run masked holds one of the secret's runs of the shortest length: a search for each,
// linear in the text (the character by character walk of `withoutToken` is not, on a long text)
const quotes = (text: string, secret: string): boolean => {
  const shortest = runOf(secret)
  for (let i = 0; i + shortest <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + shortest))) return true
  }
  return false
}

/**
 * The token of options a program gave, to mask in what refuses them, where they let it be read:
 * `undefined` for options that are no object, or whose token getter throws (what it threw then
 * cannot be masked, and it is not read again).
 *
 * @since 0.1.0
 */
export const tokenOf = (options: unknown): unknown => {
  try {
    return isRecord(options) ? options["token"] : undefined
  } catch {
    return undefined
  }
}
