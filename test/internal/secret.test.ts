import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { withoutToken } from "../../src/internal/secret.ts"

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

  it("masks a token in any case of its letters, a short one whole, and one under 8 characters nowhere", () => {
    expect(withoutToken(`wss://${token.toLowerCase()}/`, Redacted.make(token))).toBe("wss://<token>/")
    expect(withoutToken("closed: TEST-TOKEN is invalid", Redacted.make("test-token"))).toBe("closed: <token> is invalid")
    // a test's token ("1", "test") was found inside every word and id: a session id "session-1" was
    // refused as quoting the token "1"
    expect(withoutToken("session-1 resumed at ws://resume.test/", Redacted.make("1"))).toBe("session-1 resumed at ws://resume.test/")
    expect(withoutToken("ws://resume.test/", Redacted.make("test"))).toBe("ws://resume.test/")
  })
})
