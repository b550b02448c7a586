/**
 * What a websocket close frame can carry (RFC 6455 §7.4): the rules every transport, real or in
 * memory, and the local gateway read a close by, so that a test closes a connection only as a
 * real peer could.
 *
 * @since 0.1.0
 */

/**
 * The most UTF-8 bytes a close frame's reason holds (125 bytes of payload, less the code's 2).
 *
 * @since 0.1.0
 */
export const maxReasonBytes = 123

/**
 * Whether `code` says that the connection ended with no close code (1005: a close frame that had
 * none, 1006: none came, the connection was lost, 1015: TLS failed): a peer never sends it, and a
 * connection that ends with it was dropped, unless it answered a close of ours (an empty frame).
 *
 * @since 0.1.0
 */
export const saysNoFrame = (code: number): boolean => code === 1005 || code === 1006 || code === 1015

/**
 * Whether a close frame may carry `code`: 1000-1014 but 1004 (reserved) and those that say no
 * frame came, or 3000-4999 (registered and private codes, Discord's 4000-4014 among them).
 *
 * @since 0.1.0
 */
export const isSendable = (code: number): boolean =>
  Number.isInteger(code) && ((code >= 1000 && code <= 1014 && code !== 1004 && !saysNoFrame(code)) || (code >= 3000 && code <= 4999))

/**
 * Why a close frame cannot carry `code` and `reason`, or `undefined` when it can.
 *
 * @since 0.1.0
 */
export const problem = (code: number, reason: string): string | undefined => {
  if (!isSendable(code)) return `close code ${code} cannot be sent in a close frame (1000-1014 but 1004-1006, or 3000-4999)`
  const bytes = Buffer.byteLength(reason)
  return bytes > maxReasonBytes ? `a close reason holds at most ${maxReasonBytes} bytes, got ${bytes}` : undefined
}
