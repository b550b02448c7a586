/**
 * A stream of events for a `for await` loop that takes a chunk only when the loop asks for the
 * event after the last one it got.
 *
 * Effect's `Stream.toAsyncIterable` runs the stream on a fiber of its own, which takes the next
 * chunk as soon as the loop was handed the last event of one, before the loop's body ran: a loop
 * that breaks there loses the whole next chunk, already counted as delivered, and not only the
 * rest of the chunk it broke in.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * `stream` for `for await`: each loop runs it once, taking a chunk when the loop asks for an
 * event and none of the last chunk is left. A `break` (or a `return`, or a throw in the loop's
 * body) ends the run at once, so a later loop may run it: the rest of the chunk the loop was in
 * goes with it, and nothing after it. A stream that fails rejects the loop with the error itself
 * (a `FatalClose`, say); one that dies, with the defect.
 *
 * It runs on `runtime`, the program's (`await managedRuntime.runtime()`), whose services, logger
 * and tracer its stages then use; without one, on Effect's default runtime (whose logger writes to
 * the console). One fiber runs it for the loop's life.
 *
 * @since 0.1.0
 */
export const iterate: {
  <A, E>(stream: Stream.Stream<A, E>): AsyncIterable<A>
  <A, E, R>(stream: Stream.Stream<A, E, R>, runtime: Runtime.Runtime<R>): AsyncIterable<A>
} = <A, E, R>(stream: Stream.Stream<A, E, R>, runtime = Runtime.defaultRuntime as Runtime.Runtime<R>): AsyncIterable<A> => ({
  [Symbol.asyncIterator]: () => {
    const runSync = Runtime.runSync(runtime)
    const runPromise = Runtime.runPromise(runtime)
    const scope = runSync(Scope.make())
    // One fiber runs the stream for the loop's life, taking a chunk at each request: what a stage
    // sets for its fiber (its own logger, a FiberRef) then holds for every chunk (each take on a
    // fiber of its own, the first chunk's logs went to the stream's logger and the rest to the
    // console)
    const requests = runSync(Queue.unbounded<Deferred.Deferred<Chunk.Chunk<A>, Option.Option<E>>>())
    let pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R> | undefined
    const take = Effect.suspend(() =>
      pull ?? Effect.flatMap(Scope.extend(Stream.toPull(stream), scope), (made) => (pull = made))
    )
    // forked at the first `next`: an iterator made and never iterated left it waiting for ever
    const run = Effect.forever(Effect.flatMap(Queue.take(requests), (request) => Effect.intoDeferred(take, request)))
    let runner: Fiber.RuntimeFiber<never> | undefined
    // the take a `next` waits on: a `return` meanwhile (an iterator raced against a timeout, a
    // destroyed `Readable.from`) interrupts it, so that the ended run takes nothing more
    let taking: Deferred.Deferred<Chunk.Chunk<A>, Option.Option<E>> | undefined
    let chunk: ReadonlyArray<A> = []
    let next = 0
    let ended = false
    let closed: Promise<void> | undefined
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined }
    const end = async (): Promise<IteratorReturnResult<undefined>> => {
      ended = true
      closed ??= runPromise(
        (runner === undefined ? Effect.void : Fiber.interrupt(runner)).pipe(
          // one asked for and not yet begun ends too
          Effect.zipRight(taking === undefined ? Effect.void : Deferred.interrupt(taking)),
          Effect.zipRight(Scope.close(scope, Exit.void))
        )
      )
      await closed
      return done
    }
    const step = async (): Promise<IteratorResult<A>> => {
      if (ended) return done
      while (next >= chunk.length) {
        runner ??= Runtime.runFork(runtime)(run)
        const request = runSync(Deferred.make<Chunk.Chunk<A>, Option.Option<E>>())
        taking = request
        runSync(Queue.offer(requests, request))
        const exit = await runPromise(Effect.exit(Deferred.await(request)))
        taking = undefined
        if (Exit.isSuccess(exit)) {
          chunk = Chunk.toReadonlyArray(exit.value)
          next = 0
          // a take done as a `return()` came hands over its first event, which the stream counts as
          // delivered (it was dropped); the rest of its chunk goes with the run
          if (ended) return chunk.length > 0 ? { done: false, value: chunk[next++]! } : done
          continue
        }
        if (ended) return done
        await end()
        // a failure of `None` is the stream's end
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) throw Cause.squash(exit.cause)
        if (Option.isNone(failure.value)) return done
        throw failure.value.value
      }
      return { done: false, value: chunk[next++]! }
    }
    // `next` called again before the last one settled waits its turn: one take at a time, each
    // event handed once, in order
    let queue: Promise<unknown> = Promise.resolve()
    return {
      next: () => {
        const result = queue.then(step)
        queue = result.catch(() => undefined)
        return result
      },
      return: end
    }
  }
})
