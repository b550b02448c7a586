import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { vi } from "vitest"
import * as ZstdNative from "../../src/codec/ZstdNative.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"

// What requiring zstd-napi/binding throws here: the package missing, or its addon (as after
// `npm ci --ignore-scripts`, or pnpm, whose install scripts did not run)
const failure = vi.hoisted(() => ({ current: new Error("unset") }))
vi.mock("node:module", async (importOriginal) => ({
  ...(await importOriginal<typeof import("node:module")>()),
  createRequire: () => () => {
    throw failure.current
  }
}))

const notFound = (module: string, from: string) =>
  Object.assign(new Error(`Cannot find module '${module}'\nRequire stack:\n- ${from}`), { code: "MODULE_NOT_FOUND" })

const refusal = () => {
  const resolved = SessionOptions.resolve({ token: Redacted.make("abc.def.ghi"), intents: 1, compression: "zstd-stream" })
  return Either.isLeft(resolved) ? resolved.left.message : "resolved"
}

describe("zstd-stream without a usable zstd-napi", () => {
  it("the package not installed: the options say to install it", () => {
    failure.current = notFound("zstd-napi/binding", "/app/dist/ZstdNative.js")
    expect(ZstdNative.load()).toBeUndefined()
    expect(refusal()).toContain("zstd-napi, which is not installed here: run `npm install zstd-napi`")
  })

  // it said "not installed: run npm install", which finds the package up to date and changes nothing
  it("installed but its addon never built: the options say so, with the load error, and to rebuild it", () => {
    failure.current = notFound("./build/Release/binding.node", "/app/node_modules/zstd-napi/binding.js")
    expect(ZstdNative.load()).toBeUndefined()
    const message = refusal()
    expect(message).toContain(
      "zstd-napi, which is installed but whose native addon did not load (Cannot find module './build/Release/binding.node'): rebuild it with `npm rebuild zstd-napi`"
    )
    expect(message).not.toContain("Require stack")
  })
})
