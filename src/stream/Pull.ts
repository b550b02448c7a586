/**
 * Running a stream by pulling its chunks in a loop, in the fiber that runs the loop: no sink, no
 * second fiber. What a connection's reader needs, once per shard.
 *
 * @since 0.1.0
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * Opens a pull on `stream` in the current scope, then forks in that scope a fiber that pulls the
 * chunks one after another and hands each to `onChunk`, until the stream ends (then `onEnd`) or
 * fails (then `onFailure`). Closing the scope interrupts the fiber before it closes the pull.
 *
 * @since 0.1.0
 */
export const forkEachChunk = <A, E, R, R2>(
  stream: Stream.Stream<A, E, R>,
  handlers: {
    readonly onChunk: (chunk: Chunk.Chunk<A>) => Effect.Effect<void, never, R2>
    readonly onEnd: Effect.Effect<void>
    readonly onFailure: (error: E) => Effect.Effect<void>
  }
): Effect.Effect<void, never, R | R2 | Scope.Scope> =>
  Effect.flatMap(Stream.toPull(stream), (pull) =>
    Effect.asVoid(Effect.forkScoped(
      Effect.forever(Effect.flatMap(pull, handlers.onChunk)).pipe(
        Effect.catchAll(Option.match({ onNone: () => handlers.onEnd, onSome: handlers.onFailure }))
      )
    )))
