/**
 * Many cycles over loopback leave nothing behind: sessions made and closed, one session
 * reconnecting again and again, fleets started and stopped. After each run the process's active
 * handles (sockets, timers), its listeners and the fibers the library forked are what they were
 * before it.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as Fleet from "../../src/fleet/Fleet.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import * as Session from "../../src/session/Session.ts"
import type { Transition } from "../../src/session/SessionState.ts"
import type * as LocalGateway from "../../src/testing/LocalGateway.ts"
import * as WsTransport from "../../src/transport/WsTransport.ts"
import { sessionOptions, startGateway, token, within } from "../session/integration/support.ts"

const ClientLayer = Layer.mergeAll(WsTransport.layer, IdentifyLimiter.layerMemoryWith({ spacing: "2 millis" }), NodeHttpClient.layerUndici)

const gatewayOptions: Partial<LocalGateway.Options> = {
  shards: 4,
  identifyCooldown: "1 millis",
  heartbeatInterval: "300 millis",
  sessionStartLimit: { total: 100_000, remaining: 100_000, maxConcurrency: 4 },
  logCapacity: 100_000
}

const countBy = (names: ReadonlyArray<string>, count: (name: string) => number = () => 1): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const name of names) counts[name] = (counts[name] ?? 0) + count(name)
  return counts
}
const handles = () => countBy(process.getActiveResourcesInfo())
const processListeners = () => countBy(process.eventNames().map(String), (name) => process.listenerCount(name))

// what `after` has more of than `before`
const grown = (before: Record<string, number>, after: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(after).filter(([name, count]) => count > (before[name] ?? 0)).map(([name, count]) => [name, count - (before[name] ?? 0)]))

const isReady = (transition: Transition) => transition.to._tag === "Connected" && transition.to.phase === "Ready"
const awaitReady = (session: Session.Session, label: string, since = 0) =>
  Stream.filter(session.transitions, (transition) => isReady(transition) && transition.at >= since).pipe(Stream.runHead, Effect.asVoid, within(label, "3 seconds"))

// polls `read` until `done` holds or `millis` of polls 20 ms apart pass: counted in polls, not on
// the wall clock, so a process stopped meanwhile (a loaded machine) does not end it before the
// sockets it let go had a turn to close
const settled = <A>(millis: number, read: Effect.Effect<A>, done: (value: A) => boolean) =>
  Effect.gen(function*() {
    let value = yield* read
    for (let polls = Math.ceil(millis / 20); !done(value) && polls > 0; polls--) {
      yield* Effect.sleep("20 millis")
      value = yield* read
    }
    return value
  })

/**
 * Runs `body` against a local gateway, after `warmUp` (what is made once per process, undici's
 * pool, exists before counting), and returns what it left: handles, listeners, fibers.
 */
const leftBehind = <E, R>(
  body: (gateway: LocalGateway.LocalGateway) => Effect.Effect<void, E, R | Scope.Scope>,
  warmUp: (gateway: LocalGateway.LocalGateway) => Effect.Effect<void, E, R | Scope.Scope>
) =>
  Effect.gen(function*() {
    const gateway = yield* startGateway(gatewayOptions)
    yield* Effect.scoped(warmUp(gateway))
    const handlesBefore = handles()
    const listenersBefore = processListeners()
    const supervisor = yield* Supervisor.track
    yield* Effect.supervised(Effect.scoped(body(gateway)), supervisor)
    const fibers = yield* settled(2000, supervisor.value, (left) => left.length === 0)
    const handlesAfter = yield* settled(2000, Effect.sync(handles), (now) => Object.keys(grown(handlesBefore, now)).length === 0)
    return { handles: grown(handlesBefore, handlesAfter), listeners: grown(listenersBefore, processListeners()), fibers: fibers.length }
  })

const oneSession = (gateway: LocalGateway.LocalGateway) =>
  Effect.scoped(Effect.flatMap(Session.make(sessionOptions(gateway)), (session) => awaitReady(session, "READY")))

const fleets = (count: number) => (gateway: LocalGateway.LocalGateway) =>
  Effect.gen(function*() {
    for (let round = 0; round < count; round++) {
      yield* Effect.scoped(Effect.gen(function*() {
        const fleet = yield* Fleet.make({
          token,
          intents: Intents.Guilds | Intents.GuildMessages,
          api: gateway.apiUrl,
          compression: "zlib-stream",
          backoff: { initial: "20 millis", max: "100 millis", afterInvalidSession: ["20 millis", "100 millis"] },
          timeouts: { connect: "2 seconds", hello: "2 seconds", ready: "2 seconds" }
        })
        yield* fleet.statusChanges.pipe(
          Stream.mapEffect(() => fleet.status),
          Stream.filter((status) => status.length === 4 && status.every(({ state }) => state._tag === "Connected" && state.phase === "Ready")),
          Stream.runHead,
          within(`fleet ${round} ready`, "5 seconds")
        )
        // every other one ended, the rest stopped by their scope
        if (round % 2 === 0) yield* fleet.end("1 second")
      }))
    }
  })

describe("many cycles over loopback", () => {
  it.scopedLive("30 sessions made and closed leave no socket, timer, process listener or fiber", () =>
    Effect.gen(function*() {
      const left = yield* leftBehind((gateway) =>
        Effect.gen(function*() {
          for (let round = 0; round < 30; round++) yield* oneSession(gateway)
        }), oneSession)
      expect(left).toEqual({ handles: {}, listeners: {}, fibers: 0 })
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning), Effect.provide(ClientLayer)), 40_000)

  it.scopedLive("one session reconnecting 30 times (a 4000 close, op 7, op 9 true in turn) holds no more handles as it goes, and leaves none", () =>
    Effect.gen(function*() {
      const growth: Array<Record<string, number>> = []
      const left = yield* leftBehind((gateway) =>
        Effect.gen(function*() {
          const session = yield* Session.make(sessionOptions(gateway))
          yield* awaitReady(session, "first READY")
          const connected = handles()
          for (let round = 0; round < 30; round++) {
            const since = Date.now()
            const connections = (yield* gateway.log).connections.length
            if (round % 3 === 0) yield* gateway.close({ shard: 0 }, 4000)
            else if (round % 3 === 1) yield* gateway.reconnect({ shard: 0 })
            else yield* gateway.invalidateSession({ shard: 0 }, true)
            yield* within(`connection ${round + 2}`, "3 seconds")(gateway.awaitLog((log) => log.connections.length > connections))
            yield* awaitReady(session, `ready again after round ${round}`, since)
            if (round % 10 === 9) growth.push(grown(connected, yield* settled(1000, Effect.sync(handles), (now) => Object.keys(grown(connected, now)).length === 0)))
          }
          expect((yield* gateway.log).identifies).toHaveLength(2) // the warm-up's and this session's
        }), oneSession)
      expect(growth).toEqual([{}, {}, {}])
      expect(left).toEqual({ handles: {}, listeners: {}, fibers: 0 })
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning), Effect.provide(ClientLayer)), 40_000)

  it.scopedLive("a fleet of 4 shards started and stopped 8 times leaves nothing", () =>
    Effect.gen(function*() {
      // the warm-up fleet opens undici's keep-alive connection for GET /gateway/bot
      const left = yield* leftBehind(fleets(8), fleets(1))
      expect(left).toEqual({ handles: {}, listeners: {}, fibers: 0 })
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning), Effect.provide(ClientLayer)), 40_000)
})
