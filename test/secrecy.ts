/**
 * What the secrecy tests search for and where: every run of 12 characters of a token (and its
 * decoded parts), in every way a value can be shown, in the lines a logger writes at any level, in
 * the spans a tracer keeps and in the metrics' keys.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import { inspect } from "node:util"
import { type RecordedSpan, recordingTracer } from "./session/recordingTracer.ts"

/** A place (a label) and the text shown there. */
export type Place = readonly [label: string, text: string]

/**
 * The places whose text holds a run of `secret`: any 12 of its characters in a row, its first part
 * decoded (the bot's id) or its last part as hex (the HMAC), each with the text around it.
 */
export const leaksOf = (secret: string) => {
  const runs = new Set<string>()
  for (let i = 0; i + 12 <= secret.length; i++) runs.add(secret.slice(i, i + 12))
  const [id, , hmac] = secret.split(".")
  runs.add(Buffer.from(id!, "base64").toString("latin1"))
  const mac = Buffer.from(hmac ?? "", "base64url").toString("hex")
  for (let i = 0; i + 12 <= mac.length; i++) runs.add(mac.slice(i, i + 12))
  return (places: ReadonlyArray<Place>): Array<string> =>
    places.flatMap(([label, text]) => {
      const at = [...runs].map((run) => text.indexOf(run)).filter((i) => i >= 0)[0]
      return at === undefined ? [] : [`${label}: ...${text.slice(Math.max(0, at - 60), at + 30)}...`]
    })
}

/**
 * A lock store's key, its words kept private, told by its `toString`: only a printer that calls it
 * (Effect's loggers, telling a cause) shows them.
 */
export class LockKey {
  readonly #text: string
  constructor(text: string) {
    this.#text = text
  }
  toString(): string {
    return this.#text
  }
}

/** `value` as `String`, `inspect`, `JSON.stringify`, its stack and its `toJSON` show it. */
export const renderings = (label: string, value: unknown): Array<Place> => {
  const out: Array<Place> = []
  const add = (how: string, show: () => string) => {
    try {
      out.push([`${label} (${how})`, show()])
    } catch (thrown) {
      out.push([`${label} (${how} threw)`, String(thrown)])
    }
  }
  add("String", () => String(value))
  add("inspect", () => inspect(value, { depth: 12, showHidden: true, getters: true }))
  add("JSON", () => JSON.stringify(value) ?? "")
  if (value instanceof Error) add("stack", () => value.stack ?? "")
  if (value !== null && typeof value === "object" && "toJSON" in value && typeof value.toJSON === "function") {
    add("toJSON", () => JSON.stringify((value as { toJSON: () => unknown }).toJSON()))
  }
  return out
}

/** An exit as {@link renderings} shows it, and its cause as `Cause.pretty` prints it. */
export const exitPlaces = (label: string, exit: Exit.Exit<unknown, unknown>): Array<Place> => [
  ...renderings(label, exit),
  ...(Exit.isFailure(exit) ? [[`${label} Cause.pretty`, Cause.pretty(exit.cause)] as const] : [])
]

/**
 * A logger at level All that keeps every line as the logfmt, structured and string loggers write
 * it, with its cause, and a tracer that keeps every span: `provide` runs an effect with both.
 */
export const capture = () => {
  const lines: Array<string> = []
  const { spans, tracer } = recordingTracer()
  const logger = Logger.make<unknown, void>((entry) => {
    lines.push(Logger.logfmtLogger.log(entry))
    lines.push(JSON.stringify(Logger.structuredLogger.log(entry)))
    lines.push(Logger.stringLogger.log(entry))
    lines.push(inspect(entry.cause, { depth: 12 }))
    lines.push(Cause.pretty(entry.cause))
  })
  return {
    lines,
    spans,
    provide: <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      self.pipe(
        Effect.withTracer(tracer),
        Logger.withMinimumLogLevel(LogLevel.All),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
  }
}

/** Every attribute, event and exit of `spans`, shown. */
export const spanTexts = (spans: ReadonlyArray<RecordedSpan>): Array<Place> =>
  spans.flatMap((span, i) => [
    ...[...span.attributes].flatMap(([key, value]) => renderings(`span[${i}] ${span.name} attribute ${key}`, value)),
    ...span.events.flatMap((event) => renderings(`span[${i}] ${span.name} event`, event)),
    ...(span.ended === undefined ? [] : [
      ...renderings(`span[${i}] ${span.name} exit`, span.ended),
      ...(Exit.isFailure(span.ended) ? [[`span[${i}] ${span.name} exit Cause.pretty`, Cause.pretty(span.ended.cause)] as const] : [])
    ])
  ])

/** Each line a logger wrote. */
export const lineTexts = (lines: ReadonlyArray<string>): Array<Place> => lines.map((line, i) => [`log line ${i}`, line] as const)

/** Every metric's name and tags. */
export const metricTexts = (): Array<Place> =>
  Metric.unsafeSnapshot().map((pair, i) => [`metric[${i}]`, `${pair.metricKey.name} ${JSON.stringify(pair.metricKey.tags)}`] as const)

/** Where an ended session's end (its `await` and `events` exits) and what was logged and traced meanwhile may show the token. */
export const endPlaces = (
  captured: { readonly lines: ReadonlyArray<string>; readonly spans: ReadonlyArray<RecordedSpan> },
  ended: Exit.Exit<unknown, unknown>,
  streamEnd: Exit.Exit<unknown, unknown>
): Array<Place> => [
  ...exitPlaces("await exit", ended),
  ...exitPlaces("events exit", streamEnd),
  ...lineTexts(captured.lines),
  ...spanTexts(captured.spans)
]
