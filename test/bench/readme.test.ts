/**
 * The README's benchmark figures must follow from bench/history.json, which
 * bench/RESULTS.md's "The targets over the last runs" table is made from.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as History from "../../bench/history.ts"
import { median } from "../../bench/report.ts"

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ")
const history = History.read()
const ratio = (value: number): string => `${value.toFixed(2)}×`

describe("README figures against bench/history.json", () => {
  it("the README's medians over the last three runs are those of the last three runs in history.json", () => {
    const match = /Over the last three runs the medians are ([\d.]+)×, ([\d.]+)× and ([\d.]+)×, and ([\d.]+)× and ([\d.]+)× filtered/
      .exec(readme)
    expect(match).not.toBeNull()
    const lastThree = history.slice(-3)
    const keys = ["small zlib-stream", "small none", "large zlib-stream", "filtered zlib-stream", "filtered none"] as const
    const expected = keys.map((key) => ratio(median(lastThree.map((run) => run.figures[key]!))))
    expect(match!.slice(1).map((value) => `${value}×`)).toEqual(expected)
  })

  it("the README's spread and medians over the last ten runs are those of the last ten runs in history.json", () => {
    const match = new RegExp(
      "small zlib-stream ([\\d.]+)×-([\\d.]+)×, uncompressed ([\\d.]+)×-([\\d.]+)×, large zlib-stream ([\\d.]+)×-([\\d.]+)×, " +
        "with medians of ([\\d.]+)×, ([\\d.]+)× and ([\\d.]+)×; filtered ([\\d.]+)×-([\\d.]+)× and ([\\d.]+)×-([\\d.]+)×, " +
        "medians ([\\d.]+)× and ([\\d.]+)×"
    ).exec(readme)
    expect(match).not.toBeNull()
    const lastTen = history.slice(-10)
    const of = (key: History.Key) => lastTen.map((run) => run.figures[key]!)
    const range = (key: History.Key) => [ratio(Math.min(...of(key))), ratio(Math.max(...of(key)))]
    const expected = [
      ...range("small zlib-stream"),
      ...range("small none"),
      ...range("large zlib-stream"),
      ratio(median(of("small zlib-stream"))),
      ratio(median(of("small none"))),
      ratio(median(of("large zlib-stream"))),
      ...range("filtered zlib-stream"),
      ...range("filtered none"),
      ratio(median(of("filtered zlib-stream"))),
      ratio(median(of("filtered none")))
    ]
    expect(match!.slice(1).map((value) => `${value}×`)).toEqual(expected)
  })

  it("the README's \"Figures of the last run\" table gives the last run's ratios to the floor", () => {
    const last = history.at(-1)!
    const row = (label: string) => {
      const cells = new RegExp(`\\| ${label} \\|([^|]*)\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|`).exec(readme)
      expect(cells).not.toBeNull()
      return cells![5]!.trim()
    }
    expect(readme).toContain("Figures of the last run")
    expect({
      "small zlib-stream": row("small, zlib-stream"),
      "small none": row("small, uncompressed"),
      "large zlib-stream": row("large, zlib-stream"),
      "filtered zlib-stream": row("filtered \\(10% wanted\\), zlib-stream"),
      "filtered none": row("filtered \\(10% wanted\\), uncompressed")
    }).toEqual({
      "small zlib-stream": ratio(last.figures["small zlib-stream"]!),
      "small none": ratio(last.figures["small none"]!),
      "large zlib-stream": ratio(last.figures["large zlib-stream"]!),
      "filtered zlib-stream": ratio(last.figures["filtered zlib-stream"]!),
      "filtered none": ratio(last.figures["filtered none"]!)
    })
    const memory = /\| RSS per idle shard \(1000 shards\)[^|]*\| [^|]*?\(([\d.]+)×/.exec(readme)
    expect(memory?.[1]).toBe(last.figures.memory!.toFixed(2))
  })
})
