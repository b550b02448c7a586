/**
 * The bounded buffer between a session's readers and the program: connections put events in at
 * once while it has room; when it is full, a reader's event waits for its turn, and goes in as
 * soon as the program takes events, before the waiting events of readers that came later. The
 * program takes them as a stream.
 *
 * Readers that wait share the room the program makes: each reader whose event went in after a
 * wait may then put in its share of what room is left (the room divided among the readers let in
 * together), and waits again after it, so that a reader let in first does not fill all of it while
 * the others wait their turn; while a reader has nothing more to put in (`idle`), the others may
 * use the rest of its share. Each reader needs a sink of its own for that (`reader()`); readers
 * sharing one sink share one share.
 *
 * A reader learns that its waiting event went in at the very moment it does (`onIn`), so one that
 * stops waiting (its connection ended) knows for sure whether it did. A `Mailbox`'s suspended
 * `offer` cannot say so: one interrupted just as the program took events may have put its event
 * in, and the event would then reach the program without being counted in the session's resume
 * point, and arrive again with the next resume's replay.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TaggedError } from "../internal/taggedError.ts"
import * as Released from "./Released.ts"

/**
 * The defect of an events stream run while another run of it was still taking events: a bug in
 * the program, as a typed error it would be one no handler can mend. The stream has one consumer
 * at a time: two would each take whatever chunk was buffered when they asked, and each would see
 * gaps. To hand the events to several consumers, run it once into `Stream.broadcast`,
 * `Stream.share` or a `PubSub`.
 *
 * @since 0.1.0
 */
export class EventsInUse extends TaggedError("EventsInUse")<{}> {
  override get message(): string {
    return "the events stream is already being run: it has one consumer at a time (Stream.broadcast, Stream.share or a PubSub hands its events to several)"
  }
}

/**
 * What a connection delivers its events into.
 *
 * @since 0.1.0
 */
export interface EventSink<A> {
  /**
   * Puts `event` in if there is room now and no reader's event waits for its turn, or while this
   * reader's share of the room lasts; says whether it did.
   */
  readonly unsafeOffer: (event: A) => boolean
  /**
   * Puts `event` in once there is room, after the events of readers that waited before, and
   * calls `onIn` at that moment, before anything else runs. Succeeds once it went in (true), or
   * when the buffer takes no more events (false). Interrupted, it puts nothing in from then on:
   * whether it had is what `onIn` said.
   */
  readonly offer: (event: A, onIn: () => void) => Effect.Effect<boolean>
  /**
   * Ends the program's chunk at the event that went in last: the stream emits it as the last of
   * its chunk, and the events after it in a later one. A session calls it after READY and RESUMED,
   * so that a run that stops at them (`Stream.take(events, 1)`, `Stream.runHead`) leaves the events
   * behind them to the next run. A sink of the program's own may leave it out.
   */
  readonly endChunk?: () => void
  /**
   * Says the reader has nothing more to put in for now (its connection went back to its socket):
   * the other readers may use what is left of its share of the room until it puts in again (kept
   * from them, a quiet reader's share held the others to the room beside it). A sink of the
   * program's own may leave it out.
   */
  readonly idle?: () => void
}

/**
 * A buffer of events: the sink the readers put them into, and the stream the program takes.
 *
 * @since 0.1.0
 */
export interface EventBuffer<A, E> {
  /** A sink for a single reader (or for readers that share a share of the room). */
  readonly sink: EventSink<A>
  /** A sink of its own for one of several readers: readers that wait get fair shares of the room. */
  readonly reader: () => EventSink<A>
  /**
   * The events, in the order they went in, a chunk at a time: every event in when it is asked
   * for, up to an end a sink made (`endChunk`). It lets go of each chunk once the next is asked for
   * (src/stream/Released.ts). It ends (or fails) once `done` was called and every event was taken.
   * One run at a time: a run started while another runs dies at once with {@link EventsInUse}; a
   * run that stops drops the rest of the chunk it took, and the next run starts after it.
   */
  readonly stream: Stream.Stream<A, E>
  /** Takes no more events, and ends the stream with `exit` once those in it were taken. */
  readonly done: (exit: Exit.Exit<void, E>) => Effect.Effect<void>
}

// One reader's share of the room: while it is among the readers let in together at the last turn,
// how many more events it may put in whoever waits, else `undefined`; whether its reader went back
// to its socket since it last put one in (`idle`: the others may use that room meanwhile); and when
// it was last given one of the places that did not divide evenly (the count of those given before
// it; -1: never).
interface Share {
  left: number | undefined
  idle: boolean
  unevenAt: number
}

interface Waiting<A> {
  readonly share: Share
  readonly event: A
  readonly onIn: () => void
  readonly resume: (accepted: boolean) => void
}

/**
 * A buffer holding up to `capacity` events: a whole number from 1 to 2^53 - 1 (another dies with a
 * `RangeError`: 0 held every event back for ever, and NaN bounded nothing).
 *
 * @since 0.1.0
 */
export const make = <A, E>(capacity: number): Effect.Effect<EventBuffer<A, E>> =>
  Number.isSafeInteger(capacity) && capacity >= 1
    ? Effect.map(Mailbox.make<A, E>({ capacity, strategy: "suspend" }), (mailbox) => over(mailbox, capacity))
    : Effect.die(new RangeError(`EventBuffer.make: capacity must be a whole number from 1 to 2^53 - 1, got ${capacity}`))

// the buffer over its mailbox of `capacity`
const over = <A, E>(mailbox: Mailbox.Mailbox<A, E>, capacity: number): EventBuffer<A, E> => {
  let open = true
  // the events waiting for room, oldest first
  const waiting: Array<Waiting<A>> = []
  // the readers let in together at the last turn, and the room their shares still keep
  let sharing: ReadonlyArray<Share> = []
  let reserved = 0
  // of that room, what the shares of readers gone back to their sockets keep: lent to the others
  // until their readers put in again (kept from them, a quiet reader's share held the others to the
  // room beside it until another reader's wait)
  let lent = 0
  // how many of the places that did not divide evenly among the readers let in were given out
  let unevenGiven = 0
  // how many events went in since the start: where a chunk end is, whatever a take in flight holds
  let putIn = 0
  // The events of a take past its chunk's end, kept out of the mailbox for the next take (see
  // `ends`): they take room as those in it do (the reader filled the mailbox behind them, and the
  // buffer held up to twice its capacity for a program that had taken one event)
  let kept: Released.Take<A> | undefined
  const put = (event: A): boolean => {
    if (kept !== undefined && held() >= capacity) return false
    if (!mailbox.unsafeOffer(event)) return false
    putIn++
    return true
  }
  // the events held: in the mailbox, and kept for the next take
  const size = () => Option.getOrElse(mailbox.unsafeSize(), () => capacity)
  const held = () => size() + (kept === undefined ? 0 : kept[0].length)
  // After the program took events: the waiting ones go in, in turn, while there is room, and the
  // readers let in share the room left (a reader let in first would otherwise fill it before the
  // others run again, and take it all at every turn)
  const admit = (): void => {
    const admitted: Array<Waiting<A>> = []
    while (waiting.length > 0 && put(waiting[0]!.event)) {
      const entry = waiting.shift()!
      entry.onIn()
      admitted.push(entry)
    }
    if (admitted.length === 0) return
    for (const share of sharing) {
      share.left = undefined
      share.idle = false
    }
    lent = 0
    sharing = [...new Set(admitted.map(({ share }) => share))]
    // all the room is shared out: what was left to whoever asked first went to the reader let in
    // first at every turn, which then waited first and was let in first again. The places that do
    // not divide evenly go one each to the readers that had one longest ago (by their places in
    // the line, the readers without one ran out first, waited first, and were first again)
    const room = capacity - held()
    const each = Math.floor(room / sharing.length)
    const uneven = room - each * sharing.length
    for (const share of sharing) share.left = each
    if (uneven > 0) {
      // (a stable sort: of those that never had one, the first let in)
      for (const share of [...sharing].sort((a, b) => a.unevenAt - b.unevenAt).slice(0, uneven)) {
        share.left = each + 1
        share.unevenAt = unevenGiven++
      }
    }
    reserved = room
    for (const entry of admitted) entry.resume(true)
  }
  // a reader puts its event in while its share lasts; then, or without one, only when no reader's
  // event waits for its turn and the room the busy readers' shares keep stays free. The room an
  // idle reader lent that another takes comes off its share (counted back whole as it put in
  // again, the share held the others to the room beside it once more)
  const unsafeOffer = (share: Share, event: A): boolean => {
    if (share.idle) {
      share.idle = false
      lent -= share.left!
    }
    if (share.left !== undefined && share.left > 0) {
      if (!put(event)) return false
      share.left--
      reserved--
      return true
    }
    const kept = reserved - lent
    if (waiting.length > 0 || (kept > 0 && held() + kept >= capacity) || !put(event)) return false
    if (lent > 0 && held() + reserved > capacity) useLent()
    return true
  }
  // one place of an idle reader's lent share taken by another reader
  const useLent = (): void => {
    const from = sharing.find((other) => other.idle && other.left! > 0)!
    from.left!--
    lent--
    reserved--
  }
  const offer = (share: Share, event: A, onIn: () => void) =>
    Effect.async<boolean>((resume) => {
      if (!open) return resume(Effect.succeed(false))
      if (unsafeOffer(share, event)) {
        onIn()
        return resume(Effect.succeed(true))
      }
      const entry: Waiting<A> = { share, event, onIn, resume: (accepted) => resume(Effect.succeed(accepted)) }
      waiting.push(entry)
      return Effect.sync(() => {
        const at = waiting.indexOf(entry)
        if (at >= 0) waiting.splice(at, 1)
      })
    })
  // Where the program's chunks end (`endChunk`): after how many events put in since the start,
  // oldest first. The events of a take past the first end are kept for the next take (`kept`).
  const ends: Array<number> = []
  // the events taken out of the mailbox (or `kept`) and emitted or dropped with a run that stopped
  let emitted = 0
  const endChunk = (): void => {
    if (putIn > emitted && ends[ends.length - 1] !== putIn) ends.push(putIn)
  }
  // once a run stopped (nothing taken is in flight then): what it took and did not emit is gone,
  // and the ends at or before it with it
  const resync = (): void => {
    emitted = putIn - (kept === undefined ? 0 : kept[0].length) - Option.getOrElse(mailbox.unsafeSize(), () => 0)
    while (ends.length > 0 && ends[0]! <= emitted) ends.shift()
  }
  // the part of a take up to the next end, the rest kept
  const upToEnd = (taken: Released.Take<A>): Released.Take<A> => {
    const [messages, done] = taken
    const before = ends.length === 0 ? messages.length : ends[0]! - emitted
    if (before >= messages.length) {
      if (before === messages.length) ends.shift()
      emitted += messages.length
      return taken
    }
    ends.shift()
    kept = [Chunk.drop(messages, before), done]
    emitted += before
    return [Chunk.take(messages, before), false]
  }
  // admitted before each take too: a consumer interrupted between its take and `admit` leaves
  // the next run of the stream an empty buffer with events waiting for room
  const take = Effect.suspend(() => {
    if (kept === undefined) {
      admit()
      return mailbox.takeAll
    }
    const rest = kept
    kept = undefined
    return Effect.succeed(rest)
  })
  const taken = Released.fromTakeAll(take, (taken) => {
    const emitting = upToEnd(taken)
    admit()
    return emitting
  })
  let running = false
  const stream = Stream.suspend((): Stream.Stream<A, E> => {
    if (running) return Stream.die(new EventsInUse())
    running = true
    return Stream.ensuring(taken, Effect.sync(() => {
      running = false
      resync()
    }))
  })
  const reader = (): EventSink<A> => {
    const share: Share = { left: undefined, idle: false, unevenAt: -1 }
    return {
      unsafeOffer: (event) => unsafeOffer(share, event),
      offer: (event, onIn) => offer(share, event, onIn),
      endChunk,
      idle: () => {
        if (share.left === undefined || share.idle) return
        share.idle = true
        lent += share.left
      }
    }
  }
  return {
    sink: reader(),
    reader,
    stream,
    done: (exit) =>
      Effect.suspend(() => {
        open = false
        for (const entry of waiting.splice(0)) entry.resume(false)
        return Effect.asVoid(mailbox.done(exit))
      })
  }
}
