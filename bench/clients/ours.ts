/**
 * Our client, through the public API only: `Session.make` with the live layer and
 * `Stream.runForEach(session.events, ...)`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type GatewayEvent, Intents, Live, Session, type SessionOptions } from "../../src/index.ts"
import { endMarker } from "../workloads.ts"
import * as Task from "./task.ts"

const task = Task.read()
const meter = new Task.Meter()

/**
 * The session the program runs. THE PLACE TO CHANGE for the filtered run: today the program
 * filters in `onEvent` below; once the library can skip unwanted events itself, set that option
 * here from `task.wanted` (plus "READY" and the end marker, which the program needs) and the
 * check in `onEvent` becomes a no-op.
 */
const options: SessionOptions.SessionOptions = {
  token: Redacted.make("bench-token"),
  intents: Intents.Guilds | Intents.GuildMessages,
  gateway: task.url,
  compression: task.compression
}

const wanted = task.wanted === undefined ? undefined : new Set(task.wanted)
let handled = 0

const onEvent = (event: GatewayEvent): void => {
  if (event.t === "READY") meter.start()
  else if ((event.t as string) === endMarker) Task.report(meter.stop(handled, "Session.make + Stream.runForEach"))
  else if (wanted === undefined || wanted.has(event.t)) handled++
}

const program = Effect.gen(function*() {
  const session = yield* Session.make(options)
  yield* Stream.runForEach(session.events, (event) => Effect.sync(() => onEvent(event)))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Live.layer))).then(
  () => Task.fail(new Error("the event stream ended before the end marker")),
  Task.fail
)
