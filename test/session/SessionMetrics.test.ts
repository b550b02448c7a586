import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as TestClock from "effect/TestClock"
import * as SessionMetrics from "../../src/session/SessionMetrics.ts"
import { acceptAndHello, dispatch, options, ready, Session, settle, TestLayer } from "./harness.ts"

// Shard 5 of 6: no other test in this file uses it. The registry is the process's: other files run
// in the same process may have counted for shard 5 too, so counts are taken as differences.
const shard = MetricLabel.make("shard", "5")
const type = (name: string) => MetricLabel.make("type", name)
const counterOf = (metric: typeof SessionMetrics.events, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Effect.map(Metric.value(Metric.taggedWithLabels(metric, labels)), (state) => state.count)

describe("SessionMetrics", () => {
  it.scoped("counts events by type, heartbeat latency, reconnects by reason and identify waits", () =>
    Effect.gen(function*() {
      // the counters without a shard tag are shared by every session of the process
      const messagesBefore = yield* counterOf(SessionMetrics.events, [type("MESSAGE_CREATE")])
      const readyBefore = yield* counterOf(SessionMetrics.events, [type("READY")])
      const waitsBefore = (yield* Metric.value(SessionMetrics.identifyWait)).count
      const reconnects = [shard, MetricLabel.make("reason", "Reconnect")]
      const reconnectsBefore = yield* counterOf(SessionMetrics.reconnects, reconnects)
      const latencyOfShard = Metric.taggedWithLabels(SessionMetrics.heartbeatLatency, [shard])
      const beatsBefore = (yield* Metric.value(latencyOfShard)).count
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

      expect((yield* counterOf(SessionMetrics.events, [type("MESSAGE_CREATE")])) - messagesBefore).toBe(2)
      expect((yield* counterOf(SessionMetrics.events, [type("READY")])) - readyBefore).toBe(1)
      expect((yield* counterOf(SessionMetrics.reconnects, reconnects)) - reconnectsBefore).toBe(1)
      expect((yield* Metric.value(latencyOfShard)).count - beatsBefore).toBe(1)
      expect((yield* Metric.value(SessionMetrics.identifyWait)).count - waitsBefore).toBe(1)
      const depth = yield* Metric.value(Metric.taggedWithLabels(SessionMetrics.sendQueueDepth, [shard]))
      expect(depth.value).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("counts event types beyond the first maxEventTypes as other", () =>
    Effect.gen(function*() {
      const metrics = SessionMetrics.make(0)
      const names = Array.from({ length: SessionMetrics.maxEventTypes + 44 }, (_, i) => `MADE_UP_${i}`)
      const otherBefore = yield* counterOf(SessionMetrics.events, [type("other")])
      for (const name of names) metrics.event(name)
      const own = yield* Effect.forEach(names, (name) => counterOf(SessionMetrics.events, [type(name)]))
      const other = (yield* counterOf(SessionMetrics.events, [type("other")])) - otherBefore
      // each counted once, the first ones apart, the last ones (past the limit, whatever came before) as other
      expect(own.every((count) => count === 0 || count === 1)).toBe(true)
      expect(own.reduce((sum, count) => sum + count, 0) + other).toBe(names.length)
      expect(own[0]).toBe(1)
      expect(own.slice(-44)).toEqual(Array.from({ length: 44 }, () => 0))
    }))
})
