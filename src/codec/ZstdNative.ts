/**
 * Lazy loading of the optional native zstd binding (`zstd-napi`), so that nobody who never asks
 * for zstd through it has to install it.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"

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

/**
 * Loads `zstd-napi/binding` once; `undefined` when the package (or its compiled addon) is missing.
 *
 * @since 0.1.0
 */
export const load = (): ZstdBinding | undefined => {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)("zstd-napi/binding") as ZstdBinding
    } catch {
      return undefined
    }
  }
  return cached
}

/**
 * What to tell a user whose environment lacks the native binding.
 *
 * @since 0.1.0
 */
export const missingMessage =
  "zstd-stream needs the optional package zstd-napi, which is not installed here: run `npm install zstd-napi` (it compiles a native addon) or use zlib-stream"
