/**
 * The local gateway (src/testing/LocalGateway.ts) in its own process, for the idle-shard memory
 * runs: `argv[2]` is `{ shards, maxConcurrency, identifyCooldownMs }`. Prints
 * `{ url, apiUrl, logUrl }` on stdout once it listens; `GET logUrl` answers how the identifies
 * went and which rules were broken.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as LocalGateway from "../../src/testing/LocalGateway.ts"
import { token } from "./shards.ts"

interface Settings {
  readonly shards: number
  readonly maxConcurrency: number
  readonly identifyCooldownMs: number
}

const settings = JSON.parse(process.argv[2] ?? "") as Settings

const count = (values: ReadonlyArray<string>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const value of values) out[value] = (out[value] ?? 0) + 1
  return out
}

const program = Effect.gen(function*() {
  const gateway = yield* LocalGateway.make({
    token: Redacted.make(token),
    shards: settings.shards,
    sessionStartLimit: { maxConcurrency: settings.maxConcurrency, total: 100_000, remaining: 100_000 },
    heartbeatInterval: "1 hour",
    identifyCooldown: `${settings.identifyCooldownMs} millis`,
    logCapacity: 100_000
  })
  const logServer = Http.createServer((_request, response) => {
    Effect.runPromise(gateway.log).then((log) => {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
        identifies: count(log.identifies.map((identify) => identify.outcome)),
        violations: count(log.violations.map((violation) => violation.kind))
      }))
    })
  })
  yield* Effect.async<void>((resume) => {
    logServer.listen(0, "127.0.0.1", () => resume(Effect.void))
  })
  const logUrl = `http://127.0.0.1:${(logServer.address() as AddressInfo).port}/log`
  process.stdout.write(`${JSON.stringify({ url: gateway.url, apiUrl: gateway.apiUrl, logUrl })}\n`)
  return yield* Effect.never
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
process.on("SIGTERM", () => process.exit(0))
