/**
 * A text frame handed over as its UTF-8 bytes.
 *
 * @since 0.1.0
 */

/**
 * A websocket text frame as the bytes it arrived in (a view, no copy), so that a message nobody
 * reads is never decoded into a string: the JSON header reader works on bytes, and `JSON.parse`
 * gets its string only when the message is wanted. Decoders take it as one whole uncompressed
 * message, like a `string` frame, whatever the connection's compression.
 *
 * @since 0.1.0
 */
export class TextFrame extends Uint8Array {
  /** A view on `bytes`' memory, marked as text. */
  static view(bytes: Uint8Array): TextFrame {
    return new TextFrame(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength)
  }
}
