/**
 * The test oracle: erlang_js (okeuday/erlang_js), a pure JavaScript implementation of Erlang's
 * external term format, typed for what the ETF tests use. Its terms are structured (atoms, binaries,
 * lists and maps are objects), so a test states exactly which Erlang term it means.
 */
import { createRequire } from "node:module"

/** An atom; `utf8: false` writes the latin-1 ATOM_EXT forms. */
export interface OtpAtom {
  readonly value: string
  readonly utf8: boolean
}

/** A binary. */
export interface OtpBinary {
  readonly value: Buffer
}

/** A proper list (an empty one is NIL_EXT). */
export interface OtpList {
  readonly value: ReadonlyArray<unknown>
  readonly improper: boolean
}

/** A map. */
export interface OtpMap {
  readonly value: Map<unknown, unknown>
}

interface ErlangModule {
  OtpErlangAtom: new(value: string, utf8?: boolean) => OtpAtom
  OtpErlangBinary: new(value: Buffer) => OtpBinary
  OtpErlangList: new(value: ReadonlyArray<unknown>, improper?: boolean) => OtpList
  OtpErlangMap: new(value: Map<unknown, unknown>) => OtpMap
  set_undefined(value: string): void
  term_to_binary(term: unknown, callback: (error: unknown, data: Buffer | undefined) => void, compressed?: boolean): void
  binary_to_term(data: Buffer, callback: (error: unknown, term: unknown) => void): void
}

/** The erlang_js module, with `nil` (Elixir's, Discord's) as the atom for null. */
export const Erlang: ErlangModule = (createRequire(import.meta.url)("erlang_js") as { Erlang: ErlangModule }).Erlang
Erlang.set_undefined("nil")

/** erlang_js's encoding of `term` (synchronous: its callback runs at once when uncompressed). */
export const termToBinary = (term: unknown): Uint8Array => {
  let out: Buffer | undefined
  Erlang.term_to_binary(term, (error, data) => {
    if (error !== undefined) throw error
    out = data
  })
  return new Uint8Array(out!)
}

/** erlang_js's decoding of `bytes`. */
/** Erlang's `term_to_binary(Term, [compressed])`: the term zlib-compressed after tag 80 and its size. */
export const termToCompressedBinary = (term: unknown): Promise<Uint8Array> =>
  new Promise((resolve, reject) =>
    Erlang.term_to_binary(term, (error, data) => error === undefined ? resolve(new Uint8Array(data!)) : reject(error), true)
  )

export const binaryToTerm = (bytes: Uint8Array): unknown => {
  let out: unknown
  Erlang.binary_to_term(Buffer.from(bytes), (error, term) => {
    if (error !== undefined) throw error
    out = term
  })
  return out
}

/** A JSON-shaped value as the Erlang term a client sends: binaries for strings and keys, lists. */
export const clientTerm = (value: unknown): unknown => {
  if (value === null) return new Erlang.OtpErlangAtom("nil")
  if (typeof value === "string") return new Erlang.OtpErlangBinary(Buffer.from(value, "utf8"))
  if (Array.isArray(value)) return new Erlang.OtpErlangList(value.map(clientTerm))
  if (typeof value === "object") {
    return new Erlang.OtpErlangMap(
      new Map(Object.entries(value).map(([key, item]) => [new Erlang.OtpErlangBinary(Buffer.from(key, "utf8")), clientTerm(item)]))
    )
  }
  return value
}

/**
 * The JSON-shaped value of a term erlang_js decoded from what a client sends; throws on anything a
 * client must not send (atom keys, tuples, improper lists, byte strings).
 */
export const fromClientTerm = (term: unknown): unknown => {
  if (term === null || typeof term === "number" || typeof term === "boolean") return term
  if (term instanceof Erlang.OtpErlangBinary) return term.value.toString("utf8")
  if (term instanceof Erlang.OtpErlangList) {
    if (term.improper) throw new Error("improper list")
    return term.value.map(fromClientTerm)
  }
  if (term instanceof Erlang.OtpErlangMap) {
    const object: Record<string, unknown> = {}
    for (const [key, item] of term.value) {
      if (!(key instanceof Erlang.OtpErlangBinary)) throw new Error(`a map key that is not a binary: ${String(key)}`)
      object[key.value.toString("utf8")] = fromClientTerm(item)
    }
    return object
  }
  throw new Error(`a term a client must not send: ${String(term)}`)
}
