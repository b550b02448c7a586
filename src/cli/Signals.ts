/**
 * The CLI's signals after the first Ctrl-C (or SIGTERM), whose stop of the shards runs: a second
 * ends the process at once; the same one passed on again does not.
 *
 * @since 0.1.0
 */
import { whenWritten } from "./Stdout.ts"

/**
 * How soon after the first a signal is taken as that one passed on again, not a second: npm passes
 * a terminal's Ctrl-C on to its script's process (which bash, running the script, made the CLI
 * itself), and tsx's launcher passes it on to a process that has not told it within 30 ms. Each
 * was taken for a second Ctrl-C and ended the run at once, its shards not closed.
 *
 * @since 0.1.0
 */
export const sameSignalMs = 250

/**
 * What a second signal does before the process ends.
 *
 * @since 0.1.0
 */
export interface SecondSignal {
  /** Sets what runs first (the terminal's view undone); the process exits once it is written out. */
  readonly beforeEnd: (undo: () => void) => void
}

/**
 * Listens for the rest of the process: a second SIGINT or SIGTERM, `sameSignalMs` or more after
 * the first, ends it at once with the code a shell gives a process that signal ended (130, 143),
 * after `beforeEnd`'s undoing is out. Without a listener of its own, a second signal ended the
 * process by Node's default once Effect's `runMain` let go of its own at the first.
 *
 * @since 0.1.0
 */
export const listen = (): SecondSignal => {
  let undo = (): void => {}
  let firstAt: number | undefined
  let ending = false
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = performance.now()
    if (firstAt === undefined) {
      firstAt = now
      return
    }
    if (now - firstAt < sameSignalMs || ending) return
    ending = true
    undo()
    whenWritten(() => process.exit(signal === "SIGTERM" ? 143 : 130))
  }
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal)
  return {
    beforeEnd: (next) => {
      undo = next
    }
  }
}
