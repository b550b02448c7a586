/**
 * When a trouble in a row is first told, shared by a session's count of them (`Outage`) and a
 * fleet's (`FleetOutage`): at the fifth, or at once for an answer that asks to wait a minute or more.
 *
 * @since 0.1.0
 */
import type { Reason } from "../SessionState.ts"

/**
 * The failed attempts in a row that are first told.
 *
 * @since 0.1.0
 */
export const firstWarningAt = 5

/**
 * The wait an answer asks for (`Retry-After`, in seconds) from which a failed attempt is told at
 * once: the next try is that far off (an hour's wait was told only at the fifth failure, hours
 * later).
 *
 * @since 0.1.0
 */
export const longWaitSeconds = 60

/**
 * Whether `reason` is a failure whose answer asks to wait {@link longWaitSeconds} or more.
 *
 * @since 0.1.0
 */
export const asksLongWait = (reason: Reason): boolean =>
  (reason._tag === "ConnectFailed" || reason._tag === "GatewayInfoFailed") && (reason.retryAfter ?? 0) >= longWaitSeconds
