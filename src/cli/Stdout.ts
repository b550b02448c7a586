/**
 * The CLI's stdout and its terminal: when it can no longer be written, waiting for room when a
 * slow reader fills it, and leaving a terminal that was closed under the process.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { closeSync } from "node:fs"
import { isatty } from "node:tty"
import { detached } from "../internal/detached.ts"
import { monotonicMillis } from "../internal/due.ts"
import { printable } from "../internal/printable.ts"

/**
 * Why the run ends, and whether that is a failure (exit 1).
 *
 * @since 0.1.0
 */
export interface Ending {
  readonly why: string
  readonly failed: boolean
}

// the standard streams that were a terminal at the start
const terminalFds = [0, 1, 2].filter((fd) => isatty(fd))
let terminalClosed = false

/**
 * Tells that the terminal was closed (SIGHUP, or EIO writing to it). On exit, the process then
 * closes its file descriptors on it first: Node 20 restores a terminal's mode at exit and, the
 * terminal being gone, fails its own check (EIO) and aborts, with a native stack trace and maybe a
 * core file, after the run had stopped cleanly (nodejs/node#51519). A descriptor closed is skipped.
 *
 * @since 0.1.0
 */
export const markTerminalClosed = (): void => {
  if (terminalClosed) return
  terminalClosed = true
  process.once("exit", () => {
    for (const fd of terminalFds) {
      try {
        closeSync(fd)
      } catch {
        // closed already
      }
    }
  })
}

// why stdout failed: a normal end when its reader went away (EPIPE, as in `| head`; ECONNRESET
// where stdout is a TCP socket, as under inetd or systemd's `StandardOutput=socket`) or its
// terminal was closed (EIO on a terminal: a process under a shell that does not pass SIGHUP on
// learns of it only so; it was taken for a full disk, exit 1); else a failure, saying what failed
// (a full disk)
const endingOf = (error: NodeJS.ErrnoException): Ending => {
  if (error.code === "EPIPE" || error.code === "ECONNRESET") return { why: "stopped: stdout was closed", failed: false }
  if (error.code === "EIO" && process.stdout.isTTY === true) {
    markTerminalClosed()
    return { why: "stopped: the terminal was closed", failed: false }
  }
  return { why: `error: stdout cannot be written (${printable(error.code ?? error.message)})`, failed: true }
}

/**
 * Completes when stdout can no longer be written, saying why and whether that is a failure (a
 * reader gone away is not; a full disk is). The listener stays for the rest of the process, so
 * writes still in flight fail quietly instead of crashing it.
 *
 * @since 0.1.0
 */
export const ended: Effect.Effect<Ending> = Effect.async((resume) => {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(endingOf(error))))
})

/**
 * Writes `text` to stdout and waits until it was written: `undefined`, or why it could not be
 * (as `ended` tells it). For a whole output written at once (the help text): `--help > file` on a
 * full disk must not report success.
 *
 * @since 0.1.0
 */
export const write = (text: string): Effect.Effect<Ending | undefined> =>
  Effect.async((resume) => {
    process.stdout.write(text, (error) => resume(Effect.succeed(error == null ? undefined : endingOf(error))))
  })

/**
 * Waits, when a write filled stdout's buffer, until it has room again (or is gone): a slow reader
 * then holds the events back in the fleet's bounded buffer and TCP, not in this process's memory.
 *
 * @since 0.1.0
 */
export const drained: Effect.Effect<void> = Effect.suspend(() =>
  process.stdout.writableNeedDrain
    ? Effect.async<void>((resume) => {
      const done = () => {
        process.stdout.off("drain", done).off("close", done)
        resume(Effect.void)
      }
      process.stdout.on("drain", done).on("close", done)
      return Effect.sync(() => void process.stdout.off("drain", done).off("close", done))
    })
    : Effect.void
)

/**
 * Has a terminal on stdout, and one on stderr, written without blocking the process. Node writes
 * to a terminal synchronously on POSIX: a paused (Ctrl-S) or slow terminal stopped the whole
 * process, the shards' heartbeats with it, and a minute of it got their connections closed as
 * zombies (on stderr, by a log line: a session lost, at the default level). Written as a pipe is,
 * what the terminal does not take yet waits in the stream's buffer, and `drained` holds the events
 * back. Node has no public switch for it: this is the one `tty.WriteStream` turns the other way as
 * it is made; a Node without it keeps writing as before. Once done, wait for `flushed` before the
 * process exits.
 *
 * @since 0.1.0
 */
export const writeTerminalAsync = (): void => {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.isTTY !== true) continue
    const handle: unknown = Reflect.get(stream, "_handle")
    const setBlocking: unknown = typeof handle === "object" && handle !== null ? Reflect.get(handle, "setBlocking") : undefined
    if (typeof setBlocking === "function") setBlocking.call(handle, false)
  }
}

/**
 * Runs `action` once what stdout holds is out (a terminal is written without blocking), or a second
 * on (a terminal that does not drain).
 *
 * @since 0.1.0
 */
export const whenWritten = (action: () => void): void => {
  let done = false
  const once = () => {
    if (done) return
    done = true
    action()
  }
  setTimeout(once, 1000).unref()
  process.stdout.write("", once)
}

/**
 * Done once what was written to stdout and stderr so far is out, or after `timeout`: what a
 * terminal written without blocking still holds is dropped when the process exits (its layout left
 * on the screen).
 *
 * @since 0.1.0
 */
export const flushed = (timeout: Duration.DurationInput): Effect.Effect<void> =>
  // detached: run by a finalizer (which cannot be interrupted) the timeout could not cut the wait
  // short, and a reader that had fallen behind held the stop, and the shards' closes, until it read
  Effect.ignore(detached(Effect.timeout(Effect.zip(write(""), stderrWritten, { concurrent: true }), timeout)))

// done once what was written to stderr so far is out
const stderrWritten: Effect.Effect<void> = Effect.async((resume) => {
  process.stderr.write("", () => resume(Effect.void))
})

/**
 * A stop's time for stdout to drain, shared by all that lets it out (the events still to show, the
 * view's release, the last flush), each given what is left of it: a reader that had fallen behind
 * got a second at each, and one that never read again held the exit for ever.
 *
 * @since 0.1.0
 */
export interface DrainWindow {
  /** Opens the window (a second time, nothing): once the shards stopped. */
  readonly open: Effect.Effect<void>
  /** `effect`, given up on (interrupted) where it outlasts the window; before it opens, its length. */
  readonly within: (effect: Effect.Effect<void>) => Effect.Effect<void>
  /** {@link flushed}, for what is left of the window. */
  readonly flushed: Effect.Effect<void>
}

/**
 * A {@link DrainWindow} of `length`.
 *
 * @since 0.1.0
 */
export const drainWindow = (length: Duration.DurationInput): DrainWindow => {
  const millis = Duration.toMillis(Duration.decode(length))
  let closesAt: number | undefined
  // on the monotonic clock, as every wait of the library's (a wall clock stepped back would hold it)
  const now = Effect.clockWith((clock) => Effect.sync(() => monotonicMillis(clock)))
  const left = Effect.map(now, (at) => closesAt === undefined ? millis : Math.max(0, closesAt - at))
  return {
    open: Effect.flatMap(now, (at) => Effect.sync(() => void (closesAt ??= at + millis))),
    within: (effect) => Effect.flatMap(left, (wait) => Effect.ignore(Effect.timeout(effect, wait))),
    flushed: Effect.flatMap(left, flushed)
  }
}
