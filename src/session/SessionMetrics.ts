/**
 * What a session reports to Effect's metric registry, for operators: events by type, heartbeat
 * latency, reconnects and their reasons, gateway sessions lost, identify waits, the command queue,
 * the program's commands by outcome and how sessions ended. Export them with any Effect metrics exporter (e.g.
 * `@effect/opentelemetry`'s `NodeSdk.layer` with a metric reader).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import { isTypeName, knownTypeNames } from "../protocol/Event.ts"
import { FatalClose } from "./SessionError.ts"
import type { Reason } from "./SessionState.ts"

/**
 * Dispatches received (delivered or, when the program asked for other types only, skipped),
 * tagged `type`. Not tagged `shard`: shards times types would be tens of thousands of series for a
 * large bot, and a shard's own event rate is in the fleet's status.
 *
 * @since 0.1.0
 */
export const events = Metric.counter("discord_gateway_events_total", {
  description: "Dispatch events received",
  incremental: true
})

/**
 * Heartbeat round trips in milliseconds, tagged `shard`.
 *
 * @since 0.1.0
 */
export const heartbeatLatency = Metric.histogram(
  "discord_gateway_heartbeat_latency_ms",
  MetricBoundaries.exponential({ start: 5, factor: 2, count: 12 }),
  "Heartbeat to heartbeat ACK, in milliseconds"
)

/**
 * Attempts to connect after the first, counted as each begins (as `reconnects` in a session's
 * snapshot), tagged `shard` and `reason`: why the attempt before it (a connection, or a
 * `GET /gateway/bot` that failed before one) ended (`Zombie`, `Closed`, `Reconnect`,
 * `GatewayInfoFailed`, ...).
 *
 * @since 0.1.0
 */
export const reconnects = Metric.counter("discord_gateway_reconnects_total", {
  description: "Attempts to connect after the first, by why the one before ended",
  incremental: true
})

/**
 * Gateway sessions lost, counted as the session forgets one to identify anew (its events since
 * are not replayed), tagged `shard` and `reason`: `ResumesFailed` (given up after Resumes in a row
 * that got no RESUMED, or that the gateway kept asking for again), else why the connection that
 * lost it ended (`InvalidSession`: op 9; `Closed`: 4007, 4009...), a transition reason's tag. A
 * connection that never got READY loses none.
 *
 * @since 0.1.0
 */
export const sessionsLost = Metric.counter("discord_gateway_sessions_lost_total", {
  description: "Gateway sessions lost (identified anew, their events since not replayed), by why",
  incremental: true
})

/**
 * Why a gateway session was lost, as `sessionsLost` tags it: `ResumesFailed` (given up after
 * Resumes that got no RESUMED, or that the gateway kept asking for again), else the tag of the
 * reason the connection that lost it ended for.
 *
 * @since 0.1.0
 */
export type LostReason = "ResumesFailed" | Reason["_tag"]

/**
 * Time spent waiting for an identify turn in milliseconds, one sample per Identify: its key's turn
 * and, before its connection, the budget's (`IdentifyBudget`). Not tagged `shard`: the turns are the
 * bot's, shared by its shards, and each shard waits about once per connection. Its buckets double
 * from 10 ms to about 23 hours: a budget's refill is up to a day away (they stopped at 5.5 minutes,
 * and every budget wait fell in the last).
 *
 * @since 0.1.0
 */
export const identifyWait = Metric.histogram(
  "discord_gateway_identify_wait_ms",
  // (`count` bounds, the last of them infinite: 10 ms times 2^23 is the last finite one)
  MetricBoundaries.exponential({ start: 10, factor: 2, count: 25 }),
  "Wait for the identify limiter before an Identify, in milliseconds"
)

/**
 * Commands waiting to be sent, tagged `shard`: of every session of that shard number in the
 * process (two bots' shard 0 add up).
 *
 * @since 0.1.0
 */
export const sendQueueDepth = Metric.gauge("discord_gateway_send_queue_depth", {
  description: "Commands queued and not yet written"
})

/**
 * The program's commands, counted as each call ends, tagged `command` (`PresenceUpdate`,
 * `VoiceStateUpdate`, `RequestGuildMembers`, `RequestSoundboardSounds`, `RequestChannelInfo`) and
 * `outcome`: `done` (written to a connection; a member request: answered in full), the error's tag
 * (`InvalidCommand`: refused before it was queued; `SessionClosed`), a member request's failure
 * (`RateLimited`, `Timeout`, `Malformed`, `Lost`), `interrupted` (its caller gave up first) or
 * `defect`. Not tagged `shard`, as `events`.
 *
 * @since 0.1.0
 */
export const commands = Metric.counter("discord_gateway_commands_total", {
  description: "Commands the program gave, by how each call ended",
  incremental: true
})

/**
 * Sessions that ended, tagged `reason`: `Disconnect` (stopped: `disconnect`, `end`, its scope
 * closed), the error that ended it (`FatalClose`, with `code` too, such as `"4004"`;
 * `IdentifyBudgetExhausted`, `GatewayInfoError`, `MessageTooLarge`) or `Defect`. Not tagged
 * `shard`: a reset token ends every shard with 4004, counted in one series.
 *
 * @since 0.1.0
 */
export const sessionEnds = Metric.counter("discord_gateway_session_ends_total", {
  description: "Sessions that ended, by why",
  incremental: true
})

/**
 * Set (`Effect.locally`) around the commands a fleet sends of its own accord, not the program's: a
 * presence sent again in place of one given up on, the latest sent to a shard that starts. They
 * are not counted in `commands`.
 *
 * @internal
 * @since 0.1.0
 */
export const fleetsOwn: FiberRef.FiberRef<boolean> = globalValue(
  Symbol.for("effect-discord-gateway/SessionMetrics/fleetsOwn"),
  () => FiberRef.unsafeMake(false)
)

// the `outcome` a command's call is counted with
const commandOutcome = (exit: Exit.Exit<unknown, { readonly _tag: string; readonly reason?: string }>): string => {
  if (Exit.isSuccess(exit)) return "done"
  if (Cause.isInterruptedOnly(exit.cause)) return "interrupted"
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") return "defect"
  // a member request's failure by what its answer was; any other error (an InvalidCommand's reason
  // says only how it broke a rule) by its tag
  return failure.value._tag === "MemberRequestError" && failure.value.reason !== undefined ? failure.value.reason : failure.value._tag
}

/**
 * One session's metric handle. Counting an event is a synchronous registry update (about 25 ns),
 * so it costs no Effect per event. Its members are methods of one object that every session
 * shares: call them on it (one taken off it has no `this`).
 *
 * @since 0.1.0
 */
export interface SessionMetrics {
  /** Counts one received event. Synchronous. */
  event(type: string): void
  /** Records a heartbeat round trip. Synchronous. */
  latency(ms: number): void
  /** Records a connection that ended, and why. */
  reconnect(reason: string): Effect.Effect<void>
  /** Counts a gateway session lost, and why. */
  sessionLost(reason: LostReason): Effect.Effect<void>
  /** Records an identify wait. */
  identifyWait(ms: number): Effect.Effect<void>
  /** Records how many of the session's commands wait to be sent (its share of the shard's gauge). */
  queueDepth(depth: number): Effect.Effect<void>
  /** Counts a command's call that ended (`command`: its `_tag`), unless a fleet's own (`fleetsOwn`). */
  command(command: string, exit: Exit.Exit<unknown, { readonly _tag: string; readonly reason?: string }>): Effect.Effect<void>
  /** Counts the session's end: a success is a stop, a failure its error (or a defect). */
  ended(exit: Exit.Exit<void, { readonly _tag: string }>): Effect.Effect<void>
}

/**
 * How many event types the typings do not know `discord_gateway_events_total` counts apart. Every
 * type they know (Discord's own, about 80) always counts apart. Unknown types past these, and names
 * no Discord event has (anything but 1-64 of `A-Z`, `0-9` and `_`), count as `type="other"`: a
 * gateway sending made-up types, or a megabyte of name, can neither grow the registry without end
 * nor hide Discord's types in `other`.
 *
 * @since 0.1.0
 */
export const maxEventTypes = 256

// the `type` tags, shared by every session: the metric finds its counter by the tags' identity
const typeTags = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const otherTags = [MetricLabel.make("type", "other")]
let unknownTypes = 0
const tagsOf = (type: string) => {
  let tags = typeTags.get(type)
  if (tags === undefined) {
    if (!knownTypeNames.has(type)) {
      if (unknownTypes >= maxEventTypes || !isTypeName(type)) return otherTags
      unknownTypes++
    }
    tags = [MetricLabel.make("type", type)]
    typeTags.set(type, tags)
  }
  return tags
}

/**
 * The metrics of shard `shard`: the handle a session makes for itself. Its members are methods,
 * shared by every shard's handle: call them on it (taken off it, or spread, they lose it).
 *
 * @since 0.1.0
 */
export const make = (shard: number): SessionMetrics => new ShardMetrics(MetricLabel.make("shard", String(shard)))

// A class, its methods shared by every session's handle: a thousand idle shards should not each
// keep a closure per metric, nor a tagged gauge for commands they may never queue.
class ShardMetrics implements SessionMetrics {
  private readonly shardTags: ReadonlyArray<MetricLabel.MetricLabel>
  // made at the first command queued
  private queued: Metric.Metric.Gauge<number> | undefined = undefined
  // what this session added to the gauge: it moves the gauge by its own changes only
  private depthAdded = 0

  constructor(private readonly shardLabel: MetricLabel.MetricLabel) {
    this.shardTags = [shardLabel]
  }

  event(type: string): void {
    events.unsafeUpdate(1, tagsOf(type))
  }

  latency(ms: number): void {
    heartbeatLatency.unsafeUpdate(ms, this.shardTags)
  }

  reconnect(reason: string): Effect.Effect<void> {
    return Metric.increment(Metric.taggedWithLabels(reconnects, [this.shardLabel, MetricLabel.make("reason", reason)]))
  }

  sessionLost(reason: LostReason): Effect.Effect<void> {
    return Metric.increment(Metric.taggedWithLabels(sessionsLost, [this.shardLabel, MetricLabel.make("reason", reason)]))
  }

  identifyWait(ms: number): Effect.Effect<void> {
    return Metric.update(identifyWait, ms)
  }

  queueDepth(depth: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const change = depth - this.depthAdded
      this.depthAdded = depth
      if (change === 0) return Effect.void
      this.queued ??= Metric.taggedWithLabels(sendQueueDepth, this.shardTags)
      return Metric.incrementBy(this.queued, change)
    })
  }

  command(command: string, exit: Exit.Exit<unknown, { readonly _tag: string; readonly reason?: string }>): Effect.Effect<void> {
    return Effect.flatMap(FiberRef.get(fleetsOwn), (own) =>
      own ? Effect.void : Metric.increment(Metric.taggedWithLabels(commands, [
        MetricLabel.make("command", command),
        MetricLabel.make("outcome", commandOutcome(exit))
      ])))
  }

  ended(exit: Exit.Exit<void, { readonly _tag: string }>): Effect.Effect<void> {
    return Metric.increment(Metric.taggedWithLabels(sessionEnds, endLabels(exit)))
  }
}

const endLabels = (exit: Exit.Exit<void, { readonly _tag: string }>): ReadonlyArray<MetricLabel.MetricLabel> => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return [MetricLabel.make("reason", "Disconnect")]
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") return [MetricLabel.make("reason", "Defect")]
  const error = failure.value
  return error instanceof FatalClose
    ? [MetricLabel.make("reason", error._tag), MetricLabel.make("code", String(error.code))]
    : [MetricLabel.make("reason", error._tag)]
}
