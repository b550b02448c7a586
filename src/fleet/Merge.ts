/**
 * Merging the shards' event streams into one, as the shards start.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Pull from "../stream/Pull.ts"
import * as Released from "../stream/Released.ts"

/**
 * A merge of a known number of sources that join one by one. Each source costs one fiber and no
 * sink: what a thousand idle shards need.
 *
 * @since 0.1.0
 */
export interface Merge<A, E> {
  /**
   * Source `index` joins: a fiber, forked in the current scope, pulls its chunks into the shared
   * buffer until it ends (a full buffer holds it back).
   */
  readonly add: (index: number, stream: Stream.Stream<A, E>) => Effect.Effect<void, never, Scope.Scope>
  /** A source that will never join (a shard that was never started) counts as ended. */
  readonly skip: Effect.Effect<void>
  /**
   * The merged elements, each source's in order; a single-consumer stream. It ends once every
   * source ended or was skipped, and fails with the first failure.
   */
  readonly stream: Stream.Stream<A, E>
}

/**
 * Creates a merge of `sources` sources into a buffer of `capacity` elements. `observe` sees each
 * chunk as it is pulled, with the index of its source (a per-source count without a stream stage
 * per source).
 *
 * @since 0.1.0
 */
export const make = <A, E>(
  sources: number,
  capacity: number,
  observe: (index: number, chunk: Chunk.Chunk<A>) => void = () => {}
): Effect.Effect<Merge<A, E>> =>
  Effect.gen(function*() {
    const merged = yield* Mailbox.make<A, E>({ capacity: Math.max(1, capacity), strategy: "suspend" })
    let running = sources
    const ended = Effect.suspend(() => --running === 0 ? merged.end : Effect.void)
    if (running === 0) yield* merged.end
    return {
      add: (index, stream) =>
        Pull.forkEachChunk(stream, {
          // empty chunks (a stream letting go of its last one) are not offered; a buffer that is
          // done (a source failed) takes nothing more: stop pulling at once
          onChunk: (chunk) => {
            if (Chunk.isEmpty(chunk)) return Effect.void
            observe(index, chunk)
            return Effect.flatMap(merged.offerAll(chunk), (refused) => Chunk.isEmpty(refused) ? Effect.void : Effect.interrupt)
          },
          onEnd: ended,
          onFailure: (error) => merged.fail(error)
        }),
      skip: ended,
      stream: Released.fromMailbox(merged)
    }
  })
