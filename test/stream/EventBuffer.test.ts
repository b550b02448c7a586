import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import { settle, settleFor } from "../settle.ts"

/** Offers `event`, recording in `log` when it went in. */
const offering = (sink: EventBuffer.EventSink<string>, event: string, log: Array<string>) =>
  Effect.tap(Effect.fork(sink.offer(event, () => log.push(event))), () => settle)

/**
 * A buffer of `capacity` that the first of `readers` readers filled, its next event ("let in")
 * waiting: the program took the rest, the waiting event went in, and that reader was given the
 * room left. The readers, and the program's pull.
 */
const firstLetIn = (capacity: number, readers: number) =>
  Effect.gen(function*() {
    const buffer = yield* EventBuffer.make<string, never>(capacity)
    const sinks = Array.from({ length: readers }, () => buffer.reader())
    for (let i = 0; i < capacity; i++) expect(sinks[0]!.unsafeOffer(`filled ${i}`)).toBe(true)
    const waited = yield* Effect.fork(sinks[0]!.offer("let in", () => {}))
    yield* settle
    const pull = yield* Stream.toPull(buffer.stream)
    expect(Chunk.size(yield* pull)).toBe(capacity)
    expect(yield* Fiber.join(waited)).toBe(true)
    return { sinks, pull }
  })

/**
 * `readers` readers that always have an event to put in, as a connection delivers (at once while
 * there is room, else it waits; `yielding`: a turn between events, as between frames), and how
 * many of each the program took in `chunks` chunks, after the first 4 (the buffer as the first
 * reader filled it alone).
 */
const takenPerReader = (capacity: number, readers: number, { chunks, yielding }: { readonly chunks: number; readonly yielding: boolean }) =>
  Effect.gen(function*() {
    const buffer = yield* EventBuffer.make<number, never>(capacity)
    for (let r = 0; r < readers; r++) {
      const sink = buffer.reader()
      yield* Effect.forkScoped(Effect.gen(function*() {
        while (true) {
          if (!sink.unsafeOffer(r)) yield* sink.offer(r, () => {})
          if (yielding) yield* Effect.yieldNow()
        }
      }))
    }
    yield* settle
    const pull = yield* Stream.toPull(buffer.stream)
    const counts = Array.from({ length: readers }, () => 0)
    for (let taken = 0; taken < chunks + 4;) {
      const chunk = yield* pull
      if (Chunk.isNonEmpty(chunk)) taken++
      if (taken > 4) for (const reader of chunk) counts[reader]!++
      yield* settle
    }
    return counts
  })

describe("EventBuffer", () => {
  it.effect("refuses a capacity that is no whole number from 1 to 2^53 - 1 (0 held every event back for ever, NaN bounded nothing)", () =>
    Effect.gen(function*() {
      for (const capacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        const made = yield* Effect.exit(EventBuffer.make<number, never>(capacity))
        expect(Exit.isFailure(made) && Cause.isDie(made.cause)).toBe(true)
        expect(String(Exit.isFailure(made) ? Cause.squash(made.cause) : "")).toContain(`capacity must be a whole number from 1 to 2^53 - 1, got ${capacity}`)
      }
      const one = yield* EventBuffer.make<number, never>(1)
      expect(one.sink.unsafeOffer(1)).toBe(true)
      expect(one.sink.unsafeOffer(2)).toBe(false)
    }))

  it.scoped("takes events while it has room; a waiting event goes in when the program takes, and says so at that moment", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, never>(2)
      const log: Array<string> = []
      expect(["a", "b"].map(buffer.sink.unsafeOffer)).toEqual([true, true])
      const c = yield* offering(buffer.sink, "c", log)
      expect([log, Option.isNone(yield* Fiber.poll(c))]).toEqual([[], true])
      const pull = yield* Stream.toPull(buffer.stream)
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["a", "b"])
      expect([log, yield* Fiber.join(c)]).toEqual([["c"], true])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["c"])
    }))

  // the rest of a take past a chunk's end was kept out of the mailbox, and not counted: the reader
  // filled the mailbox behind it, up to twice the capacity held for a program that took one event
  it.scoped("the events kept past a chunk's end for the next take count against the capacity, and free it once taken", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, never>(4)
      expect(buffer.sink.unsafeOffer("1")).toBe(true)
      buffer.sink.endChunk?.()
      expect(["2", "3", "4", "5"].map(buffer.sink.unsafeOffer)).toEqual([true, true, true, false])
      const log: Array<string> = []
      const five = yield* offering(buffer.sink, "5", log)
      // a run that stops at the chunk's end: 1 taken, 2-4 kept for the next take, and room for one
      expect(yield* Stream.runHead(buffer.stream)).toEqual(Option.some("1"))
      expect([yield* Fiber.join(five), log]).toEqual([true, ["5"]])
      expect(buffer.sink.unsafeOffer("6")).toBe(false)
      const pull = yield* Stream.toPull(buffer.stream)
      // (each chunk is followed by an empty one: src/stream/Released.ts)
      const next = Effect.map(Effect.zipLeft(pull, pull), Chunk.toReadonlyArray)
      expect(yield* next).toEqual(["2", "3", "4"])
      expect(["6", "7", "8", "9"].map(buffer.sink.unsafeOffer)).toEqual([true, true, true, false])
      expect(yield* next).toEqual(["5", "6", "7", "8"])
    }))

  it.scoped("waiting events go in in the order they began to wait, and none jumps ahead of them: a busy reader cannot starve a quiet one", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, never>(1)
      const log: Array<string> = []
      const pull = yield* Stream.toPull(buffer.stream)
      expect(buffer.sink.unsafeOffer("busy 1")).toBe(true)
      yield* offering(buffer.sink, "busy 2", log)
      yield* offering(buffer.sink, "quiet 1", log)
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["busy 1"])
      // busy 2 went in; the busy reader's next event waits behind the quiet one's
      expect(buffer.sink.unsafeOffer("busy 3")).toBe(false)
      yield* offering(buffer.sink, "busy 3", log)
      const taken: Array<string> = []
      for (let i = 0; i < 6; i++) taken.push(...Chunk.toReadonlyArray(yield* pull))
      expect(taken).toEqual(["busy 2", "quiet 1", "busy 3"])
      expect(log).toEqual(["busy 2", "quiet 1", "busy 3"])
    }))

  it.scoped("readers let in together share the room left, each its part before it waits again; a reader alone takes it all", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, never>(5)
      const [a, b] = [buffer.reader(), buffer.reader()]
      const log: Array<string> = []
      const pull = yield* Stream.toPull(buffer.stream)
      expect(["a1", "a2", "a3", "a4", "a5"].map(a.unsafeOffer)).toEqual([true, true, true, true, true])
      yield* offering(a, "a6", log)
      yield* offering(b, "b1", log)
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["a1", "a2", "a3", "a4", "a5"])
      // a6 and b1 went in; of the 3 places left each keeps 1, and the third is a's at this turn
      expect(log).toEqual(["a6", "b1"])
      expect(["a7", "a8", "a9"].map(a.unsafeOffer)).toEqual([true, true, false])
      expect(["b2", "b3"].map(b.unsafeOffer)).toEqual([true, false])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["a6", "b1", "a7", "a8", "b2"])
      // nothing waits: a reader alone takes what room there is
      expect(["a10", "a11", "a12", "a13", "a14", "a15"].map(a.unsafeOffer)).toEqual([true, true, true, true, true, false])
    }))

  it.scoped("room that does not divide evenly among the readers let in goes to another of them at each turn", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, never>(5)
      const [a, b, c] = [buffer.reader(), buffer.reader(), buffer.reader()]
      const pull = yield* Stream.toPull(buffer.stream)
      const log: Array<string> = []
      const extraOf = (turn: number) =>
        Effect.gen(function*() {
          // a full buffer, a, b and c waiting for room in that order, and the program takes
          while (buffer.sink.unsafeOffer("x")) continue
          for (const [name, sink] of [["a", a], ["b", b], ["c", c]] as const) yield* offering(sink, `${name}${turn}`, log)
          yield* pull
          // three let in, two places left: one each for two of them
          const extra = [a, b, c].map((sink, i) => sink.unsafeOffer(`${"abc"[i]}${turn}+`))
          yield* pull
          return extra
        })
      expect(yield* extraOf(1)).toEqual([true, true, false])
      expect(yield* extraOf(2)).toEqual([true, false, true])
      // each of them twice in three turns (a took the places left over at every turn, let in first)
      expect(yield* extraOf(3)).toEqual([false, true, true])
      expect(log).toEqual(["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"])
    }))

  it.scoped("100 readers with events always waiting, at the default bufferSize: each gets about as many taken as the others", () =>
    Effect.gen(function*() {
      const counts = yield* takenPerReader(4096, 100, { yielding: false, chunks: 10 })
      // one of them got 3.4 times as many as each of the others: the places left over at each turn
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
    }))

  // given by their places in the line let in, the places left over kept going to the same readers
  // (those without one ran out first, waited first and were first again): 110, 110 and 80 events
  for (const [capacity, readers] of [[5, 3], [7, 3], [150, 100]] as const) {
    it.scoped(`room for ${capacity}, ${readers} busy readers yielding between events: each gets about as many taken`, () =>
      Effect.gen(function*() {
        const counts = yield* takenPerReader(capacity, readers, { yielding: true, chunks: 60 })
        expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.1)
      }))
  }

  // a share its reader never used (its shard went quiet, or stopped) kept its room from every other
  // reader until another reader's wait: one event at a time, with the buffer nearly empty
  it.scoped("while a reader is idle the others may use the rest of its share, which it takes back as it puts in again", () =>
    Effect.gen(function*() {
      const { pull, sinks: [quiet, busy] } = yield* firstLetIn(10, 2)
      // the quiet reader was given the 9 places left
      expect(busy!.unsafeOffer("b0")).toBe(false)
      // its read done, it goes back to its socket with nothing more
      quiet!.idle!()
      expect(["b1", "b2", "b3", "b4"].map(busy!.unsafeOffer)).toEqual([true, true, true, true])
      // back with more: the 5 places of its 9 the other left are its own again
      expect(quiet!.unsafeOffer("q1")).toBe(true)
      expect(busy!.unsafeOffer("b5")).toBe(false)
      expect(["q2", "q3", "q4", "q5", "q6"].map(quiet!.unsafeOffer)).toEqual([true, true, true, true, false])
      yield* pull
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["let in", "b1", "b2", "b3", "b4", "q1", "q2", "q3", "q4", "q5"])
    }))

  // a program that takes again at once, before the readers it let in have run: their shares must
  // outlast that take (ended at any take with nothing waiting, one reader of four got a fifth of
  // what each of the others did)
  for (const idle of [false, true]) {
    it.scoped(`readers let in keep their shares through a take made before they run${idle ? ", idle after each read" : ""}`, () =>
      Effect.gen(function*() {
        const buffer = yield* EventBuffer.make<number, never>(64)
        for (let r = 0; r < 4; r++) {
          const sink = buffer.reader()
          yield* Effect.forkScoped(Effect.gen(function*() {
            while (true) {
              // a socket read's worth of events at a time, then back to the socket as a connection goes
              for (let k = 0; k < 20; k++) if (!sink.unsafeOffer(r)) yield* sink.offer(r, () => {})
              if (idle) sink.idle!()
              yield* Effect.yieldNow()
            }
          }))
        }
        yield* settle
        const counts = [0, 0, 0, 0]
        let chunks = 0
        yield* Effect.forkScoped(Stream.runForEachChunk(buffer.stream, (chunk) =>
          Effect.sync(() => {
            if (Chunk.isNonEmpty(chunk)) chunks++
            if (chunks > 4) for (const reader of chunk) counts[reader]!++
          })))
        while (chunks < 204) yield* Effect.yieldNow()
        expect(Math.min(...counts) / Math.max(...counts)).toBeGreaterThan(0.9)
      }))
  }

  it.scoped("an interrupted offer puts nothing in; done refuses waiting and new events, and ends the stream after those in it", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, string>(1)
      const log: Array<string> = []
      expect(buffer.sink.unsafeOffer("in")).toBe(true)
      const gaveUp = yield* offering(buffer.sink, "withdrawn", log)
      const refused = yield* offering(buffer.sink, "refused", log)
      yield* Fiber.interrupt(gaveUp)
      yield* buffer.done(Exit.fail("fatal"))
      expect(yield* Fiber.join(refused)).toBe(false)
      expect(yield* buffer.sink.offer("late", () => log.push("late"))).toBe(false)
      expect(buffer.sink.unsafeOffer("late")).toBe(false)
      const seen: Array<string> = []
      const exit = yield* Effect.exit(Stream.runForEach(buffer.stream, (event) => Effect.sync(() => seen.push(event))))
      expect([seen, log, exit]).toStrictEqual([["in"], [], Exit.fail("fatal")])
    }))

  it.scoped("one run at a time: a run started while another runs dies with EventsInUse and takes nothing; once that run ended, another may start", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, never>(4)
      const seen: Array<string> = []
      const first = yield* Effect.fork(Stream.runForEach(buffer.stream, (event) => Effect.sync(() => seen.push(event))))
      yield* settle
      const second = yield* Effect.exit(Stream.runCollect(buffer.stream))
      expect(Exit.isFailure(second) && Cause.dieOption(second.cause).pipe(Option.getOrUndefined)).toBeInstanceOf(EventBuffer.EventsInUse)
      expect(buffer.sink.unsafeOffer("a")).toBe(true)
      yield* settle
      expect(seen).toEqual(["a"])
      yield* Fiber.interrupt(first)
      // an interrupted run, and one that stopped early, let the next one in
      expect(["b", "c"].map(buffer.sink.unsafeOffer)).toEqual([true, true])
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(buffer.stream, 1)))).toEqual(["b"])
      expect(buffer.sink.unsafeOffer("d")).toBe(true)
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(buffer.stream, 1)))).toEqual(["d"])
    }))

  // a program waiting for READY with Stream.take(events, 1) lost the guilds that came with it
  it.scoped("a chunk ends where a sink ended it: a run that takes up to that end leaves the events after it to the next run", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, string>(8)
      expect(buffer.sink.unsafeOffer("ready")).toBe(true)
      buffer.sink.endChunk?.()
      expect(["guild 1", "guild 2"].map(buffer.sink.unsafeOffer)).toEqual([true, true])
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(buffer.stream, 1)))).toEqual(["ready"])
      // the rest stays out of the mailbox until taken; ends made meanwhile count it
      expect(buffer.sink.unsafeOffer("resumed")).toBe(true)
      buffer.sink.endChunk?.()
      buffer.sink.endChunk?.() // twice at one place is one end
      expect(buffer.sink.unsafeOffer("message")).toBe(true)
      const pull = yield* Stream.toPull(buffer.stream)
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["guild 1", "guild 2"])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["resumed"])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual([])
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["message"])
    }))

  it.scoped("ends made while the program waited, and by an event let in after waiting for room, cut the take it wakes to; done comes after the rest", () =>
    Effect.gen(function*() {
      const buffer = yield* EventBuffer.make<string, string>(2)
      const chunks: Array<ReadonlyArray<string>> = []
      const run = yield* Effect.fork(Stream.runForEach(Stream.chunks(buffer.stream), (chunk) => Effect.sync(() => chunks.push(Chunk.toReadonlyArray(chunk)))))
      yield* settle
      // the run waits for events: all of these come before it takes again
      expect(buffer.sink.unsafeOffer("a")).toBe(true)
      buffer.sink.endChunk?.()
      expect(buffer.sink.unsafeOffer("b")).toBe(true)
      const sink = buffer.sink
      const waiting = yield* Effect.fork(sink.offer("c", () => sink.endChunk?.()))
      yield* settle
      expect(yield* Fiber.join(waiting)).toBe(true)
      expect(buffer.sink.unsafeOffer("d")).toBe(true)
      yield* buffer.done(Exit.fail("fatal"))
      const exit = yield* Fiber.await(run)
      expect(chunks.filter((chunk) => chunk.length > 0)).toEqual([["a"], ["b"], ["c"], ["d"]])
      expect(exit).toStrictEqual(Exit.fail("fatal"))
    }))

  // an end was counted from the events emitted, and a take held by a run preempted between its
  // take and its emit was in neither: the end landed early, and later ends were lost
  it.effect("ends made while the run is preempted between a take and its emit still end the right chunk, and so do ends after that run stopped", () =>
    Effect.gen(function*() {
      for (const maxOps of [10, 14, 17, 20]) {
        const buffer = yield* EventBuffer.make<number, never>(1_000)
        const chunks: Array<ReadonlyArray<number>> = []
        const run = yield* Effect.fork(
          Stream.runForEach(Stream.chunks(buffer.stream), (chunk) => Effect.sync(() => chunk.length > 0 && chunks.push(Chunk.toReadonlyArray(chunk))))
            .pipe(Effect.withMaxOpsBeforeYield(maxOps))
        )
        for (let i = 0; i < 100; i++) {
          expect(buffer.sink.unsafeOffer(i)).toBe(true)
          buffer.sink.endChunk?.()
          yield* Effect.yieldNow()
        }
        yield* settleFor(20_000)
        yield* Fiber.interrupt(run)
        expect(chunks).toEqual(Array.from({ length: 100 }, (_, i) => [i]))
        // the next run waits for one event that ends its chunk; the one behind it goes to the run after
        expect(buffer.sink.unsafeOffer(1_000)).toBe(true)
        buffer.sink.endChunk?.()
        expect(buffer.sink.unsafeOffer(1_001)).toBe(true)
        expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(buffer.stream, 1)))).toEqual([1_000])
        yield* buffer.done(Exit.void)
        expect(Chunk.toReadonlyArray(yield* Stream.runCollect(buffer.stream))).toEqual([1_001])
      }
    }))
})

describe("EventBuffer: a share lent while its reader is idle", () => {
  // room another reader took of a lent share comes off it: counted back whole as its reader put in
  // again, the share held the others to the room beside it once more (1 event of 10 held, and the
  // busy reader let in 1 more), lent again stale, and let its reader past a waiting event
  it.scoped("room another reader used of an idle reader's share is not that reader's again", () =>
    Effect.gen(function*() {
      const { pull, sinks: [quiet, busy] } = yield* firstLetIn(10, 2)
      quiet!.idle!()
      // the busy reader uses all 9 places of the quiet reader's share, and the program takes them
      // all (nothing waits: no new turn)
      for (let i = 0; i < 9; i++) expect(busy!.unsafeOffer(`b${i}`)).toBe(true)
      yield* pull
      expect(Chunk.size(yield* pull)).toBe(10)
      // the quiet reader comes back with one event: nothing of its share was left to it, and no
      // share keeps any room from the busy reader
      expect(quiet!.unsafeOffer("q1")).toBe(true)
      expect(Array.from({ length: 9 }, (_, i) => busy!.unsafeOffer(`b${9 + i}`))).toEqual(Array(9).fill(true))
    }))

  it.scoped("an idle reader's share counts what was used of it once only, and lets it past no waiting event", () =>
    Effect.gen(function*() {
      const { pull, sinks: [a, b, c] } = yield* firstLetIn(4, 3)
      // a was given the 3 places left; it idles, b uses them all
      a!.idle!()
      expect(["b0", "b1", "b2"].map(b!.unsafeOffer)).toEqual([true, true, true])
      yield* pull
      expect(Chunk.toReadonlyArray(yield* pull)).toEqual(["let in", "b0", "b1", "b2"])
      // a puts one in: b used its share up, so it has none, and the room is anyone's
      expect(a!.unsafeOffer("a1")).toBe(true)
      expect(["c0", "c1", "c2", "c3"].map(c!.unsafeOffer)).toEqual([true, true, true, false])
      // c's next waits for its turn; a, with no share left, goes behind it
      yield* Effect.fork(c!.offer("c3", () => {}))
      yield* settle
      expect(a!.unsafeOffer("a2")).toBe(false)
    }))
})
