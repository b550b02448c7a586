/**
 * The package as a user installs it: its manifest, what `npm install` would put beside it (this
 * project's node_modules holds the same versions), and the tarball's list (`npm pack --dry-run
 * --ignore-scripts`: no build, nothing written).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = fileURLToPath(new URL("../..", import.meta.url))
const run = promisify(execFile)

interface Manifest {
  readonly name: string
  readonly version: string
  readonly license?: string
  readonly engines?: { readonly node?: string }
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly optionalDependencies?: Record<string, string>
}

const readManifest = (file: string): Manifest => JSON.parse(fs.readFileSync(file, "utf8")) as Manifest
const own = readManifest(path.join(root, "package.json"))

// the package.json of `name` as Node would find it from `fromDir` (node_modules, walking up)
const findManifest = (name: string, fromDir: string): string | undefined => {
  let dir = fromDir
  for (;;) {
    const candidate = path.join(dir, "node_modules", name, "package.json")
    if (fs.existsSync(candidate)) return candidate
    const up = path.dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

type Version = readonly [number, number, number]
const parseVersion = (text: string): Version => {
  const [major = 0, minor = 0, patch = 0] = text.split(".").map((part) => Number.parseInt(part, 10))
  return [major, minor, patch]
}
const compare = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
// the lowest version a simple range accepts: "3.22.4", "^3.22.2", "~1.2.3", ">=20.18.1", ">= 10.0.0"
const minVersion = (range: string): Version => parseVersion(range.replace(/^\s*(\^|~|>=)?\s*/, ""))
// whether a simple range ("x.y.z" exact, "^x.y.z" with x > 0, ">=x.y.z") accepts a version
const satisfies = (version: Version, range: string): boolean => {
  const trimmed = range.trim()
  const floor = minVersion(trimmed)
  if (trimmed.startsWith(">=")) return compare(version, floor) >= 0
  if (trimmed.startsWith("^")) return version[0] === floor[0] && compare(version, floor) >= 0
  if (trimmed.startsWith("~")) return version[0] === floor[0] && version[1] === floor[1] && compare(version, floor) >= 0
  return compare(version, floor) === 0
}

describe("the package as a user installs it", () => {
  // A program on effect 3.22.3 (which @effect/platform-node accepts) got, with effect pinned
  // exactly as a dependency, a second effect 3.22.4 under this package: the README's first example
  // no longer type-checked (the two copies' unique symbols) and every run warned of two versions.
  it("shares the program's effect: a project on an effect its own @effect/platform-node accepts gets no second copy", () => {
    const platformNode = readManifest(findManifest("@effect/platform-node", root)!)
    for (const name of ["effect", "@effect/platform"]) {
      // the oldest version of `name` that the platform-node this package depends on accepts from
      // the program (a peer: the program's own copy)
      const peerRange = platformNode.peerDependencies?.[name]
      expect(peerRange, `@effect/platform-node's peer range for ${name}`).toBeDefined()
      const programsVersion = minVersion(peerRange!)
      // a peer dependency is always the program's copy (npm refuses a version it does not accept
      // rather than install another); a dependency whose range refuses the program's version is
      // installed a second time, under this package's own node_modules
      const asPeer = own.peerDependencies?.[name]
      const asDependency = own.dependencies?.[name]
      const shared = asPeer !== undefined || (asDependency !== undefined && satisfies(programsVersion, asDependency))
      expect(
        { name, programsVersion: programsVersion.join("."), dependency: asDependency, peer: asPeer, shared },
        `${name} ${programsVersion.join(".")} in the program gets a second copy of ${name} beside it`
      ).toMatchObject({ shared: true })
    }
  })

  it("ships the license it declares: package.json says MIT, and the tarball carries its text", async () => {
    expect(own.license).toBe("MIT")
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, timeout: 30_000 })
    const [packed] = JSON.parse(stdout) as ReadonlyArray<{ readonly files: ReadonlyArray<{ readonly path: string }> }>
    const files = packed!.files.map((file) => file.path)
    expect(files).toContain("README.md")
    expect(files.filter((file) => /^licen[cs]e(\.|$)/i.test(file)), `tarball files: ${files.join(", ")}`).not.toEqual([])
  }, 40_000)

  it("its engines.node is no lower than what its runtime dependencies declare they need", () => {
    const ours = own.engines?.node
    expect(ours).toBeDefined()
    const seen = new Map<string, Manifest>()
    const visit = (name: string, fromDir: string): void => {
      const file = findManifest(name, fromDir)
      if (file === undefined || seen.has(file)) return
      const manifest = readManifest(file)
      seen.set(file, manifest)
      const optional = new Set(Object.keys(manifest.optionalDependencies ?? {}))
      for (const [dep, meta] of Object.entries(manifest.peerDependenciesMeta ?? {})) if (meta.optional === true) optional.add(dep)
      for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
        if (!optional.has(dep)) visit(dep, path.dirname(file))
      }
    }
    for (const dep of Object.keys({ ...own.dependencies, ...own.peerDependencies })) visit(dep, root)
    const stricter = [...seen.values()]
      .filter((manifest) => manifest.engines?.node !== undefined && /^\s*>=\s*[\d.]+\s*$/.test(manifest.engines.node))
      .filter((manifest) => compare(minVersion(manifest.engines!.node!), minVersion(ours!)) > 0)
      .map((manifest) => `${manifest.name}@${manifest.version} needs node ${manifest.engines!.node}`)
    // undici 7 (@effect/platform-node's HttpClient, in Live.layer) needs node >=20.18.1
    expect(stricter, `package.json says node ${ours}`).toEqual([])
  })
})
