import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"
import { maskedDefect } from "../../src/internal/defect.ts"
import { LockKey } from "../secrecy.ts"

const token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"

describe("maskedDefect", () => {
  it("gives an Error quoting the token as a new one with it masked, keeping its name and the stack of where it was made (it showed maskedDefect's)", () => {
    const thrown = new TypeError(`proxy session for Bot ${token} is gone`)
    const masked = maskedDefect(thrown, Redacted.make(token))
    expect(masked).toBeInstanceOf(Error)
    const error = masked as Error
    expect(error.message).toBe("proxy session for Bot <token> is gone")
    expect(error.name).toBe("TypeError")
    expect(error.stack).toBe(thrown.stack!.replace(token, "<token>"))
    expect(error.stack).toContain("defect.test.ts")
  })

  // each went on whole: only the message and the stack were looked at
  it("masks it wherever the defect shows it: its cause, an AggregateError's errors, its own properties, a value that is no Error", () => {
    const secret = Redacted.make(token)
    const shows = (value: unknown) => inspect(value, { depth: 10 })
    const frame = `{"op":6,"d":{"token":"${token}"}}`
    const defects = [
      new Error("proxy refused the frame", { cause: new SyntaxError(`unexpected field in ${frame}`) }),
      new AggregateError([new Error(`upstream 1 refused ${frame}`), new Error("upstream 2 timed out")], "all upstreams failed"),
      Object.assign(new RangeError("proxy refused the frame"), { frame, status: 502 }),
      { reason: "proxy refused the frame", frame }
    ]
    for (const defect of defects) {
      const masked = maskedDefect(defect, secret)
      expect(masked).toBeInstanceOf(Error)
      expect(shows(masked)).not.toContain(token.slice(0, 12))
      expect(shows(masked)).toContain("<token>")
    }
    const [caused, aggregate, withFields] = defects.map((defect) => maskedDefect(defect, secret)) as [Error, AggregateError, Error & { status: number }]
    expect([caused.message, (caused.cause as Error).name, (caused.cause as Error).message]).toEqual([
      "proxy refused the frame",
      "SyntaxError",
      `unexpected field in {"op":6,"d":{"token":"<token>"}}`
    ])
    expect(aggregate).toBeInstanceOf(AggregateError)
    expect(aggregate.errors.map((error: Error) => error.message)).toEqual([`upstream 1 refused {"op":6,"d":{"token":"<token>"}}`, "upstream 2 timed out"])
    expect([withFields.name, withFields.status]).toEqual(["RangeError", 502])
  })

  // a loop overflowed the stack; a value past inspect's 10,000 characters or 100 items went whole
  it("masks a defect that refers to itself, and a token deep in a long value", () => {
    const secret = Redacted.make(token)
    const itself = Object.assign(new Error(`refused ${token}`), { self: undefined as unknown })
    itself.self = itself
    const wrapper = new Error("proxy gone")
    const inner = new Error(`refused ${token}`, { cause: wrapper })
    Object.defineProperty(wrapper, "cause", { value: inner })
    const long = Object.assign(new Error("proxy gone"), { log: `${"x".repeat(10_000)} ${token}` })
    const many = Object.assign(new Error("proxy gone"), { frames: [...Array.from({ length: 150 }, () => "{}"), token] })
    for (const defect of [itself, wrapper, long, many]) {
      const masked = maskedDefect(defect, secret)
      expect(masked).not.toBe(defect)
      expect(inspect(masked, { depth: 10, maxStringLength: Infinity, maxArrayLength: Infinity })).not.toContain(token.slice(0, 12))
    }
    const copy = maskedDefect(itself, secret) as Error & { self: unknown }
    expect(copy.self).toBe(copy)
  })

  it("leaves a defect that does not quote it as it is", () => {
    const thrown = new Error("proxy gone")
    expect(maskedDefect(thrown, Redacted.make(token))).toBe(thrown)
    expect(maskedDefect(42, Redacted.make(token))).toBe(42)
    class ProxyGone extends Data.TaggedError("ProxyGone")<{ readonly status: number }> {}
    const tagged = new ProxyGone({ status: 502 })
    expect(maskedDefect(tagged, Redacted.make(token))).toBe(tagged)
  })

  // what each printer shows of a value; a printer that throws shows nothing
  const printed = (value: unknown): ReadonlyArray<string> =>
    [
      () => inspect(value, { depth: null, getters: true, maxStringLength: Infinity, maxArrayLength: Infinity }),
      () => inspect(value, { depth: 4, showHidden: true }),
      // as Effect's loggers and tracer print a cause
      () => Cause.pretty(Cause.die(value), { renderErrorCause: true }),
      () => JSON.stringify(value) ?? "",
      () => String(value)
    ].map((print) => {
      try {
        return print()
      } catch {
        return ""
      }
    })

  // each went on whole: inspect's text (depth 10, getters not run) was all that was looked at, and a
  // copy kept the defect's own functions and took its keys unmasked
  it("masks the token however a printer would find it: a getter, a toJSON or toString, a proxy, a hidden cause, deep down, a key", () => {
    const secret = Redacted.make(token)
    const frame = `{"op":6,"d":{"token":"${token}"}}`
    let deep: Record<string, unknown> = { frame }
    for (let i = 0; i < 12; i++) deep = { inner: deep }
    class RequestFailed extends Error {
      toJSON() {
        return { message: this.message, frame }
      }
    }
    class Described extends Error {
      override toString() {
        return `proxy refused ${frame}`
      }
    }
    let chain = new Error(`refused ${frame}`)
    for (let i = 0; i < 200; i++) chain = new Error(`proxy gone (${i})`, { cause: chain })
    const defects: ReadonlyArray<readonly [string, unknown]> = [
      ["a message getter", Object.defineProperty(new Error("proxy gone"), "message", { get: () => `proxy refused ${frame}` })],
      ["a field getter", Object.defineProperty(new Error("proxy gone"), "frame", { get: () => frame, enumerable: true })],
      ["a toJSON of its class", new RequestFailed("proxy gone")],
      ["a toJSON of its own", { reason: "proxy gone", toJSON: () => ({ frame }) }],
      ["a toString of its class", new Described("proxy gone")],
      ["a value deeper than ten levels", Object.assign(new Error("proxy gone"), { deep })],
      ["a plain object's hidden cause", Object.defineProperty({ reason: "proxy gone" }, "cause", { value: `refused ${frame}` })],
      ["a proxy", new Proxy({ reason: "proxy gone" }, { get: (target, key) => key === "reason" ? `refused ${frame}` : Reflect.get(target, key) })],
      ["a key", Object.assign(new Error(`refused ${frame}`), { [`frame ${token}`]: true })],
      ["an own toJSON beside a quote", Object.assign(new Error(`refused ${frame}`), { toJSON: () => ({ frame }) })],
      ["a cause told by its class's toString", new Error("lock store unreachable", { cause: new LockKey(`identify:${token}`) })],
      ["a cause told by its own toString", new Error("lock store unreachable", { cause: { toString: () => `identify:${token}` } })],
      ["a hidden property", Object.defineProperty(new Error("proxy refused the upgrade"), "request", { value: `Authorization: Bot ${token}` })],
      ["the frame as a Buffer", Object.assign(new Error("proxy refused the frame"), { frame: Buffer.from(frame) })],
      ["the frame as bytes", { reason: "proxy refused the frame", frame: new TextEncoder().encode(frame) }],
      ["a chain of 200 causes", chain],
      // kept as it was in the copy, its own properties shown by inspect
      ["a function as a cause", new Error(`refused ${frame}`, { cause: Object.assign(function sign() {}, { auth: `Bot ${token}` }) })],
      ["a Map holding the frame's bytes", Object.assign(new Error("send failed"), { pending: new Map([["identify", Buffer.from(frame)]]) })],
      ["a Set holding them as a Uint8Array", Object.assign(new Error("send failed"), { pending: new Set([new TextEncoder().encode(frame)]) })],
      // checked alone, then put in the copy as it was, where JSON called it with its key
      ["a toJSON answering by its key", Object.assign(new Error(`refused Bot ${token}`), {
        frame: { op: 2, toJSON: (key: string) => key === "" ? { op: 2 } : { op: 2, d: { token } } }
      })],
      // what no walk of properties finds, where one inspect of the whole stopped at two levels
      ...[
        ["Headers", new Headers({ authorization: `Bot ${token}` })],
        ["a RegExp", new RegExp(token)],
        ["a symbol", Symbol(token)],
        ["a Promise", Promise.resolve(token)],
        ["URLSearchParams", new URLSearchParams({ auth: token })],
        ["a function's property", Object.assign(() => "signed", { auth: `Bot ${token}` })],
        ["a class's static field", class Client { static auth = `Bot ${token}` }]
      ].map(([what, value]: ReadonlyArray<unknown>) => [`${String(what)} four levels down`, Object.assign(new Error("connect failed"), { request: { options: { target: { value } } } })] as const)
    ]
    // the token's first 12 bytes as inspect shows a Buffer's (hex pairs) and a Uint8Array's (decimals)
    const bytes = [...Buffer.from(token.slice(0, 12))]
    const runs = [token.slice(0, 12), bytes.map((byte) => byte.toString(16).padStart(2, "0")).join(" "), bytes.join(", ")]
    for (const [what, defect] of defects) {
      const masked = maskedDefect(defect, secret)
      for (const text of printed(masked)) for (const run of runs) expect(text, what).not.toContain(run)
    }
  })

  it("leaves a value deep down that quotes nothing as it is (it was printed whole, a second for a parsed body 3,000 levels deep)", () => {
    const body: unknown = JSON.parse(`${"{\"a\":".repeat(3000)}{}${"}".repeat(3000)}`)
    const defect = Object.assign(new Error("proxy answered 502"), { body })
    expect(maskedDefect(defect, Redacted.make(token))).toBe(defect)
  })

  it("tells a masked frame of bytes by the text it spells, and keeps what a hidden property was", () => {
    const frame = `{"op":2,"d":{"token":"${token}"}}`
    const fromBytes = maskedDefect({ frame: Buffer.from(frame) }, Redacted.make(token)) as Error
    expect(fromBytes.message).toBe(JSON.stringify({ frame: `{"op":2,"d":{"token":"<token>"}}` }))
    const request = `Authorization: Bot ${token}`
    const hidden = maskedDefect(Object.defineProperty(new Error("proxy refused"), "request", { value: request }), Redacted.make(token))
    expect(Object.getOwnPropertyDescriptor(hidden, "request")).toMatchObject({ value: "Authorization: Bot <token>", enumerable: false })
  })

  // it was an Error of its whole inspect text: "{ message: 'refused Bot <token>', code: 502 }"
  it("gives an object with a message, a plain-JS transport's error, as an Error of that message", () => {
    const masked = maskedDefect({ message: `refused Bot ${token}`, code: 502 }, Redacted.make(token)) as Error & { code: number }
    expect(masked).toBeInstanceOf(Error)
    expect([masked.message, masked.code]).toEqual(["refused Bot <token>", 502])
  })

  // it read as a JSON literal: `transport connect failed: "proxy refused \"Bot <token>\"\nsee logs"`
  it("gives a string as an Error of its words, masked", () => {
    const masked = maskedDefect(`proxy refused "Bot ${token}"\nsee logs`, Redacted.make(token)) as Error
    expect(masked.message).toBe(`proxy refused "Bot <token>"\nsee logs`)
  })

  // Effect's printer rewrites a stack line `at ... effect_instruction_i ... (X)Y` as `at XY`: the
  // copy's stack, masked where it showed no run of 12, showed one there
  it("gives the name and message alone where a printer joins what the copy's stack keeps apart", () => {
    const thrown = new Error(`refused ${token}`)
    thrown.stack = `Error: refused ${token}\n    at run effect_instruction_i (${token.slice(0, 6)})${token.slice(6, 12)}`
    const masked = maskedDefect(thrown, Redacted.make(token)) as Error
    expect(Cause.pretty(Cause.die(masked))).not.toContain(token.slice(0, 12))
    expect([masked.name, masked.message, masked.stack]).toEqual(["Error", "refused <token>", "Error: refused <token>"])
  })

  // inspect at depth 20 printed a shared object again at every path to it: 2^13 times here
  it("looks at each object once, however many paths lead to it", () => {
    let reads = 0
    let node: object = {
      get leaf() {
        reads++
        return 1
      }
    }
    for (let i = 0; i < 13; i++) node = { left: node, right: node }
    const defect = Object.assign(new Error("connect failed"), { detail: node })
    expect(maskedDefect(defect, Redacted.make(token))).toBe(defect)
    expect(reads).toBeLessThan(20)
  })

  // each step of the copy walked 10,000 objects again: about 20 million reads, over a minute
  it("copies a getter making a new object with a message at each read, and a long chain of them, in a bounded number of reads", () => {
    let reads = 0
    const read = <A>(value: A): A => {
      reads++
      // a stop, so that the test ends whatever the code does: past it, a read throws
      if (reads > 300_000) throw new Error("stop")
      return value
    }
    const fresh = (): object => ({ message: "lazy", get more() { return read(fresh()) } })
    maskedDefect(Object.assign(new Error("transport broke"), { detail: fresh() }), Redacted.make(token))
    expect(reads).toBeLessThan(100_000)
    reads = 0
    const steps: Array<Record<string, unknown>> = Array.from({ length: 20_000 }, (_, i) => ({ message: `step ${i}` }))
    steps.forEach((step, i) => Object.defineProperty(step, "next", { enumerable: true, get: () => read(steps[i + 1]) }))
    maskedDefect(Object.assign(new Error("limiter broke"), { steps: steps[0] }), Redacted.make(token))
    expect(reads).toBeLessThan(100_000)
  })

  // each copied error's values were walked again: 1,202,000 reads of each member, 3 s
  it("reads a value that many copied errors share a bounded number of times", () => {
    let reads = 0
    const members = Array.from({ length: 2_000 }, (_, i) => ({
      id: `m${i}`,
      get nick() {
        // a stop, so that the test ends whatever the code does: past it, a read throws
        if (++reads > 2_000_000) throw new Error("stop")
        return "n"
      }
    }))
    const shards = Array.from({ length: 200 }, (_, i) => ({ message: `shard ${i} failed`, guild: { members } }))
    const masked = maskedDefect(new AggregateError(shards, `identify refused for Bot ${token}`), Redacted.make(token))
    expect(reads).toBeLessThan(100_000)
    // and written out once in the copy
    expect(inspect(masked, { depth: null, maxArrayLength: Infinity, maxStringLength: Infinity }).length).toBeLessThan(2 * JSON.stringify(members).length + 50_000)
  })

  // none of the defect's objects goes into the copy: a Response's JSON is "{}", and the status was
  // lost; an object written out under one property came out as "could not be shown" under another
  // (util.inspect's text, tried for what JSON says nothing of, showed a Map's Buffer as hex pairs
  // and wrote shared objects out at every path to them)
  it("puts a copy's objects in readably: a Response, Headers or a Map by their data, at any depth, an object met twice twice", () => {
    const headers = { "retry-after": "30", "content-type": "text/plain" }
    const defect = Object.assign(new Error(`upgrade of wss://proxy.example/?auth=${token} refused`), {
      response: new Response(null, { status: 429, headers }),
      http: { url: "wss://proxy.example/", response: new Response(null, { status: 503 }), routes: new Map([["gateway", 1]]) },
      sent: { url: "wss://proxy.example/", headers },
      headers
    })
    const masked = maskedDefect(defect, Redacted.make(token)) as Error & Record<"response" | "http" | "sent" | "headers", string>
    expect(masked.message).toBe("upgrade of wss://proxy.example/?auth=<token> refused")
    expect(JSON.parse(masked.response)).toMatchObject({ status: 429, headers })
    expect(JSON.parse(masked.http)).toMatchObject({ response: { status: 503 }, routes: [["gateway", 1]] })
    expect(JSON.parse(masked.sent)).toEqual({ url: "wss://proxy.example/", headers })
    expect(JSON.parse(masked.headers)).toEqual(headers)
    // one that refers back to itself (a response and its request, as Node's are) by its data, the
    // way back left out (JSON refused it: "a value that could not be shown")
    const response: Record<string, unknown> = { statusCode: 429, headers: { "retry-after": "30" } }
    response["req"] = { method: "GET", res: response }
    const refused = maskedDefect(Object.assign(new Error(`upgrade refused for Bot ${token}`), { response }), Redacted.make(token)) as Error & { response: string }
    expect(JSON.parse(refused.response)).toEqual({ statusCode: 429, headers: { "retry-after": "30" }, req: { method: "GET" } })
  })

  // too large to be read whole, taken to quote it: its copy, checked again as a whole, was too, and
  // went on as its name and message alone
  it("keeps the stack and the fields of a defect too large to be read whole, whose parts quote nothing", () => {
    const half = (tag: string) => Array.from({ length: 2_000 }, (_, i) => ({ id: `${tag}${i}`, roles: [{ id: "r" }] }))
    const defect = Object.assign(new TypeError("transport broke"), { code: "EPIPE", sent: half("a"), queued: half("b") })
    const masked = maskedDefect(defect, Redacted.make(token)) as Error & { readonly code?: unknown }
    expect([masked.stack, masked.code]).toEqual([defect.stack, "EPIPE"])
  })

  it("never throws, whatever the defect's getters do", () => {
    const secret = Redacted.make(token)
    const throwing = Object.defineProperty(new Error(`refused ${token}`), "frame", {
      get: () => {
        throw new Error(`cannot read ${token}`)
      },
      enumerable: true
    })
    const endless: { readonly next: unknown } = { get next() { return { get next() { return endless } } } }
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error(token) }, get: () => { throw new Error(token) } })
    // a new object at each read, for ever: too large to read whole, it is taken to quote it
    const fresh = (): object => ({ get next() { return fresh() } })
    for (const defect of [throwing, Object.assign(new Error(`refused ${token}`), { endless }), hostile, Object.assign(new Error("proxy gone"), { fresh: fresh() })]) {
      const masked = maskedDefect(defect, secret)
      for (const text of printed(masked)) expect(text).not.toContain(token.slice(0, 12))
    }
  })
})
