/**
 * What handing parsed events through an Effect `Stream` costs, without sockets or a session:
 * `npx tsx bench/streamgc.ts` (part of `npm run bench`); writes bench/STREAMGC.md.
 *
 * The same 50,000 small MESSAGE_CREATE-like JSON texts (made before measuring) are parsed and
 * handled in chunks of 200 (one socket read's worth) in several ways, each in a fresh process under
 * `node --trace-gc-nvp`: in a plain Effect loop; through `Stream.toPull`; through
 * `Stream.runForEach` (parsed before the stream, as any event stream hands them over); and through
 * `Stream.runForEach` with the texts parsed inside the handler; and, to narrow it down, a bare
 * `Channel` loop that parses with `Channel.fromEffect` and handles the chunk either in its
 * continuation or in a second `Channel.fromEffect` whose effect captures it; without Effect, a closure kept
 * in an object literal or assigned to a property; and `Stream.runForEach` again on Effect with the one
 * line of `Channel.fromEffect` changed (bench/effectFix.mjs). Reported: CPU time per event
 * (process, user + system) and the bytes scavenges promoted to old space while the events were
 * handled, medians of 5 runs.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { cpuMicros } from "./cpu.ts"
import { median } from "./report.ts"
import * as Workloads from "./workloads.ts"

const EVENTS = 50_000
const CHUNK = 200
const RUNS = 5

const variants = {
  loop: "a plain Effect loop: parse a chunk, handle each event",
  toPull: "`Stream.toPull`, then the same loop",
  runForEach: "`Stream.runForEach`, events parsed before the stream",
  parseInHandler: "`Stream.runForEach`, texts parsed inside the handler",
  channelValue: "a bare channel loop: `Channel.fromEffect(parse)`, the chunk handled by the continuation",
  channelCapture: "the same loop, the chunk handled by a second `Channel.fromEffect` whose effect captures it",
  literal: "no Effect: each chunk kept by a closure in an object literal, `{ f: () => chunk }`",
  assigned: "no Effect: each chunk kept by a closure assigned to a property, `o.f = () => chunk` (as `Channel.fromEffect` does)",
  runForEachFixed: "`Stream.runForEach`, events parsed before the stream, on Effect with `Channel.fromEffect` changed (bench/effectFix.mjs, both changes)"
} as const
type Variant = keyof typeof variants

interface Measured {
  readonly cpuUsPerEvent: number
  readonly promotedMb: number
}

/** One run, in this (child) process: prints BEGIN/END around the measured part and the figures. */
const child = async (variant: Variant): Promise<void> => {
  const texts = Workloads.dispatches("small", EVENTS).map(([t, d], i) => JSON.stringify({ op: 0, s: i + 1, t, d }))
  let sum = 0
  const handle = (event: { readonly s: number }): void => {
    sum += event.s
  }
  let at = 0
  const pull = <A>(f: (text: string) => A): Chunk.Chunk<A> => {
    const out = texts.slice(at, at + CHUNK).map(f)
    at += CHUNK
    return Chunk.unsafeFromArray(out)
  }
  const parse = (text: string) => JSON.parse(text) as { readonly s: number }
  const events = Stream.repeatEffectChunkOption(
    Effect.suspend(() => at >= EVENTS ? Effect.fail(Option.none()) : Effect.succeed(pull(parse)))
  )
  // parse a chunk with Channel.fromEffect, then `use` it, until the texts run out
  const channelLoop = (
    use: (chunk: Chunk.Chunk<{ readonly s: number }>) => Channel.Channel<never, unknown, never, unknown, void, unknown>
  ): Channel.Channel<never, unknown, never, unknown, void, unknown> => {
    const loop: Channel.Channel<never, unknown, never, unknown, void, unknown> = Channel.suspend(() =>
      at >= EVENTS
        ? Channel.void
        : Channel.flatMap(Channel.fromEffect(Effect.sync(() => pull(parse))), (chunk) => Channel.flatMap(use(chunk), () => loop))
    )
    return loop
  }
  // each chunk reachable from a closure while it is handled, the closure made one way or the other
  let holder: { f: () => Chunk.Chunk<{ readonly s: number }> } | undefined
  const plain = (keep: (chunk: Chunk.Chunk<{ readonly s: number }>) => void) =>
    Effect.sync(() => {
      while (at < EVENTS) {
        keep(pull(parse))
        Chunk.forEach(holder!.f(), handle)
      }
    })
  const runForEach = Stream.runForEach(events, (event) => Effect.sync(() => handle(event)))
  const program: Effect.Effect<void> = {
    loop: Effect.whileLoop({
      while: () => at < EVENTS,
      body: () => Effect.sync(() => pull(parse)),
      step: (chunk) => Chunk.forEach(chunk, handle)
    }),
    toPull: Effect.scoped(Effect.flatMap(Stream.toPull(events), (next) =>
      Effect.whileLoop({
        while: () => at < EVENTS,
        body: () => Effect.orDie(next),
        step: (chunk) => Chunk.forEach(chunk, handle)
      }))),
    runForEach,
    parseInHandler: Stream.runForEach(
      Stream.repeatEffectChunkOption(
        Effect.suspend(() => at >= EVENTS ? Effect.fail(Option.none()) : Effect.succeed(pull((text) => text)))
      ),
      (text) => Effect.sync(() => handle(parse(text)))
    ),
    channelValue: Channel.runDrain(channelLoop((chunk) => {
      Chunk.forEach(chunk, handle)
      return Channel.void
    })),
    channelCapture: Channel.runDrain(channelLoop((chunk) => Channel.fromEffect(Effect.sync(() => Chunk.forEach(chunk, handle))))),
    literal: plain((chunk) => {
      holder = { f: () => chunk }
    }),
    assigned: plain((chunk) => {
      const made = {} as { f: () => Chunk.Chunk<{ readonly s: number }> }
      made.f = () => chunk
      holder = made
    }),
    runForEachFixed: runForEach
  }[variant]
  globalThis.gc?.()
  process.stdout.write("BEGIN\n")
  const start = cpuMicros()
  await Effect.runPromise(program)
  const cpuUs = cpuMicros() - start
  process.stdout.write(`END\n${JSON.stringify({ cpuUs, sum })}\n`)
}

/** Runs every variant RUNS times, interleaved, each in a fresh process. */
const parent = (): Record<Variant, Measured> => {
  const self = fileURLToPath(import.meta.url)
  const runs: Record<string, Array<Measured>> = {}
  for (let run = 0; run < RUNS; run++) {
    for (const variant of Object.keys(variants) as Array<Variant>) {
      const fix = variant === "runForEachFixed" ? ["--import", fileURLToPath(new URL("./effectFix.mjs", import.meta.url))] : []
      const out = spawnSync(process.execPath, ["--expose-gc", "--trace-gc-nvp", "--import", "tsx", ...fix, self, variant], {
        encoding: "utf8",
        maxBuffer: 1 << 30
      })
      if (out.status !== 0) throw new Error(`${variant}: ${out.stderr.slice(-500)}`)
      const lines = out.stdout.split("\n")
      const measured = lines.slice(lines.indexOf("BEGIN"), lines.indexOf("END"))
      const promoted = measured.reduce((total, line) => total + Number(/ gc=s .* promoted=(\d+)/.exec(line)?.[1] ?? 0), 0)
      const result = JSON.parse(lines[lines.indexOf("END") + 1]!) as { readonly cpuUs: number }
      ;(runs[variant] ??= []).push({ cpuUsPerEvent: result.cpuUs / EVENTS, promotedMb: promoted / 1e6 })
      process.stderr.write(`[streamgc] ${variant} run ${run + 1}/${RUNS}\n`)
    }
  }
  return Object.fromEntries(
    Object.entries(runs).map(([variant, measured]) => [variant, {
      cpuUsPerEvent: median(measured.map((m) => m.cpuUsPerEvent)),
      promotedMb: median(measured.map((m) => m.promotedMb))
    }])
  ) as Record<Variant, Measured>
}

const report = (results: Record<Variant, Measured>): string =>
  [
    "# Parsed events through an Effect Stream",
    "",
    `Generated by \`npx tsx bench/streamgc.ts\` on ${new Date().toISOString()}; ${Os.cpus()[0]?.model ?? "?"}, ` +
    `${Os.cpus().length} cores, Node ${process.version}.`,
    "",
    `${EVENTS.toLocaleString("en-US")} small MESSAGE_CREATE-like JSON texts, made before measuring, parsed and handled in chunks of ` +
    `${CHUNK}, each way in a fresh process under \`--trace-gc-nvp\`; medians of ${RUNS} runs. \"Promoted\" sums what scavenges ` +
    "moved to old space while the events were handled: objects that died there instead of young, for mark-compact to collect.",
    "",
    "| how the events reach the handler | CPU µs per event | promoted MB |",
    "|---|---:|---:|",
    ...(Object.keys(variants) as Array<Variant>).map((variant) =>
      `| ${variants[variant]} | ${results[variant].cpuUsPerEvent.toFixed(2)} | ${results[variant].promotedMb.toFixed(1)} |`
    ),
    "",
    "The texts themselves (made before measuring) are old already; what the rows promote beyond the loop's figure are the",
    "parsed events. The cause is in V8, set off by one line of Effect: V8's parser allocates a function literal that is",
    "assigned to a property (`o.f = () => ...`, also `this.f = ...` in a constructor) directly in old space, on the guess",
    "that such a function is a long-lived method. Such a closure keeps what it captured alive through every scavenge until",
    "the next mark-compact, even once it is garbage itself, so all of it is copied and then promoted: the two \"no Effect\"",
    "rows differ only in that. `Channel.fromEffect` stores its thunk exactly so (`op.effect = () => effect`), and",
    "`Stream.runForEach` runs each chunk's work through it: the thunk keeps that work's effect, the chunk and its events.",
    "The last row runs the same program with that line changed to `const evaluate = () => effect; op.effect = evaluate`",
    "(bench/effectFix.mjs, a module hook used only by the benchmark): nothing is promoted.",
    "",
    "bench/effectFix.mjs also changes a second line of Effect that does the same to every wait (bench/PROFILE.md,",
    "\"Steady promotion\"); this program does not wait, so that change does nothing here.",
    "",
    "Each row runs in a fresh process, so these are a cold process's figures (bench/RESULTS.md has warm ones).",
    "Effect 3.22.4 is the last 3.x release; the changes have to be made there.",
    ""
  ].join("\n")

// a child is started with its variant; anything else (say, flags meant for bench/run.ts) runs the parent
const variant = Object.keys(variants).find((name): name is Variant => name === process.argv[2])
if (variant !== undefined) {
  child(variant).catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
} else {
  const target = fileURLToPath(new URL("./STREAMGC.md", import.meta.url))
  writeFileSync(target, report(parent()))
  process.stderr.write(`[streamgc] wrote ${target}\n`)
}
