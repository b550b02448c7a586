import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { maskedDefect, withoutToken } from "../../src/internal/secret.ts"

const token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"

describe("withoutToken", () => {
  it("masks the token whole, and a run of 12 or more of its characters (a quote cut short), wherever it is", () => {
    expect(withoutToken(`got "${token}"`, Redacted.make(token))).toBe(`got "<token>"`)
    expect(withoutToken(`got "${token.slice(0, 57)}…"; and "${token.slice(20, 40)}"`, Redacted.make(token))).toBe(`got "<token>…"; and "<token>"`)
  })

  it("leaves text with shorter runs of it as it is, and masks nothing for a token that is not a string", () => {
    const text = `compression must be "zlib-stream", got "${token.slice(0, 11)}"`
    expect(withoutToken(text, Redacted.make(token))).toBe(text)
    expect(withoutToken(`got "${token}"`, 42)).toBe(`got "${token}"`)
    expect(withoutToken(`got "${token}"`, token)).toBe(`got "<token>"`)
  })
})

describe("maskedDefect", () => {
  it("gives an Error quoting the token as a new one with it masked, keeping its name and the stack of where it was made (it showed maskedDefect's)", () => {
    const thrown = new TypeError(`proxy session for Bot ${token} is gone`)
    const masked = maskedDefect(thrown, Redacted.make(token))
    expect(masked).toBeInstanceOf(Error)
    const error = masked as Error
    expect(error.message).toBe("proxy session for Bot <token> is gone")
    expect(error.name).toBe("TypeError")
    expect(error.stack).toBe(thrown.stack!.replace(token, "<token>"))
    expect(error.stack).toContain("secret.test.ts")
  })

  it("leaves a defect that does not quote it as it is", () => {
    const thrown = new Error("proxy gone")
    expect(maskedDefect(thrown, Redacted.make(token))).toBe(thrown)
    expect(maskedDefect(42, Redacted.make(token))).toBe(42)
  })
})
