/**
 * The events a session emits: every dispatch discord-api-types knows, with the shard it came
 * from and its sequence number. Narrowing on `t` types `d`.
 *
 * @since 0.1.0
 */
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
 * The event named `N`, e.g. `EventOf<"MESSAGE_CREATE">`.
 *
 * @since 0.1.0
 */
export type EventOf<N extends EventName> = Extract<GatewayEvent, { readonly t: N }>

/**
 * The data of the event named `N`.
 *
 * @since 0.1.0
 */
export type EventData<N extends EventName> = EventOf<N>["d"]
