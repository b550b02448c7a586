/**
 * A token shorter than the 12 characters a masked run has (a test's: the README's examples use
 * `Redacted.make("test-token")`) is masked where it is quoted whole: a close reason quoting it was
 * repeated whole in the error, the log lines, the snapshot and the span's exit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, lineTexts, type Place, renderings, spanTexts } from "../secrecy.ts"
import { options, ready, Session, settle, TestLayer } from "../session/harness.ts"

const short = "k9Qz-7xW.p2"

const quoting = (places: ReadonlyArray<Place>): Array<string> =>
  places.filter(([, text]) => text.includes(short)).map(([label]) => label)

describe("a short token", () => {
  it.scoped("an 11-character token, quoted by a 4004's reason, is never repeated", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      // a test's token, shorter than the 12 characters a run must have: masked where quoted whole
      const session = yield* Session.make(options({ token: Redacted.make(short) }))
      const peer = yield* gateway.accept
      yield* peer.handshake(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      yield* peer.close(4004, `token ${short} is invalid`)
      yield* settle
      const ended = yield* Effect.exit(session.await)
      expect(Exit.isFailure(ended)).toBe(true)
      expect(quoting([
        ...renderings("await exit", ended),
        ...(Exit.isFailure(ended) ? [["Cause.pretty", Cause.pretty(ended.cause)] as const] : []),
        ...renderings("snapshot", yield* session.snapshot),
        ...lineTexts(captured.lines),
        ...spanTexts(captured.spans)
      ])).toEqual([])
    }).pipe(captured.provide, Effect.provide(TestLayer))
  })

  // matched inside every id, a test's token "1" had READY's session id "session-1" refused as
  // quoting it: the session identified again and again, never ready
  it.scoped("a token under 8 characters (a test's \"1\") takes READY of session id \"session-1\"", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ token: Redacted.make("1") }))
      const peer = yield* gateway.accept
      yield* peer.handshake(3_600_000)
      yield* peer.sendJson(ready(1, "session-1"))
      yield* settle
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
    }).pipe(Effect.provide(TestLayer)))
})
