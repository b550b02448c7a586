/**
 * The library's spans. None captures a stack trace: it would show only where this library makes
 * the span, and cost an `Error` for each, kept as long as the span (a session's, for its life).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"

/**
 * `Effect.withSpan` without a stack trace.
 *
 * @since 0.1.0
 */
export const withSpan = (name: string, attributes?: Record<string, unknown>) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withSpan(self, name, { attributes, captureStackTrace: false })

/**
 * `Effect.makeSpan` without a stack trace: a span the caller ends.
 *
 * @since 0.1.0
 */
export const makeSpan = (name: string, attributes?: Record<string, unknown>): Effect.Effect<Tracer.Span> =>
  Effect.makeSpan(name, { attributes, captureStackTrace: false })
