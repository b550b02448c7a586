/**
 * The ndjson output: one line per dispatch, exactly `{"shard":0,"seq":12,"t":"MESSAGE_CREATE","d":{...}}`.
 *
 * @since 0.1.0
 */
import type { GatewayEvent } from "../protocol/Event.ts"
import { printable } from "../internal/printable.ts"

/**
 * The ndjson line of one event (without the newline). `JSON.stringify` escapes C0 control
 * characters but writes DEL and C1 ones raw; they are escaped too, so that the line is safe to
 * show on a terminal and still parses to the same value.
 *
 * @since 0.1.0
 */
export const line = (event: GatewayEvent): string =>
  printable(JSON.stringify({ shard: event.shard, seq: event.sequence, t: event.t, d: event.d ?? null }))
