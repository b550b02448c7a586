import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { GatewayEvent } from "../../../src/protocol/Event.ts"
import * as Session from "../../../src/session/Session.ts"
import * as Log from "../../../src/testing/Log.ts"
import { aGuild, awaitLog, ClientLayer, consume, sessionOptions, startGateway, uncaughtExceptions } from "./support.ts"

const nested = (depth: number, leaf: unknown = "x"): unknown => {
  let deep: unknown = leaf
  for (let i = 0; i < depth; i++) deep = { a: deep }
  return deep
}

const message = (id: string, content: string, extra: Record<string, unknown> = {}) => ({
  guild_id: aGuild,
  channel_id: aGuild,
  id,
  content,
  ...extra
})

const content = (events: ReadonlyArray<GatewayEvent>) =>
  events.flatMap((event) => event.t === "MESSAGE_CREATE" ? [event.d.content] : [])

describe("the local gateway's bound on a dispatch's depth", () => {
  // README: "data nested more than 1024 lists and maps deep [is a defect that takes no sequence
  // number]". Checked by a walk of the value's own fields, not of what JSON writes, an object whose
  // toJSON gave data 3500 deep passed it: the ETF writer overflowed, the sequence was taken, and a
  // Resume's replay of it threw out of the socket's callback.
  it.scopedLive("data nested 3500 deep through a toJSON: refused as too deep, no sequence taken, no uncaught exception on resume", () =>
    Effect.gen(function*() {
      const uncaught = yield* uncaughtExceptions
      const gateway = yield* startGateway({ guilds: 1 })
      const etf = yield* consume(yield* Session.make(sessionOptions(gateway, { encoding: "etf" })))
      yield* awaitLog(gateway, "the ETF session's READY", (log) => Log.sessionIds(log).length === 1)
      const deep = { toJSON: () => nested(3500) }
      const sent = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000003", "deep", { deep })))
      const refusal = Exit.isFailure(sent) ? String(Cause.squash(sent.cause)) : "sent"
      // the client resumes: the replay meets whatever the sequence number was taken for
      yield* gateway.drop("all")
      yield* awaitLog(gateway, "a resume", (log) => log.resumes.length >= 1)
      yield* gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000004", "after"))
      yield* etf.until("the later message over ETF", (events) => content(events).includes("after"))
      const log = yield* gateway.log
      expect({
        refusal,
        uncaught: uncaught.map(String),
        closed1011: log.connections.filter((connection) => connection.closeCode === 1011).length
      }).toEqual({ refusal: expect.stringContaining("nested more than 1024 deep"), uncaught: [], closed1011: 0 })
    }).pipe(Effect.provide(ClientLayer)), 20_000)

  // README: data "nested more than 1024 lists and maps deep" is refused. A Date JSON writes as a
  // string: 1024 maps with a Date at the bottom is 1024 deep as written, yet the walk counts the
  // Date as a 1025th level and refuses the dispatch.
  it.scopedLive("1024 maps with a Date at the bottom (1024 deep as JSON writes it) is sent", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ guilds: 1 })
      const json = yield* consume(yield* Session.make(sessionOptions(gateway)))
      yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
      const sent = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000003", "dated", { deep: nested(1023, new Date(0)) })))
      expect(Exit.isSuccess(sent) ? "sent" : String(Cause.squash(sent.cause))).toBe("sent")
      yield* json.until("the message", (events) => content(events).includes("dated"))
    }).pipe(Effect.provide(ClientLayer)), 20_000)

  // An object JSON writes through its toJSON (a model holding a back-reference to its parent) is a
  // string as written; the walk follows its own fields round the cycle and calls it "nested more
  // than 1024 deep", a refusal of data JSON framed and that is 2 deep.
  it.scopedLive("an object with a toJSON whose own fields are cyclic is sent (JSON writes a string)", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ guilds: 1 })
      const json = yield* consume(yield* Session.make(sessionOptions(gateway)))
      yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
      class Node {
        parent: Node | undefined = undefined
        child: Node | undefined = undefined
        toJSON() {
          return "node"
        }
      }
      const a = new Node()
      const b = new Node()
      a.child = b
      b.parent = a
      const sent = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000003", "cyclic", { node: a })))
      expect(Exit.isSuccess(sent) ? "sent" : String(Cause.squash(sent.cause))).toBe("sent")
      yield* json.until("the message", (events) => content(events).includes("cyclic"))
    }).pipe(Effect.provide(ClientLayer)), 20_000)

  // data exactly at the bound, 1024 maps with a string leaf, is sent; 1025 is refused
  it.scopedLive("1024 maps deep is sent, 1025 is refused", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ guilds: 1 })
      const json = yield* consume(yield* Session.make(sessionOptions(gateway)))
      yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
      // d is itself a map: 1023 more maps under "deep" make 1024
      const atBound = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000003", "at", { deep: nested(1023) })))
      const past = yield* Effect.exit(gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000004", "past", { deep: nested(1024) })))
      yield* gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000005", "after"))
      yield* json.until("after", (events) => content(events).includes("after"))
      expect([Exit.isSuccess(atBound), Exit.isFailure(past), content(json.events)]).toEqual([true, true, ["at", "after"]])
      const seqs = json.events.filter((e) => e.t === "MESSAGE_CREATE").map((e) => e.sequence)
      expect(seqs[1]! - seqs[0]!).toBe(1)
    }).pipe(Effect.provide(ClientLayer)), 20_000)

  // (holds, cost) a DAG: one small object shared 2^20 ways is written by JSON in full anyway, so
  // the walk costs no more than JSON; wide arrays: a 200 000-element array checked in time
  it.scopedLive("a wide array of 200k maps is dispatched in reasonable time", () =>
    Effect.gen(function*() {
      const gateway = yield* startGateway({ guilds: 1 })
      yield* consume(yield* Session.make(sessionOptions(gateway)))
      yield* awaitLog(gateway, "READY", (log) => Log.sessionIds(log).length === 1)
      const wide = Array.from({ length: 200_000 }, (_, i) => ({ i }))
      const started = performance.now()
      yield* gateway.dispatch("all", "MESSAGE_CREATE", message("1300000000000000003", "wide", { wide }))
      const took = performance.now() - started
      expect(took).toBeLessThan(2000)
    }).pipe(Effect.provide(ClientLayer)), 20_000)
})
