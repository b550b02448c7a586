import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { ConnectionClosed } from "../../src/transport/GatewayTransport.ts"
import * as Inbox from "../../src/transport/Inbox.ts"

const closed = (code: number) => new ConnectionClosed({ code, reason: `closed with ${code}` })

describe("Inbox", () => {
  it.effect("hands a waiting reader every frame offered before its fiber runs, in one batch", () =>
    Effect.gen(function*() {
      const inbox = Inbox.make()
      const reader = yield* Effect.fork(inbox.receive)
      yield* Effect.yieldNow()
      // one socket read: several frames offered in one synchronous step
      yield* Effect.sync(() => {
        inbox.offer("a")
        inbox.offer("b")
        inbox.offer("c")
      })
      expect(yield* Fiber.join(reader)).toEqual(["a", "b", "c"])
    }))

  it.effect("takes what is there at once, then waits for more", () =>
    Effect.gen(function*() {
      const inbox = Inbox.make()
      inbox.offer("a")
      inbox.offer("b")
      expect(yield* inbox.receive).toEqual(["a", "b"])
      const reader = yield* Effect.fork(inbox.receive)
      yield* Effect.yieldNow()
      expect(reader.unsafePoll()).toBeNull()
      inbox.offer("c")
      expect(yield* Fiber.join(reader)).toEqual(["c"])
    }))

  it.effect("after an end, gives the frames before it, then fails with the first end every time", () =>
    Effect.gen(function*() {
      const inbox = Inbox.make()
      inbox.offer("a")
      inbox.end(closed(4000))
      inbox.offer("after")
      inbox.end(closed(1000))
      expect(yield* inbox.receive).toEqual(["a"])
      expect(yield* Effect.flip(inbox.receive)).toMatchObject({ code: 4000 })
      expect(yield* Effect.flip(inbox.receive)).toMatchObject({ code: 4000 })
    }))

  it.effect("an end wakes a waiting reader with the failure", () =>
    Effect.gen(function*() {
      const inbox = Inbox.make()
      const reader = yield* Effect.fork(inbox.receive)
      yield* Effect.yieldNow()
      inbox.end(closed(4009))
      expect(yield* Fiber.await(reader)).toStrictEqual(Exit.fail(closed(4009)))
    }))

  it.effect("a reader interrupted while waiting loses nothing: the next one gets the frame", () =>
    Effect.gen(function*() {
      const inbox = Inbox.make()
      const reader = yield* Effect.fork(inbox.receive)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(reader)
      inbox.offer("a")
      expect(yield* inbox.receive).toEqual(["a"])
    }))

  it.effect("calls onTake once per take of frames, not for a failure", () =>
    Effect.gen(function*() {
      let takes = 0
      const inbox = Inbox.make(() => takes++)
      inbox.offer("a")
      inbox.offer("b")
      yield* inbox.receive
      const reader = yield* Effect.fork(inbox.receive)
      yield* Effect.yieldNow()
      inbox.offer("c")
      yield* Fiber.join(reader)
      inbox.end(closed(1000))
      yield* Effect.flip(inbox.receive)
      expect(takes).toBe(2)
    }))
})
