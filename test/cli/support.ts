/**
 * What the CLI tests share: the CLI's sources bundled once per test file by esbuild (the compiler
 * tsx uses), run by plain node, which starts each run in a third of tsx's CPU time; a user's
 * environment; and what they ask of the gateway's log once a run ended.
 */
import { expect } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as LocalGateway from "../../src/testing/LocalGateway.ts"
import type * as Log from "../../src/testing/Log.ts"
import { bundled } from "../bundled.ts"
export { root } from "../bundled.ts"

/** The CLI bundled for the file's tests (see `bundled`). */
export const bundledCli = (name: string): string => bundled(name, "src/cli/main.ts")

/** The environment a user without a token has (DISCORD_TOKEN removed, and NO_COLOR: the tests that want it set it). */
export const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env["DISCORD_TOKEN"]
  delete env["NO_COLOR"]
  return env
}

/** Waits (briefly) until every connection the gateway saw is closed, then returns the log. */
export const allClosed = (gateway: LocalGateway.LocalGateway) =>
  gateway.awaitLog((log) => log.connections.length > 0 && log.connections.every((c) => c.closedAt !== undefined)).pipe(
    Effect.timeoutFail({ duration: Duration.seconds(3), onTimeout: () => new Error("connections still open") }),
    Effect.orDie
  )

/** Every connection was closed by the client with a code that keeps the session resumable. */
export const expectResumableCloses = (log: Log.Snapshot) => {
  for (const connection of log.connections) {
    expect(connection.closedBy).toBe("client")
    expect(connection.closeCode).toBeDefined()
    expect([1000, 1001]).not.toContain(connection.closeCode)
  }
}
