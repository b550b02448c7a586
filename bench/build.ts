/**
 * Bundles the benchmark's processes into plain ESM files under bench/out/build (our TypeScript
 * sources bundled in, packages left to node_modules), so that no process pays for a TypeScript
 * loader: tsx's loader thread alone adds about 40 MB of RSS and would blur every memory figure.
 *
 * @since 0.1.0
 */
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

/**
 * The directory of the built files.
 *
 * @since 0.1.0
 */
export const outDir = fileURLToPath(new URL("./out/build/", import.meta.url))

/**
 * The processes the benchmark starts, by name (the entry file under bench/, without `.ts`).
 *
 * @since 0.1.0
 */
export const entries = [
  "gateway",
  "clients/ours",
  "clients/floor",
  "clients/effectFloor",
  "clients/skipFloor",
  "clients/discordjs",
  "memory/gateway",
  "memory/ours",
  "memory/discordjs",
  "startup"
] as const

/**
 * A built process's file.
 *
 * @since 0.1.0
 */
export type Entry = typeof entries[number]

/**
 * The path of a built process's file.
 *
 * @since 0.1.0
 */
export const file = (entry: Entry): string => `${outDir}${entry}.mjs`

/**
 * The processes of @discordjs/ws, which must not load Effect: its modules would add their memory
 * to the peer's baseline (the local gateway's synthetic traffic once brought effect/Schema into
 * both, and the idle-memory figure moved by 24 MB). The floors use our inflate, and with it
 * effect/Data.
 *
 * @since 0.1.0
 */
export const effectFree: ReadonlyArray<Entry> = ["clients/discordjs", "memory/discordjs"]

const isEffect = (path: string): boolean => path === "effect" || path.startsWith("effect/") || path.startsWith("@effect/")

/**
 * Builds every process (with source maps, for the profile), and fails if one of
 * {@link effectFree} imports Effect.
 *
 * @since 0.1.0
 */
export const build = async (): Promise<void> => {
  const { metafile } = await esbuild.build({
    metafile: true,
    entryPoints: entries.map((entry) => ({ in: fileURLToPath(new URL(`./${entry}.ts`, import.meta.url)), out: entry })),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning"
  })
  for (const entry of effectFree) {
    const output = Object.entries(metafile.outputs).find(([path]) => file(entry).endsWith(path))
    const imported = output?.[1].imports.filter((i) => i.external && isEffect(i.path)).map((i) => i.path) ?? []
    if (output === undefined || imported.length > 0) {
      throw new Error(`bench/${entry}.ts must not load Effect, but its build imports ${imported.join(", ") || "(no output found)"}`)
    }
  }
}
