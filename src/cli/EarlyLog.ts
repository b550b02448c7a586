/**
 * The lines logged before the terminal's view is laid out, which its first layout (a cleared
 * screen) erases: `Fleet.make`'s "starting N of N shards", a first `GET /gateway/bot` tried again.
 * Kept to be shown again at the top of the view's log, as the command line's own notes are.
 *
 * @since 0.1.0
 */
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import { printable } from "../internal/printable.ts"

/** The most lines kept, the last ones: a start that keeps failing logs on until it is stopped. */
const capacity = 100

/**
 * A logger that keeps each line it is given until `take`.
 *
 * @since 0.1.0
 */
export interface EarlyLog {
  readonly logger: Logger.Logger<unknown, void>
  /** The lines kept so far, oldest first; none is kept after. */
  readonly take: () => ReadonlyArray<string>
}

/**
 * An `EarlyLog` keeping lines from now on.
 *
 * @since 0.1.0
 */
export const make = (): EarlyLog => {
  let lines: Array<string> | undefined = []
  return {
    logger: Logger.make(({ annotations, logLevel, message }) => {
      if (lines === undefined) return
      const words = (Array.isArray(message) ? message : [message]).map((part) => typeof part === "string" ? part : String(part)).join(" ")
      const context = HashMap.toEntries(annotations).map(([key, value]) => `${key}=${String(value)}`).join(" ")
      lines.push(printable(`${logLevel.label.toLowerCase()}: ${words}${context === "" ? "" : ` (${context})`}`))
      if (lines.length > capacity) lines.shift()
    }),
    take: () => {
      const taken = lines ?? []
      lines = undefined
      return taken
    }
  }
}
