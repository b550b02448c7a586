import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { ConnectionClosed } from "../../src/transport/GatewayTransport.ts"
import { Inbox } from "../../src/transport/Inbox.ts"

const frame = (text: string) => new TextEncoder().encode(text)
const closedWith = (code: number) => new ConnectionClosed({ code, reason: `closed with ${code}` })

describe("Inbox", () => {
  it.effect("a take hands over every frame waiting, in order, and the next take only what came after", () =>
    Effect.gen(function*() {
      const inbox = new Inbox()
      const [a, b, c] = [frame("a"), frame("b"), frame("c")]
      inbox.offer(a)
      inbox.offer(b)
      expect(yield* inbox.take).toEqual([a, b])
      inbox.offer(c)
      expect(yield* inbox.take).toEqual([c])
    }))

  it.effect("a take waits for the first frame and wakes with it", () =>
    Effect.gen(function*() {
      const inbox = new Inbox()
      const taking = yield* Effect.fork(inbox.take)
      yield* Effect.yieldNow()
      expect(taking.unsafePoll()).toBeNull()
      const a = frame("a")
      inbox.offer(a)
      expect(yield* Fiber.join(taking)).toEqual([a])
    }))

  it.effect("the frames that came before the close are taken first; then every take fails with the first close", () =>
    Effect.gen(function*() {
      const inbox = new Inbox()
      const a = frame("a")
      inbox.offer(a)
      inbox.close(closedWith(4000))
      inbox.close(closedWith(4900))
      inbox.offer(frame("late"))
      expect(yield* inbox.take).toEqual([a])
      expect((yield* Effect.flip(inbox.take)).code).toBe(4000)
      expect((yield* Effect.flip(inbox.take)).code).toBe(4000)
    }))

  it.effect("a close wakes a waiting take with it", () =>
    Effect.gen(function*() {
      const inbox = new Inbox()
      const taking = yield* Effect.fork(inbox.take)
      yield* Effect.yieldNow()
      inbox.close(closedWith(1000))
      const exit = yield* Fiber.await(taking)
      expect(exit).toEqual(Exit.fail(closedWith(1000)))
    }))

  it.effect("an interrupted take leaves no waiter behind: the next frame waits for the next take", () =>
    Effect.gen(function*() {
      const inbox = new Inbox()
      const taking = yield* Effect.fork(inbox.take)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(taking)
      const a = frame("a")
      inbox.offer(a)
      expect(yield* inbox.take).toEqual([a])
    }))
})
