/**
 * Merging the shards' event streams into one.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import * as Pull from "../stream/Pull.ts"
import * as Released from "../stream/Released.ts"

/**
 * Merges `streams` into one, keeping each stream's order: while the merged stream runs, one fiber
 * per stream pulls its chunks into a shared buffer of `capacity` elements (a full buffer holds
 * the pullers back). It ends once every stream ended and fails with the first failure. Unlike
 * `Stream.mergeAll`, a stream costs one fiber and no sink: what a thousand idle shards need.
 * `observe` sees each chunk as it is pulled, with the index of its stream (a per-stream count
 * without a stream stage per stream).
 *
 * @since 0.1.0
 */
export const merge = <A, E>(
  streams: ReadonlyArray<Stream.Stream<A, E>>,
  capacity: number,
  observe: (index: number, chunk: Chunk.Chunk<A>) => void = () => {}
): Stream.Stream<A, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const merged = yield* Mailbox.make<A, E>({ capacity: Math.max(1, capacity), strategy: "suspend" })
    let running = streams.length
    if (running === 0) yield* merged.end
    for (let index = 0; index < streams.length; index++) {
      yield* Pull.forkEachChunk(streams[index]!, {
        // empty chunks (a stream letting go of its last one) are not offered; a buffer that is
        // done (a stream failed) takes nothing more: stop pulling at once
        onChunk: (chunk) => {
          if (Chunk.isEmpty(chunk)) return Effect.void
          observe(index, chunk)
          return Effect.flatMap(merged.offerAll(chunk), (refused) => Chunk.isEmpty(refused) ? Effect.void : Effect.interrupt)
        },
        onEnd: Effect.suspend(() => --running === 0 ? merged.end : Effect.void),
        onFailure: (error) => merged.fail(error)
      })
    }
    return Released.fromMailbox(merged)
  }))
