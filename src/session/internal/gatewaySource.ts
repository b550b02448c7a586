/**
 * Where a session gets its gateway URL: the `gateway` option, else `GET /gateway/bot` of its
 * `api`; and what a `gatewayUrl` source answers, checked and told as that source's.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import { defectWords } from "../../internal/causeLine.ts"
import { seconds } from "../../internal/retryAfter.ts"
import { withoutToken } from "../../internal/secret.ts"
import { isWebSocketUrl } from "../../protocol/internal/schema.ts"
import { GatewayInfoError } from "../SessionError.ts"

/**
 * The default REST base.
 *
 * @since 0.1.0
 */
export const defaultApi = "https://discord.com/api/v10"

/**
 * The URL a session reaches the gateway at, but for a resume point's: its `gateway`, else its `api`.
 *
 * @since 0.1.0
 */
export const sourceOf = (options: { readonly gateway?: string | undefined; readonly api?: string | undefined }): string =>
  options.gateway ?? options.api ?? defaultApi

/**
 * The URL a `gatewayUrl` source gave, checked as the `gateway` option is: a `ws://` or `wss://` URL
 * without a fragment or credentials. Refused, it is `GatewayInfoError` (`Decode`, from
 * `gatewayUrl`), not quoted: it was dialled and sent the token, or died parsing.
 *
 * @since 0.1.0
 */
export const checkGatewayUrl = (url: string): Either.Either<string, GatewayInfoError> =>
  isWebSocketUrl(url)
    ? Either.right(url)
    : Either.left(
      new GatewayInfoError({ reason: "Decode", source: "gatewayUrl", detail: "its answer is no ws:// or wss:// URL without a fragment or credentials" })
    )

/**
 * `error`, from a `gatewayUrl` source, said to be: its message names the source, not
 * `GET /gateway/bot`, which was never asked.
 *
 * @since 0.1.0
 */
export const fromGatewayUrl = (failure: GatewayInfoError, token: Redacted.Redacted<string>): GatewayInfoError => {
  // a source of JavaScript may fail with anything (a plain Error, one without `detail`): its words
  // kept, taken as a failure to answer, which trying again may mend (it died with the library's
  // own TypeError reading its `detail`)
  const error: Partial<GatewayInfoError> = typeof failure === "object" && failure !== null ? failure : {}
  const reason = reasons.includes(error.reason as GatewayInfoError["reason"]) ? error.reason! : "Http"
  // made anew from its fields: the source's words may quote the token (also in an error it marked
  // as its own), and so may the `cause` or the other properties it gave its own (a discovery
  // client's failure quoting its authorization header)
  const detail = withoutToken(typeof error.detail === "string" ? error.detail : defectWords(failure), token)
  // a wait the program's source asked for, read as an answer's: no number of seconds (Infinity,
  // NaN, negative: the session slept for ever, or not at all) is none, and at most an hour
  const retryAfter = seconds(error.retryAfter)
  return new GatewayInfoError({
    reason,
    detail,
    source: "gatewayUrl",
    ...(retryAfter === undefined ? {} : { retryAfter }),
    ...(Number.isSafeInteger(error.status) ? { status: error.status } : {})
  })
}

const reasons: ReadonlyArray<GatewayInfoError["reason"]> = ["Unauthorized", "RateLimited", "Http", "Decode"]
