/**
 * The events buffer under random traffic: readers that wait for room, chunk ends, runs that stop
 * at them. Nothing lost, nothing twice, nothing out of order, no reader left waiting.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as EventBuffer from "../../src/stream/EventBuffer.ts"
import { settle } from "../settle.ts"

// a tiny deterministic PRNG
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

describe("EventBuffer under random traffic", () => {
  // README: "READY and RESUMED end their chunk: a run that waits for READY ... and then the main
  // loop's run lose nothing between them"; fleet readers waiting for room get it as the program
  // takes (no reader waits for room that never comes).
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it.scoped(`readers with chunk ends and runs that stop at them: nothing lost, none stuck (seed ${seed})`, () =>
      Effect.gen(function*() {
        const random = prng(seed)
        const capacity = 1 + Math.floor(random() * 4)
        const buffer = yield* EventBuffer.make<string, never>(capacity)
        const readers = 1 + Math.floor(random() * 3)
        const perReader = 30
        const ins: Array<string> = []
        const fibers: Array<Fiber.RuntimeFiber<void>> = []
        for (let r = 0; r < readers; r++) {
          const sink = buffer.reader()
          const ends = Array.from({ length: perReader }, () => random() < 0.4)
          fibers.push(yield* Effect.fork(Effect.gen(function*() {
            for (let i = 0; i < perReader; i++) {
              const event = `${r}:${i}`
              if (sink.unsafeOffer(event)) ins.push(event)
              else expect(yield* sink.offer(event, () => ins.push(event))).toBe(true)
              if (ends[i]) sink.endChunk?.()
              yield* Effect.yieldNow()
            }
          })))
        }
        const got: Array<string> = []
        const total = readers * perReader
        for (let round = 0; round < 10 * total && got.length < total; round++) {
          yield* settle
          if (random() < 0.5) {
            // a run that stops at the first chunk's end (`runHead` would drop the rest of a chunk)
            const chunk = yield* Stream.runCollect(Stream.take(Stream.chunks(buffer.stream), 1))
            for (const c of chunk) got.push(...Chunk.toReadonlyArray(c))
          } else {
            const chunk = yield* Stream.runCollect(Stream.take(Stream.chunks(Stream.filter(Stream.chunks(buffer.stream), (c) => Chunk.size(c) > 0)), 1))
            for (const c of chunk) for (const cc of c) got.push(...Chunk.toReadonlyArray(cc))
          }
        }
        yield* settle
        for (const f of fibers) expect(Option.isSome(yield* Fiber.poll(f))).toBe(true)
        expect([...got].sort()).toEqual([...ins].sort())
        expect(got.length).toBe(total)
        for (let r = 0; r < readers; r++) {
          const mine = got.filter((e) => e.startsWith(`${r}:`)).map((e) => Number(e.split(":")[1]))
          expect(mine).toEqual(Array.from({ length: perReader }, (_, i) => i))
        }
      }), 20_000)
  }
})

describe("EventBuffer with readers that go idle, under random traffic", () => {
  // readers that lend their shares while idle (some of them sharing one sink): within capacity,
  // none left waiting for room that never comes, nothing lost, each reader's events in order
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    it.scoped(`idle readers: within capacity, nothing lost, none stuck, in order (seed ${seed})`, () =>
      Effect.gen(function*() {
        const random = prng(seed)
        const capacity = 1 + Math.floor(random() * 8)
        const buffer = yield* EventBuffer.make<string, never>(capacity)
        const readers = 2 + Math.floor(random() * 3)
        const perReader = 40
        const ins: Array<string> = []
        let maxHeld = 0
        const got: Array<string> = []
        const note = (e: string) => {
          ins.push(e)
        }
        const fibers: Array<Fiber.RuntimeFiber<void>> = []
        const shared = buffer.reader()
        for (let r = 0; r < readers; r++) {
          const sink = r === readers - 1 && random() < 0.5 ? shared : buffer.reader()
          const burst = Array.from({ length: perReader }, () => random() < 0.3)
          fibers.push(yield* Effect.fork(Effect.gen(function*() {
            for (let i = 0; i < perReader; i++) {
              const event = `${r}:${i}`
              if (sink.unsafeOffer(event)) note(event)
              else expect(yield* sink.offer(event, () => note(event))).toBe(true)
              if (burst[i]) {
                sink.idle?.()
                yield* Effect.yieldNow()
              }
            }
            sink.idle?.()
          })))
        }
        const total = readers * perReader
        const pull = yield* Stream.toPull(buffer.stream)
        for (let round = 0; round < 20 * total && got.length < total; round++) {
          yield* settle
          maxHeld = Math.max(maxHeld, ins.length - got.length)
          const f = yield* Effect.fork(pull)
          yield* settle
          const r = yield* Fiber.poll(f)
          if (Option.isNone(r)) {
            // stuck: nothing comes although events are still to go in
            expect({ stuckAt: got.length, ins: ins.length, total }).toEqual("not stuck")
          }
          for (const e of Chunk.toReadonlyArray(yield* Fiber.join(f))) got.push(e)
        }
        yield* settle
        for (const f of fibers) expect(Option.isSome(yield* Fiber.poll(f))).toBe(true)
        expect(maxHeld).toBeLessThanOrEqual(capacity)
        expect(got.length).toBe(total)
        expect([...got].sort()).toEqual([...ins].sort())
        for (let r = 0; r < readers; r++) {
          const mine = got.filter((e) => e.startsWith(`${r}:`)).map((e) => Number(e.split(":")[1]))
          expect(mine).toEqual(Array.from({ length: perReader }, (_, i) => i))
        }
      }), 20_000)
  }
})
