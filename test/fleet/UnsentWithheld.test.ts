/**
 * An Identify withheld at its turn (the fleet stopping) is never written.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { advance, configureLimiter, options, TestLayer } from "../fleet/harness.ts"

describe("an Identify withheld as a fleet stops", () => {
  // README (A custom identify limiter): "`unsent` (optional): ... The session runs it when that
  // Identify was never written ...: Discord spent no session start for it. The in-memory limiter
  // gives the start back". An Identify withheld at its turn because the fleet began to stop
  // (Connection.ts `withheld`) is never written either, yet `send` returns without running
  // `unsent`: the shared in-memory limiter keeps a start Discord never spent (the next fleet of
  // the process, the test/fleet/Stopping.test.ts scenario, works on a budget one short).
  it.scoped("an Identify withheld as the fleet's scope closes gives its start back", () =>
    Effect.gen(function*() {
      yield* configureLimiter(1)
      const limiter = yield* IdentifyLimiter.IdentifyLimiter
      const gateway = yield* MemoryTransport.MemoryGateway
      const scope = yield* Scope.make()
      yield* Scope.extend(Fleet.make(options({ shardCount: 1 })), scope)
      const peer = yield* gateway.accept
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      yield* peer.sendJson({ op: 10, d: { heartbeat_interval: 3_600_000 }, s: null, t: null })
      yield* advance(2_000)
      const ops = [...yield* peer.takeAll].map((frame) => (JSON.parse(frame as string) as { op: number }).op)
      expect(ops).not.toContain(2)
      expect(closing.unsafePoll()).not.toBeNull()
      expect((yield* limiter.snapshot).budget?.remaining).toBe(1000)
    }).pipe(Effect.provide(TestLayer)), 30_000)
})
