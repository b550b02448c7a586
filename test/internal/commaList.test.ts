import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { commaList } from "../../src/internal/commaList.ts"

describe("commaList", () => {
  it("gives the items in order, each trimmed", () => {
    expect(commaList("GUILDS")).toEqual(Either.right(["GUILDS"]))
    expect(commaList(" 0-3 , 7,GUILD_MESSAGES ")).toEqual(Either.right(["0-3", "7", "GUILD_MESSAGES"]))
  })

  it("takes a comma at an end, or two in a row, as one, and keeps an item that repeats", () => {
    expect(commaList(",a,,b,")).toEqual(Either.right(["a", "b"]))
    expect(commaList("a, ,b,a")).toEqual(Either.right(["a", "b", "a"]))
  })

  it("keeps spaces inside an item: only those around it go", () => {
    expect(commaList(" 0 - 2 , 3")).toEqual(Either.right(["0 - 2", "3"]))
  })

  it("refuses a blank text as an empty value, and commas alone (with blanks or not) as only commas", () => {
    for (const blank of ["", " ", "\t\n"]) expect(commaList(blank)).toEqual(Either.left("an empty value"))
    for (const commas of [",", " , ", ",,", " ,\t, "]) expect(commaList(commas)).toEqual(Either.left("only commas"))
  })
})
