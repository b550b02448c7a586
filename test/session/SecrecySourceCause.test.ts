/**
 * A `gatewayUrl` source (the program's discovery service) that fails with a `GatewayInfoError` it
 * marked as its own (`source: "gatewayUrl"`), carrying as its ES2022 `cause` the discovery
 * client's failure, whose words quote the Authorization header it was sent: the session rebuilds
 * the error without that cause, which `Cause.pretty({ renderErrorCause })` printed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { GatewayInfoError } from "../../src/session/SessionError.ts"
import { capture, leaksOf, lineTexts, renderings, spanTexts } from "../secrecy.ts"
import { options, secret, Session, settle, TestLayer } from "../session/harness.ts"

const leaksIn = leaksOf(secret)

describe("a gatewayUrl source's own error with a cause", () => {
  it.scoped("refused (Unauthorized), its cause quoting the header: the session's end does not repeat the token", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const refused = new GatewayInfoError({ reason: "Unauthorized", detail: "the discovery service refused the bot", source: "gatewayUrl" })
      refused.cause = new Error(`GET https://discovery.internal/gateway failed (401); request headers {"authorization":"Bot ${secret}"}`)
      const session = yield* Session.make(options({ gateway: undefined, gatewayUrl: Effect.fail(refused) }))
      const events = yield* Effect.exit(Stream.runDrain(session.events))
      const ended = yield* Effect.exit(session.await)
      yield* settle
      expect(Exit.isFailure(ended)).toBe(true)
      expect(leaksIn([
        ...renderings("await exit", ended),
        ...renderings("events exit", events),
        ...(Exit.isFailure(ended) ? [["await Cause.pretty", Cause.pretty(ended.cause, { renderErrorCause: true })] as const] : []),
        ...renderings("snapshot", yield* session.snapshot),
        ...lineTexts(captured.lines),
        ...spanTexts(captured.spans)
      ])).toEqual([])
    }).pipe(captured.provide, Effect.provide(TestLayer))
  })
})
