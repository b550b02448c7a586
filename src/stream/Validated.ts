/**
 * Opt-in validation of event data. A session hands events over as they arrived: `d` is typed by
 * discord-api-types and trusted, never checked, so the hot path pays for no decoding. A program
 * that wants the data it handles checked (or transformed: snowflakes to `bigint`, timestamps to
 * `Date`) pipes the events through {@link events} (or {@link only}) with an `effect/Schema` for
 * each type it wants checked, and pays for those types only.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Runtime from "effect/Runtime"
import * as Scheduler from "effect/Scheduler"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { type EventName, type GatewayEvent, isTypeName } from "../protocol/Event.ts"
import { kindOf } from "../internal/printable.ts"
import * as ReadyPoints from "../internal/readyPoints.ts"
import { TaggedError } from "../internal/taggedError.ts"
import { formatError, oneProblem } from "../protocol/internal/schema.ts"

/**
 * A schema for the data of each event type to check, one that needs no services. Decoding is
 * synchronous, a schema's effects running with the stream's runtime (its Clock, its logger): a
 * schema with asynchronous transformations reports every event as invalid.
 *
 * @since 0.1.0
 */
export type Schemas = { readonly [N in EventName]?: Schema.Schema.AnyNoContext | undefined }

/**
 * `S` keyed by event names: a key given as discord-api-types' enum member
 * (`[GatewayDispatchEvents.MessageCreate]`) is the name it stands for.
 *
 * @since 0.1.0
 */
export type Named<S> = { readonly [K in keyof S as K extends string ? `${K}` : never]: S[K] }

/**
 * The names of `S` whose schema is surely there: not an optional key, nor one that may hold
 * `undefined` (`{ ...(strict ? { MESSAGE_CREATE: schema } : {}) }`).
 *
 * @since 0.1.0
 */
export type Surely<S> = { [K in keyof S]-?: {} extends Pick<S, K> ? never : undefined extends S[K] ? never : K }[keyof S]

/**
 * An event whose data passed its schema: `d` is the schema's decoded type. `T` is the types the
 * stream carries (every one, or those an `events` list names).
 *
 * @since 0.1.0
 */
export type ValidatedEvent<S extends Schemas, T extends string = EventName> = {
  readonly [N in keyof Named<S> & EventName & T]: {
    readonly shard: number
    readonly sequence: number
    readonly t: N
    readonly d: Schema.Schema.Type<NonNullable<Named<S>[N]>>
  }
}[keyof Named<S> & EventName & T]

/**
 * `schemas` as {@link events} and {@link only} take them: a key that names no dispatch is refused
 * by the types, also next to ones that do (its events would never be checked); a map keyed by any
 * string (`Record<string, Schema>`) is taken with its keys as they are, its schemas held to need
 * no services as any (one that needed a service was taken, and every event of its type dropped).
 *
 * @since 0.1.0
 */
export type Checked<S> = string extends keyof S ? S & { readonly [name: string]: Schema.Schema.AnyNoContext | undefined }
  : S & { readonly [K in Exclude<keyof Named<S>, EventName>]: never }

/**
 * An event whose data did not pass its schema. `problems` says what is wrong, path by path;
 * `message` names the event too (a stream stopped by it prints that).
 *
 * @since 0.1.0
 */
export class InvalidEvent extends TaggedError("InvalidEvent")<{
  readonly t: string
  readonly shard: number
  readonly sequence: number
  readonly problems: string
}> {
  override get message(): string {
    return `${this.t} (shard ${this.shard}, sequence ${this.sequence}): ${this.problems}`
  }
}

/**
 * Events dropped because their data did not pass their type's schema, tagged `type`.
 *
 * @since 0.1.0
 */
export const invalidEvents = Metric.counter("discord_gateway_invalid_events_total", {
  description: "Events dropped because their data did not pass the program's schema",
  incremental: true
})

/**
 * Options for {@link events} and {@link only}: what to do with an event that did not pass (by
 * default, log a warning annotated with its type, shard and sequence). A failure of `onInvalid`
 * fails the stream with its error, once the events before the bad one have been handed on; none
 * after it is.
 *
 * @since 0.1.0
 */
export interface Options<E, R> {
  readonly onInvalid?: ((invalid: InvalidEvent) => Effect.Effect<void, E, R>) | undefined
}

// "did not pass", not "does not match": a schema that threw or waits is told so by its problems,
// and the line must not send its reader looking at Discord's data for a fault of the schema's
const logInvalid = (invalid: InvalidEvent): Effect.Effect<void> =>
  Effect.logWarning(`dropped ${invalid.t}: it did not pass its schema: ${invalid.problems}`).pipe(
    Effect.annotateLogs({ type: invalid.t, shard: invalid.shard, sequence: invalid.sequence })
  )

// a class rather than an object literal, for the reason `Event.make` gives
class DecodedEvent {
  constructor(
    readonly shard: number,
    readonly sequence: number,
    readonly t: string,
    readonly d: unknown
  ) {}
}

/**
 * The events of types without a schema in `S`, as they came: those of a type whose schema may be
 * absent too. `A` is what the stream carries (every event, or those an `events` list names).
 *
 * @since 0.1.0
 */
export type Unchecked<S extends Schemas, A extends GatewayEvent = GatewayEvent> = Exclude<A, { readonly t: Surely<Named<S>> }>

/**
 * A type's decoder, whose schema's effects run with `runtime`: the decoded data, or everything
 * wrong with it, in words.
 */
type Decoder = (input: unknown, runtime: Runtime.Runtime<never>) => Either.Either<unknown, string>

// what was thrown, in words, whatever it is (`String` of `Object.create(null)` throws too)
const shown = (error: unknown): string => {
  try {
    // an Error's message may be no string (an object, a symbol): it threw in the report and
    // killed the stream
    const message = error instanceof Error ? error.message : error
    return typeof message === "string" ? message : String(message)
  } catch {
    return "a value that cannot be shown"
  }
}

// what a schema whose own code threw (a transformation's) says of the input, as an issue
const thrown = (schema: Schema.Schema.AnyNoContext, input: unknown, error: unknown): ParseResult.ParseError =>
  ParseResult.parseError(new ParseResult.Type(schema.ast, input, `the schema threw: ${shown(error)}`))

/**
 * What a parser gave for `input`: an `Either` when the schema did its work as it went (the pure
 * parts of every schema), else its effects, run here with `runtime` (effect/Schema ran them with
 * Effect's default services: the real clock under a TestClock, the default logger) to their end
 * if they end without waiting. One that waits is interrupted: reported as effect/Schema reports
 * it, not started again. One that dies is reported as one that throws.
 */
const settled = (
  schema: Schema.Schema.AnyNoContext,
  input: unknown,
  parsed: Effect.Effect<unknown, ParseResult.ParseIssue>,
  runtime: Runtime.Runtime<never>
): Either.Either<unknown, ParseResult.ParseError> => {
  if (Either.isEither(parsed)) return Either.mapLeft(parsed as Either.Either<unknown, ParseResult.ParseIssue>, ParseResult.parseError)
  const scheduler = new Scheduler.SyncScheduler()
  // interruptible, also in a stream run where interruption is off (a finalizer draining events)
  // its failure is the fiber's value: a fiber that failed logged "Fiber terminated with an unhandled
  // error" through the program's logger for each bad event
  const fiber = Runtime.runFork(runtime)(Effect.exit(Effect.interruptible(parsed)), { scheduler })
  scheduler.flush()
  const polled = fiber.unsafePoll()
  if (polled === null) {
    // interrupted here, before the event is reported: a flushed scheduler hands what comes later
    // to Effect's own, which would run the interruption after the next events
    scheduler.deferred = false
    fiber.unsafeInterruptAsFork(FiberId.none)
    scheduler.flush()
    return Either.left(ParseResult.parseError(new ParseResult.Forbidden(schema.ast, input, waits)))
  }
  const exit = Exit.flatten(polled)
  if (Exit.isSuccess(exit)) return Either.right(exit.value)
  const failure = Cause.failureOption(exit.cause)
  return Either.left(Option.isSome(failure) ? ParseResult.parseError(failure.value) : thrown(schema, input, Cause.squash(exit.cause)))
}

const waits = "cannot be resolved synchronously: the schema waits for asynchronous work"

// `error` in words; a schema's message annotation that throws says so instead of ending the stream
const formatted = (error: ParseResult.ParseError): string => {
  try {
    return formatError(error)
  } catch (thrownByMessage) {
    // the thrown words may quote the data: told as any problem is
    return oneProblem(`the schema threw while saying what was wrong: ${shown(thrownByMessage)}`)
  }
}

// whether an asynchronous part of the schema (Forbidden) stopped the decoding, anywhere in it: a
// field's, not only the whole schema's
const isForbidden = (issue: ParseResult.ParseIssue): boolean => {
  switch (issue._tag) {
    case "Forbidden":
      return true
    case "Composite":
      return Array.isArray(issue.issues) ? issue.issues.some(isForbidden) : isForbidden(issue.issues as ParseResult.ParseIssue)
    case "Pointer":
    case "Refinement":
    case "Transformation":
      return isForbidden(issue.issue)
    default:
      return false
  }
}

// Stops at the first problem, which costs less when the data passes, as nearly all does (every
// problem at once cost about 40% more per valid MESSAGE_CREATE, bench/validated.ts). A bad event's
// problems are then listed in full by a second run, only where the first ran nothing but pure code
// (its result an `Either`): a schema's effects (a log line, a metric) ran twice for each bad event.
// An asynchronous part the second run reaches (one the first problem came before) is interrupted
// and the first problem told, not that part's. A problem of the whole value (`Type`) is all there
// is to list, and one that throws only past the first problem says that one.
const decoderOf = (schema: Schema.Schema.AnyNoContext): Decoder => {
  const firstProblem = ParseResult.decodeUnknown(schema)
  const everyProblem = ParseResult.decodeUnknown(schema, { errors: "all" })
  return (input, runtime) => {
    let first: ParseResult.ParseError
    let pure: boolean
    try {
      const parsed = firstProblem(input)
      const decoded = settled(schema, input, parsed, runtime)
      if (Either.isRight(decoded)) return Either.right(decoded.right)
      first = decoded.left
      pure = Either.isEither(parsed)
    } catch (error) {
      // a transformation that throws (`BigInt("abc")`) makes the event invalid, not the stream die
      return Either.left(formatted(thrown(schema, input, error)))
    }
    if (!pure || first.issue._tag === "Type") return Either.left(formatted(first))
    try {
      const every = Either.getLeft(settled(schema, input, everyProblem(input), runtime))
      // a problem of the whole value there is the schema's throw (the first run saw none): that run
      // told it and not the problem it came after
      return Either.left(formatted(Option.match(every, {
        onNone: () => first,
        onSome: (listed) => isForbidden(listed.issue) || listed.issue._tag === "Type" ? first : listed
      })))
    } catch {
      return Either.left(formatted(first))
    }
  }
}

// what checking one event gave: the event to hand on (decoded, or as it came), the report of a
// bad one, or nothing (a type without a schema, left out)
type Outcome = DecodedEvent | GatewayEvent | InvalidEvent | undefined

// the names a map of schemas has, as its type sees them: its own, and its prototypes' getters and
// schemas (a class's getters were skipped, their events left unchecked, typed as decoded); a
// prototype's methods are no schemas (a private helper of a class)
const namesOf = (schemas: object): ReadonlySet<string> => {
  // (own properties not enumerable too: `Object.defineProperty`, `Object.create(proto, descriptors)`)
  const names = new Set(Object.getOwnPropertyNames(schemas))
  for (let level = Object.getPrototypeOf(schemas) as object | null; level !== null && level !== Object.prototype; level = Object.getPrototypeOf(level) as object | null) {
    for (const [name, property] of Object.entries(Object.getOwnPropertyDescriptors(level))) {
      if (property.get !== undefined || Schema.isSchema(property.value)) names.add(name)
    }
  }
  return names
}

/**
 * How events are checked against `schemas`: `check` decodes one event with the schemas' effects
 * run with `runtime`, and `report` counts a bad one and hands it to `onInvalid`.
 */
const checkerOf = <S extends Schemas, E2, R2>(schemas: S, keepOthers: boolean, options: Options<E2, R2> | undefined) => {
  const decoders = new Map<string, Decoder>()
  for (const t of namesOf(schemas)) {
    const schema: unknown = (schemas as Record<string, unknown>)[t]
    if (Schema.isSchema(schema)) decoders.set(t, decoderOf(schema as Schema.Schema.AnyNoContext))
    // an event's, from JavaScript or through a cast, is said as it is given (it threw "reading
    // '_tag'"); any other (a class's private field, which the type leaves out) is no event's
    else if (schema !== undefined && isTypeName(t)) {
      throw new TypeError(`Validated: the schema for ${t} is no Schema, but ${kindOf(schema)}`)
    }
  }
  const onInvalid = options?.onInvalid ?? logInvalid
  return {
    decodes: (t: string): boolean => decoders.has(t),
    check: (event: GatewayEvent, runtime: Runtime.Runtime<never>): Outcome => {
      const ofType = decoders.get(event.t)
      if (ofType === undefined) return keepOthers ? event : undefined
      const decoded = ofType(event.d, runtime)
      if (decoded._tag === "Right") {
        const copy = new DecodedEvent(event.shard, event.sequence, event.t, decoded.right)
        // the point a READY began, or a RESUMED resumed, goes on with its copy
        // (`SessionOptions.pointAfter`)
        ReadyPoints.carry(event, copy)
        return copy
      }
      // the values quoted in a report are the event's data: a user's text, escaped to be shown, never obeyed
      return new InvalidEvent({ t: event.t, shard: event.shard, sequence: event.sequence, problems: decoded.left })
    },
    report: (invalid: InvalidEvent): Effect.Effect<void, E2, R2> =>
      Effect.zipRight(Metric.increment(Metric.tagged(invalidEvents, "type", invalid.t)), onInvalid(invalid))
  }
}

/**
 * Checks each chunk's events, handing on the events up to each bad one as one write, then running
 * its report, then checking the rest: a chunk with no bad event goes out whole; a schema's effects
 * for an event after a bad one run once that one was reported (and never if the report fails).
 */
const validate = <S extends Schemas, A, E2, R2>(schemas: S, keepOthers: boolean, options: Options<E2, R2> | undefined) => {
  const checker = checkerOf(schemas, keepOthers, options)
  // the runtime the stream runs with, whose services the schemas' effects use
  return <E, R>(self: Stream.Stream<GatewayEvent, E, R>): Stream.Stream<A, E | E2, R | R2> =>
    Stream.unwrap(Effect.map(Effect.runtime<never>(), (runtime) => Stream.pipeThroughChannel(self, validating(runtime))))

  function validating<E>(runtime: Runtime.Runtime<never>) {
    type Out = Channel.Channel<Chunk.Chunk<A>, unknown, E | E2, unknown, void, unknown, R2>
    const from = (events: ReadonlyArray<GatewayEvent>, start: number): Out => {
      const kept: Array<unknown> = []
      for (let i = start; i < events.length; i++) {
        const checked = checker.check(events[i]!, runtime)
        if (checked instanceof InvalidEvent) {
          const before: Out = kept.length === 0 ? Channel.void : Channel.write(Chunk.unsafeFromArray(kept as Array<A>))
          // `onInvalid` itself is called in its place too, not as the chunk is read
          return Channel.zipRight(
            before,
            Channel.zipRight(Channel.fromEffect(Effect.suspend(() => checker.report(checked))), Channel.suspend(() => from(events, i + 1)))
          )
        }
        if (checked !== undefined) kept.push(checked)
      }
      // the rest, even empty: a chunk in always gives one out, as `Released` streams need
      return Channel.write(Chunk.unsafeFromArray(kept as Array<A>))
    }
    const loop: Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<GatewayEvent>, E | E2, E, unknown, unknown, R2> = Channel
      .readWithCause({
        onInput: (chunk: Chunk.Chunk<GatewayEvent>) => Channel.flatMap(from(Chunk.toReadonlyArray(chunk), 0), () => loop),
        onFailure: Channel.failCause,
        onDone: Channel.succeed
      })
    return loop
  }
}

/**
 * Every event, in order, with the data of each type that has a schema in `schemas` decoded by it;
 * events of other types pass as they came. An event whose data does not pass is dropped: it is
 * counted in {@link invalidEvents} and handed to `onInvalid` as an {@link InvalidEvent} in its
 * place (once the events before it have been handed on, before those after it), and the events
 * after it go on. If `onInvalid` fails, the stream fails with its error there: the events before
 * the bad one have been handed on, in order, and none after it is.
 * Narrowing on `t` types `d` as the schema's output for the types given, as discord-api-types'
 * for the others.
 *
 * @example
 * const MessageCreate = Schema.Struct({ id: Schema.BigInt, content: Schema.String })
 * const events = session.events.pipe(Validated.events({ MESSAGE_CREATE: MessageCreate }))
 * // event.t === "MESSAGE_CREATE": event.d is { id: bigint, content: string }
 *
 * @since 0.1.0
 */
export const events = <S extends Schemas, E2 = never, R2 = never>(
  schemas: Checked<S>,
  options?: Options<E2, R2>
): <A extends GatewayEvent, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<ValidatedEvent<S, A["t"]> | Unchecked<S, A>, E | E2, R | R2> => {
  const validated = validate<S, ValidatedEvent<S> | Unchecked<S>, E2, R2>(schemas, true, options)
  // of the types the stream carries: the others never come
  return <A extends GatewayEvent, E, R>(self: Stream.Stream<A, E, R>) =>
    validated(self) as Stream.Stream<ValidatedEvent<S, A["t"]> | Unchecked<S, A>, E | E2, R | R2>
}

/**
 * Like {@link events}, but only the events of the types that have a schema: the others are left out.
 *
 * @example
 * const messages = session.events.pipe(Validated.only({ MESSAGE_CREATE: MessageCreate }))
 * // Stream<{ shard, sequence, t: "MESSAGE_CREATE", d: { id: bigint, content: string } }>
 *
 * @since 0.1.0
 */
export const only = <S extends Schemas, E2 = never, R2 = never>(
  schemas: Checked<S>,
  options?: Options<E2, R2>
): <A extends GatewayEvent, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<ValidatedEvent<S, A["t"]>, E | E2, R | R2> => {
  const validated = validate<S, ValidatedEvent<S>, E2, R2>(schemas, false, options)
  // of the types the stream carries: the others never come
  return <A extends GatewayEvent, E, R>(self: Stream.Stream<A, E, R>) =>
    validated(self) as Stream.Stream<ValidatedEvent<S, A["t"]>, E | E2, R | R2>
}

/**
 * One event checked as {@link events} checks it, then handled: `handle` gets it (with `d` the
 * schema's output for the types given), or, when its data does not pass, it is counted and handed
 * to `onInvalid` instead. For a loop whose unit is the chunk (one store or transaction per chunk):
 * {@link events} would hand it the pieces between bad events, splitting the chunk to report each in
 * its place.
 *
 * @example
 * const handleChecked = Validated.handler({ MESSAGE_CREATE: MessageCreate }, handle)
 * yield* Stream.runForEachChunk(session.events, (chunk) => Effect.forEach(chunk, handleChecked))
 *
 * @since 0.1.0
 */
export const handler = <S extends Schemas, E, R, E2 = never, R2 = never>(
  schemas: Checked<S>,
  handle: (event: ValidatedEvent<S> | Unchecked<S>) => Effect.Effect<unknown, E, R>,
  options?: Options<E2, R2>
): (event: GatewayEvent) => Effect.Effect<void, E | E2, R | R2> => {
  const checker = checkerOf(schemas as S, true, options)
  const handled = (checked: Outcome): Effect.Effect<void, E | E2, R | R2> =>
    checked instanceof InvalidEvent
      ? checker.report(checked)
      : Effect.asVoid(handle(checked as ValidatedEvent<S> | Unchecked<S>))
  return (event) =>
    checker.decodes(event.t)
      ? Effect.flatMap(Effect.runtime<never>(), (runtime) => handled(checker.check(event, runtime)))
      : handled(event)
}
