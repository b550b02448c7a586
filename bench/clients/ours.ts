/**
 * Our client, through the public API only: `Session.make` with the live layer and
 * `Stream.runForEach(session.events, ...)`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type EventName, Intents, Live, Session, type SessionOptions } from "../../src/index.ts"
import { endMarker, startMarker } from "../workloads.ts"
import * as Task from "./task.ts"

const task = Task.read()

/**
 * The session the program runs. For the filtered run it asks for the wanted types only (plus
 * READY and the markers, which the program uses to start and stop measuring): the session
 * skips the rest without parsing them, and the counter's check passes everything it gets.
 */
const options: SessionOptions.SessionOptions = {
  token: Redacted.make("bench-token"),
  intents: Intents.Guilds | Intents.GuildMessages,
  gateway: task.url,
  compression: task.compression,
  ...(task.wanted === undefined
    ? {}
    : { events: [...task.wanted, "READY", startMarker, endMarker] as ReadonlyArray<EventName> })
}

const count = Task.makeCounter(task, "Session.make + Stream.runForEach")

const program = Effect.gen(function*() {
  const session = yield* Session.make(options)
  yield* Stream.runForEach(session.events, (event) => Effect.sync(() => count(event.t)))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Live.layer))).then(
  () => Task.fail(new Error("the event stream ended before the end marker")),
  Task.fail
)
