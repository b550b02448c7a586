/**
 * Options read from `Config`. `Config.unwrap` takes every value that is no `Config` for a nested
 * map and reads its entries, so an option given as `undefined` (left out, under TypeScript's
 * default settings) threw a TypeError; here it is left out, as plain options leave it (and a
 * nested map left empty with it).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import { isRecord } from "./record.ts"

const isMap = (value: unknown): value is object => isRecord(value) && !Config.isConfig(value)

// `wrapped` without its `undefined` entries, nor the nested maps left empty (which `unwrap` cannot
// read either)
const defined = (wrapped: unknown): unknown => {
  if (!isMap(wrapped)) return wrapped
  const entries = Object.entries(wrapped).flatMap(([key, value]) => {
    const kept = defined(value)
    return kept === undefined || (isMap(kept) && Object.keys(kept).length === 0) ? [] : [[key, kept] as const]
  })
  return Object.fromEntries(entries)
}

/**
 * The options `wrapped` describes, read from `Config`; one given as `undefined` keeps its default.
 *
 * @since 0.1.0
 */
export const unwrap = <A>(wrapped: Config.Config.Wrap<A>): Config.Config<A> =>
  Config.unwrap(defined(wrapped) as Config.Config.Wrap<A>)
