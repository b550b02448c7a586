import { describe, expect, it } from "@effect/vitest"
import { EventEmitter } from "node:events"
import * as Columns from "../../src/cli/Columns.ts"
import * as Pretty from "../../src/cli/Pretty.ts"
import { IdentifyBudgetExhausted } from "../../src/limits/IdentifyLimiter.ts"
import * as Event from "../../src/protocol/Event.ts"
import { describeReason, Reason } from "../../src/session/SessionState.ts"
import { anyControl, loneSurrogate } from "../controls.ts"

// 03:04:05.678 on this machine's clock: the log shows local time, as the logs beside it do
const at = new Date(2026, 0, 2, 3, 4, 5, 678)

/** A terminal of `rows` x `columns` that keeps what was written to it, and can be resized. */
const fakeTerminal = (rows: number, columns: number) => {
  const written: Array<string> = []
  const terminal = Object.assign(new EventEmitter(), { rows, columns, write: (text: string) => written.push(text) > 0 })
  const resize = (rows: number, columns: number) => {
    Object.assign(terminal, { rows, columns })
    terminal.emit("resize")
  }
  return { out: terminal as unknown as NodeJS.WriteStream, written, resize, listeners: () => terminal.listenerCount("resize") }
}

describe("Pretty", () => {
  it("summarizes an event on one line: time, shard, sequence, type and what identifies it", () => {
    const event = Event.make(1, 42, "MESSAGE_CREATE", {
      guild_id: "100",
      channel_id: "200",
      author: { username: "ada" },
      content: "hello"
    })
    expect(Pretty.summary(event, at)).toBe(`03:04:05  shard 1  #42      MESSAGE_CREATE          guild 100  channel 200  @ada  "hello"`)
  })

  it("cuts a long content and shows a long type whole, non-ASCII alike", () => {
    const line = Pretty.summary(Event.make(0, 1, "É".repeat(30), { content: "日".repeat(100_000), name: "é".repeat(50) }), at)
    expect(line).toBe(`03:04:05  shard 0  #1       ${"É".repeat(30)}  "${"é".repeat(39)}…"  "${"日".repeat(29)}…"`)
  })

  // Cut as the raw text measured, then escaped: a run of bidi isolates (no column each, six once
  // escaped) took 236 columns, pushing what follows off the line.
  it("cuts a quote to its columns as shown, escapes counted, never inside an escape", () => {
    const quotedPart = (content: string) => {
      const line = Pretty.summary(Event.make(0, 1, "MESSAGE_CREATE", { content }), at)
      return line.slice(line.indexOf("\""))
    }
    expect(quotedPart("ab\u2066".repeat(200))).toBe(`"${"ab\\u2066".repeat(7)}ab…"`)
    for (let shift = 0; shift < 8; shift++) {
      const shown = quotedPart(`${"x".repeat(shift)}${"\\\u0007\"".repeat(30)}`)
      expect(Columns.width(shown)).toBeLessThanOrEqual(62)
      // whatever was cut, the quote's text parses: no escape was cut short
      expect(() => JSON.parse(shown.replace("…", ""))).not.toThrow()
    }
  })

  it("shows the local time of day, as the logs beside it on stderr do (it showed UTC)", () => {
    const previous = process.env["TZ"]
    process.env["TZ"] = "Asia/Tokyo"
    try {
      // 03:04:05 in Tokyo, 18:04:05 UTC the day before
      const tokyo = new Date(Date.UTC(2026, 0, 1, 18, 4, 5))
      expect(Pretty.summary(Event.make(0, 1, "READY", {}), tokyo).slice(0, 8)).toBe("03:04:05")
    } finally {
      if (previous === undefined) delete process.env["TZ"]
      else process.env["TZ"] = previous
    }
  })

  it("shows a sequence and a type whole, however long: #1234567 was shown as #123456, and the three MESSAGE_REACTION_REMOVE types alike", () => {
    const types = ["MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI", "GUILD_SCHEDULED_EVENT_CREATE"]
    const lines = types.map((t) => Pretty.summary(Event.make(0, 1_234_567, t, { guild_id: "100" }), at))
    expect(lines).toEqual(types.map((t) => `03:04:05  shard 0  #1234567  ${t}  guild 100`))
  })

  it("pads the shard to the digits of the highest one, so a fleet's columns line up from shard 10 on (they moved one column right)", () => {
    const lines = [9, 10].map((shard) => Pretty.summary(Event.make(shard, 42, "MESSAGE_CREATE", { guild_id: "100" }), at, 15))
    expect(lines).toEqual([
      "03:04:05  shard 9   #42      MESSAGE_CREATE          guild 100",
      "03:04:05  shard 10  #42      MESSAGE_CREATE          guild 100"
    ])
  })

  it("shows what the gateway sent without obeying it: no control character reaches the terminal", () => {
    const hostile = "\u001b[2J\u009b2J\u001b]0;owned\u0007"
    const event = Event.make(0, 1, `GUILD_CREATE${hostile}`, {
      id: hostile,
      name: hostile,
      channel_id: hostile,
      user: { username: hostile },
      content: hostile,
      status: hostile
    })
    const line = Pretty.summary(event, at)
    expect(line).not.toMatch(anyControl)
    expect(line).toContain("\\u001b[2J\\u009b2J")
  })

  it("cuts long content and names, and says how many shards the status view leaves out", () => {
    const line = Pretty.summary(Event.make(0, 1, "MESSAGE_CREATE", { content: "x".repeat(500) }), at)
    expect(line).toContain(`"${"x".repeat(59)}…"`)
    const rows = [0, 1, 2].map((shard) => ({
      shard,
      state: "Connected/Ready",
      sequence: shard === 2 ? null : 10 * shard,
      latency: shard === 0 ? 41 : undefined,
      reconnects: shard,
      eventsPerSecond: 2.25,
      reason: shard === 1 ? "close 4000 (unknown error): \"\u001b]0;pwned\u0007\"" : "ready"
    }))
    const view = Pretty.status(rows, 4)
    expect(view).toHaveLength(4)
    expect(view[0]).toMatch(/^shard\s+state\s+seq\s+latency\s+reconnects\s+events\/s\s+why$/)
    expect(view[1]).toMatch(/^0\s+Connected\/Ready\s+0\s+41 ms\s+0\s+2\.3\s+ready$/)
    // why, in words, its control characters escaped (a close reason is the gateway's text)
    expect(view[2]).toMatch(/^1\s+Connected\/Ready\s+10\s+-\s+1\s+2\.3\s+close 4000 \(unknown error\): "\\u001b\]0;pwned\\u0007"$/)
    expect(view[3]).toMatch(/^2\s+Connected\/Ready\s+-\s+-\s+2\s+2\.3\s+ready$/)
    expect(Pretty.status(rows, 3).slice(1)).toEqual([view[1], "… and 2 more shards"])
    expect(Pretty.status(rows, 2)).toEqual([view[0], "3 shards, too many for the rows here"])
    expect(Pretty.status(rows, 1)).toEqual(["3 shards, too many for the rows here"])
  })

  // on an 80-column terminal the why of a shard kept away had 9 columns ("connect f"), and a long
  // one was cut blind, inside an escape, unmarked
  it("a shard not ready shows why where its figures would be, cut to the terminal's width with an ellipsis, never inside an escape", () => {
    const row = (state: string, reason: string) => ({ shard: 0, state, sequence: 7, latency: 41, reconnects: 3, eventsPerSecond: 0, reason })
    const [, kept] = Pretty.status([row("Disconnected", "connect failed: HTTP 429; retry after 3600 s")], 10, 80)
    expect(kept).toBe(`0      Disconnected          connect failed: HTTP 429; retry after 3600 s`)
    // a wait for the identify budget says which, whole (it was cut before "refill")
    const [, budget] = Pretty.status([row("Disconnected", describeReason(Reason.IdentifyBudget({})))], 10, 80)
    expect(budget).toBe(`0      Disconnected          waiting for the identify budget (spread or refill)`)
    // and when the refill or the spread's next turn comes, where the limiter says
    const at = Date.UTC(2026, 11, 5, 23, 59, 59)
    for (const [kind, told] of [["Refill", "identify budget used up: refill"], ["SpreadTurn", "identify budget low: next turn"]] as const) {
      const [, timed] = Pretty.status([row("Disconnected", describeReason(Reason.IdentifyBudget({ next: { kind, at } })))], 10, 80)
      expect(timed).toBe(`0      Disconnected          ${told} at 23:59:59 UTC`)
    }
    // a hold-back after sessions lost in a row says when the next attempt begins, whole
    for (const invalidatedInARow of [3, 1000]) {
      const [, held] = Pretty.status([row("Disconnected", describeReason(Reason.HeldBack({ until: at, invalidatedInARow })))], 10, 80)
      expect(held).toBe(`0      Disconnected          held back (${invalidatedInARow} lost) until 23:59:59 UTC`)
    }
    const [, ready] = Pretty.status([row("Connected/Ready", "ready")], 10, 80)
    expect(ready).toMatch(/^0\s+Connected\/Ready\s+7\s+41 ms\s+3\s+0\.0\s+ready$/)
    // a close reason of control characters, escaped: cut before an escape it cannot show whole
    const hostile = `close 4000 (unknown error): "${"\u001b".repeat(40)}"`
    const [, cutShort] = Pretty.status([row("Disconnected", hostile)], 10, 80)
    expect(cutShort!.length).toBeLessThanOrEqual(80)
    expect(cutShort).toMatch(/(\\u001b)+…$/)
    // a backslash of the text's own before a control character: the escape is whole or absent, and
    // a lone backslash left at the cut goes too (it would read as half an escape)
    const [, backslash] = Pretty.status([row("Disconnected", "ab\\\u001bcdef")], 10, 29 + 7)
    expect(backslash!.slice(29)).toBe("ab…")
    // a close's detail, escaped by the session: cut before an escape, never inside one
    for (let columns = 29 + 36; columns <= 29 + 44; columns++) {
      const [, detail] = Pretty.status([row("Disconnected", `close 4000 (unknown error): "go away\\u001b\\"now\\u001b"`)], 10, columns)
      expect(detail!.slice(29)).not.toMatch(/\\(u[0-9a-f]{0,3})?…$/)
    }
    // no limit but its own (100 columns) off a terminal
    const [, plain] = Pretty.status([row("Disconnected", "x".repeat(150))], 10)
    expect(plain).toBe(`0      Disconnected          ${"x".repeat(99)}…`)
  })

  it("a fatal reason does not name the shard again: the first column says it", () => {
    const fatal = (shard: number, named: number) => ({
      shard,
      state: "Disconnected",
      sequence: null,
      latency: undefined,
      reconnects: 0,
      eventsPerSecond: 0,
      reason: `fatal: shard ${named}: the gateway closed with 4004 (authentication failed); not reconnecting`
    })
    const [, own, other] = Pretty.status([fatal(1, 1), fatal(12, 1)], 10)
    expect(own).toBe("1      Disconnected          fatal: the gateway closed with 4004 (authentication failed); not reconnecting")
    // another shard's words are kept as they are (shard 12's reason naming shard 1 is no prefix of it)
    expect(other).toBe("12     Disconnected          fatal: shard 1: the gateway closed with 4004 (authentication failed); not reconnecting")
    // a used-up budget's words named the shard in parentheses, kept in the row
    const budget = new IdentifyBudgetExhausted({ shard: 1, total: 1000, resetAfter: 60_000 })
    const [, exhausted] = Pretty.status([{ ...fatal(1, 1), reason: describeReason(Reason.Fatal({ message: budget.message })) }], 200)
    expect(exhausted).toMatch(/^1 +Disconnected +fatal: identify budget exhausted: all 1000 session starts are used/)
  })

  it("on a short terminal the status view still says how many shards it leaves out", () => {
    const rows = [0, 1, 2, 3].map((shard) => ({
      shard,
      state: "Connected/Ready",
      sequence: null,
      latency: undefined,
      reconnects: 0,
      eventsPerSecond: 0,
      reason: "ready"
    }))
    for (const height of [3, 4, 5, 6, 7, 24]) {
      const { out, written } = fakeTerminal(height, 80)
      const screen = Pretty.terminal(out, rows.length + 1)
      const view = Pretty.status(rows, screen.statusLines())
      written.length = 0
      screen.status(view)
      const shown = written[0]!.split("\u001b[2K").slice(1, -1).map((line) => line.replace(/\n$/, ""))
      expect(shown, `${height} rows`).toEqual(view)
      const listed = shown.filter((line) => line.includes("Connected")).length
      const more = Number(/(\d+) (more )?shards/.exec(shown.at(-1)!)?.[1] ?? 0)
      expect(listed + more, `${height} rows`).toBe(rows.length)
    }
    expect(Pretty.plain(fakeTerminal(3, 80).out).statusLines()).toBe(Infinity)
  })

  it("on a terminal: pins the status view above a scroll region, logs below it, and restores the terminal", () => {
    const { out, written } = fakeTerminal(24, 40)
    const screen = Pretty.terminal(out, 4)
    // clear, scroll region from the line under the view and its rule to the bottom, cursor at the bottom
    expect(written.shift()).toBe("\u001b[2J\u001b[6;24r\u001b[24;1H")

    screen.status(["header", "row 0", "row 1", "row 2", "row 3 (beyond the view)"])
    const drawn = written.shift()!
    // saved cursor, home, four cleared lines, the rule, restored cursor: the log's place is kept
    expect(drawn.startsWith("\u001b7\u001b[H")).toBe(true)
    expect(drawn.endsWith("\u001b8")).toBe(true)
    expect(drawn.split("\u001b[2K").slice(1)).toEqual(["header\n", "row 0\n", "row 1\n", "row 2\n", `${"─".repeat(40)}\u001b8`])

    screen.log("y".repeat(100))
    expect(written.shift()).toBe(`${"y".repeat(40)}\n`)

    screen.close()
    expect(written.shift()).toBe("\u001b[r\u001b[24;1H\n")
  })

  it("on a small terminal the status view leaves room for the log", () => {
    const { out, written } = fakeTerminal(6, 80)
    Pretty.terminal(out, 20).status(Array.from({ length: 20 }, (_, i) => `line ${i}`))
    // 6 rows: at most 3 for the view, then its rule, then the log's region
    expect(written[0]).toBe("\u001b[2J\u001b[5;6r\u001b[6;1H")
    expect(written[1]!.split("\u001b[2K")).toHaveLength(1 + 3 + 1)
  })

  it("on a narrow terminal cuts every status line, the header too, to the terminal's width, so none wraps into the log", () => {
    const { out, written } = fakeTerminal(24, 30)
    const screen = Pretty.terminal(out, 4)
    written.length = 0
    const rows = [{ shard: 0, state: "Connected/Ready", sequence: 123456, latency: 41, reconnects: 3, eventsPerSecond: 12.5, reason: "ready" }]
    const view = Pretty.status(rows, 10)
    expect(view[0]!.length).toBeGreaterThan(60)
    screen.status(view)
    const drawn = written.shift()!.split("\u001b[2K").slice(1)
    expect(drawn.slice(0, 2)).toEqual([`${view[0]!.slice(0, 30)}\n`, `${view[1]!.slice(0, 30)}\n`])
    expect(drawn.every((line) => line.replace(/\n$|\u001b8$/, "").length <= 30)).toBe(true)
  })

  it("cuts lines with emoji and CJK text to the terminal's columns, not its UTF-16 units, and never splits a character", () => {
    const { out, written } = fakeTerminal(24, 30)
    const screen = Pretty.terminal(out, 4)
    written.length = 0
    const event = Event.make(0, 7, "MESSAGE_CREATE", { author: { username: "ユーザー" }, content: "🎉🎉🎉 おめでとう 🎉🎉🎉" })
    const line = Pretty.summary(event, at)
    screen.log(line)
    const shown = written.shift()!.replace(/\n$/, "")
    expect(Columns.width(shown)).toBeLessThanOrEqual(30)
    expect(line.startsWith(shown)).toBe(true)
    expect(shown).not.toMatch(loneSurrogate)
    // a long quoted content is cut to 60 columns, its last one the ellipsis
    const quoted = Pretty.summary(Event.make(0, 1, "MESSAGE_CREATE", { content: "😀".repeat(100) }), at)
    expect(quoted).toContain(`"${"😀".repeat(29)}…"`)
  })

  it("on a terminal of 1 or 2 rows shows no status view: the log scrolls over the whole screen, until the terminal grows", () => {
    const { out, resize, written } = fakeTerminal(2, 80)
    const screen = Pretty.terminal(out, 6)
    // a scroll region of the whole screen (top <= bottom), the cursor at the bottom
    expect(written.shift()).toBe("\u001b[2J\u001b[1;2r\u001b[2;1H")
    screen.status(["header", "row 0"])
    expect(written).toEqual([])
    screen.log("an event")
    expect(written.shift()).toBe("an event\n")
    resize(1, 80)
    expect(written.shift()).toBe("\u001b[2J\u001b[1;1r\u001b[1;1H")
    screen.status(["header"])
    expect(written).toEqual([])
    resize(3, 80)
    // 3 rows: one status line, its rule, one log line
    expect(written.shift()).toBe("\u001b[2J\u001b[3;3r\u001b[3;1H")
    screen.status(["header", "row 0"])
    expect(written.shift()!.split("\u001b[2K")).toHaveLength(1 + 1 + 1)
  })

  it("lays out a terminal that reports no size (0 x 0) as 24 x 80, so the log still shows", () => {
    const { out, written } = fakeTerminal(0, 0)
    const screen = Pretty.terminal(out, 6)
    expect(written.shift()).toBe("\u001b[2J\u001b[8;24r\u001b[24;1H")
    screen.log("an event")
    expect(written.shift()).toBe("an event\n")
    expect(Pretty.size(out)).toEqual({ rows: 24, columns: 80 })
  })

  it("lays the screen out anew when the terminal is resized, and stops listening once closed", () => {
    const { listeners, out, resize, written } = fakeTerminal(24, 40)
    const screen = Pretty.terminal(out, 10)
    written.length = 0
    resize(8, 20)
    expect(written.shift()).toBe("\u001b[2J\u001b[7;8r\u001b[8;1H")
    screen.log("z".repeat(30))
    expect(written.shift()).toBe(`${"z".repeat(20)}\n`)
    screen.status(Array.from({ length: 10 }, (_, i) => `line ${i}`))
    expect(written.shift()!.split("\u001b[2K")).toHaveLength(1 + 5 + 1)
    screen.close()
    expect(written.shift()).toBe("\u001b[r\u001b[8;1H\n")
    expect(listeners()).toBe(0)
  })

  describe("suspended (Ctrl-Z) and resumed (fg)", () => {
    const scrollRegion = /\u001b\[\d+;\d+r/

    it("suspend undoes the scroll region; resume lays the view out again", () => {
      const { out, written } = fakeTerminal(24, 80)
      const screen = Pretty.terminal(out, 4)
      written.length = 0
      screen.suspend()
      expect(written.join("")).toContain("\u001b[r")
      written.length = 0
      screen.resume()
      expect(written.join("")).toMatch(scrollRegion)
    })

    // a SIGCONT with no Ctrl-Z before it (kill -CONT) cleared the screen, the event log shown erased
    it("resume without a suspend before it leaves the screen as it is", () => {
      const { out, written } = fakeTerminal(24, 80)
      const screen = Pretty.terminal(out, 4)
      written.length = 0
      screen.resume()
      expect(written).toEqual([])
    })

    // between the suspend and the process's stop (up to a second on a terminal that does not
    // drain), a resize laid the view out again: the job stopped with the scroll region set
    it("a resize while suspended does not set the scroll region again; the resume lays out the new size", () => {
      const { out, resize, written } = fakeTerminal(24, 80)
      const screen = Pretty.terminal(out, 4)
      screen.suspend()
      written.length = 0
      resize(30, 100)
      expect(written).toEqual([])
      screen.resume()
      expect(written.join("")).toContain("\u001b[6;30r")
    })

    it("after close, suspend and resume write nothing", () => {
      const { out, written } = fakeTerminal(24, 80)
      const screen = Pretty.terminal(out, 4)
      screen.close()
      written.length = 0
      screen.suspend()
      screen.resume()
      expect(written).toEqual([])
    })
  })
})
