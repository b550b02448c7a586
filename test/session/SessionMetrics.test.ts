import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as TestClock from "effect/TestClock"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { acceptAndHello, dispatch, options, ready, Session, settle, TestLayer } from "./harness.ts"

// Shard 5 of 6: no other test in this file uses it, so the global registry's values are ours.
const shard = MetricLabel.make("shard", "5")
const counterOf = (metric: typeof SessionMetrics.events, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Effect.map(Metric.value(Metric.taggedWithLabels(metric, labels)), (state) => state.count)

describe("SessionMetrics", () => {
  it.scoped("counts events by type, heartbeat latency, reconnects by reason and identify waits", () =>
    Effect.gen(function*() {
      yield* Session.make(options({ shard: [5, 6] }))
      const { peer } = yield* acceptAndHello(1000)
      yield* peer.sendJson(ready(1, "s", [5, 6]))
      yield* peer.sendJson(dispatch(2, "MESSAGE_CREATE", {}))
      yield* peer.sendJson(dispatch(3, "MESSAGE_CREATE", {}))
      yield* settle
      yield* TestClock.adjust("1 second") // the first beat (jitter < 1) and the next flush
      yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
      yield* settle
      yield* peer.sendJson({ op: 7, d: null, s: null, t: null })
      yield* settle
      yield* TestClock.adjust("1 second")

      expect(yield* counterOf(SessionMetrics.events, [shard, MetricLabel.make("type", "MESSAGE_CREATE")])).toBe(2)
      expect(yield* counterOf(SessionMetrics.events, [shard, MetricLabel.make("type", "READY")])).toBe(1)
      expect(yield* counterOf(SessionMetrics.reconnects, [shard, MetricLabel.make("reason", "Reconnect")])).toBe(1)
      const latency = yield* Metric.value(Metric.taggedWithLabels(SessionMetrics.heartbeatLatency, [shard]))
      expect(latency.count).toBe(1)
      const identifyWait = yield* Metric.value(Metric.taggedWithLabels(SessionMetrics.identifyWait, [shard]))
      expect(identifyWait.count).toBe(1)
      const depth = yield* Metric.value(Metric.taggedWithLabels(SessionMetrics.sendQueueDepth, [shard]))
      expect(depth.value).toBe(0)
    }).pipe(Effect.provide(TestLayer)))
})
