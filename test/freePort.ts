/**
 * A loopback port nothing listens on, for tests that need one refused or free.
 */
import * as Effect from "effect/Effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

/** A port of 127.0.0.1 free now: a server listened on it and closed. */
export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as AddressInfo
    probe.close(() => resume(Effect.succeed(port)))
  })
})
