/**
 * The token kept out of text that may quote it: a value given in the wrong option (the token as
 * the gateway URL, say) is quoted in the error that refuses it.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"

/**
 * The fewest characters of the token in a row that are masked: a quoted value is cut at 60
 * characters, so what leaks is a run of the token, not always the whole of it.
 */
const shortestRun = 12

/**
 * `text` with every run of at least 12 characters of `token` in it replaced by `<token>`. A
 * `token` that is no `Redacted` or string (options from JavaScript) masks nothing.
 *
 * @since 0.1.0
 */
export const withoutToken = (text: string, token: unknown): string => {
  const secret = secretOf(token)
  if (secret === undefined || !quotes(text, secret)) return text
  let masked = ""
  let i = 0
  while (i < text.length) {
    let run = 0
    while (i + run < text.length && secret.includes(text.slice(i, i + run + 1))) run++
    if (run >= shortestRun) {
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
  return secret !== undefined && quotes(text, secret)
}

const secretOf = (token: unknown): string | undefined => {
  const secret = Redacted.isRedacted(token) ? Redacted.value(token) : token
  return typeof secret === "string" && secret.length >= shortestRun ? secret : undefined
}

// every run of 12 or more holds one of the secret's runs of 12: a search for each, linear in the
// text (the character by character walk of `withoutToken` is not, on a long text)
const quotes = (text: string, secret: string): boolean => {
  for (let i = 0; i + shortestRun <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + shortestRun))) return true
  }
  return false
}
