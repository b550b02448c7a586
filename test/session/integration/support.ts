/**
 * Shared pieces of the session's integration tests: a local gateway with a short heartbeat, the
 * live client services, session options with short timeouts, and waits that end on what the
 * gateway recorded or what the session delivered (never on a bare sleep).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as IdentifyLimiter from "../../../src/limits/IdentifyLimiter.ts"
import type { GatewayEvent } from "../../../src/protocol/Event.ts"
import * as Intents from "../../../src/protocol/Intents.ts"
import type * as Session from "../../../src/session/Session.ts"
import type { SessionOptions } from "../../../src/session/SessionOptions.ts"
import type { Transition } from "../../../src/session/SessionState.ts"
import * as LocalGateway from "../../../src/testing/LocalGateway.ts"
import type * as Log from "../../../src/testing/Log.ts"
import * as WsTransport from "../../../src/transport/WsTransport.ts"

/** The bot token both sides know; tests look for this string where it must not be. */
export const secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GxYz12.integration-secret-0123456789abcdef"
export const token = Redacted.make(secret)

/** Hello's heartbeat interval in these tests, in ms. */
export const heartbeatMs = 300

/**
 * The gateway's grace beyond 1.5 intervals before a heartbeat counts as missed: past a process
 * stopped for 2 s (a loaded CI machine), whose overdue miss timer fires before the beat sent at the
 * same resumption is read. With Discord's 1 s, such a stop was a HeartbeatMissed violation.
 */
export const heartbeatSlackMs = 2500

/** The gateway's identify cooldown; the client's identify spacing is a little longer. */
const identifyCooldownMs = 100
const identifySpacingMs = 150

/** A local gateway with a short heartbeat, a stop-proof heartbeat slack and a short identify cooldown. */
export const startGateway = (
  overrides: Partial<LocalGateway.Options> = {}
): Effect.Effect<LocalGateway.LocalGateway, LocalGateway.LocalGatewayError, Scope.Scope> =>
  LocalGateway.make({
    token,
    heartbeatInterval: `${heartbeatMs} millis`,
    heartbeatSlack: `${heartbeatSlackMs} millis`,
    identifyCooldown: `${identifyCooldownMs} millis`,
    ...overrides
  })

/**
 * The production services (ws, an in-memory identify limiter, undici), with identify spacing
 * matched to the local gateway's shortened cooldown.
 */
export const ClientLayer = Layer.mergeAll(
  WsTransport.layer,
  IdentifyLimiter.layerMemoryWith({ spacing: `${identifySpacingMs} millis` }),
  NodeHttpClient.layerUndici
)

/**
 * A guild of the local gateway's world, for dispatches a test makes up: a MESSAGE_CREATE without
 * one is a direct message, which the sessions' intents do not open.
 */
export const aGuild = "80351110224678913"

/** Session options for `gateway`: uncompressed JSON, stop-proof timeouts, short backoff, then `overrides`. */
export const sessionOptions = (gateway: LocalGateway.LocalGateway, overrides: Partial<SessionOptions> = {}): SessionOptions => ({
  token,
  intents: Intents.Guilds | Intents.GuildMembers | Intents.GuildMessages | Intents.MessageContent,
  gateway: gateway.url,
  compression: "none",
  backoff: { initial: "20 millis", max: "100 millis", afterInvalidSession: ["20 millis", "100 millis"] },
  // past a process stopped for 2 s (a loaded CI machine): a Hello read after such a stop came after
  // its overdue timeout, and the session reconnected
  timeouts: { connect: "5 seconds", hello: "5 seconds", ready: "5 seconds", members: "5 seconds" },
  ...overrides
})

/** Bounds a wait: a test that hangs fails with what it waited for. */
export const within = (label: string, duration: Duration.DurationInput = "5 seconds") => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(self, { duration, onTimeout: () => new Error(`timed out waiting for ${label}`) }).pipe(Effect.orDie)

/** Waits until the gateway's log satisfies `predicate`. */
export const awaitLog = (gateway: LocalGateway.LocalGateway, label: string, predicate: (log: Log.Snapshot) => boolean) =>
  within(label)(gateway.awaitLog(predicate))

/** Waits for the session's first transition (the current one included) that satisfies `predicate`. */
export const awaitTransition = (session: Session.Session, label: string, predicate: (transition: Transition) => boolean) =>
  Stream.filter(session.transitions, predicate).pipe(Stream.runHead, Effect.flatten, within(label))

/** The events a consumer took from a session so far, with waits on them. */
export interface Received {
  readonly events: ReadonlyArray<GatewayEvent>
  /** Waits until the events taken so far satisfy `predicate`. */
  readonly until: (label: string, predicate: (events: ReadonlyArray<GatewayEvent>) => boolean) => Effect.Effect<void>
  /** Waits for the stream to end: success after disconnect/end, the session's error otherwise. */
  readonly end: Effect.Effect<Exit.Exit<void, Session.SessionError>>
}

/** Consumes `session.events` in the background for the scope's lifetime. */
export const consume = (session: Session.Session): Effect.Effect<Received, never, Scope.Scope> =>
  Effect.gen(function*() {
    const events: Array<GatewayEvent> = []
    const count = yield* SubscriptionRef.make(0)
    const fiber = yield* Effect.forkScoped(
      Stream.runForEachChunk(session.events, (chunk) =>
        Effect.suspend(() => {
          for (const event of chunk) events.push(event)
          return SubscriptionRef.set(count, events.length)
        })).pipe(Effect.exit)
    )
    return {
      events,
      until: (label, predicate) =>
        Stream.filter(count.changes, () => predicate(events)).pipe(Stream.runHead, Effect.asVoid, within(label)),
      end: within("the end of the events")(Fiber.join(fiber))
    }
  })

/** The (sequence, name) pairs of events, for comparing with the gateway's log. */
export const sequenced = (events: ReadonlyArray<{ readonly sequence: number; readonly t: string }>) =>
  events.map((event) => [event.sequence, event.t] as const)

/** The same pairs from the gateway's dispatch records. */
export const recorded = (records: ReadonlyArray<Log.DispatchRecord>) => records.map((record) => [record.seq, record.t] as const)

/**
 * Records every transition of `session` from now on, for the scope's lifetime. Returns once the
 * subscription is live (the current transition is the first one recorded).
 */
export const recordTransitions = (session: Session.Session): Effect.Effect<ReadonlyArray<Transition>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const transitions: Array<Transition> = []
    const live = yield* Deferred.make<void>()
    yield* Effect.forkScoped(Stream.runForEach(session.transitions, (transition) =>
      Effect.zipRight(Effect.sync(() => transitions.push(transition)), Deferred.succeed(live, undefined))))
    yield* Deferred.await(live)
    return transitions
  })

/** The exceptions nothing caught (thrown out of a socket's callback, say) while the scope lasts. */
export const uncaughtExceptions: Effect.Effect<ReadonlyArray<unknown>, never, Scope.Scope> = Effect.suspend(() => {
  const uncaught: Array<unknown> = []
  const onUncaught = (error: unknown) => void uncaught.push(error)
  return Effect.as(
    Effect.acquireRelease(Effect.sync(() => process.prependListener("uncaughtException", onUncaught)), () =>
      Effect.sync(() => process.removeListener("uncaughtException", onUncaught))),
    uncaught
  )
})
