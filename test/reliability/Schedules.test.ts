/**
 * Random schedules of gateway faults against one session (in-memory transport, `TestClock`): a
 * Discord-like gateway model answers Hello, Identify (READY) and Resume (a replay, which may
 * overlap what the client has, and RESUMED; op 9 false for a session it ended), keeps each gateway
 * session's dispatches, and runs the steps a schedule draws: dispatches, drops, closes, op 7, op 9,
 * op 1, ACKs withheld, a late Hello, refused connects (some with `Retry-After`), time passing and
 * the program pausing. Once the gateway is healthy again, nothing is lost or doubled, no identify
 * is needless or early, nothing storms, and nothing of the session is left after it ends; a fatal
 * close after any schedule ends the session with it. Seeds are fixed: a failure prints the seed,
 * the shrunk schedule and what broke.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import type { GatewayEvent } from "../../src/protocol/Event.ts"
import * as Session from "../../src/session/Session.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { settle } from "../settle.ts"
import { options, TestLayer } from "../session/harness.ts"

const interval = 10_000

export type Step =
  | { readonly k: "dispatch"; readonly n: number }
  | { readonly k: "drop" }
  | { readonly k: "close"; readonly code: number }
  | { readonly k: "op7" }
  | { readonly k: "op9"; readonly resumable: boolean }
  | { readonly k: "op1" }
  | { readonly k: "acks"; readonly on: boolean }
  | { readonly k: "helloDelay"; readonly ms: number }
  | { readonly k: "overlap"; readonly n: number }
  | { readonly k: "refuse"; readonly times: number; readonly retryAfter: number | undefined }
  | { readonly k: "time"; readonly ms: number }
  | { readonly k: "pause" }
  | { readonly k: "resume" }

const resumableCodes = [4000, 4001, 4002, 4008, 1006, 4900, 1011, 1012] as const
const newSessionCodes = [4003, 4005, 4007, 4009] as const
const fatalCodes = [4004, 4010, 4011, 4012, 4013, 4014] as const

const F = FastCheck
const arbitraryStep: FastCheck.Arbitrary<Step> = F.oneof(
  { weight: 6, arbitrary: F.record({ k: F.constant("dispatch" as const), n: F.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: F.constant({ k: "drop" as const }) },
  { weight: 2, arbitrary: F.record({ k: F.constant("close" as const), code: F.constantFrom(...resumableCodes) }) },
  { weight: 1, arbitrary: F.record({ k: F.constant("close" as const), code: F.constantFrom(...newSessionCodes) }) },
  { weight: 2, arbitrary: F.constant({ k: "op7" as const }) },
  { weight: 2, arbitrary: F.record({ k: F.constant("op9" as const), resumable: F.boolean() }) },
  { weight: 1, arbitrary: F.constant({ k: "op1" as const }) },
  { weight: 2, arbitrary: F.record({ k: F.constant("acks" as const), on: F.boolean() }) },
  { weight: 1, arbitrary: F.record({ k: F.constant("helloDelay" as const), ms: F.constantFrom(0, 0, 3000, 19_000, 25_000) }) },
  { weight: 2, arbitrary: F.record({ k: F.constant("overlap" as const), n: F.integer({ min: 0, max: 6 }) }) },
  {
    weight: 1,
    arbitrary: F.record({
      k: F.constant("refuse" as const),
      times: F.integer({ min: 1, max: 4 }),
      retryAfter: F.option(F.integer({ min: 1, max: 10 }), { nil: undefined })
    })
  },
  { weight: 6, arbitrary: F.record({ k: F.constant("time" as const), ms: F.constantFrom(100, 500, 1000, 3000, 7000, 15_000, 45_000, 90_000) }) },
  { weight: 1, arbitrary: F.constant({ k: "pause" as const }) },
  { weight: 1, arbitrary: F.constant({ k: "resume" as const }) }
)

interface GwSession {
  readonly id: string
  seq: number
  /** Replayable dispatches (READY and RESUMED are not replayed). */
  readonly log: Array<{ s: number; t: string; d: unknown }>
  /** The sequence numbers of the "EV" dispatches, in order. */
  readonly evs: Array<number>
  valid: boolean
  peer: MemoryTransport.MemoryPeer | undefined
}

interface ConnRecord {
  readonly peer: MemoryTransport.MemoryPeer
  readonly at: number
  kind: "none" | "identify" | "resume"
  answered: boolean
  /** For an identify: whether the session the client held last was still valid on the gateway. */
  heldStillValid?: boolean
  resumeSeq?: number
  resumeOf?: string
}

interface World {
  readonly sessions: Map<string, GwSession>
  nextId: number
  /** The session dispatches go to (the last one READY or RESUMED). */
  active: GwSession | undefined
  /** The session the client held last (READY or RESUMED sent to it). */
  held: GwSession | undefined
  current: MemoryTransport.MemoryPeer | undefined
  helloDelay: number
  acks: boolean
  overlap: number
  readonly identifiesAt: Array<number>
  readonly conns: Array<ConnRecord>
  readonly notes: Array<string>
}

const makeWorld = (): World => ({
  sessions: new Map(),
  nextId: 0,
  active: undefined,
  held: undefined,
  current: undefined,
  helloDelay: 0,
  acks: true,
  overlap: 0,
  identifiesAt: [],
  conns: [],
  notes: []
})

const now = Effect.map(TestClock.currentTimeMillis, (ms) => ms)

const send = (peer: MemoryTransport.MemoryPeer | undefined, value: unknown) =>
  peer === undefined ? Effect.void : peer.sendJson(value)

/** A new dispatch on `session`, sent when it is attached. */
const dispatchOn = (session: GwSession, t: string, replayable: boolean) =>
  Effect.suspend(() => {
    session.seq++
    const s = session.seq
    const d = t === "EV" ? { sid: session.id, n: s } : {}
    if (replayable) session.log.push({ s, t, d })
    if (t === "EV") session.evs.push(s)
    return send(session.peer, { op: 0, s, t, d })
  })

const invalidate = (world: World, session: GwSession | undefined) => {
  if (session === undefined) return
  session.valid = false
  if (world.active === session) world.active = undefined
}

/** Serves one accepted connection as Discord would. */
const serve = (world: World, peer: MemoryTransport.MemoryPeer) =>
  Effect.gen(function*() {
    const record: ConnRecord = { peer, at: yield* now, kind: "none", answered: false }
    world.conns.push(record)
    world.current = peer
    yield* peer.autoAck(world.acks)
    if (world.helloDelay > 0) yield* Effect.sleep(world.helloDelay)
    yield* peer.sendJson({ op: 10, d: { heartbeat_interval: interval }, s: null, t: null })
    while (true) {
      const payload = (yield* peer.receivedJson) as { op: number; d: unknown }
      if (payload.op === 2) {
        record.kind = "identify"
        record.heldStillValid = world.held !== undefined && world.held.valid
        world.identifiesAt.push(yield* now)
        const id = `s${++world.nextId}`
        const session: GwSession = { id, seq: 0, log: [], evs: [], valid: true, peer }
        world.sessions.set(id, session)
        world.active = session
        world.held = session
        record.answered = true
        session.seq = 1
        yield* peer.sendJson({
          op: 0,
          s: 1,
          t: "READY",
          d: {
            v: 10,
            session_id: id,
            resume_gateway_url: "ws://resume.test/",
            user: { id: "1", username: "bot" },
            guilds: [],
            shard: [0, 1],
            application: { id: "2", flags: 0 }
          }
        })
      } else if (payload.op === 6) {
        record.kind = "resume"
        const { seq, session_id } = payload.d as { session_id: string; seq: number }
        record.resumeSeq = seq
        record.resumeOf = session_id
        const session = world.sessions.get(session_id)
        if (session === undefined || !session.valid || seq > session.seq) {
          if (session !== undefined && seq > session.seq) world.notes.push(`resume of ${session_id} from ${seq} past ${session.seq}`)
          yield* peer.sendJson({ op: 9, d: false, s: null, t: null })
          continue
        }
        if (session.peer !== undefined && session.peer !== peer) {
          yield* session.peer.close(4000, "Session resumed on another connection.")
        }
        session.peer = peer
        world.active = session
        world.held = session
        record.answered = true
        for (const entry of session.log.filter((e) => e.s > seq - world.overlap)) {
          yield* peer.sendJson({ op: 0, s: entry.s, t: entry.t, d: entry.d })
        }
        yield* dispatchOn(session, "RESUMED", false)
      }
    }
  }).pipe(
    Effect.catchTag("ConnectionEnded", (ended) =>
      Effect.sync(() => {
        for (const session of world.sessions.values()) {
          if (session.peer === peer) {
            session.peer = undefined
            if (ended.closed.by === "client" && (ended.closed.code === 1000 || ended.closed.code === 1001)) invalidate(world, session)
          }
        }
      }))
  )

/** Accepts every connection the client opens and serves it, forever (fork it in the test's scope). */
const acceptor = (world: World) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    while (true) {
      const peer = yield* gateway.accept
      yield* Effect.forkScoped(serve(world, peer))
    }
  })

/** Advances the TestClock by `ms` in small slices, letting every fiber run in each. */
const advance = (ms: number, slice = 1000) =>
  Effect.gen(function*() {
    let left = ms
    while (left > 0) {
      const d = Math.min(slice, left)
      yield* TestClock.adjust(d)
      yield* settle
      left -= d
    }
  })

/** Applies one schedule step (the consumer's pause and resume are the caller's). */
const apply = (world: World, step: Step) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const peer = world.current
    switch (step.k) {
      case "dispatch": {
        const session = world.active
        if (session === undefined || !session.valid) return
        for (let i = 0; i < step.n; i++) yield* dispatchOn(session, "EV", true)
        return
      }
      case "drop":
        if (peer !== undefined) yield* peer.drop
        return
      case "close":
        if (peer === undefined) return
        if ((newSessionCodes as ReadonlyArray<number>).includes(step.code)) invalidate(world, world.active)
        yield* peer.close(step.code)
        return
      case "op7":
        return yield* send(peer, { op: 7, d: null, s: null, t: null })
      case "op9":
        if (peer === undefined) return
        if (!step.resumable) invalidate(world, world.active)
        return yield* send(peer, { op: 9, d: step.resumable, s: null, t: null })
      case "op1":
        return yield* send(peer, { op: 1, d: null, s: null, t: null })
      case "acks":
        world.acks = step.on
        if (peer !== undefined) yield* peer.autoAck(step.on)
        return
      case "helloDelay":
        world.helloDelay = step.ms
        return
      case "overlap":
        world.overlap = step.n
        return
      case "refuse":
        return yield* gateway.failNextConnect(
          step.times,
          step.retryAfter === undefined ? undefined : { status: 429, retryAfter: step.retryAfter }
        )
      case "time":
        return yield* advance(step.ms)
      case "pause":
      case "resume":
        return
    }
  })


// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

const seed = 0xfa017
const show = (steps: ReadonlyArray<Step>) => steps.map((s) => JSON.stringify(s)).join(" ")

interface Run {
  readonly world: World
  readonly got: Array<GatewayEvent>
  readonly attempts: ReadonlyArray<MemoryTransport.ConnectAttempt>
  readonly state: string
  readonly leftFibers: number
  readonly problems: Array<string>
}

/** Checks that `got` holds, for every gateway session, a prefix of its EV dispatches, once each, in order; the whole log for `whole`. */
const deliveryProblems = (world: World, got: ReadonlyArray<GatewayEvent>, whole: GwSession | undefined): Array<string> => {
  const problems: Array<string> = []
  const bySession = new Map<string, Array<number>>()
  for (const event of got) {
    if ((event.t as string) !== "EV") continue
    const d = event.d as unknown as { sid: string; n: number }
    if (d.n !== event.sequence) problems.push(`event ${d.sid}#${d.n} came with sequence ${event.sequence}`)
    const list = bySession.get(d.sid) ?? []
    list.push(d.n)
    bySession.set(d.sid, list)
  }
  for (const session of world.sessions.values()) {
    const list = bySession.get(session.id) ?? []
    const prefix = session.evs.slice(0, list.length)
    if (JSON.stringify(list) !== JSON.stringify(prefix)) {
      problems.push(`session ${session.id}: delivered [${list.join(",")}], gateway sent [${session.evs.join(",")}]`)
    } else if (session === whole && list.length !== session.evs.length) {
      problems.push(`session ${session.id} (resumed to the end): delivered [${list.join(",")}], gateway sent [${session.evs.join(",")}]`)
    }
  }
  return problems
}

/**
 * A fresh session (its fibers watched), its program taking events unless the schedule paused it,
 * and the gateway model, once the schedule's steps were played.
 */
const played = (steps: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const world = makeWorld()
    const gateway = yield* MemoryTransport.MemoryGateway
    yield* Effect.forkScoped(acceptor(world))
    const supervisor = yield* Supervisor.track
    const session = yield* Session.make(options({ bufferSize: 8 })).pipe(Effect.supervised(supervisor))
    const got: Array<GatewayEvent> = []
    const latch = yield* Effect.makeLatch(true)
    const consumer = yield* Effect.forkScoped(Stream.runForEach(session.events, (event) => Effect.zipRight(latch.await, Effect.sync(() => void got.push(event)))))
    yield* settle
    for (const step of steps) {
      if (step.k === "pause") yield* latch.close
      else if (step.k === "resume") yield* latch.open
      else yield* apply(world, step)
      yield* settle
      yield* advance(100)
    }
    return { consumer, gateway, got, latch, session, supervisor, world }
  })

/** Runs one schedule against a fresh session, then makes the gateway healthy and checks the invariants. */
const scenario = (steps: ReadonlyArray<Step>, runSeed: number) =>
  Effect.gen(function*() {
    const { consumer, gateway, got, latch, session, supervisor, world } = yield* played(steps)
    // the gateway turns healthy
    yield* latch.open
    world.acks = true
    world.helloDelay = 0
    world.overlap = 0
    yield* gateway.acceptConnects
    if (world.current !== undefined) yield* world.current.autoAck(true)
    yield* advance(120_000, 2000)
    // a last batch of events on the live session
    if (world.active !== undefined && world.active.valid) {
      for (let i = 0; i < 3; i++) yield* dispatchOn(world.active, "EV", true)
    }
    yield* advance(2_000)
    const state = yield* session.state
    const problems: Array<string> = []
    const stateText = state._tag === "Connected" ? `Connected/${state.phase}` : state._tag
    if (stateText !== "Connected/Ready") problems.push(`state at the end: ${stateText}`)
    problems.push(...deliveryProblems(world, got, world.held))
    // identifies: spaced by the limiter, none while the held session could still be resumed
    for (let i = 1; i < world.identifiesAt.length; i++) {
      const gap = world.identifiesAt[i]! - world.identifiesAt[i - 1]!
      if (gap < 5000) problems.push(`identifies ${gap} ms apart`)
    }
    const attempts = yield* gateway.attempts
    for (let i = 1; i < attempts.length; i++) {
      const gap = attempts[i]!.at - attempts[i - 1]!.at
      if (gap < 500) problems.push(`connect attempts ${gap} ms apart (${i})`)
    }
    // the session ends: nothing of it is left running
    yield* session.end()
    yield* settle
    yield* advance(2_000)
    yield* Fiber.await(consumer)
    const leftFibers = (yield* supervisor.value).length
    if (leftFibers > 0) problems.push(`${leftFibers} fiber(s) of the session left after end()`)
    return { world, got, attempts, state: stateText, leftFibers, problems, runSeed } satisfies Run & { runSeed: number }
  }).pipe(Effect.scoped, Effect.withRandom(Random.make(runSeed)))

const runScenario = (steps: ReadonlyArray<Step>, runSeed: number) =>
  Effect.runPromise(scenario(steps, runSeed).pipe(Effect.provide(Layer.merge(TestLayer, TestContext.TestContext))))

/** Needless identifies: one sent while the session the client held was still valid and not refused. */
const needless = (world: World): Array<string> => {
  const out: Array<string> = []
  world.conns.forEach((conn, i) => {
    if (conn.kind !== "identify" || !conn.heldStillValid) return
    // allowed after three Resumes in a row that were sent and not answered
    const before = world.conns.slice(0, i).filter((c) => c.kind !== "none").slice(-3)
    if (before.length === 3 && before.every((c) => c.kind === "resume" && !c.answered)) return
    out.push(`identify on connection ${i} while the held session was resumable`)
  })
  return out
}

const arbitrarySchedule = FastCheck.tuple(FastCheck.array(arbitraryStep, { minLength: 1, maxLength: 25 }), FastCheck.integer({ min: 1, max: 1 << 30 }))

const assertProperty = async (check: (run: Run) => Array<string>, numRuns: number) => {
  const result = await FastCheck.check(
    FastCheck.asyncProperty(arbitrarySchedule, async ([steps, runSeed]) => {
      const problems = check(await runScenario(steps, runSeed))
      if (problems.length > 0) throw new Error(problems.join("; "))
    }),
    { seed, numRuns }
  )
  if (result.failed) {
    const [[steps, runSeed]] = result.counterexample!
    const message = `fast-check seed ${seed} (0x${seed.toString(16)}), path ${result.counterexamplePath}, shrunk ${result.numShrinks}x\n` +
      `Random seed ${runSeed}\nschedule: ${show(steps)}\nerror: ${String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance)}`
    expect.fail(message)
  }
}

/** A schedule, then a fatal close by the gateway on the connection it holds: the session ends with that code, and nothing after. */
const fatalScenario = (steps: ReadonlyArray<Step>, code: number, runSeed: number) =>
  Effect.gen(function*() {
    const { consumer, gateway, got, latch, session, supervisor, world } = yield* played(steps)
    const problems: Array<string> = []
    // the gateway closes whatever connection is open now (waiting for one if none is)
    yield* gateway.acceptConnects
    world.helloDelay = 0
    let waited = 0
    while ((world.current === undefined || !(yield* world.current.isOpen)) && waited < 200_000) {
      yield* advance(1000)
      waited += 1000
    }
    if (world.current === undefined || !(yield* world.current.isOpen)) {
      problems.push("no open connection to close")
      return problems
    }
    // events the gateway sent on that connection before the close may still arrive; count them
    const sentBefore = new Set<string>()
    for (const s of world.sessions.values()) for (const n of s.evs) sentBefore.add(`${s.id}#${n}`)
    const attemptsBefore = (yield* gateway.attempts).length
    yield* world.current.close(code)
    // the gateway goes on dispatching on the (now dead) session; nothing of it may arrive
    if (world.active !== undefined) {
      world.active.valid = false
      for (let i = 0; i < 3; i++) yield* dispatchOn(world.active, "EV", true)
    }
    yield* settle
    yield* advance(5_000)
    yield* latch.open
    yield* advance(120_000, 2000)
    const awaited = yield* Effect.exit(Effect.timeout(session.await, "1 second").pipe(Effect.fork, Effect.flatMap((f) => Effect.zipRight(TestClock.adjust(1000), Fiber.join(f)))))
    if (!Exit.isFailure(awaited)) problems.push(`await: ${JSON.stringify(awaited)}`)
    else {
      const failure = awaited.cause._tag === "Fail" ? awaited.cause.error as { _tag?: string; code?: number } : undefined
      if (failure?._tag !== "FatalClose" || failure.code !== code) problems.push(`await failed with ${String(awaited.cause)}`)
    }
    const consumerExit = yield* Fiber.await(consumer)
    if (!Exit.isFailure(consumerExit)) problems.push("the events stream ended without the error")
    const attemptsAfter = (yield* gateway.attempts).length
    if (attemptsAfter !== attemptsBefore) problems.push(`${attemptsAfter - attemptsBefore} connect attempt(s) after the fatal close`)
    for (const event of got) {
      if ((event.t as string) !== "EV") continue
      const d = event.d as unknown as { sid: string; n: number }
      if (!sentBefore.has(`${d.sid}#${d.n}`)) problems.push(`event ${d.sid}#${d.n} delivered after the fatal close`)
    }
    const state = yield* session.state
    if (state._tag !== "Disconnected") problems.push(`state ${state._tag}`)
    yield* settle
    const leftFibers = (yield* supervisor.value).length
    if (leftFibers > 0) problems.push(`${leftFibers} fiber(s) left after the fatal close`)
    return problems
  }).pipe(Effect.scoped, Effect.withRandom(Random.make(runSeed)))

describe("one session under random schedules of gateway faults", () => {
  it("recovers: every dispatch of a gateway session delivered at most once, in order, the resumed one whole, READY at the end; identifies 5 s apart and only for a new gateway session; connects at least 0.5 s apart; nothing left after end()", async () => {
    await assertProperty((run) => [...run.problems, ...needless(run.world)], 24)
  }, 60_000)

  it("fatal: a fatal close after any schedule ends the session with FatalClose of that code, and nothing after", async () => {
    const result = await FastCheck.check(
      FastCheck.asyncProperty(
        FastCheck.array(arbitraryStep, { minLength: 0, maxLength: 15 }),
        FastCheck.constantFrom(...fatalCodes),
        FastCheck.integer({ min: 1, max: 1 << 30 }),
        async (steps, code, runSeed) => {
          const problems = await Effect.runPromise(fatalScenario(steps, code, runSeed).pipe(Effect.provide(Layer.merge(TestLayer, TestContext.TestContext))))
          if (problems.length > 0) throw new Error(problems.join("; "))
        }
      ),
      { seed, numRuns: 20 }
    )
    if (result.failed) {
      const [steps, code, runSeed] = result.counterexample!
      const message = `fast-check seed ${seed}, path ${result.counterexamplePath}, shrunk ${result.numShrinks}x\nRandom seed ${runSeed}, code ${code}\n` +
        `schedule: ${show(steps)}\nerror: ${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`
      expect.fail(message)
    }
  }, 60_000)
})
