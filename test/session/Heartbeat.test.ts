import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Heartbeat from "../../src/session/Heartbeat.ts"
import { settle } from "../settle.ts"

describe("Heartbeat.Tracker", () => {
  it("measures a round trip from the beat its ACK answers; an ACK with no beat outstanding measures nothing", () => {
    const tracker = new Heartbeat.Tracker()
    // an ACK before any beat (a live clock reads epoch milliseconds)
    expect(tracker.acked(1_750_000_000_000)).toBe(false)
    expect(tracker.latency).toBeUndefined()
    tracker.sent(1_750_000_000_000, true)
    expect(tracker.isZombie()).toBe(true)
    expect(tracker.acked(1_750_000_000_040)).toBe(true)
    expect([tracker.latency, tracker.isZombie()]).toEqual([40, false])
    // a second ACK for the same beat
    expect(tracker.acked(1_750_000_005_000)).toBe(false)
    expect([tracker.latency, tracker.acknowledged]).toEqual([40, 3])
  })

  it("answers beats in order: a beat the gateway asked for (op 1) while one awaits its ACK does not shorten the first round trip", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    tracker.sent(1200, false)
    // every round trip took 300 ms
    expect(tracker.acked(1300)).toBe(true)
    expect(tracker.latency).toBe(300)
    expect(tracker.acked(1500)).toBe(true)
    expect(tracker.latency).toBe(300)
    expect(tracker.acked(1600)).toBe(false)
  })

  it("an ACK answering a beat the gateway asked for (op 1) leaves the scheduled beat sent after it awaiting its own (it took the ACK for both)", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, false)
    tracker.sent(1500, true)
    expect(tracker.acked(1100)).toBe(true)
    expect(tracker.isZombie()).toBe(true)
    expect(tracker.acked(1600)).toBe(true)
    expect(tracker.isZombie()).toBe(false)
    // two scheduled beats out (a stall forgave none): both are awaited
    tracker.sent(2000, true)
    tracker.sent(3000, true)
    tracker.acked(2100)
    expect(tracker.isZombie()).toBe(true)
    tracker.acked(3100)
    expect(tracker.isZombie()).toBe(false)
  })

  // Beats dropped past the 64 kept were forgotten, their ACKs then taken for later beats': a beat
  // sent after a long hold measured a round trip of 1 ms, and its own ACK none.
  it("a reader held back for more beats than are kept: the ACKs of those dropped answer no beat sent after", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(0, true)
    tracker.acked(40)
    tracker.pause(500)
    for (let beat = 1; beat <= 70; beat++) tracker.sent(beat * 1000, true)
    tracker.resume(70_500)
    tracker.sent(71_000, true)
    // the 70 ACKs left unread, in a burst: none measures, none answers the beat at 71 s
    for (let ack = 0; ack < 70; ack++) expect(tracker.acked(71_001)).toBe(false)
    expect(tracker.latency).toBe(40)
    // its own ACK measures its round trip
    expect(tracker.acked(71_050)).toBe(true)
    expect(tracker.latency).toBe(50)
  })

  it("after a stall between a beat and its ACK, the next beat left unanswered is a zombie at once (the count went below zero, a tick late for the connection's life)", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    // the late tick forgives the beat, then beats
    tracker.stalled()
    tracker.sent(12000, true)
    // the forgiven beat's ACK, then the late beat's
    tracker.acked(12010)
    tracker.acked(12050)
    expect(tracker.isZombie()).toBe(false)
    for (let beat = 0; beat < 3; beat++) {
      tracker.sent(20000 + beat * 1000, true)
      tracker.acked(20040 + beat * 1000)
    }
    // the link dies after this beat
    tracker.sent(30000, true)
    expect(tracker.isZombie()).toBe(true)
  })

  it("measures nothing with the ACK read after a pause, which may have waited unread; the next beat measures again", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    tracker.pause(1001)
    expect(tracker.isZombie()).toBe(false)
    tracker.resume(9000)
    // answered at once, read 8 s later once the program took its events
    expect(tracker.acked(9000)).toBe(false)
    expect(tracker.latency).toBeUndefined()
    tracker.sent(11_000, true)
    expect(tracker.acked(11_030)).toBe(true)
    expect(tracker.latency).toBe(30)
  })

  it("the ACK of a beat forgiven (a stall, a reader held back), read once a later beat went out, measures nothing, not a round trip of about 0 ms; the later beat's ACK measures its own", () => {
    for (const forgive of ["stalled", "resume"] as const) {
      const tracker = new Heartbeat.Tracker()
      tracker.sent(20_625, true)
      if (forgive === "resume") {
        tracker.pause(21_000)
        tracker.resume(65_000)
      } else {
        tracker.stalled()
      }
      // the beat that was due goes out before the reader gets to the first beat's ACK
      tracker.sent(65_725, true)
      expect(tracker.acked(65_726), forgive).toBe(false)
      expect(tracker.latency, forgive).toBeUndefined()
      expect(tracker.acked(65_760), forgive).toBe(true)
      expect(tracker.latency, forgive).toBe(35)
    }
  })

  it("a beat out when the reader paused counts from later by the time it was held: no zombie at the first tick after it goes on (its ACK may still sit unread); judged at the next", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    tracker.pause(1100)
    tracker.resume(41_000)
    // the next tick (42 250, judging beats from half an interval before) comes before the reader
    // got to the ACK queued behind the events
    expect(tracker.isZombie(42_250 - 20_625)).toBe(false)
    tracker.sent(42_250, true)
    expect(tracker.isZombie(83_500 - 20_625)).toBe(true)
  })

  // the reader waited an instant for room at every burst: each resume dropped the beat awaiting
  // its ACK, and a dead link streaming bursts was never found
  it("a hold of no time gives nothing: the beat is judged as if the reader had not waited", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    for (let at = 2000; at < 42_000; at += 1000) {
      tracker.pause(at)
      tracker.resume(at)
    }
    expect(tracker.isZombie(42_250 - 20_625)).toBe(true)
  })

  it("a hold of no time changes nothing: the ACK read after it still measures its round trip", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    tracker.pause(1010)
    tracker.resume(1010)
    expect([tracker.acked(1030), tracker.latency]).toEqual([true, 30])
  })

  it("a stall forgives only the beats its tick judges: one sent since is judged afresh at the next", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    // a beat held back by the send limit, out 5 s before the late tick: not judged by it
    tracker.sent(38_000, true)
    tracker.stalled(43_750 - 20_625)
    expect(tracker.stallForgave(Infinity)).toBe(true)
    tracker.acked(43_800)
    // the forgiven beat answered: the one left was not forgiven
    expect(tracker.stallForgave(Infinity)).toBe(false)
  })

  // ticks that all ran late forgave every beat: a dead link under a busy event loop was never found
  it("a stall gives a beat until the next tick once: at a later stall it is lost", () => {
    const tracker = new Heartbeat.Tracker()
    tracker.sent(1000, true)
    // the tick at 42 250 runs 1.5 s late: the beat is unanswered, and given until the next
    expect([tracker.isZombie(43_750 - 20_625), tracker.stallForgave(43_750 - 20_625)]).toEqual([true, false])
    tracker.stalled()
    tracker.sent(43_750, true)
    // the next, late again: lost
    expect([tracker.isZombie(85_000 - 20_625), tracker.stallForgave(85_000 - 20_625)]).toEqual([true, true])
  })
})

describe("Heartbeat.beating", () => {
  /** A beating over a tracker whose beats and zombie verdicts are counted. */
  const counted = (interval = 41_250) => {
    const tracker = new Heartbeat.Tracker()
    const seen = { beats: 0, zombies: 0 }
    const beating = Heartbeat.beating({
      interval,
      jitter: 0.5,
      tracker,
      beat: Effect.clockWith((clock) =>
        Effect.sync(() => {
          seen.beats++
          tracker.sent(clock.unsafeCurrentTimeMillis(), true)
        })
      ),
      onZombie: Effect.sync(() => {
        seen.zombies++
      }),
      onDefect: () => Effect.void
    })
    // a zombie verdict is given on a fiber of its own, once Node read its sockets: let it run
    const tick = (lateMs: number) => Effect.zipRight(beating.tick(lateMs), settle)
    return { beating: { tick }, seen, tracker }
  }

  it.effect("a tick on time finds a beat still unanswered a zombie", () =>
    Effect.gen(function*() {
      const { beating, seen } = counted()
      yield* beating.tick(0)
      yield* TestClock.adjust("41250 millis")
      yield* beating.tick(5)
      expect(seen).toEqual({ beats: 1, zombies: 1 })
    }))

  // A beat held back by the send limit went out 200 ms before the next tick, which closed the
  // connection of a gateway answering in 300 ms as a zombie.
  it.effect("a beat sent less than half an interval before the tick is given until the next one", () =>
    Effect.gen(function*() {
      const { beating, seen, tracker } = counted()
      yield* TestClock.adjust("41050 millis")
      tracker.sent(41_050, true)
      yield* TestClock.adjust("200 millis")
      yield* beating.tick(0)
      expect(seen).toEqual({ beats: 1, zombies: 0 })
      yield* TestClock.adjust("41250 millis")
      yield* beating.tick(0)
      expect(seen).toEqual({ beats: 1, zombies: 1 })
    }))

  it.effect("a tick more than a second late (the process stalled) beats instead: the ACK may wait unread; the beat after is judged again", () =>
    Effect.gen(function*() {
      const { beating, seen } = counted()
      yield* beating.tick(0)
      yield* TestClock.adjust("45000 millis")
      yield* beating.tick(3_750)
      expect(seen).toEqual({ beats: 2, zombies: 0 })
      yield* TestClock.adjust("41250 millis")
      yield* beating.tick(0)
      expect(seen).toEqual({ beats: 2, zombies: 1 })
    }))

  // a test's or a local gateway's interval: a worker stalled for half a second right after a beat
  // ran the tick before it read the ACK waiting in the socket, and closed a healthy connection
  it.effect("at an interval under two seconds, a tick more than half an interval late is one after a stall", () =>
    Effect.gen(function*() {
      const { beating, seen } = counted(300)
      yield* beating.tick(0)
      yield* TestClock.adjust("500 millis")
      yield* beating.tick(200)
      expect(seen).toEqual({ beats: 2, zombies: 0 })
      // on time, or later by less than half an interval, the beat left unanswered is a zombie
      yield* TestClock.adjust("300 millis")
      yield* beating.tick(100)
      expect(seen).toEqual({ beats: 2, zombies: 1 })
    }))
})
