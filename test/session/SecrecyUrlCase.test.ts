/**
 * The token put in a URL's host by mistake (`gateway: \`wss://${token}/\``, as a deployment
 * template that swapped two variables writes it; a Discord token, `id.time.hmac`, is a valid host
 * name). A URL parser writes a host in lower case, so the masking matches ASCII letters in any
 * case: the lower-cased token was shown unmasked in spans, transitions, snapshots, log lines and
 * the CLI's plaintext warning.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Args from "../../src/cli/Args.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { capture, lineTexts, type Place, renderings, spanTexts } from "../secrecy.ts"
import { options, ready, secret, Session, settle, TestLayer } from "../session/harness.ts"

/** The places whose text holds 12 characters in a row of the token, in any case. */
const caseFoldedLeaks = (places: ReadonlyArray<Place>): Array<string> => {
  const lower = secret.toLowerCase()
  const runs = new Set<string>()
  for (let i = 0; i + 12 <= lower.length; i++) runs.add(lower.slice(i, i + 12))
  return places.flatMap(([label, text]) => {
    const folded = text.toLowerCase()
    const at = [...runs].map((run) => folded.indexOf(run)).filter((i) => i >= 0)[0]
    return at === undefined ? [] : [`${label}: ...${text.slice(Math.max(0, at - 40), at + 40)}...`]
  })
}

describe("the token in a URL's host, lower-cased by the URL parser", () => {
  it.scoped("gateway wss://<token>/: no span, transition, snapshot or log line shows it", () => {
    const captured = capture()
    return Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ gateway: `wss://${secret}/` }))
      const transitions: Array<unknown> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
      const peer = yield* gateway.accept
      yield* peer.handshake(3_600_000)
      yield* peer.sendJson(ready())
      yield* settle
      const snapshot = yield* session.snapshot
      expect(caseFoldedLeaks([
        ...spanTexts(captured.spans),
        ...lineTexts(captured.lines),
        ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
        ...renderings("snapshot", snapshot)
      ])).toEqual([])
    }).pipe(captured.provide, Effect.provide(TestLayer))
  })

  it.scoped("api https://<token>/api/v10, its host not found: GET /gateway/bot's span, error and log lines do not show it", () => {
    const captured = capture()
    // a resolver's answer, as undici words it: the host name as the URL parser wrote it
    const unresolved = HttpClient.make((request) =>
      Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(`getaddrinfo ENOTFOUND ${new URL(request.url).hostname}`) })
      )
    )
    return Effect.gen(function*() {
      const session = yield* Session.make(options({ gateway: undefined, api: `https://${secret}/api/v10` }))
      const transitions: Array<unknown> = []
      yield* Effect.forkScoped(Stream.runForEach(session.transitions, (t) => Effect.sync(() => transitions.push(t))))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      expect(captured.spans.some((span) => span.name === "GatewayInfo.fetch")).toBe(true)
      expect(caseFoldedLeaks([
        ...spanTexts(captured.spans),
        ...lineTexts(captured.lines),
        ...transitions.flatMap((t, i) => renderings(`transition[${i}]`, t)),
        ...renderings("snapshot", yield* session.snapshot)
      ])).toEqual([])
    }).pipe(
      captured.provide,
      Effect.provide(Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, unresolved)))
    )
  })

  it("CLI: DISCORD_TOKEN with --gateway ws://<token>/: the plaintext warning does not name it", () => {
    const parsed = Args.parse(["--gateway", `ws://${secret}/`], { DISCORD_TOKEN: secret }, false)
    expect(Either.isRight(parsed)).toBe(true)
    if (Either.isLeft(parsed)) return
    const told = Args.warnings(parsed.right)
    expect(told.length).toBeGreaterThan(0)
    expect(caseFoldedLeaks(told.map((line, i) => [`warning[${i}]`, line] as const))).toEqual([])
  })
})
