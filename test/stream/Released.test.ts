import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import * as Released from "../../src/stream/Released.ts"
import { collectGarbage, nextJob } from "../gc.ts"

describe("Released", () => {
  it.effect("gives a mailbox's messages in order and ends with it", () =>
    Effect.gen(function*() {
      const mailbox = yield* Mailbox.make<number>()
      yield* mailbox.offerAll([1, 2, 3])
      const collected = yield* Effect.fork(Stream.runCollect(Released.fromTakeAll(mailbox.takeAll)))
      yield* mailbox.offerAll([4, 5])
      yield* mailbox.end
      expect(Chunk.toReadonlyArray(yield* collected.await.pipe(Effect.flatten))).toEqual([1, 2, 3, 4, 5])
    }))

  it.effect("fails with the mailbox's failure, after the messages before it", () =>
    Effect.gen(function*() {
      const mailbox = yield* Mailbox.make<number, string>()
      yield* mailbox.offerAll([1, 2])
      yield* mailbox.fail("closed")
      const seen: Array<number> = []
      const exit = yield* Effect.exit(Stream.runForEach(Released.fromTakeAll(mailbox.takeAll), (n) => Effect.sync(() => seen.push(n))))
      expect(seen).toEqual([1, 2])
      expect(exit).toStrictEqual(Exit.fail("closed"))
    }))

  it.effect("follows each chunk with an empty one, and the last chunk with nothing", () =>
    Effect.gen(function*() {
      const takes: ReadonlyArray<readonly [Chunk.Chunk<number>, boolean]> = [[Chunk.make(1, 2), false], [Chunk.make(3), true]]
      let next = 0
      const takeAll = Effect.sync(() => takes[next++]!)
      const sizes = yield* Stream.runCollect(Stream.chunks(Released.fromTakeAll(takeAll)).pipe(Stream.map(Chunk.size)))
      expect(Chunk.toReadonlyArray(sizes)).toEqual([2, 0, 1])
    }))

  it.live("lets go of a chunk once the consumer asks for the next one", () =>
    Effect.scoped(Effect.gen(function*() {
      const mailbox = yield* Mailbox.make<{ readonly members: ReadonlyArray<string> }>()
      const pull = yield* Stream.toPull(Released.fromTakeAll(mailbox.takeAll))
      const event = yield* Effect.sync(() => {
        const guild = { members: Array.from({ length: 100 }, (_, i) => `member ${i}`) }
        mailbox.unsafeOffer(guild)
        return new WeakRef(guild)
      })
      expect(yield* Effect.map(pull, Chunk.size)).toBe(1)
      expect(yield* Effect.map(pull, Chunk.size)).toBe(0)
      // the consumer now waits for more, as an idle shard's does
      yield* Effect.fork(pull)
      yield* nextJob
      collectGarbage()
      expect(event.deref()).toBeUndefined()
    })))
})
