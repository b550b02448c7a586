/**
 * The Effect floor: the floor's decoding (plain.ts), with the parsed messages handed to the program
 * the way any Effect `Stream` of events must: into a `Mailbox` in the socket's callback, out
 * through `Mailbox.toStream` and `Stream.runForEach`. No session, no protocol: what the Stream
 * hand-over itself costs, for reading ours against.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import * as Plain from "./plain.ts"
import * as Task from "./task.ts"

const task = Task.read()
const count = Task.makeCounter(task, "ws + Decompress + JSON.parse + Mailbox + Stream.runForEach")

const program = Effect.gen(function*() {
  const events = yield* Mailbox.make<Plain.Payload>()
  Plain.connect(task, "effect-floor", (payload) => events.unsafeOffer(payload))
  yield* Stream.runForEach(Mailbox.toStream(events), (payload) => Effect.sync(() => count(payload.t)))
})

Effect.runPromise(program).then(() => Task.fail(new Error("the stream ended before the end marker")), Task.fail)
