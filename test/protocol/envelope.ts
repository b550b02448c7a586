/**
 * The protocol's frame envelope as a schema: the oracle the codecs' cheap check of it
 * (`Json.toEnvelope`) is held to.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Envelope } from "../../src/codec/Encoding.ts"

/** `op` an integer from 0 to 255, `s` a non-negative integer or null, `t` a string or null (both null when missing). */
export const EnvelopeSchema = Schema.Struct({
  op: Schema.Int.pipe(Schema.between(0, 255)),
  d: Schema.Unknown,
  s: Schema.optionalWith(Schema.Union(Schema.NonNegativeInt, Schema.Null), { default: () => null }),
  t: Schema.optionalWith(Schema.Union(Schema.String, Schema.Null), { default: () => null })
})

/** `input` as the schema reads it (its other fields kept), or undefined where it refuses it. */
export const envelopeOf = (input: unknown): Envelope | undefined =>
  Either.getOrUndefined(Schema.decodeUnknownEither(EnvelopeSchema, { onExcessProperty: "preserve" })(input))
