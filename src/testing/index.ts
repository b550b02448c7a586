/**
 * Testing tools for programs built on the gateway client: a local gateway over loopback, and an
 * in-memory transport for `TestClock`-driven tests.
 *
 * @since 0.1.0
 */

/** A real websocket + HTTP gateway on 127.0.0.1 that enforces Discord's rules and logs breaches. */
export * as LocalGateway from "./LocalGateway.ts"
/** The local gateway's log records and violations. */
export * as GatewayLog from "./Log.ts"
/** Synthetic, deterministic gateway traffic. */
export * as Traffic from "./Traffic.ts"
/** What Discord sends a session by its intents, and which shard a dispatch goes to. */
export * as Visibility from "./Visibility.ts"
/** An in-memory `GET /gateway/bot`, for clock-driven tests of a fleet that asks it. */
export * as MemoryApi from "./MemoryApi.ts"
/** The in-memory transport: a `GatewayTransport` and its scripted gateway side. */
export * as MemoryTransport from "../transport/MemoryTransport.ts"
/** A gateway over the in-memory transport that answers as Discord does, keeps what each shard sent, and makes the faults a test asks for. */
export * as MemoryServer from "./MemoryServer.ts"
/** Moving a `TestClock` in steps, letting the forked fibers run between them. */
export * as VirtualTime from "./VirtualTime.ts"
