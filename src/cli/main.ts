#!/usr/bin/env node
/**
 * The command line: runs a fleet of shards and prints their events. Without a token it starts the
 * embedded local gateway with synthetic traffic.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fleet from "../fleet/Fleet.ts"
import type { FleetOptions } from "../fleet/FleetOptions.ts"
import { sleepMillis } from "../internal/duration.ts"
import { printable } from "../internal/printable.ts"
import { CloseCode } from "../protocol/CloseCode.ts"
import type { EventName } from "../protocol/Event.ts"
import * as Live from "../Live.ts"
import { FatalClose, InvalidOptions } from "../session/SessionError.ts"
import { describeReason } from "../session/SessionState.ts"
import * as LocalGateway from "../testing/LocalGateway.ts"
import * as Args from "./Args.ts"
import * as EarlyLog from "./EarlyLog.ts"
import * as Ndjson from "./Ndjson.ts"
import * as Pretty from "./Pretty.ts"
import * as Signals from "./Signals.ts"
import * as Stdout from "./Stdout.ts"

/**
 * Exit codes: 0 done, 1 the gateway ended the session (e.g. a rejected token) or something broke
 * (a defect), 2 bad usage.
 */
const exit = (code: number) => Effect.sync(() => void (process.exitCode = code))

/** The embedded gateway: four shards, two identify buckets, brisk heartbeats and steady traffic. */
const embedded = (shardCount: number | undefined) =>
  Effect.gen(function*() {
    const token = Redacted.make("embedded-local-gateway-token")
    const gateway = yield* LocalGateway.make({
      token,
      shards: shardCount ?? Args.embeddedShardCount,
      sessionStartLimit: { maxConcurrency: 2 },
      heartbeatInterval: "5 seconds",
      guilds: 3,
      membersPerGuild: 50
    })
    yield* gateway.startTraffic(4)
    return { token, api: gateway.apiUrl, note: `embedded local gateway on ${gateway.url} (no token given; synthetic traffic)` }
  })

/**
 * Once the screen is open, a second Ctrl-C (or SIGTERM) restores the terminal before it ends the
 * process: its scroll region would stay set in the shell. Ctrl-Z restores it while the job is
 * stopped.
 */
const restoredOnSignals = (screen: Pretty.Screen, signals: Signals.SecondSignal): void => {
  signals.beforeEnd(screen.close)
  // Ctrl-Z: the job stops with the terminal as the shell expects it (its prompt came back inside
  // the scroll region, under status lines frozen above it), and is laid out again as it goes on;
  // a handler takes SIGTSTP's stop away, so the process stops itself once the layout is undone
  const onStop = () => {
    screen.suspend()
    Stdout.whenWritten(() => process.kill(process.pid, "SIGSTOP"))
  }
  const onContinue = () => screen.resume()
  process.on("SIGTSTP", onStop).on("SIGCONT", onContinue)
}

/**
 * Shows the events. `notes` are the lines told on stderr before the shards started (warnings, the
 * embedded gateway's address): the terminal's view, laid out on a cleared screen, shows them again
 * at the top of its log (its first layout erased them before anyone could read them). `flushed`
 * lets out what the view wrote, once it is undone.
 */
const show = (
  options: Args.CliOptions,
  fleet: Fleet.Fleet,
  notes: ReadonlyArray<string>,
  flushed: Effect.Effect<void>,
  signals: Signals.SecondSignal
): Effect.Effect<void> => options.format === "ndjson" ? showLines(fleet) : showScreen(fleet, notes, flushed, signals)

/** The events as ndjson lines, a chunk's lines written at once. */
const showLines = (fleet: Fleet.Fleet): Effect.Effect<void> =>
  Stream.runForEachChunk(fleet.events, (chunk) =>
    Effect.zipRight(
      Effect.sync(() => {
        let text = ""
        for (const event of chunk) text += `${Ndjson.line(event)}\n`
        process.stdout.write(text)
      }),
      Stdout.drained
    )).pipe(Effect.ignore)

/**
 * The events as a log under a status view on a terminal, or as plain lines with a status block now
 * and then. The view is undone by the fiber that writes it, once it writes no more (undone by the
 * run's scope, a Ctrl-C's stop went on writing a backlog of events below it), and a second Ctrl-C
 * restores it until that is out (released first by the run's scope, a second Ctrl-C while a slow
 * terminal caught up killed the process with the scroll region set).
 */
const showScreen = (
  fleet: Fleet.Fleet,
  notes: ReadonlyArray<string>,
  flushed: Effect.Effect<void>,
  signals: Signals.SecondSignal
): Effect.Effect<void> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const out = process.stdout
      const drawn = Pretty.takesEscapes(out)
      const screen = drawn ? Pretty.terminal(out, fleet.shardIds.length + 1) : Pretty.plain(out)
      if (drawn) restoredOnSignals(screen, signals)
      return { drawn, screen }
    }),
    ({ drawn, screen }) =>
      Effect.gen(function*() {
        if (drawn) for (const note of notes) screen.log(note)
        // drawn once stdout has room, as the events are written: a paused terminal (Ctrl-S) or a
        // reader that stalled kept every frame in memory, and got them all once it read again
        // (skipped while stdout was full, the view of a reader slower than the events was never
        // drawn again)
        const draw = Effect.zipRight(
          Stdout.drained,
          Effect.flatMap(fleet.status, (rows) =>
            Effect.sync(() =>
              screen.status(Pretty.status(
                rows.map((row) => ({
                  ...row,
                  state: row.state._tag === "Connected" ? `Connected/${row.state.phase}` : row.state._tag,
                  reason: describeReason(row.reason)
                })),
                screen.statusLines(),
                screen.columns()
              ))
            ))
        )
        const drawing = Effect.repeat(draw, { schedule: Schedule.spaced(drawn ? "500 millis" : "5 seconds") })
        const highestShard = Math.max(0, ...fleet.shardIds)
        const logging = Stream.runForEach(fleet.events, (event) =>
          Effect.zipRight(
            Effect.map(Clock.currentTimeMillis, (now) => screen.log(Pretty.summary(event, new Date(now), highestShard))),
            Stdout.drained
          )).pipe(Effect.ignore)
        // the log's end ends the drawing; a defect in either (a bug) ends the run, as one writing an
        // event does (the drawing's, on a fiber nobody joined, left the view frozen and the run went on)
        yield* Effect.raceFirst(logging, drawing)
      }),
    // undone, then let out (what is left of the stop's second on a slow terminal) before the
    // shards' stop says anything on stderr, below it; a second Ctrl-C meanwhile still ends the
    // process with the view undone
    ({ screen }) => Effect.zipRight(Effect.sync(screen.close), flushed)
  )

/**
 * The shard count to ask for: the flag; else, with `--gateway` (which skips GET /gateway/bot), just
 * enough for the shards asked for (one by default); else the recommended count.
 */
const shardCountOf = (options: Args.CliOptions): number | undefined =>
  options.shardCount ?? (options.gateway === undefined ? undefined : Math.max(0, ...(options.shards ?? [0])) + 1)

/**
 * The line that tells why a run failed; where the error names an option the command line has as a
 * flag, the flag too (shard ids are checked against the shard count only once it is known: the
 * recommended one).
 */
const errorLine = (error: { readonly _tag: string; readonly message: string }): string => {
  const flag = error._tag === "MessageTooLarge"
    ? "--max-message-bytes"
    // intents refused: invalid (4013), or privileged ones the application has not enabled (4014)
    : error instanceof FatalClose && (error.code === CloseCode.InvalidIntents || error.code === CloseCode.DisallowedIntents)
    ? "--intents"
    // the arguments refuse every other problem with the shard ids: one the options find is an id
    // the recommended count does not reach
    : error instanceof InvalidOptions && error.problems.some(({ option }) => option === "shards")
    ? "--shards or --shard-count"
    : undefined
  return `error: ${error.message}${flag === undefined ? "" : `; on the command line: ${flag}`}`
}

/**
 * How many sessions a stop left resumable, and of how many shards when some had none (a shard
 * still waiting for its identify turn, or not yet READY).
 */
const resumable = (points: ReadonlyArray<unknown>, fleet: Fleet.Fleet): string => {
  const shards = fleet.shardIds.length
  const why = points.length > 0 ? "the others had no session" : shards === 1 ? "it had no session" : "none had a session"
  const others = points.length < shards ? ` of ${shards} shard${shards === 1 ? "" : "s"} (${why} to resume)` : ""
  return `${points.length} resumable session(s)${others}`
}

const run = (options: Args.CliOptions, warnings: ReadonlyArray<string>, early: EarlyLog.EarlyLog, signals: Signals.SecondSignal) =>
  Effect.gen(function*() {
    // the terminal closed (SIGHUP, which would end the process at once, its shards without a
    // close): a normal end, as Ctrl-C; heard for the whole run, stops included (its listener goes
    // last as the scope closes), so that one during a stop (after Ctrl-C, say) lets that stop
    // finish rather than killing the process
    const hangup = yield* Deferred.make<void>()
    const onHangup = () => {
      Stdout.markTerminalClosed()
      Deferred.unsafeDone(hangup, Exit.void)
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => void process.on("SIGHUP", onHangup)),
      () => Effect.sync(() => void process.off("SIGHUP", onHangup))
    )
    const hungUp = Effect.as(Deferred.await(hangup), { why: "stopped: the terminal was closed (SIGHUP)", failed: false })
    const notes = [...warnings]
    const target = options.token === undefined
      ? yield* embedded(options.shardCount)
      : { token: options.token, api: options.api, note: undefined }
    if (target.note !== undefined) {
      notes.push(target.note)
      yield* Console.error(target.note)
    }
    const elapsed = options.duration === undefined
      ? Effect.never
      : Effect.as(sleepMillis(options.duration * 1000), { why: `stopped after ${options.duration} s`, failed: false })
    // what ends the run but the fleet: heard from the start, so that they also end a start that
    // keeps failing (an API outage)
    const stopped = yield* Effect.forkScoped(Effect.raceAll([elapsed, Stdout.ended, hungUp]))
    const fleetOptions: FleetOptions = {
      token: target.token,
      api: target.api,
      intents: options.intents,
      compression: options.compress,
      encoding: options.encoding,
      gateway: options.gateway,
      shards: options.shards,
      shardCount: shardCountOf(options),
      maxMessageBytes: options.maxMessageBytes,
      // the fleet skips the other types without parsing them
      events: options.events === undefined ? undefined : [...options.events] as ReadonlyArray<EventName>
    }
    const started = yield* Effect.raceFirst(
      Effect.map(Fleet.make(fleetOptions), Either.right),
      Effect.map(Fiber.join(stopped), Either.left)
    ).pipe(Effect.onInterrupt(() => Console.error("stopped (interrupted) before the shards started")))
    if (Either.isLeft(started)) {
      yield* Console.error(`${started.left.why} before the shards started`)
      return yield* (started.left.failed ? exit(1) : Effect.void)
    }
    const fleet = started.right
    // a fatal close that answered the stop's own close (a token reset meanwhile) ended the fleet
    // with its error: told, and exit 1 (the run said it stopped, and exited 0)
    const failedWhileStopping = Effect.catchAll(fleet.await, (error) => Effect.zipRight(Console.error(errorLine(error)), exit(1)))
    // Ctrl-C (the run interrupted): the shards stop resumably, waiting for the gateway no longer
    // than a scope's close would (1 s), and the operator is told so; unless a stop had begun, which
    // Ctrl-C waits for
    let stopping = false
    // once the shards stopped, stdout gets a second to drain, whatever lets it out
    const drain = Stdout.drainWindow("1 second")
    // a paused or slow terminal holds the events back, not the process (and the heartbeats in it);
    // what stdout still holds at the end is let out before the process exits: last of the run's
    // finalizers, after the view is undone and the shards stopped
    yield* Effect.acquireRelease(Effect.sync(Stdout.writeTerminalAsync), () => drain.flushed)
    // Ctrl-C's stop, told once the view is undone (below it)
    let interruptedStop: ReadonlyArray<unknown> | undefined
    yield* Effect.addFinalizer(() =>
      interruptedStop === undefined
        ? Effect.void
        : Console.error(`stopped (interrupted); ${resumable(interruptedStop, fleet)}`).pipe(Effect.zipRight(failedWhileStopping))
    )
    // with what the library logged meanwhile ("starting N of N shards", a first GET /gateway/bot
    // tried again), which the view's first layout would erase too
    const output = yield* Effect.forkScoped(show(options, fleet, [...notes, ...early.take()], drain.flushed, signals))
    // Ctrl-C's stop of the shards, first of the run's finalizers: the view, undone before it, waited
    // its second for a slow terminal, and the closes with it
    yield* Effect.addFinalizer((exit) =>
      Exit.isInterrupted(exit) && !stopping
        ? Effect.flatMap(fleet.disconnect("1 second"), (points) => Effect.sync(() => void (interruptedStop = points))).pipe(
          Effect.zipRight(drain.open)
        )
        : Effect.void
    )
    // the output failing (a bug) ends the run too, rather than leaving the shards running unseen;
    // the output ending (after the events did) decides nothing
    const ended = yield* Effect.raceFirst(
      Effect.raceFirst(Effect.as(fleet.await, undefined), Fiber.join(stopped)),
      Effect.zipRight(Fiber.join(output), Effect.never)
    )
    if (ended !== undefined) {
      // once stopping began it runs to the end, on this fiber: the fleet ends during it, and
      // neither that nor Ctrl-C cuts it short; it waits for the gateway as long as Ctrl-C's (it
      // waited 5 s after a closed terminal or stdout)
      stopping = true
      yield* Effect.uninterruptible(
        Effect.flatMap(fleet.disconnect("1 second"), (points) => Console.error(`${ended.why}; ${resumable(points, fleet)}`)).pipe(
          Effect.zipRight(ended.failed ? exit(1) : Effect.void),
          Effect.zipRight(failedWhileStopping)
        )
      )
    }
    // the events still to show get what is left of stdout's second: a reader that fell behind and
    // never read again held the exit for ever
    yield* drain.open
    yield* drain.within(Fiber.join(output))
  })

const main = Effect.gen(function*() {
  // logs and status that cannot be written (stderr piped to a reader that went away) are dropped:
  // an unheard error would crash the run, its shards gone without a close; so is the help text
  // (`--help | true`): a run learns of a closed stdout through its own listener
  process.stderr.on("error", () => {})
  process.stdout.on("error", () => {})
  const parsed = Args.parse(process.argv.slice(2), process.env, process.stdout.isTTY === true)
  if (Either.isLeft(parsed)) {
    yield* Console.error(`error: ${parsed.left.message}`)
    return yield* exit(2)
  }
  const options = parsed.right
  if (options.help) {
    const unwritten = yield* Stdout.write(`${Args.usage}\n`)
    if (unwritten?.failed === true) yield* Effect.zipRight(Console.error(unwritten.why), exit(1))
    return
  }
  const warnings = Args.warnings(options).map((warning) => `warning: ${warning}`)
  for (const warning of warnings) yield* Console.error(warning)
  const early = EarlyLog.make()
  const logging = Layer.mergeAll(
    // colored on a terminal that takes escapes unless NO_COLOR is set (no-color.org: set and not empty)
    Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: Pretty.takesEscapes(process.stderr) && !process.env["NO_COLOR"] })),
    Logger.add(early.logger),
    Logger.minimumLogLevel(options.logLevel)
  )
  // heard for the rest of the process, from before the shards start
  const signals = yield* Effect.sync(Signals.listen)
  yield* run(options, warnings, early, signals).pipe(
    Effect.scoped,
    Effect.catchAll((error) =>
      Effect.zipRight(
        Console.error(errorLine(error)),
        exit(error._tag === "InvalidOptions" ? 2 : 1)
      )),
    // a defect (a bug, here or in a dependency) still ends the run with one line saying what broke
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(
        Console.error(`error: unexpected failure (a bug): ${printable(defect instanceof Error ? defect.message : String(defect))}`),
        exit(1)
      )),
    Effect.provide(Layer.merge(Live.layer, logging))
  )
})

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  // after Ctrl-C the exit code is the one the run set (runMain's own teardown says 0 after a
  // signal, even when the stop it interrupted had found stdout unwritable: exit 1); and the process
  // exits now, dropping what a reader that fell behind has not taken in the stop's second (left to
  // end by itself, it waited for that reader to read it all, for ever if it never read again)
  teardown: (result) => process.exit(Exit.isFailure(result) && !Cause.isInterruptedOnly(result.cause) ? 1 : Number(process.exitCode ?? 0))
})
