/** A logger for tests that keeps each line as `LEVEL message`, as a program's log shows it. */
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"

/** The lines logged under `layer`, each `LEVEL message`. */
export const captured = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${String(message)}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** The lines logged under `layer`, each with its annotations (as `key=value`, sorted). */
export const annotated = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    const pairs = [...HashMap.toEntries(annotations)].map(([key, value]) => `${key}=${String(value)}`).sort()
    lines.push(`${logLevel.label} ${String(message)} [${pairs.join(" ")}]`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}
