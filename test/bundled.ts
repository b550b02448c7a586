/**
 * A program's sources bundled once per test file by esbuild (the compiler tsx uses), for tests
 * that start it as a process: plain node starts a bundle in a third of tsx's CPU time, which on a
 * loaded machine is seconds.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { build } from "esbuild"
import { rm } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/** The project's root folder, with a trailing slash. */
export const root = fileURLToPath(new URL("..", import.meta.url))

/**
 * Bundles `entry` (a path from the project's root) before the file's tests and removes it after
 * them; returns where it is: inside `node_modules`, so that its packages resolve as the sources'
 * do, and named by `name` and this process, so that two files or two runs of the suite do not
 * share it.
 */
export const bundled = (name: string, entry: string): string => {
  const bundle = `${root}node_modules/.cache/effect-discord-gateway/${name}-${process.pid}.mjs`
  beforeAll(async () => {
    await build({
      entryPoints: [`${root}${entry}`],
      outfile: bundle,
      bundle: true,
      packages: "external",
      platform: "node",
      format: "esm",
      logLevel: "warning"
    })
  })
  afterAll(() => rm(bundle, { force: true }))
  return bundle
}
