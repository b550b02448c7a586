/**
 * The ndjson output: one line per dispatch, exactly `{"shard":0,"seq":12,"t":"MESSAGE_CREATE","d":{...}}`
 * (`"d":null` and an `"error"` for data nested too deeply to write).
 *
 * @since 0.1.0
 */
import type { GatewayEvent } from "../protocol/Event.ts"
import { printable } from "../internal/printable.ts"

/**
 * The ndjson line of one event (without the newline). `JSON.stringify` escapes C0 control
 * characters but writes DEL and C1 ones raw; they are escaped too, so that the line is safe to
 * show on a terminal and still parses to the same value. Data nested too deeply for
 * `JSON.stringify` (which `JSON.parse` took: it has no depth limit) is written as `"d":null` with
 * `"error"` saying why, rather than ending the run.
 *
 * @since 0.1.0
 */
export const line = (event: GatewayEvent): string => {
  const head = { shard: event.shard, seq: event.sequence, t: event.t }
  try {
    return printable(JSON.stringify({ ...head, d: event.d ?? null }))
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    return printable(JSON.stringify({ ...head, d: null, error: "d is nested too deeply to write as JSON" }))
  }
}
