/**
 * Commands whose caller gives up (is interrupted) at any step, while no connection is ready: once
 * the interruption returned, the command never goes out, and an update given up on is not what the
 * next Identify carries. The interruption lands at every step by the scheduler turns before it,
 * the runtime yielding every few operations, as test/session/Stopping.test.ts does for
 * `Session.make`. (Interrupted between being queued and being watched, a command stayed queued
 * and went out with the next connection; an update stayed what the next Identify carried.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import type * as Commands from "../../src/protocol/Commands.ts"
import { Opcode } from "../../src/protocol/Opcode.ts"
import * as Outbox from "../../src/session/Outbox.ts"
import type * as SessionModule from "../../src/session/Session.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { options, ready, Session, settle, TestLayer } from "./harness.ts"

const recorder = () => {
  const written: Array<string | Uint8Array> = []
  const writer: Outbox.Writer<never> = {
    slot: Effect.void,
    presenceSlots: Effect.void,
    write: (payload) => Effect.sync(() => (written.push(payload), true))
  }
  return { writer, written }
}

describe("giving up: Outbox.submit", () => {
  it.scoped("a submit interrupted at any step while no writer is attached is never written later, and the depth goes back to 0", () =>
    Effect.gen(function*() {
      const late: Array<number> = []
      const depths: Array<number> = []
      for (let turns = 0; turns < 6; turns++) {
        let depth = 0
        const outbox = yield* Outbox.make((d) => Effect.sync(() => void (depth = d)))
        const waiting = yield* Effect.fork(outbox.submit(Opcode.VoiceStateUpdate, `cmd-${turns}`).pipe(Effect.withMaxOpsBeforeYield(16)))
        for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(waiting)
        const { writer, written } = recorder()
        // a connection gets ready after the caller gave up
        yield* Effect.scoped(Effect.zipRight(outbox.attach(writer), settle))
        if (written.length > 0) late.push(turns)
        depths.push(depth)
      }
      // the turns at which the interrupted command was written after its caller gave up
      expect(late).toEqual([])
      expect(depths.every((d) => d === 0)).toBe(true)
    }))
})

const idle: Commands.Presence = { since: null, activities: [{ name: "given up", type: 0 }], status: "idle", afk: false }
const guild = "81384788765712384"

interface Outcome {
  readonly turns: number
  readonly ops: number
  /** What the first Identify carried as presence. */
  readonly identified: unknown
  /** The user commands (op 3, op 4) the gateway got after READY. */
  readonly after: ReadonlyArray<number>
}

/**
 * A session with no connection yet; `command` is run on it, interrupted after `turns` scheduler
 * turns; then the gateway accepts, READY comes, and we look at what went out.
 */
const attempt = (turns: number, ops: number, command: (session: SessionModule.Session) => Effect.Effect<unknown, unknown>) =>
  Effect.scoped(Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const session = yield* Session.make(options())
    const caller = yield* Effect.fork(command(session).pipe(Effect.withMaxOpsBeforeYield(ops)))
    for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
    yield* Fiber.interrupt(caller)
    yield* settle
    // only now does a connection get ready
    const peer = yield* gateway.accept
    const first = (yield* peer.handshake(3_600_000)) as { op: number; d: { presence?: unknown } }
    yield* peer.sendJson(ready())
    yield* settle
    yield* TestClock.adjust("1 minute")
    yield* settle
    const after = Chunk.toReadonlyArray(yield* peer.takeAll)
      .map((frame) => JSON.parse(frame as string) as { op: number })
      .map((payload) => payload.op)
      .filter((op) => op !== 1)
    return { turns, ops, identified: first.d.presence, after } satisfies Outcome
  }))

describe("giving up: session commands, at any step, while no connection is ready", () => {
  it.scoped("updateVoiceState: never sent after its caller was interrupted", () =>
    Effect.gen(function*() {
      const late: Array<Outcome> = []
      for (const ops of [16, 20, 24]) for (let turns = 0; turns < 6; turns++) {
        const outcome = yield* attempt(turns, ops, (session) =>
          session.updateVoiceState({ guild_id: guild, channel_id: null, self_mute: false, self_deaf: false }))
        if (outcome.after.length > 0) late.push(outcome)
      }
      expect(late).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("updatePresence: never sent after its caller was interrupted, and never what the next Identify carries", () =>
    Effect.gen(function*() {
      const late: Array<Outcome> = []
      for (const ops of [16, 20, 24]) for (let turns = 0; turns < 6; turns++) {
        const outcome = yield* attempt(turns, ops, (session) => session.updatePresence(idle))
        if (outcome.after.length > 0 || outcome.identified !== undefined) late.push(outcome)
      }
      expect(late).toEqual([])
    }).pipe(Effect.provide(TestLayer)))
})
