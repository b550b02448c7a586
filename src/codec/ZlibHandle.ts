/**
 * Synchronous access to node's own zlib contexts (the "fast-zlib" approach): node's native zlib
 * handle is driven directly through its `writeSync`, with no stream, no callback and no copy of the
 * input. None of this is public API, so {@link open} feature-detects it and checks it once per
 * process against a known answer; when anything is off it returns `undefined` and callers use their
 * fallback built on public API only.
 *
 * @since 0.1.0
 */
import * as Zlib from "node:zlib"

/**
 * Why a synchronous zlib run stopped: corrupt data, or output over the size limit.
 *
 * @since 0.1.0
 */
export interface Failure {
  readonly reason: "Data" | "TooLarge"
  readonly message: string
}

/**
 * One zlib context driven synchronously.
 *
 * @since 0.1.0
 */
export interface SyncContext {
  /**
   * Runs `input` through the context with `flushFlag` and returns all output it produced. A single
   * output chunk is returned as a view into a buffer that every context in the process shares and
   * the next call of any of them overwrites: read or copy it before making another call.
   * Returns a {@link Failure} instead after an error; the context is then closed and unusable.
   */
  process(input: Uint8Array, flushFlag: number): Uint8Array | Failure
  /**
   * Frees the native context now, not at some later garbage collection (which knows little of the
   * tens of KiB it holds outside the JS heap); `process` then fails. Closing twice does nothing.
   */
  close(): void
}

/**
 * Which zlib engine a codec uses: `"auto"` drives node's own zlib context synchronously when this
 * node version allows it and falls back otherwise; `"portable"` always uses the fallback built on
 * public API only (slower, the same messages; on a damaged stream the two may fail at different
 * messages, never delivering a wrong one).
 *
 * @since 0.1.0
 */
export type ZlibEngine = "auto" | "portable"

interface NativeHandle {
  writeSync(
    flushFlag: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number
  ): void
  close(): void
  onerror: (message: string, errno: number) => void
}

interface StreamInternals {
  readonly _handle?: unknown
  readonly _writeState?: unknown
}

const CHUNK_BYTES = 64 * 1024

// The output buffer, shared by every context: calls run one at a time and their output is read
// before the next, so one buffer serves a thousand idle shards as well as one.
let sharedChunk: Buffer | undefined
const outputChunk = (): Buffer => (sharedChunk ??= Buffer.allocUnsafe(CHUNK_BYTES))

// The stream object is only a way to get at its native handle, whose output goes to the shared
// chunk: its own output buffer can be as small as zlib allows.
const streamOptions: Zlib.ZlibOptions = { chunkSize: Zlib.constants.Z_MIN_CHUNK }

const internalsOf = (stream: Zlib.Inflate | Zlib.Deflate): { handle: NativeHandle; state: Uint32Array } | undefined => {
  const internals = stream as unknown as StreamInternals
  const handle = internals._handle as Partial<NativeHandle> | null | undefined
  const state = internals._writeState
  if (
    handle == null || typeof handle.writeSync !== "function" || typeof handle.close !== "function" ||
    !(state instanceof Uint32Array) || state.length < 2
  ) return undefined
  return { handle: handle as NativeHandle, state }
}

const afterTheEnd: Failure = { reason: "Data", message: "zlib: data after the end of the stream" }

const drive = (stream: Zlib.Inflate | Zlib.Deflate, maxOutputBytes: number): SyncContext | undefined => {
  const internals = internalsOf(stream)
  if (internals === undefined) return undefined
  const { handle, state } = internals
  const chunk = outputChunk()
  let failure: Failure | undefined
  handle.onerror = (message) => {
    failure ??= { reason: "Data", message: `zlib: ${message}` }
  }
  // whether the stream ended (a final block and its checksum read)
  let ended = false
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    handle.close()
  }
  const fail = (value: Failure): Failure => {
    failure = value
    close()
    return value
  }
  return {
    close: () => {
      failure ??= { reason: "Data", message: "zlib: the context was closed" }
      close()
    },
    process: (input, flushFlag) => {
      if (failure !== undefined) return failure
      if (ended) return fail(afterTheEnd)
      let inputOffset = 0
      let inputLength = input.length
      let parts: Array<Uint8Array> | undefined
      let total = 0
      for (;;) {
        handle.writeSync(flushFlag, input, inputOffset, inputLength, chunk, 0, CHUNK_BYTES)
        if (failure !== undefined) return fail(failure)
        const outputLeft = state[0]!
        const inputLeft = state[1]!
        const produced = CHUNK_BYTES - outputLeft
        total += produced
        if (total > maxOutputBytes) {
          return fail({ reason: "TooLarge", message: `zlib: output over ${maxOutputBytes} bytes` })
        }
        inputOffset += inputLength - inputLeft
        inputLength = inputLeft
        // room left and input not taken: the stream ended, and what follows would go unread (the
        // connection deaf until a zombie check: zlib-stream never ends its stream); the output that
        // ended it is given, anything after it fails
        if (outputLeft !== 0 && inputLength > 0) {
          // nothing of it taken: it all came after the end
          if (inputOffset === 0) return fail(afterTheEnd)
          ended = true
        }
        if (outputLeft !== 0 && parts === undefined) return chunk.subarray(0, produced)
        if (produced > 0) (parts ??= []).push(Buffer.from(chunk.subarray(0, produced)))
        if (outputLeft !== 0) return Buffer.concat(parts!, total)
      }
    }
  }
}

const probe = (): boolean => {
  try {
    const text = "probe ".repeat(20_000)
    const compressed = Zlib.deflateSync(text, { finishFlush: Zlib.constants.Z_SYNC_FLUSH })
    const context = drive(Zlib.createInflate(streamOptions), Number.MAX_SAFE_INTEGER)
    if (context === undefined) return false
    const half = compressed.length >> 1
    const first = context.process(compressed.subarray(0, half), Zlib.constants.Z_SYNC_FLUSH)
    if (!(first instanceof Uint8Array)) return false
    const head = Buffer.from(first).toString("latin1")
    const rest = context.process(compressed.subarray(half), Zlib.constants.Z_SYNC_FLUSH)
    if (!(rest instanceof Uint8Array) || head + Buffer.from(rest).toString("latin1") !== text) return false
    const corrupt = context.process(Uint8Array.of(0xff, 0xff, 0xff, 0xff), Zlib.constants.Z_SYNC_FLUSH)
    return !(corrupt instanceof Uint8Array) && corrupt.reason === "Data"
  } catch {
    return false
  }
}

let usable: boolean | undefined

/**
 * Whether this node version lets zlib contexts be driven synchronously (checked once per process).
 *
 * @since 0.1.0
 */
export const isAvailable = (): boolean => (usable ??= probe())

/**
 * Opens a synchronously driven inflate or deflate context, or `undefined` when this node version
 * does not allow it. Output over `maxOutputBytes` for one call is a `"TooLarge"` {@link Failure}.
 *
 * @since 0.1.0
 */
export const open = (kind: "inflate" | "deflate", maxOutputBytes: number): SyncContext | undefined => {
  if (!isAvailable()) return undefined
  const stream = kind === "inflate" ? Zlib.createInflate(streamOptions) : Zlib.createDeflate(streamOptions)
  return drive(stream, maxOutputBytes)
}

/**
 * Whether a {@link SyncContext} result is a {@link Failure}.
 *
 * @since 0.1.0
 */
export const isFailure = (result: Uint8Array | Failure): result is Failure => !(result instanceof Uint8Array)
