import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as FleetOptions from "../../src/fleet/FleetOptions.ts"
import * as FleetOutage from "../../src/fleet/FleetOutage.ts"
import { lateReady, shortConnections, waitingOn } from "../../src/session/internal/outageLines.ts"
import * as Outage from "../../src/session/Outage.ts"
import * as Session from "../../src/session/Session.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import { Reason } from "../../src/session/SessionState.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { advance, configureLimiter, options, serve, TestLayer } from "./harness.ts"
import { annotated, captured } from "../logLines.ts"
import * as SessionHarness from "../session/harness.ts"

const refused = Reason.ConnectFailed({ message: "refused" })

describe("FleetOutage", () => {
  it.effect("tells an outage of eight shards in a few lines for all of them: at 1, 2, 4 and 8 failing, at the longest's doublings, and once every shard is ready", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const shards = Array.from({ length: 8 }, (_, id) => outage.of(id))
        for (let round = 1; round <= 20; round++) {
          for (const shard of shards) yield* shard.failed(refused)
        }
        for (const shard of shards) yield* shard.ready
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info))
      expect(lines).toEqual([
        "WARN not ready: 1 shard failed 5 or more attempts in a row or asked to wait 60 s or more; shard 0 failed 5 attempts in a row, the last with connect failed: refused; still trying",
        "WARN not ready: 2 shards failed 5 or more attempts in a row or asked to wait 60 s or more; shard 1 failed 5 attempts in a row, the last with connect failed: refused; still trying",
        "WARN not ready: 4 shards failed 5 or more attempts in a row or asked to wait 60 s or more; shard 3 failed 5 attempts in a row, the last with connect failed: refused; still trying",
        "WARN not ready: 8 shards failed 5 or more attempts in a row or asked to wait 60 s or more; shard 7 failed 5 attempts in a row, the last with connect failed: refused; still trying",
        "WARN not ready: shard 0 failed 10 attempts in a row, the last with connect failed: refused; 8 shards failing; still trying",
        "WARN not ready: shard 0 failed 20 attempts in a row, the last with connect failed: refused; 8 shards failing; still trying",
        "INFO every shard ready again; the longest failed 20 attempts in a row"
      ])
    }))

  it.effect("a shard whose failure asks to wait a minute or more counts as failing at once, in the fleet's few lines", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      const kept = Reason.ConnectFailed({ message: "429; retry after 3600 s", retryAfter: 3600 })
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const shards = Array.from({ length: 4 }, (_, id) => outage.of(id))
        for (const shard of shards) yield* shard.failed(kept)
        for (const shard of shards) yield* shard.ready
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info))
      expect(lines).toEqual([
        "WARN not ready: 1 shard failed 5 or more attempts in a row or asked to wait 60 s or more; shard 0 failed 1 attempt in a row, the last with connect failed: 429; retry after 3600 s; still trying",
        "WARN not ready: 2 shards failed 5 or more attempts in a row or asked to wait 60 s or more; shard 1 failed 1 attempt in a row, the last with connect failed: 429; retry after 3600 s; still trying",
        "WARN not ready: 4 shards failed 5 or more attempts in a row or asked to wait 60 s or more; shard 3 failed 1 attempt in a row, the last with connect failed: 429; retry after 3600 s; still trying",
        "INFO every shard ready again; the longest failed 1 attempt in a row"
      ])
    }))

  it.effect("a shard ready again while others still fail is told at Debug; a short trouble is told nothing; a new outage is told from the start", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const [a, b, c] = [outage.of(0), outage.of(1), outage.of(2)]
        for (let attempt = 1; attempt <= 5; attempt++) {
          yield* a!.failed(refused)
          yield* b!.failed(refused)
        }
        yield* a!.ready
        // four failures in a row are no outage
        for (let attempt = 1; attempt <= 4; attempt++) yield* c!.failed(Reason.Zombie())
        yield* c!.ready
        // a failing shard that ends is counted no more: the next outage starts from one shard
        yield* b!.ended
        for (let attempt = 1; attempt <= 5; attempt++) yield* c!.failed(Reason.Zombie())
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
      expect(lines).toEqual([
        expect.stringMatching(/^WARN not ready: 1 shard failed 5 or more attempts in a row or asked to wait 60 s or more; shard 0 /),
        expect.stringMatching(/^WARN not ready: 2 shards failed 5 or more attempts in a row or asked to wait 60 s or more; shard 1 /),
        "DEBUG ready again after 5 failed attempts",
        expect.stringMatching(/^WARN not ready: 1 shard failed 5 or more attempts in a row or asked to wait 60 s or more; shard 2 failed 5 attempts in a row, the last with/)
      ])
    }))

  it.effect("shards whose connections keep ending before they were stable are told as failing shards are: at 1, 2, 4... of them and the longest's doublings; a connection that lasted takes a shard out", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      const closed = Reason.Closed({ code: 4000, description: "unknown error", detail: "" })
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const [a, b, c] = [outage.of(0), outage.of(1), outage.of(2)]
        for (let connection = 1; connection <= 10; connection++) {
          yield* a!.dropped(closed)
          yield* b!.dropped(closed)
        }
        // getting ready is no end to it; a connection that lasted is
        yield* a!.ready
        yield* a!.lasted
        yield* b!.ended
        for (let connection = 1; connection <= 5; connection++) yield* c!.dropped(closed)
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
      const last = (shard: number, count: number) => `shard ${shard}: ${count} in a row, the last with close 4000 (unknown error)`
      expect(lines).toEqual([
        `WARN unstable: 1 shard had 5 or more connections in a row that ${shortConnections}; ${last(0, 5)}; still reconnecting`,
        `WARN unstable: 2 shards had 5 or more connections in a row that ${shortConnections}; ${last(1, 5)}; still reconnecting`,
        `WARN unstable: connections that ${shortConnections}, ${last(0, 10)}; 2 shards unstable; still reconnecting`,
        `WARN unstable: 1 shard had 5 or more connections in a row that ${shortConnections}; ${last(2, 5)}; still reconnecting`
      ])
    }))

  it.scoped("a shard whose connection stays up past stableAfter leaves the unstable count at its next heartbeat ACK, not only when that connection ends", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      const resolved = Either.getOrThrow(SessionOptions.resolve(SessionHarness.options({ shard: [0, 2] })))
      const outage = FleetOutage.make()
      const shardSession = (id: number) =>
        Session.makeWith(Either.getOrThrow(SessionOptions.forShard(resolved, [id, 2], undefined)), { outage: outage.of(id) })
      let sequence = 1
      // a connection accepted (after its backoff), ready with heartbeats answered, held `heldFor` ms
      // then closed resumably, or kept open
      const connection = (id: number, heldFor?: number) =>
        Effect.gen(function*() {
          const accepted = yield* Effect.fork(SessionHarness.acceptAndHello(60_000))
          for (let second = 0; second < 120 && accepted.unsafePoll() === null; second++) yield* TestClock.adjust("1 second")
          const { first, peer } = yield* Fiber.join(accepted)
          yield* peer.autoAck(true)
          yield* peer.sendJson(first.op === 2 ? SessionHarness.ready(sequence++, `session-${id}`, [id, 2]) : { op: 0, s: sequence++, t: "RESUMED", d: {} })
          yield* SessionHarness.settle
          if (heldFor === undefined) return
          yield* TestClock.adjust(heldFor)
          yield* peer.close(4000)
          yield* SessionHarness.settle
        })
      const unstable = () => lines.filter((line) => line.startsWith("WARN unstable"))
      yield* shardSession(0)
      for (let i = 1; i <= 5; i++) yield* connection(0, 10_000)
      yield* connection(0)
      // an hour later, shard 0 connected all along: shard 1 is the one unstable shard
      yield* TestClock.adjust("1 hour")
      yield* shardSession(1)
      for (let i = 1; i <= 5; i++) yield* connection(1, 10_000)
      expect(unstable()).toEqual([
        expect.stringContaining("unstable: 1 shard had 5 or more connections in a row that ended before they were stable (backoff.stableAfter); shard 0: 5 in a row"),
        expect.stringContaining("unstable: 1 shard had 5 or more connections in a row that ended before they were stable (backoff.stableAfter); shard 1: 5 in a row")
      ])
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(SessionHarness.TestLayer)
    )
  })

  it.effect("shards waiting on an unanswered Identify are told at 1, 2, 4... of them; an answer, a failed attempt or an end takes a shard out, and once none waits the count starts over", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const [a, b, c] = [outage.of(0), outage.of(1), outage.of(2)]
        yield* a!.unanswered
        yield* b!.unanswered
        yield* c!.unanswered
        yield* a!.ready
        yield* b!.failed(Reason.Zombie())
        yield* c!.ended
        yield* b!.unanswered
        // the last one waiting gets READY: said at Info (nothing said the warnings were over)
        yield* b!.ready
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
      expect(lines).toEqual([
        `WARN no READY within the ready timeout for 1 shard: ${waitingOn}`,
        `WARN no READY within the ready timeout for 2 shards: ${waitingOn}`,
        "DEBUG no READY within the ready timeout",
        `WARN no READY within the ready timeout for 1 shard: ${waitingOn}`,
        `INFO every shard waiting on: ${lateReady}`
      ])
    }))

  it.scoped("lines about the shards together are the fleet's (component Fleet, no shard); the sessions' own lines are theirs (component Session, their shard)", () => {
    const { layer, lines } = annotated()
    return Effect.gen(function*() {
      yield* configureLimiter(2)
      yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 2 }))
      yield* advance(500)
      // shard 1's unanswered Identify is told from its own fiber (it carried shard=1, component=Fleet)
      const outage = FleetOutage.make()
      yield* outage.of(1).unanswered.pipe(Effect.annotateLogs({ component: "Session", shard: 1 }))
      // a session's own line, inside the fleet (it carried component=Fleet)
      yield* (yield* fleet.shard(0)).disconnect()
      yield* advance(100)
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(TestLayer))
      .pipe(Effect.andThen(() => {
        expect(lines).toContainEqual(`WARN no READY within the ready timeout for 1 shard: ${waitingOn} [component=Fleet]`)
        const sessionLines = lines.filter((line) => line.startsWith("DEBUG Disconnected:"))
        expect(sessionLines.length).toBeGreaterThan(0)
        for (const line of sessionLines) expect(line).toMatch(/\[component=Session shard=0 state=Disconnected\]$/)
      }))
  })

  // `end` logged on the caller's fiber, unannotated; the fleet's stop on a fatal close, from the
  // fatal shard's session's fiber, as that shard's line (component=Session shard=1). A later end
  // closes none with 1000 (the fatal close stopped every shard, the others resumably): it said so
  // all the same, as it did at each call
  for (const fatalFirst of [true, false]) {
    const before = fatalFirst ? "after a fatal close's stop" : "called three times"
    it.scoped(`the fleet's stop lines are the fleet's (component Fleet, a shard only on the line about it); fleet.end ${before} says its close 1000 ${fatalFirst ? "never" : "once"}`, () => {
      const { layer, lines } = annotated()
      return Effect.gen(function*() {
        yield* configureLimiter(2)
        const served = yield* serve()
        const fleet = yield* Fleet.make(options({ shardCount: 2 }))
        yield* advance(500)
        if (fatalFirst) {
          yield* served.peers.get(1)!.close(4004, "Authentication failed.")
          yield* Effect.either(fleet.await)
        } else {
          yield* Effect.all([fleet.end(), fleet.end()], { concurrency: "unbounded" })
          for (const peer of served.peers.values()) expect((yield* peer.closed).code).toBe(1000)
        }
        yield* fleet.end()
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(TestLayer))
        .pipe(Effect.andThen(() => {
          expect(lines.filter((line) => line.includes("stopping the fleet"))).toEqual(fatalFirst
            ? ["ERROR stopping the fleet, a shard ended for good: shard 1: the gateway closed with 4004 (authentication failed: the token was rejected; check it, or reset it in the developer portal) saying \"Authentication failed.\"; not reconnecting [component=Fleet shard=1]"]
            : [])
          expect(lines.filter((line) => line.includes("ending every shard's session"))).toEqual(fatalFirst
            ? []
            : ["INFO ending every shard's session (close 1000) [component=Fleet]"])
        }))
    })
  }

  // a fatal close's stop and the end raced for each shard: some closed with 1000, others resumably,
  // and the end's line said either
  it.scoped("a fatal close and fleet.end() at any turn apart: the first stop decides every close, shard 0 closed with 1000 iff the line said so", () =>
    Effect.gen(function*() {
      const mismatched: Array<string> = []
      for (let turns = 0; turns < 40; turns++) {
        const { layer, lines } = annotated()
        const seen = yield* Effect.gen(function*() {
          yield* configureLimiter(2)
          const served = yield* serve()
          const scope = yield* Scope.make()
          const fleet = yield* Scope.extend(Fleet.make(options({ shardCount: 2 })), scope)
          yield* advance(500)
          const zero = served.peers.get(0)!
          yield* served.peers.get(1)!.close(4004, "Authentication failed.")
          for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
          const ending = yield* Effect.fork(fleet.end("5 seconds"))
          yield* advance(10_000)
          const endExit = yield* ending.await
          const code = (yield* zero.closed).code
          yield* Effect.either(fleet.await)
          yield* Scope.close(scope, Exit.void)
          return { code, endOk: Exit.isSuccess(endExit) }
        }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(TestLayer))
        const said = lines.some((line) => line.includes("ending every shard's session (close 1000)"))
        if (said !== (seen.code === 1000) || !seen.endOk) mismatched.push(`${turns}: said=${said} code=${seen.code} endOk=${seen.endOk}`)
      }
      expect(mismatched).toEqual([])
    }), 60_000)

  it.scoped("a fleet of 16 shards whose connections are refused for minutes says so in a few lines, not a dozen per shard", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      yield* configureLimiter(16)
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.failNextConnect(16 * 12)
      const served = yield* serve()
      yield* Fleet.make(options({ shardCount: 16 }))
      for (let minute = 0; minute < 30 && served.identifies.length < 16; minute++) yield* TestClock.adjust("1 minute")
      yield* advance(500)
      expect(served.identifies).toHaveLength(16)
      const attempts = (yield* gateway.attempts).length
      const warnings = lines.filter((line) => line.startsWith("WARN"))
      expect(attempts).toBe(16 * 12 + 16)
      expect(warnings.length).toBeGreaterThanOrEqual(5)
      expect(warnings.length).toBeLessThanOrEqual(10)
      expect(warnings).toContainEqual(expect.stringMatching(/^WARN not ready: 16 shards failed 5 or more attempts in a row or asked to wait 60 s or more;/))
      expect(lines.filter((line) => line.startsWith("INFO") && line.includes("ready again"))).toEqual([
        expect.stringMatching(/^INFO every shard ready again; the longest failed \d+ attempts in a row$/)
      ])
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  })

  it.scoped("a fleet of 16 shards whose Identifies go unanswered past the ready timeout says so in a few lines, not one per shard", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      yield* configureLimiter(16)
      // READY comes ten minutes after each Identify
      const served = yield* serve({ readyAfter: 600_000 })
      const fleet = yield* Fleet.make(options({ shardCount: 16 }))
      yield* advance(60_000, 1_000)
      expect(served.identifies).toHaveLength(16)
      expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([1, 2, 4, 8, 16].map((waiting) =>
        `WARN no READY within the ready timeout for ${waiting} shard${waiting === 1 ? "" : "s"}: waiting on while the gateway acknowledges heartbeats`
      ))
      // READY at last: every shard waited on, none identified again
      yield* advance(600_000, 10_000)
      expect(served.identifies).toHaveLength(16)
      expect((yield* fleet.status).every((line) => line.reason._tag === "Ready")).toBe(true)
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.provide(TestLayer)
    )
  })

  // held back after the third op 9 in a row, the shard's status says so (HeldBack); its failed
  // attempts are still those op 9s
  it.scoped("a shard whose every Identify op 9 refuses shows HeldBack in its status, and the fleet's line names the op 9", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      yield* configureLimiter(1)
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const peer = yield* gateway.accept
        yield* peer.handshake(3_600_000)
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      })))
      const fleet = yield* Fleet.make(options({ shardCount: 1 }))
      for (let minute = 0; minute < 12; minute++) yield* TestClock.adjust("1 minute")
      const [status] = yield* fleet.status
      expect([status!.state._tag, status!.reason._tag]).toEqual(["Disconnected", "HeldBack"])
      expect(lines.filter((line) => line.startsWith("WARN not ready"))).toEqual([
        "WARN not ready: 1 shard failed 5 or more attempts in a row or asked to wait 60 s or more; shard 0 failed 5 attempts in a row, the last with invalid session (op 9, not resumable); still trying"
      ])
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  })

  it.effect("shards held back after sessions lost in a row are told at 1, 2, 4... of them, each hold-back after that at Debug; a connection that lasted or an end takes a shard out, and once the last one lasted an Info line says so", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const shards = Array.from({ length: 4 }, (_, id) => outage.of(id))
        for (const [round, wait] of [90_000, 180_000].entries()) {
          for (const shard of shards) yield* shard.heldBack(3 + round, wait)
        }
        yield* shards[3]!.ended
        for (const shard of shards.slice(0, 3)) yield* shard.lasted
        // a new hold-back is told from the start
        yield* shards[2]!.heldBack(3, 90_000)
        // the last held back ends (the fleet stops): its hold-back is not over, and not told so
        yield* shards[2]!.ended
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
      const heldBack = (shards: string, id: number) =>
        `WARN held back past the backoff after sessions lost in a row, to spare the day's session starts: ${shards}; shard ${id}: the sessions of the last 3 connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits 90 s more`
      expect(lines).toEqual([
        heldBack("1 shard", 0),
        heldBack("2 shards", 1),
        "DEBUG the sessions of the last 3 connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits 90 s more",
        heldBack("4 shards", 3),
        ...Array.from({ length: 4 }, () => "DEBUG the sessions of the last 4 connections ended before they were stable (op 9 or 7, a close, a drop, no answer): the next waits 3 min more"),
        "INFO no shard held back any more",
        heldBack("1 shard", 2)
      ])
    }))

  it.effect("gateway sessions lost are told at 1, 2, 4, 8... lost since the fleet started, naming the shard and why; the others at Debug", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const shards = Array.from({ length: 6 }, (_, id) => outage.of(id))
        for (const shard of shards) yield* shard.lost("invalid session (op 9, not resumable)", 40)
        // a shard lost again counts again; one that ended is no reason to start over
        yield* shards[0]!.ended
        yield* shards[1]!.lost("3 Resumes in a row got no RESUMED", undefined)
        yield* shards[2]!.lost("invalid session (op 9, not resumable)", 7)
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info))
      const lost = (count: string, id: number) =>
        `INFO ${count} lost since the fleet started; shard ${id}: invalid session (op 9, not resumable), the events after sequence 40 are not replayed`
      expect(lines).toEqual([
        lost("1 gateway session", 0),
        lost("2 gateway sessions", 1),
        lost("4 gateway sessions", 3),
        "INFO 8 gateway sessions lost since the fleet started; shard 2: invalid session (op 9, not resumable), the events after sequence 7 are not replayed"
      ])
    }))

  // each shard held back told its own Warning at each hold-back: 4 shards refused for an hour
  // told 24, a thousand some forty thousand a day
  it.scoped("a fleet of 4 shards whose every Identify op 9 refuses for an hour tells its hold-backs in 3 Warnings (at 1, 2 and 4 shards), not one per shard per hold-back", () => {
    const { layer, lines } = captured()
    return Effect.gen(function*() {
      yield* configureLimiter(4)
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
        const peer = yield* gateway.accept
        yield* peer.handshake(3_600_000)
        yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
      })))
      yield* Fleet.make(options({ shardCount: 4 }))
      yield* advance(60 * 60_000, 15_000)
      const heldBack = lines.filter((line) => /held back|the sessions of the last/.test(line))
      expect(heldBack).toHaveLength(3)
      expect(heldBack.map((line) => line.match(/^WARN held back .*: (\d+ shards?); shard \d+: the sessions of the last 3 connections ended/)?.[1])).toEqual([
        "1 shard",
        "2 shards",
        "4 shards"
      ])
      // no Identify was ever answered: no gateway session was lost
      expect(lines.filter((line) => /gateway sessions? lost/.test(line))).toEqual([])
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.withRandom(Random.fixed([0.5])),
      Effect.provide(TestLayer)
    )
  }, 30_000)

  // a Session.Hooks.outage of a program's own may wrap the fleet's count: every member is its own
  it.scoped("a shard's count can be spread into a Session.Hooks.outage of a program's own, or have its functions taken off it", () =>
    Effect.gen(function*() {
      for (const made of [Outage.make(), FleetOutage.make().of(0)]) {
        const { dropped, failed, heldBack, lost } = made
        expect(Exit.isSuccess(yield* Effect.exit(Effect.all([failed(refused), dropped(refused), heldBack(3, 90_000), lost("op 9", 1)])))).toBe(true)
        const copy: Outage.Outage = { ...made }
        expect([copy.unanswered, copy.ready, copy.lasted, copy.ended].every(Effect.isEffect)).toBe(true)
      }
      const resolved = Either.getOrThrow(SessionOptions.resolve(SessionHarness.options()))
      const base = FleetOutage.make().of(0)
      let failures = 0
      const outage: Outage.Outage = { ...base, failed: (reason) => Effect.zipRight(Effect.sync(() => failures++), base.failed(reason)) }
      const session = yield* Session.makeWith(resolved, { outage })
      const { peer } = yield* SessionHarness.acceptAndHello()
      yield* peer.sendJson(SessionHarness.ready())
      yield* SessionHarness.settle
      expect((yield* session.snapshot).state).toEqual({ _tag: "Connected", phase: "Ready" })
      expect(failures).toBe(0)
    }).pipe(Effect.provide(SessionHarness.TestLayer)))
})

describe("a fleet's fatal ends, told", () => {
  /** The Error lines of a fleet of 4 whose shards the gateway closes at once with `codes`. */
  const errorsAfter = (codes: ReadonlyArray<number>) => {
    const { layer, lines } = annotated()
    return Effect.gen(function*() {
      yield* configureLimiter(4)
      const served = yield* serve()
      const fleet = yield* Fleet.make(options({ shardCount: 4 }))
      yield* advance(500)
      expect(served.peers.size).toBe(4)
      yield* Effect.forEach(codes, (code, shard) => served.peers.get(shard)!.close(code, "refused"), { concurrency: "unbounded" })
      expect(Either.isLeft(yield* Effect.either(fleet.await))).toBe(true)
      yield* advance(500)
    }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Info),
      Effect.provide(TestLayer),
      Effect.map(() => lines.filter((line) => line.startsWith("ERROR")))
    )
  }

  // a token reset closes every shard with 4004: each session said it at Error, a line per shard
  it.scoped("a token refused on every shard at once is told at Error once, for the fleet, naming the first shard", () =>
    Effect.map(errorsAfter([4004, 4004, 4004, 4004]), (told) =>
      expect(told).toEqual([
        expect.stringMatching(/^ERROR stopping the fleet, a shard ended for good: shard \d: the gateway closed with 4004 .* \[component=Fleet shard=\d\]$/)
      ])))

  // only the first reached Info: a 4013 beside a 4004 was left to `status`
  it.scoped("a shard ended for another reason as the fleet stopped is told at Error too, once for its reason", () =>
    Effect.map(errorsAfter([4004, 4013, 4004]), (told) => {
      expect(told).toHaveLength(2)
      expect(told[0]).toMatch(/^ERROR stopping the fleet, a shard ended for good: shard \d: the gateway closed with 40(04|13) /)
      expect(told[1]).toMatch(/^ERROR another shard ended for good as the fleet stopped: shard \d: the gateway closed with 40(04|13) /)
      expect(told.some((line) => line.includes("4013")) && told.some((line) => line.includes("4004"))).toBe(true)
    }))

  // it was Cause.pretty's stack trace, ten lines, naming no shard
  it.scoped("a defect ending a shard is told in one line naming the shard", () => {
    const { layer, lines } = annotated()
    return Effect.gen(function*() {
      yield* configureLimiter(1)
      yield* serve({ heartbeatInterval: 1_000 })
      const fleet = yield* Fleet.make(options({ shardCount: 2, encoding: SessionHarness.beatlessEncoding }))
      yield* advance(2_000)
      expect(Exit.isFailure(yield* Effect.exit(fleet.await))).toBe(true)
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info), Effect.provide(TestLayer)).pipe(
      Effect.andThen(() => {
        // whichever shard beat first (the first beat's jitter is random)
        expect(lines.filter((line) => line.startsWith("ERROR"))).toEqual([
          expect.stringMatching(/^ERROR stopping the fleet, a shard ended for good: shard [01]: defect: this encoder cannot write heartbeats \[component=Fleet shard=[01]\]$/)
        ])
      })
    )
  })
})

describe("a fleet's start, told", () => {
  // a thousand shards' ids made an annotation of 4 KB
  it.scoped("at Info, once, with its shards as runs of ids", () => {
    const { layer, lines } = annotated()
    return Effect.gen(function*() {
      yield* configureLimiter(16)
      yield* serve()
      yield* Fleet.make(options({ shardCount: 1000, shards: [...FleetOptions.range(0, 400), 402, ...FleetOptions.range(500, 1000)] }))
      yield* advance(100)
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info), Effect.provide(TestLayer)).pipe(
      Effect.andThen(() => {
        expect(lines.filter((line) => line.includes("starting"))).toEqual([
          "INFO starting 901 of 1000 shards [component=Fleet shardCount=1000 shards=0-399,402,500-999]"
        ])
      })
    )
  })

  // a shard that had also failed, another still failing, said its late READY at Debug only: the
  // Warning of its wait was never followed by a word of its end
  it.effect("the last shard waiting on its Identify gets READY while another shard still fails: said at Info", () =>
    Effect.gen(function*() {
      const { layer, lines } = captured()
      yield* Effect.gen(function*() {
        const outage = FleetOutage.make()
        const [a, b] = [outage.of(0), outage.of(1)]
        for (let i = 0; i < 5; i++) {
          yield* a!.failed(refused)
          yield* b!.failed(refused)
        }
        // shard 0's next Identify goes unanswered past the ready timeout, then its READY comes
        yield* a!.unanswered
        yield* a!.ready
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info))
      expect(lines.filter((line) => line.includes("no READY within the ready timeout"))).toHaveLength(1)
      expect(lines).toContain(`INFO every shard waiting on: ${lateReady}`)
    }))
})
