/**
 * The waits answers asked a session for (a 429's or a 5xx's `Retry-After`, spread), kept by who
 * asked: the API (`GET /gateway/bot`: `"api"`) or a gateway URL as dialled (two spellings of one
 * URL are one). An attempt waits out only the waits of the parties it asks again: a Resume at its
 * resume URL waited out `GET /gateway/bot`'s 429, minutes, and the session expired meanwhile.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { monotonicMillis } from "../../internal/due.ts"
import * as Backoff from "../Backoff.ts"

/**
 * The parties an attempt asks: some, or `"every"` one (an attempt that identifies at a gateway URL
 * not known yet may dial any URL a wait is kept for).
 *
 * @since 0.1.0
 */
export type Parties = ReadonlyArray<string | undefined> | "every"

/**
 * One session's asked waits, on the Clock's monotonic time.
 *
 * @since 0.1.0
 */
export interface AskedWaits {
  /** `by` asked to be left alone `seconds`: kept until then, spread as `Backoff.askedWait` spreads it. */
  readonly asked: (by: string, seconds: number) => Effect.Effect<void>
  /** The ms left of the waits `parties` asked (0 when none); those over are let go. */
  readonly left: (parties: Parties) => Effect.Effect<number>
}

/**
 * Makes the asked waits of one session: none yet.
 *
 * @since 0.1.0
 */
export const make = (): AskedWaits => {
  const until = new Map<string, number>()
  return {
    asked: (by, seconds) =>
      Effect.flatMap(Backoff.askedWait(seconds), (wait) =>
        Effect.clockWith((clock) =>
          Effect.sync(() => {
            until.set(by, Math.max(until.get(by) ?? 0, monotonicMillis(clock) + Duration.toMillis(wait)))
          })
        )),
    left: (parties) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const now = monotonicMillis(clock)
          let last = now
          for (const [by, at] of until) {
            if (at <= now) until.delete(by)
            else if (parties === "every" || parties.includes(by)) last = Math.max(last, at)
          }
          return last - now
        })
      )
  }
}
