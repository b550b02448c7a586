/**
 * `ForAwait.iterate`: a `for await` loop over events that takes a chunk only when it needs one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import * as ForAwait from "../../src/stream/ForAwait.ts"
import * as Validated from "../../src/stream/Validated.ts"

// a buffer holding "ready" (its chunk ended), then two guilds
const readyAndGuilds = Effect.tap(EventBuffer.make<string, string>(16), (buffer) => {
  expect(buffer.sink.unsafeOffer("ready")).toBe(true)
  buffer.sink.endChunk?.()
  expect(["guild 1", "guild 2"].map(buffer.sink.unsafeOffer)).toEqual([true, true])
})

const loopAll = <A>(events: AsyncIterable<A>) =>
  Effect.promise(async () => {
    const seen: Array<A> = []
    for await (const event of events) seen.push(event)
    return seen
  })

// the root fibers still running (an iterator's own, if one is left)
const runningRoots = Effect.map(Fiber.roots, (all) => all.filter((fiber) => fiber.unsafePoll() === null).length)
const aMoment = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))

/** The events a loop saw before it broke at `at`. */
const loopUntil = (events: AsyncIterable<string>, at: string) =>
  Effect.promise(async () => {
    const seen: Array<string> = []
    for await (const event of events) {
      seen.push(event)
      if (event === at) break
    }
    return seen
  })

describe("ForAwait.iterate", () => {
  // Effect's iterable took the next chunk while the loop's body ran: both guilds were lost
  it.effect("a loop that breaks at the end of a chunk leaves the events after it to the next loop", () =>
    Effect.gen(function*() {
      const buffer = yield* readyAndGuilds
      expect(yield* loopUntil(ForAwait.iterate(buffer.stream), "ready")).toEqual(["ready"])
      yield* buffer.done(Exit.void)
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(buffer.stream))).toEqual(["guild 1", "guild 2"])
    }))

  it.effect("a loop that breaks inside a chunk drops the rest of that chunk only; one that ends takes every event", () =>
    Effect.gen(function*() {
      const buffer = yield* readyAndGuilds
      expect(yield* loopUntil(ForAwait.iterate(buffer.stream), "ready")).toEqual(["ready"])
      expect(yield* loopUntil(ForAwait.iterate(buffer.stream), "guild 1")).toEqual(["guild 1"])
      expect(buffer.sink.unsafeOffer("guild 3")).toBe(true)
      yield* buffer.done(Exit.void)
      expect(yield* loopUntil(ForAwait.iterate(buffer.stream), "none")).toEqual(["guild 3"])
    }))

  it.effect("a failed stream rejects the loop with its error itself, after the events before it", () =>
    Effect.gen(function*() {
      const buffer = yield* readyAndGuilds
      yield* buffer.done(Exit.fail("fatal"))
      const seen: Array<string> = []
      const rejected = yield* Effect.promise(async () => {
        try {
          for await (const event of ForAwait.iterate(buffer.stream)) seen.push(event)
          return "no rejection"
        } catch (error) {
          return error
        }
      })
      expect([seen, rejected]).toEqual([["ready", "guild 1", "guild 2"], "fatal"])
    }))

  it.effect("a loop whose body throws lets go of the stream: the next loop runs it, not a second consumer", () =>
    Effect.gen(function*() {
      const buffer = yield* readyAndGuilds
      const thrown = yield* Effect.promise(async () => {
        try {
          for await (const _ of ForAwait.iterate(buffer.stream)) throw new Error("handler")
        } catch (error) {
          return (error as Error).message
        }
      })
      expect(thrown).toBe("handler")
      yield* buffer.done(Exit.void)
      expect(yield* loopUntil(ForAwait.iterate(buffer.stream), "none")).toEqual(["guild 1", "guild 2"])
    }))

  // the ended run's take went on waiting: it took the next event and dropped it, and a later loop
  // ran beside it without EventsInUse
  it.live("a return() while a next() waits ends that wait: the event that comes later goes to the next loop", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, string>(16)
      const turns = Effect.promise(async () => {
        for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
      })
      const abandoned = ForAwait.iterate(buffer.stream)[Symbol.asyncIterator]()
      const waiting = abandoned.next()
      yield* turns
      yield* Effect.promise(() => abandoned.return!())
      const later = ForAwait.iterate(buffer.stream)[Symbol.asyncIterator]()
      const next = later.next()
      yield* turns
      expect(buffer.sink.unsafeOffer("a")).toBe(true)
      expect(yield* Effect.promise(() => Promise.all([waiting, next]))).toEqual([{ done: true, value: undefined }, { done: false, value: "a" }])
      yield* Effect.promise(() => later.return!())
    }))

  // each waiting next() began a run of its own (duplicates), or overwrote the chunk of another
  // (events lost), and a return() answered only the last of them
  // a take done in the few microtask turns before a return() was dropped as the wait ended: the
  // event, counted as delivered, reached neither loop (interrupt1)
  it.effect("a return() while a next() waits, at any microtask turn: every event goes to that next() or to the next loop, once, in order", () =>
    Effect.gen(function*() {
      const ticks = async (n: number) => {
        for (let i = 0; i < n; i++) await Promise.resolve()
      }
      for (const takeFirst of [false, true]) {
        for (let turns = 0; turns < 60; turns++) {
          const buffer = yield* EventBuffer.make<string, never>(16)
          for (const event of ["a", "b", "c"]) {
            buffer.sink.unsafeOffer(event)
            buffer.sink.endChunk?.()
          }
          const first = yield* Effect.promise(async () => {
            const iterator = ForAwait.iterate(buffer.stream)[Symbol.asyncIterator]()
            const got: Array<string> = []
            if (takeFirst) {
              const result = await iterator.next()
              if (result.done !== true) got.push(result.value)
            }
            const pending = iterator.next()
            await ticks(turns)
            const returned = iterator.return!()
            const result = await pending
            await returned
            if (result.done !== true) got.push(result.value)
            // ended: no more events
            expect(await iterator.next()).toEqual({ done: true, value: undefined })
            return got
          })
          yield* buffer.done(Exit.void)
          const rest = Chunk.toReadonlyArray(yield* Stream.runCollect(buffer.stream))
          expect({ takeFirst, turns, all: [...first, ...rest] }).toEqual({ takeFirst, turns, all: ["a", "b", "c"] })
        }
      }
    }))

  it.live("next() calls made at once wait their turn: each event once, in order; a return() answers every one waiting", () =>
    Effect.gen(function*() {
      const chunked = ForAwait.iterate(Stream.fromChunks(Chunk.make(1, 2), Chunk.make(3), Chunk.make(4, 5)))[Symbol.asyncIterator]()
      const all = yield* Effect.promise(() => Promise.all(Array.from({ length: 6 }, () => chunked.next())))
      expect(all).toEqual([...[1, 2, 3, 4, 5].map((value) => ({ done: false, value })), { done: true, value: undefined }])
      const buffer = yield* EventBuffer.make<string, string>(16)
      const waiting = ForAwait.iterate(buffer.stream)[Symbol.asyncIterator]()
      const both = Promise.all([waiting.next(), waiting.next()])
      yield* Effect.promise(() => waiting.return!())
      expect(yield* Effect.promise(() => both)).toEqual([{ done: true, value: undefined }, { done: true, value: undefined }])
    }))

  it.live("a second return() made while the first closes the run resolves once the run ended", () =>
    Effect.gen(function*() {
      let released = false
      const stream = Stream.concat(
        Stream.make(1),
        Stream.fromEffect(Effect.never)
      ).pipe(Stream.ensuring(Effect.zipRight(Effect.sleep("30 millis"), Effect.sync(() => void (released = true)))))
      const iterator = ForAwait.iterate(stream)[Symbol.asyncIterator]()
      expect(yield* Effect.promise(() => iterator.next())).toEqual({ done: false, value: 1 })
      const first = iterator.return!()
      yield* Effect.promise(() => iterator.return!())
      expect(released).toBe(true)
      yield* Effect.promise(() => first)
    }))

  // it ran every stream on Effect's default runtime: a stage's logs (Validated's report) went to
  // the console, not to the program's logger (effectuser1)
  it.live("runs the stream on the runtime it is given: its services, and its logger for a stage's logs", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const logger = Logger.make(({ message }) => {
        seen.push(message)
      })
      class Prefix extends Context.Tag("Prefix")<Prefix, string>() {}
      const runtime = ManagedRuntime.make(Layer.merge(Logger.replace(Logger.defaultLogger, logger), Layer.succeed(Prefix, "shard")))
      const stream = Stream.mapEffect(Stream.make(1, 2), (n) => Effect.zipRight(Effect.logWarning(`event ${n}`), Effect.map(Prefix, (prefix) => `${prefix} ${n}`)))
      const given = yield* Effect.promise(() => runtime.runtime())
      const events = yield* Effect.promise(async () => {
        const got: Array<string> = []
        for await (const event of ForAwait.iterate(stream, given)) got.push(event)
        return got
      })
      yield* Effect.promise(() => runtime.dispose())
      expect(events).toEqual(["shard 1", "shard 2"])
      expect(seen).toEqual([["event 1"], ["event 2"]])
    }))

  // each take ran on a fiber of its own: what a stage set for its fiber as the stream began (its own
  // logger, a FiberRef) held for the first chunk only, the later chunks' logs going to the console
  // (interop4-1)
  it.live("a logger a stream provides itself takes every chunk's logs, not only the first's", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const logger = Logger.make(({ message }) => void seen.push(message))
      const stream = Stream.fromChunks(Chunk.make(1), Chunk.make(2), Chunk.make(3)).pipe(
        Stream.tap((n) => Effect.log(`event ${n}`)),
        Stream.provideLayer(Logger.replace(Logger.defaultLogger, logger))
      )
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(stream))).toEqual([1, 2, 3])
      expect(seen.splice(0)).toEqual([["event 1"], ["event 2"], ["event 3"]])
      expect(yield* loopAll(ForAwait.iterate(stream))).toEqual([1, 2, 3])
      expect(seen).toEqual([["event 1"], ["event 2"], ["event 3"]])
    }))

  // the same through Validated: its warning for a bad event in a later chunk went to the console
  it.live("Validated's default warning goes to the stream's logger for a bad event in any chunk", () =>
    Effect.gen(function*() {
      const warnings: Array<unknown> = []
      const logger = Logger.make(({ message }) => void warnings.push(message))
      const bad = (sequence: number) => ({ shard: 0, sequence, t: "MESSAGE_CREATE", d: { id: 1 } }) as never
      const stream = Stream.fromChunks(Chunk.make(bad(1)), Chunk.make(bad(2))).pipe(
        Validated.events({ MESSAGE_CREATE: Schema.Struct({ id: Schema.String }) }),
        Stream.provideLayer(Logger.replace(Logger.defaultLogger, logger))
      )
      expect(yield* loopAll(ForAwait.iterate(stream))).toEqual([])
      expect(warnings).toHaveLength(2)
    }))

  // a FiberRef a stream sets for its own scope held for the first chunk only
  it.live("a FiberRef a stream sets for its scope holds for every chunk, as it does under Stream.runCollect", () =>
    Effect.gen(function*() {
      const ref = FiberRef.unsafeMake("outer")
      const stream = Stream.unwrapScoped(
        Effect.as(Effect.locallyScoped(ref, "inner"), Stream.fromChunks(Chunk.make(1), Chunk.make(2), Chunk.make(3)))
      ).pipe(Stream.mapEffect((n) => Effect.map(FiberRef.get(ref), (value) => `${n}:${value}`)))
      const run = Chunk.toReadonlyArray(yield* Stream.runCollect(stream))
      expect(run).toEqual(["1:inner", "2:inner", "3:inner"])
      expect(yield* loopAll(ForAwait.iterate(stream))).toEqual(run)
    }))

  // the fiber that takes the chunks is forked at the first `next`: forked as the iterator was made,
  // one never iterated (a `Readable.from` dropped unread) left it waiting for ever (rereview69f-1)
  it.live("an iterator made and never iterated leaves no fiber running", () =>
    Effect.gen(function*() {
      const before = yield* runningRoots
      const buffer = yield* EventBuffer.make<string, string>(16)
      for (let i = 0; i < 5; i++) ForAwait.iterate(buffer.stream)[Symbol.asyncIterator]()
      yield* aMoment
      expect((yield* runningRoots) - before).toBeLessThanOrEqual(0)
    }))

  it.live("loops that end, break, or fail leave no fiber of theirs running", () =>
    Effect.gen(function*() {
      const before = yield* runningRoots
      yield* Effect.promise(async () => {
        for await (const _ of ForAwait.iterate(Stream.make(1, 2, 3))) void _
      })
      yield* Effect.promise(async () => {
        for await (const n of ForAwait.iterate(Stream.make(1, 2, 3))) if (n === 2) break
      })
      yield* Effect.promise(() =>
        (async () => {
          for await (const _ of ForAwait.iterate(Stream.fail("boom"))) void _
        })().catch(() => undefined)
      )
      yield* aMoment
      expect((yield* runningRoots) - before).toBeLessThanOrEqual(0)
    }))
})
