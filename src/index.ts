/**
 * A Discord gateway client for Effect: shard sessions as Effect programs, events as a typed
 * `Stream`.
 *
 * @since 0.1.0
 */

/** Sessions: `Session.make`, `Session.layer`, the `Session` interface. */
export * as Session from "./session/Session.ts"
/** The commands a session takes (`Session` has them all). */
export type { SessionCommands } from "./session/SessionCommands.ts"
/** Session options, resume points and timeouts. */
export * as SessionOptions from "./session/SessionOptions.ts"
/** The options `Session.layerConfig` and `Fleet.layerConfig` take: each a `Config`. */
export type { Wrap as OptionsConfig } from "./internal/config.ts"
/** The `GET /gateway/bot` cache a session's `Session.makeWith` hooks may share, and its maker. */
export * as GatewayCache from "./session/GatewayCache.ts"
/** Session states, transitions and their reasons. */
export * as SessionState from "./session/SessionState.ts"
/** The errors a session surfaces. */
export * as SessionError from "./session/SessionError.ts"
/** Request Guild Members answers and errors. */
export * as MemberRequests from "./session/MemberRequests.ts"
/** Reconnect backoff options. */
export * as Backoff from "./session/Backoff.ts"
/** The shared heartbeat timer a fleet hands its sessions (`Session.Hooks.heartbeats`). */
export * as HeartbeatTimer from "./session/HeartbeatTimer.ts"
/** Counting a session's failed attempts in a row (`Session.Hooks.outage`), to tell an outage. */
export * as Outage from "./session/Outage.ts"
/** A fleet's outage, told in a few lines for all its shards (`Session.Hooks.outage`). */
export * as FleetOutage from "./fleet/FleetOutage.ts"
/** The session's metrics (`Metric`s in the default registry), to read or export them. */
export * as SessionMetrics from "./session/SessionMetrics.ts"
/** Many shards of one bot: `Fleet.make`, `Fleet.layer`, routing by guild. */
export * as Fleet from "./fleet/Fleet.ts"
/** Fleet options and shard selection. */
export * as FleetOptions from "./fleet/FleetOptions.ts"
/** Which shard a guild lives on. */
export * as Routing from "./fleet/Routing.ts"
/** One shard's status in a fleet. */
export * as ShardStatus from "./fleet/ShardStatus.ts"
/** The production Layer: ws transport, in-memory identify limiter, HttpClient. */
export * as Live from "./Live.ts"

/** Intent bits and names. */
export * as Intents from "./protocol/Intents.ts"
/** Commands a session sends, with their validation. */
export * as Commands from "./protocol/Commands.ts"
/** Gateway opcodes. */
export * as Opcode from "./protocol/Opcode.ts"
/** Close codes and what each means for a session. */
export * as CloseCode from "./protocol/CloseCode.ts"
/** The typed events. */
export type { EventData, EventName, EventOf, GatewayEvent } from "./protocol/Event.ts"
/** Dispatch type names read from a `Config` (the `events` option of the `layerConfig`s). */
export * as EventNames from "./protocol/EventNames.ts"
/** Opt-in validation of event data with `effect/Schema`. */
export * as Validated from "./stream/Validated.ts"
/** The bounded events buffer: its sink is what `Session.makeWith`'s `deliver` hook takes. */
export * as EventBuffer from "./stream/EventBuffer.ts"
/** Events for a `for await` loop, taken a chunk at a time only as the loop asks for them. */
export * as ForAwait from "./stream/ForAwait.ts"

/** The identify limiter service (the concurrency semaphore). */
export * as IdentifyLimiter from "./limits/IdentifyLimiter.ts"
/** A send limit's options (`SessionOptions.ResolvedOptions`' `sendLimit` and `presenceLimit`). */
export type { SendLimiterOptions } from "./limits/SendLimiter.ts"
/** The answer of `GET /gateway/bot`. */
export type { GatewayBot } from "./protocol/GatewayBot.ts"
/** The transport service and its connections. */
export * as GatewayTransport from "./transport/GatewayTransport.ts"
/** The live transport over `ws`. */
export * as WsTransport from "./transport/WsTransport.ts"
/** Transport compression names. */
export type { Compression } from "./codec/Compression.ts"
/** The seam between message bytes and envelopes (`SessionOptions.encoding`): `Json.encoding`, `Etf.encoding`. */
export type { Encoding, EncodingName, Envelope } from "./codec/Encoding.ts"
/** A dispatch's `op`, `s` and `t`, read without parsing the rest (`Encoding.header`). */
export type { Header } from "./codec/JsonHeader.ts"
/** The one error of the receive path, and how to tell it from a decoded value. */
export * as DecodeError from "./codec/DecodeError.ts"
/** Payload encodings. */
export * as Json from "./codec/Json.ts"
/** The ETF (Erlang term format) encoding. */
export * as Etf from "./codec/Etf.ts"
