/**
 * A text frame handed over as its UTF-8 bytes.
 *
 * @since 0.1.0
 */

/**
 * A websocket text frame as the bytes it arrived in (no copy), so that a message nobody reads is
 * never decoded into a string: the JSON header reader works on bytes, and `JSON.parse` gets its
 * string only when the message is wanted. Decoders take it as one whole uncompressed message, like
 * a `string` frame, whatever the connection's compression. It wraps the bytes rather than being a
 * view on them: a small object costs a fraction of a new typed array, once per frame.
 *
 * @since 0.1.0
 */
export class TextFrame {
  constructor(
    /** The frame's UTF-8 bytes. */
    readonly bytes: Uint8Array
  ) {}
}
