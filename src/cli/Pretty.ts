/**
 * The pretty output: a live status view of the shards above a scrolling event log. On a terminal
 * the status view stays in place (a scroll region below it holds the log); elsewhere the status
 * is printed as lines now and then.
 *
 * @since 0.1.0
 */
import type { GatewayEvent } from "../protocol/Event.ts"
import { printable, quoted } from "../internal/printable.ts"
import { cut, head, padTo, width } from "./Columns.ts"

/**
 * One shard's row in the status view.
 *
 * @since 0.1.0
 */
export interface ShardRow {
  readonly shard: number
  readonly state: string
  readonly sequence: number | null
  readonly latency: number | undefined
  readonly reconnects: number
  readonly eventsPerSecond: number
  /** Why it is in its state, in words (a shard kept away by a refused connect says so). */
  readonly reason: string
}

// a reason's words past this are cut in the status view (a close reason, a refused connect's answer)
const maxReasonColumns = 100

// the state of a shard whose figures the status view shows
const readyState = "Connected/Ready"

// `reason` (the network's text among it) escaped and cut to `max` columns, its last one an
// ellipsis when cut, before a character whose escape does not fit whole (cut after escaping, a
// backslash of the text's own before a control character left half an escape), and before an
// escape the session wrote (a close's detail) that the cut would leave half
const why = (reason: string, max: number): string => {
  const start = head(reason, max)
  const whole = printable(start)
  if (start === reason && width(whole) <= max) return whole
  let shown = ""
  for (const { segment } of graphemes.segment(start)) {
    const next = shown + printable(segment)
    if (width(next) > max - 1) break
    shown = next
  }
  return `${wholeEscapes(shown)}…`
}

// a fatal error's message names its shard, which the row's first column says already
const ownShardLeftOut = (row: ShardRow): string => {
  const named = `fatal: shard ${row.shard}: `
  return row.reason.startsWith(named) ? `fatal: ${row.reason.slice(named.length)}` : row.reason
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" })

// `text` cut or padded to exactly `columns` columns
const pad = (text: string, columns: number): string => padTo(cut(text, columns), columns)

// the local time of day, as the logs beside it show theirs (it showed UTC)
const clock = (at: Date): string =>
  [at.getHours(), at.getMinutes(), at.getSeconds()].map((part) => String(part).padStart(2, "0")).join(":")

const field = (d: unknown, key: string): unknown =>
  typeof d === "object" && d !== null ? (d as Record<string, unknown>)[key] : undefined

// `text` quoted, cut to `max` columns (its last one an ellipsis) when longer, counted as shown:
// an escaped character takes its escape's columns (a run of escaped bidi isolates, each counted as
// none, took 236)
const quote = (text: string, max: number): string => {
  const start = head(text, max)
  const shown = quoted(start).slice(1, -1)
  const fits = cut(shown, max)
  return fits.length === shown.length && start === text ? `"${shown}"` : `"${wholeEscapes(cut(shown, max - 1))}…"`
}

// `text` (JSON string content) without an escape cut short at its end: `\`, or `\u` and up to
// three hex digits, after an even run of backslashes
const wholeEscapes = (text: string): string => {
  const end = /(\\+)(u[0-9a-f]{0,3})?$/.exec(text)
  return end === null || end[1]!.length % 2 === 0 ? text : text.slice(0, end.index + end[1]!.length - 1)
}

/**
 * A one-line summary of an event: time (local), shard, sequence, type, and what identifies it. The
 * shard is padded to as many digits as `highestShard` has, so the columns after it line up.
 *
 * @since 0.1.0
 */
export const summary = (event: GatewayEvent, at: Date, highestShard = 0): string => {
  const shard = padTo(`shard ${event.shard}`, `shard ${highestShard}`.length)
  const parts = [clock(at), shard, padTo(`#${event.sequence}`, 7), padTo(printable(event.t), 22)]
  const d = event.d
  const guild = field(d, "guild_id") ?? (event.t === "GUILD_CREATE" ? field(d, "id") : undefined)
  if (typeof guild === "string") parts.push(`guild ${printable(guild)}`)
  const name = field(d, "name")
  if (typeof name === "string") parts.push(quote(name, 40))
  const channel = field(d, "channel_id")
  if (typeof channel === "string") parts.push(`channel ${printable(channel)}`)
  const author = field(field(d, "author"), "username") ?? field(field(d, "user"), "username")
  if (typeof author === "string") parts.push(`@${printable(author)}`)
  const content = field(d, "content")
  if (typeof content === "string" && content !== "") parts.push(quote(content, 60))
  const status = field(d, "status")
  if (typeof status === "string") parts.push(printable(status))
  return parts.join("  ")
}

/**
 * The status view in at most `maxLines` lines: a header and one line per shard; when they do not
 * all fit, as many shards as fit and a line saying how many more there are (on a single line, only
 * that count), so no shard goes unmentioned. Why each shard is in its state is cut to fit
 * `columns`, marked when cut.
 *
 * @since 0.1.0
 */
export const status = (rows: ReadonlyArray<ShardRow>, maxLines: number, columns = Infinity): Array<string> => {
  const header = `${pad("shard", 7)}${pad("state", 22)}${pad("seq", 10)}${pad("latency", 10)}${pad("reconnects", 12)}${pad("events/s", 10)}why`
  // a ready shard's figures, then why; a shard not ready has no figures worth its why's room, which
  // on an 80-column terminal was 9 columns: its why comes where they would
  const line = (row: ShardRow) => {
    const lead = `${pad(String(row.shard), 7)}${pad(row.state, 22)}`
    const figures = row.state !== readyState ? "" : `${pad(row.sequence === null ? "-" : String(row.sequence), 10)}${
      pad(row.latency === undefined ? "-" : `${row.latency} ms`, 10)
    }${pad(String(row.reconnects), 12)}${pad(row.eventsPerSecond.toFixed(1), 10)}`
    const left = columns - width(lead) - width(figures)
    return `${lead}${figures}${why(ownShardLeftOut(row), Math.min(maxReasonColumns, Math.max(1, left)))}`
  }
  if (rows.length < maxLines) return [header, ...rows.map(line)]
  const shown = Math.max(0, maxLines - 2)
  const more = shown === 0 ? `${rows.length} shards, too many for the rows here` : `… and ${rows.length - shown} more shards`
  return maxLines < 2 ? [more] : [header, ...rows.slice(0, shown).map(line), more]
}

/**
 * Where the pretty output goes.
 *
 * @since 0.1.0
 */
export interface Screen {
  /** How many lines of status view the screen shows now. */
  readonly statusLines: () => number
  /** How many columns a line shows now (a terminal's width; no limit elsewhere). */
  readonly columns: () => number
  /** Redraws the status view. */
  readonly status: (lines: ReadonlyArray<string>) => void
  /** Appends a line to the event log. */
  readonly log: (line: string) => void
  /** Restores the terminal for a while (the job is stopped, Ctrl-Z); `resume` lays it out again. */
  readonly suspend: () => void
  /** Lays the view out again after `suspend` (the job continued). */
  readonly resume: () => void
  /** Restores the terminal. */
  readonly close: () => void
}

const esc = "\u001b["

/**
 * A terminal's size in rows and columns. A terminal that does not report one (a pseudo-terminal
 * nobody sized says 0 x 0) counts as 24 x 80.
 *
 * @since 0.1.0
 */
export const size = (out: NodeJS.WriteStream): { readonly rows: number; readonly columns: number } => ({
  rows: out.rows > 0 ? out.rows : 24,
  columns: out.columns > 0 ? out.columns : 80
})

/**
 * A screen on a terminal: the status view is pinned to the top `height` lines (fewer on a short
 * terminal), the log scrolls below it; every line is cut to the terminal's width, so none wraps. A
 * terminal of fewer than 3 rows (no room for a status line, its rule and a log line) shows no status
 * view: the log scrolls over the whole screen until the terminal grows. A resized terminal is laid
 * out anew.
 *
 * @since 0.1.0
 */
export const terminal = (out: NodeJS.WriteStream, height: number): Screen => {
  let current = size(out)
  let top = 0
  // undone once: a second Ctrl-C undoes it while the stop's own close may still come
  let closed = false
  // undone while the job is stopped (Ctrl-Z): a resize meanwhile does not set it again
  let suspended = false
  const layOut = (): void => {
    if (suspended) return
    current = size(out)
    top = current.rows < 3 ? 0 : Math.min(height, Math.max(1, current.rows - 3))
    // clear, a scroll region from under the view and its rule (the whole screen without a view) to
    // the bottom, the cursor at the bottom
    out.write(`${esc}2J${esc}${top > 0 ? top + 2 : 1};${current.rows}r${esc}${current.rows};1H`)
  }
  // the whole screen scrolls again, the cursor on a line of its own at the bottom
  const restore = (): string => `${esc}r${esc}${current.rows};1H\n`
  layOut()
  out.on("resize", layOut)
  return {
    statusLines: () => top,
    columns: () => current.columns,
    status: (lines) => {
      if (top <= 0) return
      let text = `\u001b7${esc}H`
      for (let i = 0; i < top; i++) text += `${esc}2K${cut(lines[i] ?? "", current.columns)}\n`
      text += `${esc}2K${"─".repeat(Math.min(current.columns, 80))}\u001b8`
      out.write(text)
    },
    log: (line) => {
      out.write(`${cut(line, current.columns)}\n`)
    },
    suspend: () => {
      if (closed || suspended) return
      suspended = true
      out.write(restore())
    },
    // only after a suspend: a SIGCONT of its own (kill -CONT) leaves the screen as it is
    resume: () => {
      if (closed || !suspended) return
      suspended = false
      layOut()
    },
    close: () => {
      if (closed) return
      closed = true
      out.off("resize", layOut)
      out.write(restore())
    }
  }
}

/**
 * Whether `out` is a terminal that takes escape sequences (colours, a scroll region, cursor
 * moves): a terminal, but not one that says it understands none (`TERM=dumb`: Emacs' shell, some
 * CI consoles, where they came out as garbage).
 *
 * @since 0.1.0
 */
export const takesEscapes = (out: { readonly isTTY?: boolean | undefined }): boolean =>
  out.isTTY === true && process.env["TERM"] !== "dumb"

/**
 * A screen that is not a terminal: the log as plain lines, the status view as a block now and then.
 *
 * @since 0.1.0
 */
export const plain = (out: NodeJS.WritableStream): Screen => ({
  statusLines: () => Infinity,
  columns: () => Infinity,
  status: (lines) => {
    out.write(`${lines.join("\n")}\n`)
  },
  log: (line) => {
    out.write(`${line}\n`)
  },
  suspend: () => {},
  resume: () => {},
  close: () => {}
})
