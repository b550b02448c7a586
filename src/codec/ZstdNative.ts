/**
 * Lazy loading of the optional native zstd binding (`zstd-napi`), so that nobody who never asks
 * for zstd through it has to install it.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { clipped, printable } from "../internal/printable.ts"

/**
 * The part of `zstd-napi`'s low-level binding this library uses, typed here so that type-checking
 * does not require the package.
 *
 * @since 0.1.0
 */
export interface ZstdBinding {
  readonly CCtx: new() => {
    compressStream2(dst: Uint8Array, src: Uint8Array, endOp: number): [number, number, number]
  }
  readonly DCtx: new() => {
    decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number]
    setParameter(parameter: number, value: number): void
  }
  readonly DParameter: { readonly windowLogMax: number }
  readonly EndDirective: { readonly flush: number }
  cStreamOutSize(): number
  dStreamOutSize(): number
}

let cached: ZstdBinding | undefined
// why the binding did not load, the last time it did not
let failure: unknown

/**
 * Loads `zstd-napi/binding` once; `undefined` when the package (or its compiled addon) is missing
 * ({@link unavailableMessage} then says which).
 *
 * @since 0.1.0
 */
export const load = (): ZstdBinding | undefined => {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)("zstd-napi/binding") as ZstdBinding
    } catch (error) {
      failure = error
      return undefined
    }
  }
  return cached
}

const notInstalled =
  "zstd-stream needs the optional package zstd-napi, which is not installed here: run `npm install zstd-napi` (it compiles a native addon) or use zlib-stream"

// the package itself was not found, rather than something it requires (its addon)
const isPackageMissing = (error: unknown): boolean =>
  error instanceof Error && (error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" &&
  error.message.startsWith("Cannot find module 'zstd-napi/binding'")

/**
 * What to tell a user whose environment lacks the native binding: that the package is not
 * installed, or that it is and its addon did not load (never built, as when install scripts did
 * not run; built for another Node), where installing it again changes nothing.
 *
 * @since 0.1.0
 */
export const unavailableMessage = (): string => {
  if (failure === undefined || isPackageMissing(failure)) return notInstalled
  const reason = failure instanceof Error ? failure.message : String(failure)
  return `zstd-stream needs the optional package zstd-napi, which is installed but whose native addon did not load (${
    clipped(printable(reason.split("\n")[0]!), 200)
  }): rebuild it with \`npm rebuild zstd-napi\` (its install script must be allowed to run) or use zlib-stream`
}
