/**
 * A tracer for tests that keeps every span it makes, with what it was told: attributes, events
 * (their attributes too), and the exit it ended with, as a test tracer or one that prints spans does.
 */
import type * as Exit from "effect/Exit"
import type * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/** A span that records what is done with it. */
export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId = "trace"
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> | undefined }> = []
  status: Tracer.SpanStatus
  ended: Exit.Exit<unknown, unknown> | undefined
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Tracer.Span["context"],
    readonly links: Array<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    id: number,
    /** Whether the span was made with a stack trace of where it was made. */
    readonly capturedStack: boolean
  ) {
    this.spanId = `span-${id}`
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.ended = exit
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown) {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>) {
    this.events.push({ name, attributes })
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.links.push(...links)
  }
}

/** A tracer and the spans it made, in order. */
export const recordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const capturedStack = typeof options?.captureStackTrace === "function"
      const span = new RecordedSpan(name, parent, context, [...links], startTime, kind, spans.length, capturedStack)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}
