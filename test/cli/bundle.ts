/**
 * The CLI as the CLI tests run it: its sources bundled once per test file by esbuild (the
 * compiler tsx uses), run by plain node, which starts each run in a third of tsx's CPU time.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { build } from "esbuild"
import { rm } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/** The project's root folder, with a trailing slash. */
export const root = fileURLToPath(new URL("../..", import.meta.url))

/**
 * Bundles the CLI before the file's tests and removes it after them; returns where it is: inside
 * `node_modules`, so that its packages resolve as the sources' do, and named by `name` and this
 * process, so that two files or two runs of the suite do not share it.
 */
export const bundled = (name: string): string => {
  const bundle = `${root}node_modules/.cache/effect-discord-gateway/${name}-${process.pid}.mjs`
  beforeAll(async () => {
    await build({
      entryPoints: [`${root}src/cli/main.ts`],
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

/** The environment a user without a token has (DISCORD_TOKEN removed). */
export const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env["DISCORD_TOKEN"]
  return env
}
