/** A logger for tests that keeps each line as `LEVEL message`, as a program's log shows it. */
import * as Logger from "effect/Logger"

/** The lines logged under `layer`, each `LEVEL message`. */
export const captured = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${String(message)}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}
