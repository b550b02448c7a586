/**
 * The ndjson output: one line per dispatch, exactly `{"shard":0,"seq":12,"t":"MESSAGE_CREATE","d":{...}}`.
 *
 * @since 0.1.0
 */
import type { GatewayEvent } from "../protocol/Event.ts"

/**
 * The ndjson line of one event (without the newline).
 *
 * @since 0.1.0
 */
export const line = (event: GatewayEvent): string =>
  JSON.stringify({ shard: event.shard, seq: event.sequence, t: event.t, d: event.d })
