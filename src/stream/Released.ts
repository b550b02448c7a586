/**
 * Streams that let go of each chunk once their consumer asks for the next one.
 *
 * Effect's channel executor keeps the last chunk a stream emitted until the stream emits another.
 * A shard that goes quiet would keep its last events (a GUILD_CREATE with all its members, say)
 * alive for as long as it stays quiet. These streams emit an empty chunk after every chunk: the
 * consumer receives it when it asks for more, and from then on the executor holds the empty chunk
 * instead.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * What a take returns: the events, and whether no more will come.
 *
 * @since 0.1.0
 */
export type Take<A> = readonly [messages: Chunk.Chunk<A>, done: boolean]

/**
 * The stream of what `takeAll` returns, taken again after each chunk, until it says it is done
 * (the chunk that comes with `done` is the last) or fails; `takeAll` has the shape of `Mailbox.takeAll`.
 * `onTaken` runs after each take, before its chunk is emitted, and gives what is emitted of it.
 *
 * @since 0.1.0
 */
export const fromTakeAll = <A, E, R>(
  takeAll: Effect.Effect<Take<A>, E, R>,
  onTaken?: (taken: Take<A>) => Take<A>
): Stream.Stream<A, E, R> => {
  const release = Channel.write(Chunk.empty<A>())
  const loop: Channel.Channel<Chunk.Chunk<A>, unknown, E, unknown, void, unknown, R> = Channel.flatMap(
    Channel.fromEffect(takeAll),
    (taken) => {
      const [messages, done] = onTaken === undefined ? taken : onTaken(taken)
      if (!done) return Channel.zipRight(Channel.write(messages), Channel.zipRight(release, loop))
      return Chunk.isEmpty(messages) ? Channel.void : Channel.write(messages)
    }
  )
  return Stream.fromChannel(loop)
}
