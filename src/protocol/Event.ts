/**
 * The events a session emits: every dispatch discord-api-types knows, with the shard it came
 * from and its sequence number. Narrowing on `t` types `d`.
 *
 * @since 0.1.0
 */
import { GatewayDispatchEvents } from "discord-api-types/gateway/v10"
import type { GatewayDispatchPayload } from "discord-api-types/v10"

type Split<P extends GatewayDispatchPayload> = P extends unknown
  ? P["t"] extends infer T extends string ? T extends unknown ? {
        readonly shard: number
        readonly sequence: number
        readonly t: `${T}`
        readonly d: P["d"]
      }
    : never
  : never
  : never

/**
 * One dispatched event: `t` names it (a plain string such as `"MESSAGE_CREATE"`),
 * `d` is its data as discord-api-types describes it.
 *
 * @since 0.1.0
 */
export type GatewayEvent = Split<GatewayDispatchPayload>

/**
 * The name of any dispatched event.
 *
 * @since 0.1.0
 */
export type EventName = GatewayEvent["t"]

/**
 * The event named `N`, e.g. `EventOf<"MESSAGE_CREATE">` (or
 * `EventOf<GatewayDispatchEvents.MessageCreate>`, discord-api-types' enum member).
 *
 * @since 0.1.0
 */
export type EventOf<N extends EventName> = Extract<GatewayEvent, { readonly t: `${N}` }>

/**
 * The data of the event named `N`.
 *
 * @since 0.1.0
 */
export type EventData<N extends EventName> = EventOf<N>["d"]

const typeName = /^[A-Z0-9_]{1,64}$/

/**
 * Whether `t` is written as Discord writes a dispatch type: 1 to 64 of `A-Z`, `0-9` and `_` (a type
 * Discord adds later is one too; a made-up or megabyte-long name is not).
 *
 * @since 0.1.0
 */
export const isTypeName = (t: string): boolean => typeName.test(t)

/**
 * Every dispatch type these typings know (discord-api-types' `GatewayDispatchEvents`): Discord's
 * own, as this version knows them.
 *
 * @since 0.1.0
 */
export const knownTypeNames: ReadonlySet<string> = new Set(Object.values(GatewayDispatchEvents))

/**
 * Whether `name`, upper-cased, is written as Discord writes a dispatch type ({@link isTypeName}),
 * as a name given in any case is read; ASCII only, since upper-casing makes an `S` of `ſ`.
 *
 * @since 0.1.0
 */
export const isTypeNameInAnyCase = (name: string): boolean => /^[\x00-\x7f]*$/.test(name) && isTypeName(name.toUpperCase())

/**
 * An event as a session builds it: an instance of a class, not an object literal. V8 watches
 * where object literals are allocated, and once most objects of one literal outlive a
 * young-generation collection (a consumer holding a chunk of events while it works is enough) it
 * allocates that literal's later objects in the old generation, where each event then keeps its
 * payload alive until the next full collection. V8 does not watch instances of a class that way.
 */
class Dispatch {
  constructor(
    readonly shard: number,
    readonly sequence: number,
    readonly t: string,
    readonly d: unknown
  ) {}
}

/**
 * The event `t`, the `sequence`-th of shard `shard`, with data `d` (taken as what `t` says it is).
 *
 * @since 0.1.0
 */
export const make = (shard: number, sequence: number, t: string, d: unknown): GatewayEvent =>
  new Dispatch(shard, sequence, t, d) as unknown as GatewayEvent
