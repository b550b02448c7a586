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
 * Builds every process (with source maps, for the profile).
 *
 * @since 0.1.0
 */
export const build = async (): Promise<void> => {
  await esbuild.build({
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
}
