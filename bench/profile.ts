/**
 * Profiles our client on the small zlib-stream workload: `npx tsx bench/profile.ts [events]`.
 * Runs it (then the floor) once under `node --cpu-prof` against the benchmark gateway, keeps the samples of the
 * consumption phase (READY to the end marker), maps the bundle's positions back to our sources,
 * and writes the top 15 functions by self time into bench/PROFILE.md (anything under its
 * "## Reading" heading is kept).
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { SourceMap } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Build from "./build.ts"
import type * as Task from "./clients/task.ts"
import * as Processes from "./processes.ts"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: CallFrame }>
  readonly startTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const EVENTS = Number(process.argv[2] ?? 50_000)
const root = fileURLToPath(new URL("../", import.meta.url))
const profileDir = fileURLToPath(new URL("./out/profile/", import.meta.url))
const target = fileURLToPath(new URL("./PROFILE.md", import.meta.url))

const sourceMaps = new Map<string, SourceMap | undefined>()
const sourceMapOf = (file: string): SourceMap | undefined => {
  if (!sourceMaps.has(file)) {
    const mapFile = `${file}.map`
    sourceMaps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))) : undefined)
  }
  return sourceMaps.get(file)
}

/** `file:line` of a call frame, in our sources when it points into a bundle. */
const locate = (frame: CallFrame): string => {
  if (frame.url === "") return "(native)"
  if (!frame.url.startsWith("file://")) return `${frame.url}:${frame.lineNumber + 1}`
  const file = fileURLToPath(frame.url)
  const map = sourceMapOf(file)
  if (map !== undefined) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number }
    if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : Path.resolve(Path.dirname(file), entry.originalSource)
      return `${Path.relative(root, source)}:${entry.originalLine + 1}`
    }
  }
  return `${Path.relative(root, file)}:${frame.lineNumber + 1}`
}

interface Entry {
  readonly name: string
  readonly at: string
  micros: number
}

/** Runs `client` once under `--cpu-prof`; returns its result and self time per function over the consumption phase. */
const profileClient = async (port: number, client: "ours" | "floor") => {
  const dir = Path.join(profileDir, client)
  mkdirSync(dir, { recursive: true })
  const task: Task.Task = { url: `ws://127.0.0.1:${port}/bench`, compression: "zlib-stream", events: EVENTS, wanted: undefined }
  const result = await Processes.runOnce<Task.Result>(`clients/${client}`, task, {
    nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=100"]
  })
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"))
  if (file === undefined) throw new Error("no .cpuprofile written")
  const profile = JSON.parse(readFileSync(Path.join(dir, file), "utf8")) as CpuProfile
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const self = new Map<string, Entry>()
  let total = 0
  let at = profile.startTime
  const [from, to] = result.window
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at < from || at > to) return
    const frame = frames.get(id)!
    const where = locate(frame)
    const name = frame.functionName || "(anonymous)"
    const key = `${name} ${where}`
    const entry = self.get(key) ?? { name, at: where, micros: 0 }
    entry.micros += delta
    self.set(key, entry)
    total += delta
  })
  return { result, total, entries: [...self.values()].sort((a, b) => b.micros - a.micros) }
}

const table = (profile: Awaited<ReturnType<typeof profileClient>>, count: number): ReadonlyArray<string> => [
  `${(profile.result.cpuUs / EVENTS).toFixed(2)} us CPU per event (profiling included), ${(profile.total / 1000).toFixed(0)} ms sampled.`,
  "",
  "| # | function | file:line | self ms | self % | us/event |",
  "|---:|---|---|---:|---:|---:|",
  ...profile.entries.slice(0, count).map((entry, i) =>
    `| ${i + 1} | \`${entry.name}\` | ${entry.at} | ${(entry.micros / 1000).toFixed(1)} | ` +
      `${((100 * entry.micros) / profile.total).toFixed(1)} | ${(entry.micros / EVENTS).toFixed(2)} |`
  )
]

const main = async (): Promise<void> => {
  await Build.build()
  rmSync(profileDir, { recursive: true, force: true })
  const gateway = await Processes.startServer<{ readonly port: number }>("gateway")
  let ours: Awaited<ReturnType<typeof profileClient>>
  let floor: Awaited<ReturnType<typeof profileClient>>
  try {
    await fetch(`http://127.0.0.1:${gateway.info.port}/prepare?kind=small&compression=zlib-stream&events=${EVENTS}`)
    ours = await profileClient(gateway.info.port, "ours")
    floor = await profileClient(gateway.info.port, "floor")
  } finally {
    gateway.stop()
  }
  const lines = [
    "# Profile: ours on the small zlib-stream workload",
    "",
    `Generated by \`npx tsx bench/profile.ts ${EVENTS}\`: our client (bench/clients/ours.ts, \`Session.make\` + ` +
      `\`Stream.runForEach\`) consuming ${EVENTS} MESSAGE_CREATE-like events (about 1.3 KB JSON, one zlib-stream context) ` +
      "from the benchmark gateway under `node --cpu-prof` (100 us sampling), then the floor (bench/clients/floor.ts) on " +
      "the same stream for comparison. Only the samples of the consumption phase (READY to the end marker) count; " +
      "bundle positions are mapped back to our sources (JSON.parse and the native inflate show as self time of their JS callers).",
    "",
    "## Ours: top 15 functions by self time",
    "",
    ...table(ours, 15),
    "",
    "## The floor, for comparison: top 8",
    "",
    ...table(floor, 8),
    ""
  ]
  const previous = existsSync(target) ? readFileSync(target, "utf8") : ""
  const reading = previous.indexOf("## Reading")
  writeFileSync(target, lines.join("\n") + (reading >= 0 ? `\n${previous.slice(reading)}` : ""))
  process.stdout.write(lines.join("\n"))
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
