/**
 * The package as a user installs it: the output of `npm run build` (tsconfig.build.json), run in a
 * folder of its own on a copy of the sources and package.json, imported by the package's name from plain Node
 * (no tsx), its declarations type-checked in a consumer project, and its command line run with
 * `node`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = fileURLToPath(new URL("../..", import.meta.url))
const run = promisify(execFile)
const tsc = path.join(root, "node_modules/typescript/bin/tsc")
const staleModule = "RemovedModule.js"

// The consumer: an Effect program that imports both entry points by the package's name, starts
// the local gateway and a session that asks its GET /gateway/bot, and prints the first event types.
const consumerJs = `
import { Chunk, Effect, Redacted, Stream } from "effect"
import { Intents, Live, Session } from "effect-discord-gateway"
import { LocalGateway } from "effect-discord-gateway/testing"

const token = Redacted.make("package-test-token")
const program = Effect.gen(function*() {
  const gateway = yield* LocalGateway.make({ token })
  const session = yield* Session.make({ token, intents: Intents.Guilds, api: gateway.apiUrl })
  const first = yield* Stream.runCollect(Stream.take(session.events, 2))
  console.log(JSON.stringify(Chunk.toReadonlyArray(first).map((event) => event.t)))
})
Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Live.layer))).then(() => process.exit(0))
`

// The same imports in TypeScript, as a consumer with common settings (no tsx, no .ts imports)
// checks them: the declarations must resolve and carry the real types (were they \`any\`, the
// expected errors would not come, and tsc would fail on the unused directives).
const consumerTs = `
import { Effect, Option, Redacted, Stream } from "effect"
import { DecodeError, type Encoding, Etf, Intents, Session, type SessionError, SessionOptions } from "effect-discord-gateway"
import { LocalGateway } from "effect-discord-gateway/testing"

// the codec's types can be named: an encoding, and a decoder's error told apart
export const etf: Encoding = Etf.encoding
const term = Etf.decodeTerm(Uint8Array.of(131, 97, 1))
export const reason: DecodeError.DecodeErrorReason | undefined = DecodeError.isDecodeError(term) ? term.reason : undefined

export const firstType: Effect.Effect<
  string | undefined,
  SessionError.InvalidOptions | Session.SessionError | LocalGateway.LocalGatewayError,
  Session.Requirements
> =
  Effect.scoped(Effect.gen(function*() {
    const gateway = yield* LocalGateway.make({ token: Redacted.make("x") })
    const session = yield* Session.make({ token: Redacted.make("x"), intents: Intents.Guilds, api: gateway.apiUrl })
    const first = yield* Stream.runHead(session.events)
    // @ts-expect-error an event's type is a string
    const wrong: number | undefined = Option.getOrUndefined(first)?.t
    void wrong
    return Option.getOrUndefined(first)?.t
  }))

// the modules' helpers for one another (marked @internal) are not in the declarations
// @ts-expect-error not part of the API
export const helper = SessionOptions.resolveShared
`

// a user without a token: the CLI starts its embedded gateway
const { DISCORD_TOKEN: _token, ...withoutToken } = process.env

const consumerTsconfig = {
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: ["node"] },
  files: ["consumer.ts"]
}

describe("the built package", () => {
  let folder = ""

  beforeAll(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), "package-test-"))
    for (const file of ["package.json", "tsconfig.json", "tsconfig.build.json"]) {
      await fs.copyFile(path.join(root, file), path.join(folder, file))
    }
    await fs.cp(path.join(root, "src"), path.join(folder, "src"), { recursive: true })
    await fs.symlink(path.join(root, "node_modules"), path.join(folder, "node_modules"), "dir")
    // the output of a module since removed, from an earlier build
    await fs.mkdir(path.join(folder, "dist"))
    await fs.writeFile(path.join(folder, "dist", staleModule), "export const removed = true\n")
    await run("npm", ["run", "build"], { cwd: folder, timeout: 110_000 })
    await fs.writeFile(path.join(folder, "consumer.mjs"), consumerJs)
    await fs.writeFile(path.join(folder, "consumer.ts"), consumerTs)
    await fs.writeFile(path.join(folder, "tsconfig.json"), JSON.stringify(consumerTsconfig))
  }, 120_000)

  afterAll(async () => {
    if (folder !== "") await fs.rm(folder, { recursive: true, force: true })
  })

  it("is built from an empty dist: the output of a removed module is not shipped", async () => {
    await expect(fs.access(path.join(folder, "dist", staleModule))).rejects.toThrow()
    await expect(fs.access(path.join(folder, "dist", "index.js"))).resolves.toBeUndefined()
  })

  it("exports its package.json, which tools read by the package's name", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", `
      import { createRequire } from "node:module"
      console.log(createRequire(import.meta.url)("effect-discord-gateway/package.json").name)
    `], { cwd: folder })
    expect(stdout.trim()).toBe("effect-discord-gateway")
  })

  it("runs on plain Node, imported by its name: a session reaches READY at the local gateway", async () => {
    const { stdout } = await run(process.execPath, ["consumer.mjs"], { cwd: folder, timeout: 60_000 })
    expect(JSON.parse(stdout)).toEqual(["READY", "GUILD_CREATE"])
  }, 90_000)

  it("type-checks in a consumer project through its declarations", async () => {
    const { stdout } = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: folder })
    expect(stdout).toBe("")
  }, 90_000)

  it("ships its command line: `node dist/cli/main.js` runs the embedded gateway", async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(folder, "package.json"), "utf8")) as { bin: Record<string, string> }
    const cli = path.join(folder, manifest.bin["effect-discord-gateway"]!)
    const { stdout } = await run(process.execPath, [cli, "--duration", "3", "--format", "ndjson", "--events", "READY"], {
      cwd: folder,
      timeout: 60_000,
      env: withoutToken
    })
    const types = stdout.trim().split("\n").map((line) => (JSON.parse(line) as { t: string }).t)
    expect(types.length).toBeGreaterThan(0)
    expect(new Set(types)).toEqual(new Set(["READY"]))
  }, 90_000)

  // the consumer above borrows this project's node_modules, dev dependencies included: this checks
  // what an install brings
  it("its declarations import only packages it depends on (or takes as peers), with their types (`@types/...` too)", async () => {
    const read = JSON.parse(await fs.readFile(path.join(folder, "package.json"), "utf8")) as {
      dependencies: Record<string, string>
      peerDependencies: Record<string, string>
    }
    // a peer dependency (effect) is the program's own: as much a dependency of the declarations
    const manifest = { dependencies: { ...read.dependencies, ...read.peerDependencies } }
    const imported = new Set<string>()
    for (const file of await fs.readdir(path.join(folder, "dist"), { recursive: true })) {
      if (!file.endsWith(".d.ts")) continue
      const text = await fs.readFile(path.join(folder, "dist", file), "utf8")
      for (const [, specifier] of text.matchAll(/(?:from |import\()"([^".][^"]*)"/g)) {
        if (specifier!.startsWith("node:")) continue
        imported.add(specifier!.split("/").slice(0, specifier!.startsWith("@") ? 2 : 1).join("/"))
      }
    }
    for (const name of imported) {
      expect(manifest.dependencies, name).toHaveProperty([name])
      const own = await fs.readFile(path.join(root, "node_modules", name, "package.json"), "utf8")
      // a "types" or "typings" field, at the top or among its exports' conditions
      if (!/"(types|typings)"\s*:/.test(own)) {
        expect(manifest.dependencies, `${name} ships no types`).toHaveProperty([`@types/${name}`])
      }
    }
    expect(imported).toContain("ws")
  })
})
