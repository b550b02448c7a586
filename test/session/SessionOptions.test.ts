import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as Json from "../../src/codec/Json.ts"
import * as Intents from "../../src/protocol/Intents.ts"
import { identifyCommand, withPresence } from "../../src/session/internal/identify.ts"
import type { OptionProblem } from "../../src/session/SessionError.ts"
import * as SessionOptions from "../../src/session/SessionOptions.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import { hello, memberAnswer, options, ready, receiveOp, resumeUrl, secret, Session, settle, TestLayer } from "./harness.ts"

const point = (shard: readonly [number, number], overrides: Partial<SessionOptions.ResumePoint> = {}) => ({
  sessionId: "s",
  sequence: 7,
  resumeGatewayUrl: resumeUrl,
  shard,
  ...overrides
})

const problemOf = (result: Either.Either<SessionOptions.ResolvedOptions, { readonly detail: string }>) =>
  Either.match(result, { onLeft: (error) => error.detail, onRight: () => "valid" })

describe("SessionOptions.resolve", () => {
  it("Session.token drops what a token is often copied with: surrounding whitespace and the REST header's Bot prefix", () => {
    for (const given of [`${secret}`, `  ${secret}\n`, `Bot ${secret}`, `bot\t${secret}`, ` Bot  ${secret} `]) {
      expect(Redacted.value(Session.token(given))).toBe(secret)
    }
    // a token that merely starts with the letters is a token
    expect(Redacted.value(Session.token(`Bot${secret}`))).toBe(`Bot${secret}`)
  })

  it("never quotes the token given in another option by mistake, whole or the part a quote keeps (60 characters of it were shown)", () => {
    const misplaced: ReadonlyArray<Partial<SessionOptions.SessionOptions>> = [
      { gateway: secret },
      { api: `Bot ${secret}` },
      { compression: secret as "none" },
      { encoding: `${secret}\n` as "json" },
      { presence: { since: null, activities: [], status: secret as "online", afk: false } }
    ]
    for (const wrong of misplaced) {
      const problem = problemOf(SessionOptions.resolve(options(wrong)))
      expect(problem).toMatch(/a value of \d+ characters \(not shown\)|<token>/)
      for (let at = 0; at + 12 <= secret.length; at++) expect(problem).not.toContain(secret.slice(at, at + 12))
    }
    // swapped with the gateway URL, the token option holds nothing to mask: the value is still not shown
    const swapped = problemOf(SessionOptions.resolve(options({ token: Redacted.make("wss://gateway.discord.gg"), gateway: secret })))
    expect(swapped).toBe(`gateway must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got a value of ${secret.length} characters (not shown)`)
  })

  // a store's getter or proxy was read several times: checked on one answer, used on another (a
  // defect where a later read threw, or answered what no check saw)
  it("reads each field of a resume point once: a store's getter that answers anew or throws costs a typed error, never a defect", () => {
    const reads: Array<string> = []
    const changing = new Proxy(point([0, 1], { intents: 513 }), {
      get: (target, key) => {
        reads.push(String(key))
        if (key === "intents") return reads.filter((read) => read === "intents").length === 1 ? 513 : Symbol("later")
        return Reflect.get(target, key)
      }
    })
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({ resume: changing })))
    expect(resolved.resume?.intents).toBe(513)
    expect(reads.filter((read) => read === "intents")).toHaveLength(1)
    for (const key of ["presence", "intents", "sessionId"]) {
      const throwing = Object.defineProperty({ ...point([0, 1]) }, key, {
        get: () => {
          throw new Error(`the store refused ${key}`)
        }
      }) as SessionOptions.ResumePoint
      expect(problemOf(SessionOptions.resolve(options({ resume: throwing })))).toBe(`resume could not be read: the store refused ${key}`)
    }
  })

  it("a resume point that cannot even be asked what it is (a revoked proxy) is InvalidOptions too; options the caller's own object inherits are still read with a point", () => {
    const { proxy, revoke } = Proxy.revocable(point([0, 1]), {})
    revoke()
    expect(problemOf(SessionOptions.resolve(options({ resume: proxy })))).toMatch(/^resume could not be read: /)
    // read through the caller's object, not a copy of its own fields (a copy lost what it inherits)
    const inherited = Object.create(options({ gateway: "ws://gateway.test/" })) as SessionOptions.SessionOptions
    const withPoint = Object.assign(Object.create(inherited), { resume: point([0, 1], { resumeGatewayUrl: "ws://resume.test/" }) }) as SessionOptions.SessionOptions
    expect(problemOf(SessionOptions.resolve(withPoint))).toBe("valid")
  })

  // checked on one read and used on another: an `encoding` getter answering "json" while checked
  // and "xml" after was handed on as an Encoding, a defect (rereview98)
  it("each option is read once, its own ones and every option a session takes, inherited or not; one that throws is named", () => {
    const reads = new Map<PropertyKey, number>()
    let encodings = 0
    const given = new Proxy(Object.defineProperty(options({ resume: point([0, 1]) }), "encoding", { enumerable: true, get: () => encodings++ === 0 ? "json" : "xml" }), {
      get: (target, key, receiver) => {
        reads.set(key, (reads.get(key) ?? 0) + 1)
        return Reflect.get(target, key, receiver)
      }
    })
    expect(Either.getOrThrow(SessionOptions.resolve(given)).encoding.name).toBe("json")
    expect([...reads].filter(([, times]) => times > 1)).toEqual([])
    const refusing = Object.defineProperty(options(), "timeouts", {
      enumerable: true,
      get: () => {
        throw new Error(`no timeouts for ${secret}`)
      }
    })
    expect(problemOf(SessionOptions.resolve(refusing))).toBe("timeouts could not be read: no timeouts for <token>")
  })

  // kept as the caller's objects: a `properties.os` changed to 5000 characters after make made the
  // next Identify fail to encode, a defect that ended the session; a changed shard pair went out
  // unchecked; a nested getter answering anew was checked on one answer and used with another
  // (rereview99)
  it("nested options and lists are read once too: what the program changes in its objects afterwards does not reach the next Identify", () => {
    const properties = { os: "linux", browser: "probe", device: "probe" }
    const shard: [number, number] = [0, 2]
    let reads = 0
    const backoff = Object.defineProperty({}, "factor", { enumerable: true, get: () => ++reads === 1 ? 2 : 0.5 })
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({ properties, shard, backoff })))
    properties.os = "x".repeat(5000)
    shard[0] = 1
    expect(identifyCommand(resolved)).toMatchObject({ shard: [0, 2], properties: { os: "linux" } })
    expect({ reads, factor: resolved.backoff.factor }).toEqual({ reads: 1, factor: 2 })
    // a token whose getter throws cannot be masked in what it threw: left out
    const tokenless = Object.defineProperty(options(), "token", {
      enumerable: true,
      get: () => {
        throw new Error(`token ${secret} expired`)
      }
    })
    expect(problemOf(SessionOptions.resolve(tokenless))).toBe("token could not be read")
    const nested = options({ timeouts: Object.defineProperty({}, "hello", { enumerable: true, get: () => { throw new Error("gone") } }) })
    expect(problemOf(SessionOptions.resolve(nested))).toBe("timeouts.hello could not be read: gone")
  })

  // what an option's getter threw was masked with the token read again: a token getter that answers
  // once left the text unmasked; a list was copied through its own `Symbol.iterator` (rereview102)
  it("masks what a getter threw with the token as read, not read again; copies a list by its indexes", () => {
    let reads = 0
    const once = Object.defineProperties(options(), {
      token: { enumerable: true, get: () => ++reads === 1 ? options().token : Redacted.make("another") },
      intents: {
        enumerable: true,
        get: () => {
          throw new Error(`no intents for ${secret}`)
        }
      }
    })
    expect(problemOf(SessionOptions.resolve(once))).toBe("intents could not be read: no intents for <token>")
    expect(reads).toBe(1)
    const shard = Object.defineProperty([1, 2], Symbol.iterator, { value: function*() { yield 5 } })
    expect(Either.getOrThrow(SessionOptions.resolve(options({ shard: shard as unknown as [number, number] }))).shard).toEqual([1, 2])
    const huge = new Array<number>(2 ** 32 - 1)
    expect(problemOf(SessionOptions.resolve(options({ events: huge as never })))).toBe("events has 4294967295 items, over the 1048576 any option takes")
  })

  it("fills in the defaults", () => {
    const { compression: _compression, ...defaults } = options()
    const resolved = Either.getOrThrow(SessionOptions.resolve(defaults))
    expect(resolved.shard).toEqual([0, 1])
    expect(resolved.compression).toBe("zlib-stream")
    expect(resolved.encoding.name).toBe("json")
    expect(resolved.bufferSize).toBe(SessionOptions.defaultBufferSize)
    expect(resolved.timeouts).toEqual({ connect: "15 seconds", hello: "20 seconds", ready: "30 seconds", members: "30 seconds" })
  })

  it("keeps a copy of the presence it checked: the caller's later changes to its object do not reach the Identify", () => {
    const activities = [{ name: "a game", type: 0 }]
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({ presence: { since: null, activities, status: "online", afk: false } })))
    activities[0]!.name = "x".repeat(5000)
    activities.push({ name: "another", type: 0 })
    expect(resolved.presence?.activities).toEqual([{ name: "a game", type: 0 }])
  })

  it("names every problem of bad options, and never the token", () => {
    const cases: ReadonlyArray<[Partial<SessionOptions.SessionOptions>, string]> = [
      [{ shard: [0, 0] }, "shard count must be a positive integer, got 0"],
      [{ shard: [2, 2] }, "shard id must be in [0, 2), got 2"],
      [{ intents: -1 }, "intents must be a combination of known intent bits, got -1"],
      [{ gateway: "https://x.test" }, "gateway must be a ws:// or wss:// URL"],
      [{ gateway: "wss://x.test/#here" }, "gateway must be a ws:// or wss:// URL without a fragment"],
      [{ api: "ftp://x.test" }, "api must be an http(s) URL"],
      // credentials in a URL: fetch refuses it, and the password is not quoted
      [{ api: "https://user:hunter2@x.test/api" }, "api must be an http(s) URL without credentials, of at most 2048 characters, got a URL with credentials (not shown)"],
      [{ gateway: "wss://user:hunter2@x.test" }, "gateway must be a ws:// or wss:// URL without a fragment or credentials, of at most 2048 characters, got a URL with credentials (not shown)"],
      // also when the URL is malformed otherwise (a mistyped port), or too long
      [{ gateway: "wss://bot:hunter2@gateway.example:44300/" }, "got a URL with credentials (not shown)"],
      [{ api: "https://bot:hunter2@proxy.example:80800/api/v10" }, "got a URL with credentials (not shown)"],
      [{ api: `https://bot:hunter2@x.test/${"a".repeat(2048)}` }, "got a URL with credentials (not shown)"],
      // and in the forms URL parsers read credentials from too: a leading space or line break (a
      // value from a config file), one slash or none after the scheme, backslashes
      [{ api: " https://bot:hunter2@proxy.example/api/v10" }, "got a URL with credentials (not shown)"],
      [{ api: "\nhttps://bot:hunter2@proxy.example/api/v10" }, "got a URL with credentials (not shown)"],
      [{ gateway: "wss:/bot:hunter2@gateway.example" }, "got a URL with credentials (not shown)"],
      [{ gateway: "wss:bot:hunter2@gateway.example" }, "got a URL with credentials (not shown)"],
      [{ gateway: "wss:\\\\bot:hunter2@gateway.example" }, "got a URL with credentials (not shown)"],
      [{ encoding: "xml" as never }, `encoding must be "json" or "etf", got "xml"`],
      // a name cast past the types (a config string): the gateway would be asked for it, and the
      // connection could decode none of its binary frames
      [{ compression: "zlib" as never }, `compression must be "zlib-stream", "zstd-stream" or "none", got "zlib"`],
      [{ bufferSize: 0 }, "bufferSize must be a positive integer, got 0"],
      // it took 1: no Hello fit, every connection ended at its first message
      [{ maxMessageBytes: 1 }, "maxMessageBytes must be an integer of at least 4096, got 1"],
      [{ maxMessageBytes: 4096.5 }, "maxMessageBytes must be an integer of at least 4096, got 4096.5"],
      // the option's name, not the Identify field's (large_threshold)
      [{ largeThreshold: 251 }, "largeThreshold must be an integer between 50 and 250, got 251"],
      [{ largeThreshold: 49.5 }, "largeThreshold must be an integer between 50 and 250, got 49.5"],
      [{ backoff: { factor: 0.5 } }, "backoff.factor must be a finite number of at least 1, got 0.5"],
      // a number the Identify cannot carry
      [{ shard: [0, 65_536] }, "shard count must be at most 65535 (an Identify carries no more), got 65536"],
      // a whole file read into the token's setting: the message says the token is the size
      [{ token: Redacted.make("x".repeat(5000)) }, "Identify: payload is 5171 bytes (the token 5000 of them), the limit is 4096"],
      [{ resume: point([1, 2]) }, "resume.shard [1,2] is not this session's shard [0, 1]"],
      [{ resume: point([0, 1], { sequence: -1 }) }, "resume.sequence must be a non-negative integer"],
      // a Resume carries the token: not to a ws:// point where the gateway (or, without one, the API) is encrypted
      [{ gateway: "wss://x.test", resume: point([0, 1]) }, "resume.resumeGatewayUrl is not encrypted (ws://) where the gateway is"],
      [{ gateway: undefined, resume: point([0, 1]) }, "resume.resumeGatewayUrl is not encrypted (ws://) where the gateway is"],
      // a point stored before READYs quoting the token were refused: it went into every snapshot,
      // the returned point, and the Resume's URL
      [{ resume: point([0, 1], { sessionId: `s-${secret}` }) }, "resume.sessionId holds the token: identify anew (leave the point out)"],
      // a zero timeout ends every connection at once; a zero backoff reconnects with no pause
      [{ timeouts: { connect: 0 } }, "timeouts.connect must be a positive duration, got 0"],
      [{ timeouts: { hello: -1 } }, "timeouts.hello must be a positive duration, got -1"],
      [{ timeouts: { ready: Number.NaN } }, "timeouts.ready must be a positive duration, got NaN"],
      [{ timeouts: { members: "-5 seconds" } }, `timeouts.members must be a positive duration, got "-5 seconds"`],
      [{ timeouts: { hello: "soon" as never } }, `timeouts.hello must be a positive duration, got "soon"`],
      [{ timeouts: { ready: Duration.millis(-5) } }, "timeouts.ready must be a positive duration, got 0"],
      [{ timeouts: { connect: -1n } }, "timeouts.connect must be a positive duration, got -1n"],
      // a zero age would ask GET /gateway/bot before every identify
      [{ gatewayInfoMaxAge: 0 }, "gatewayInfoMaxAge must be a duration of at least 1 second, got 0"],
      [{ gatewayInfoMaxAge: "often" as never }, `gatewayInfoMaxAge must be a duration of at least 1 second, got "often"`],
      // asked once a millisecond while a session waited a day for the identify budget
      [{ gatewayInfoMaxAge: "999 millis" }, `gatewayInfoMaxAge must be a duration of at least 1 second, got "999 millis"`],
      [{ backoff: { initial: -1 } }, "backoff.initial must be a positive, finite duration of at most 24 days (a longer wait would never end), got -1"],
      [{ backoff: { max: 0 } }, "backoff.max must be a positive, finite duration of at most 24 days (a longer wait would never end), got 0"],
      [{ backoff: { max: Duration.infinity } }, "backoff.max must be a positive, finite duration of at most 24 days (a longer wait would never end), got Infinity"],
      // a sleep past Node's longest timer (24.8 days) never ends: the session would never reconnect
      [{ backoff: { max: "25 days" } }, `backoff.max must be a positive, finite duration of at most 24 days (a longer wait would never end), got "25 days"`],
      [
        { backoff: { afterInvalidSession: [0, "30 days"] } },
        `backoff.afterInvalidSession[1] must be a non-negative, finite duration of at most 24 days (a longer wait would never end), got "30 days"`
      ],
      [{ backoff: { stableAfter: Number.NaN } }, "backoff.stableAfter must be a positive, finite duration, got NaN"],
      [{ backoff: { initial: "2 minutes" } }, `backoff.initial must not exceed backoff.max, got "2 minutes" and "60 seconds"`],
      [
        { backoff: { afterInvalidSession: ["5 seconds", "1 second"] } },
        `backoff.afterInvalidSession must have its min at most its max, got ["5 seconds", "1 second"]`
      ],
      [{ backoff: { afterInvalidSession: [-1, 5000] } }, "backoff.afterInvalidSession[0] must be a non-negative, finite duration of at most 24 days (a longer wait would never end), got -1"],
      [
        { backoff: { afterInvalidSession: [0, Duration.infinity] } },
        "backoff.afterInvalidSession[1] must be a non-negative, finite duration of at most 24 days (a longer wait would never end), got Infinity"
      ],
      [{ backoff: { afterInvalidSession: [] as never } }, "backoff.afterInvalidSession must be a [min, max] pair of durations, got []"]
    ]
    for (const [overrides, problem] of cases) {
      const detail = problemOf(SessionOptions.resolve(options(overrides)))
      expect(detail).toContain(problem)
      expect(detail).not.toContain(secret)
      expect(detail).not.toContain("hunter2")
    }
    const all = problemOf(SessionOptions.resolve(options({ shard: [3, 2], bufferSize: 0 })))
    expect(all).toBe("shard id must be in [0, 2), got 3; bufferSize must be a positive integer, got 0")
  })

  it("refuses values of shapes the types forbid (from JavaScript or a parsed file) with InvalidOptions; they threw a TypeError", () => {
    const given = (overrides: Record<string, unknown>) => problemOf(SessionOptions.resolve({ ...options(), ...overrides } as SessionOptions.SessionOptions))
    // options that are no object threw a TypeError at the call (a string was read as its characters'
    // indexes), told without their content: they may be the token itself
    // a Map (or a Date) holds no options as properties: each was read as left out
    for (const [whole, kind] of [[undefined, "undefined"], [null, "null"], [secret, "a string"], [[], "an array"], [new Map([["token", secret]]), "a Map"]] as const) {
      expect(problemOf(SessionOptions.resolve(whole as never))).toBe(`options must be an object, got ${kind}`)
    }
    expect(given({ timeouts: null })).toBe("timeouts must be an object, got null")
    expect(given({ backoff: "fast" })).toBe(`backoff must be an object, got "fast"`)
    // compared with 1, true and "3" and [2] passed as numbers, and true made a backoff that never grew
    expect(given({ backoff: { factor: true } })).toBe("backoff.factor must be a finite number of at least 1, got true")
    expect(given({ backoff: { factor: "3" } })).toBe(`backoff.factor must be a finite number of at least 1, got "3"`)
    expect(given({ backoff: { factor: [2] } })).toBe("backoff.factor must be a finite number of at least 1, got an array")
    // an infinite factor jumped from the first wait straight to `max`
    expect(given({ backoff: { factor: Infinity } })).toBe("backoff.factor must be a finite number of at least 1, got Infinity")
    expect(given({ properties: null })).toBe("properties must be an object, got null")
    expect(given({ resume: null })).toBe("resume must be an object, got null")
    expect(given({ resume: { ...point([0, 1]), shard: 0 } })).toBe("resume.shard must be an [id, count] pair, got 0")
    // a stored point's shard as a store may give it back: it was "not this session's shard [0, 1]"
    expect(given({ resume: { ...point([0, 1]), shard: ["0", "1"] } })).toBe(`resume.shard count must be a positive integer, got "1"`)
    expect(given({ resume: { ...point([0, 1]), shard: [null, 1] } })).toBe("resume.shard id must be in [0, 1), got null")
    expect(given({ shard: 3 })).toBe("shard must be an [id, count] pair, got 3")
    expect(given({ events: "MESSAGE_CREATE" })).toBe(`events must be a list of dispatch types, got "MESSAGE_CREATE"`)
    expect(given({ events: [1] })).toBe("events must be a list of dispatch types, got an array")
    // matched exactly, such a name delivered nothing, and nothing said why
    expect(given({ events: ["MESSAGE_CREATE", "message_create", "Ready", ""] })).toBe(
      `events must name dispatch types as Discord writes them (1 to 64 of A-Z, 0-9 and _), got "message_create", "Ready", ""`
    )
    expect(given({ events: ["X".repeat(65)] })).toContain("(1 to 64 of A-Z, 0-9 and _)")
    // a list's holes, which `every` skips: taken, it delivered nothing
    expect(given({ events: new Array(2) })).toBe("events must be a list of dispatch types, got an array")
    // one without its name was dialled as `encoding=undefined`
    for (const encoding of [null, {}, { decode: 1, encode: 2 }, { decode: () => 1, encode: () => 2 }, { name: "xml", decode: () => 1, encode: () => 2 }]) {
      expect(given({ encoding })).toBe(`encoding must be "json", "etf" or an Encoding named "json" or "etf", got ${encoding === null ? "null" : "an object"}`)
    }
    // a URL where an Effect giving one goes was taken, and the session died at its first identify
    for (const [gatewayUrl, kind] of [["ws://gateway.test/", "a string"], [null, "null"], [() => "ws://gateway.test/", "a function"], [{}, "an object"]] as const) {
      expect(given({ gatewayUrl })).toBe(`gatewayUrl must be an Effect that gives a ws:// or wss:// URL (a URL itself is the gateway option), got ${kind}`)
    }
    // a misspelt option was ignored, its default kept (a 15 s connect timeout for `timeout`'s 1 s)
    expect(given({ timeout: { connect: 1000 } })).toBe("unknown option timeout (misspelt?)")
    expect(given({ timeouts: { conect: 1000 }, backoff: { intial: 1 }, properties: { OS: "x" }, shardCount: 4 })).toBe(
      "shardCount is a fleet's option, not a session's; unknown options timeouts.conect, backoff.intial, properties.OS (misspelt?)"
    )
    // a program's whole config spread into the options: ten named, then how many more
    const settings = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`setting${i}`, i]))
    expect(given(settings)).toBe(`unknown options ${Array.from({ length: 10 }, (_, i) => `setting${i}`).join(", ")} and 990 more (misspelt?)`)
    // one given as undefined is as if left out, and a key of no plain name is quoted
    expect(given({ timeout: undefined })).toBe("valid")
    expect(given({ "time\nout": 1 })).toBe(`unknown option "time\\nout" (misspelt?)`)
  })

  it("tells a misspelt option defaults hold (Object.create(defaults)), and refuses a nested map of another kind (a Map, a Date, a Duration)", () => {
    // the defaults' typo was never looked at: every timeout kept its default, unsaid (options1)
    const defaults = { gateway: "ws://gateway.test/", timeout: { connect: "1 second" } }
    const inherited = Object.assign(Object.create(defaults) as object, { token: options().token, intents: Intents.Guilds })
    expect(problemOf(SessionOptions.resolve(inherited as SessionOptions.SessionOptions))).toBe("unknown option timeout (misspelt?)")
    expect(problemOf(SessionOptions.resolve(options({ timeouts: Object.create({ conect: "1 second" }) as never })))).toBe(
      "unknown option timeouts.conect (misspelt?)"
    )
    // a class's instance is a map of its own fields; the class's methods are no options
    class Timeouts {
      connect = "2 seconds"
      describe() {
        return "ours"
      }
    }
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({ timeouts: new Timeouts() as never })))
    expect(Duration.toMillis(resolved.timeouts.connect)).toBe(2000)
    // read as maps, each was a map of no options: every timeout at its default
    for (
      const [given, kind] of [
        [{ timeouts: new Map([["connect", "1 second"]]) }, "a Map"],
        [{ backoff: new Map([["initial", "5 seconds"]]) }, "a Map"],
        [{ timeouts: new Date(0) }, "a Date"],
        [{ timeouts: Duration.seconds(5) }, "a Duration"],
        [{ properties: Redacted.make("x") }, "a Redacted"]
      ] as const
    ) {
      const name = Object.keys(given)[0]
      expect(problemOf(SessionOptions.resolve(options(given as never)))).toBe(`${name} must be an object, got ${kind}`)
    }
  })

  it("refuses a custom Encoding that cannot work at make, naming the encoding: an encode that throws or gives no frame, members of another kind", () => {
    // it died at make with a raw stack, or said "payload is undefined bytes" of no option; a
    // decodedSize that is no function killed the session at the gateway's first message (options1)
    const encodings = [
      [{ ...Json.encoding, encode: () => undefined }, "encoding", "encoding could not encode the Identify: the encoding's encode gave undefined, not a string or a Uint8Array"],
      [{ ...Json.encoding, encode: () => 42 }, "encoding", "encoding could not encode the Identify: the encoding's encode gave a number, not a string or a Uint8Array"],
      [{ ...Json.encoding, encode: () => { throw new Error("cannot encode") } }, "encoding", "encoding could not encode the Identify: cannot encode"],
      [{ ...Json.encoding, decodedSize: 5 }, "encoding.decodedSize", "encoding.decodedSize must be a function, got 5"],
      [{ ...Json.encoding, header: "yes" }, "encoding.header", `encoding.header must be a function, got "yes"`],
      [{ ...Json.encoding, binaryOnly: "no" }, "encoding.binaryOnly", `encoding.binaryOnly must be a boolean, got "no"`]
    ] as const
    for (const [encoding, option, problem] of encodings) {
      const result = SessionOptions.resolve(options({ encoding: encoding as never }))
      expect(Either.isLeft(result) && result.left.problems).toEqual([{ option, problem }])
    }
  })

  it("Session.token of no string (an unset variable, from JavaScript) makes the empty token make refuses, naming the token", () => {
    const unset = undefined as unknown as string
    expect(Redacted.value(Session.token(unset))).toBe("")
    expect(problemOf(SessionOptions.resolve(options({ token: Session.token(unset) })))).toMatch(/token must be a non-empty/)
  })

  it("takes infinite timeouts, a zero pause after op 9, and an option given as undefined as not given", () => {
    // what a program passes from a variable that may be unset: typed so even under
    // exactOptionalPropertyTypes, as this project's tsconfig has it
    const unset = undefined as Duration.DurationInput | undefined
    const fromEnvironment = undefined as string | undefined
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({
      timeouts: { connect: Duration.infinity, hello: Infinity, ready: "1 nanos", members: unset },
      backoff: { initial: "5 seconds", max: [5, 0], afterInvalidSession: [0, 0], stableAfter: unset },
      gateway: fromEnvironment,
      api: fromEnvironment,
      shard: undefined,
      bufferSize: undefined
    })))
    expect(resolved.timeouts).toEqual({ connect: Duration.infinity, hello: Infinity, ready: "1 nanos", members: "30 seconds" })
    expect(resolved.backoff).toMatchObject({ initial: "5 seconds", max: [5, 0], afterInvalidSession: [0, 0], stableAfter: "60 seconds" })
    expect([resolved.gateway, resolved.api, resolved.shard, resolved.bufferSize]).toEqual([
      undefined,
      "https://discord.com/api/v10",
      [0, 1],
      SessionOptions.defaultBufferSize
    ])
  })
})

describe("InvalidOptions.problems", () => {
  const problemsOf = (given: unknown) =>
    Either.match(SessionOptions.resolve(given as SessionOptions.SessionOptions), { onLeft: (error) => error.problems, onRight: () => [] })
  // whether a problem, in its option or its text, quotes a run of 12 characters of the token
  const quotesSecret = (problems: ReadonlyArray<OptionProblem>) =>
    problems.some(({ option, problem }) => Array.from({ length: secret.length - 11 }, (_, at) => secret.slice(at, at + 12)).some((run) => `${option} ${problem}`.includes(run)))

  it("names the option that is wrong beside what is wrong with it", () => {
    expect(problemsOf(options({ bufferSize: 0 }))).toEqual([{ option: "bufferSize", problem: "bufferSize must be a positive integer, got 0" }])
  })

  it("lists each option that is wrong, in the message's order, the message their texts joined", () => {
    const refused = Either.flip(SessionOptions.resolve(options({ shard: [3, 2], intents: -1, bufferSize: 0 })))
    const error = Either.getOrThrow(refused)
    expect(error.problems).toEqual([
      { option: "shard", problem: "shard id must be in [0, 2), got 3" },
      { option: "intents", problem: "intents must be a combination of known intent bits, got -1" },
      { option: "bufferSize", problem: "bufferSize must be a positive integer, got 0" }
    ])
    expect(error.message).toBe(`invalid options: ${error.problems.map(({ problem }) => problem).join("; ")}`)
  })

  // as `timeouts` and `backoff` are: `{ browser }` alone was refused ("properties.os is missing")
  it("fills in the identify properties a program left out with their defaults, one key at a time", () => {
    const resolved = Either.getOrThrow(SessionOptions.resolve(options({ properties: { browser: "Discord iOS", device: undefined } })))
    expect(identifyCommand(resolved)).toMatchObject({
      properties: { os: process.platform, browser: "Discord iOS", device: "effect-discord-gateway" }
    })
    expect(identifyCommand(Either.getOrThrow(SessionOptions.resolve(options({ properties: {} }))))).toMatchObject({
      properties: { os: process.platform, browser: "effect-discord-gateway", device: "effect-discord-gateway" }
    })
  })

  it("names a nested option by its path, a presence's field too (refused by the Identify check)", () => {
    expect(problemsOf(options({ timeouts: { connect: 0 }, backoff: { max: 0, afterInvalidSession: [0, -1] } })).map(({ option }) => option)).toEqual([
      "timeouts.connect",
      "backoff.max",
      "backoff.afterInvalidSession[1]"
    ])
    const presence = { since: null, activities: [{ name: 5, type: 0 }], status: "online", afk: false }
    expect(problemsOf(options({ presence } as never))).toEqual([
      { option: "presence.activities[0].name", problem: "Identify: presence.activities[0].name must be a string, got 5" }
    ])
    expect(problemsOf(options({ properties: { os: 5, browser: "b", device: "d" } } as never))).toEqual([
      { option: "properties.os", problem: "Identify: properties.os must be a string, got 5" }
    ])
  })

  it("names no one option where the problem is none's: options that are no object, several misspelt, an Identify too large", () => {
    expect(problemsOf(null)).toEqual([{ option: "", problem: "options must be an object, got null" }])
    expect(problemsOf(options({ timeout: 1 } as never))).toEqual([{ option: "timeout", problem: "unknown option timeout (misspelt?)" }])
    expect(problemsOf(options({ timeout: 1, retries: 2 } as never))).toEqual([{ option: "", problem: "unknown options timeout, retries (misspelt?)" }])
    expect(problemsOf(options({ token: Redacted.make("x".repeat(5000)) }))).toEqual([
      { option: "", problem: "Identify: payload is 5171 bytes (the token 5000 of them), the limit is 4096" }
    ])
  })

  it("names resume for every problem of a resume point", () => {
    expect(problemsOf(options({ resume: point([1, 2], { sequence: -1 }) }))).toEqual([
      { option: "resume", problem: "resume.sequence must be a non-negative integer" },
      { option: "resume", problem: "resume.shard [1,2] is not this session's shard [0, 1]" }
    ])
  })

  it("never quotes the token in a problem: given in another option, as a key, or thrown by a getter", () => {
    const misplaced = problemsOf(options({ gateway: secret, api: `Bot ${secret}` }))
    expect(misplaced.map(({ option }) => option)).toEqual(["gateway", "api"])
    const keyed = problemsOf(options({ [secret]: 1 } as never))
    const thrown = problemsOf({
      ...options(),
      get timeouts(): never {
        throw new Error(`no timeouts for ${secret}`)
      }
    })
    expect(thrown.map(({ option }) => option)).toEqual(["timeouts"])
    const unread = problemsOf({
      ...options(),
      get token(): never {
        throw new Error(secret)
      }
    })
    expect(unread).toEqual([{ option: "token", problem: "token could not be read" }])
    expect(problemsOf(options({ token: undefined as never }))).toEqual([{ option: "token", problem: "Identify: token is missing" }])
    for (const problems of [misplaced, keyed, thrown]) {
      expect(problems).not.toEqual([])
      expect(quotesSecret(problems)).toBe(false)
    }
  })

  it("an Identify refused for several faults: one problem each, named by its own path, the message as it was", () => {
    const error = Either.getOrThrow(Either.flip(SessionOptions.resolve(options({ presence: { activities: [] } } as never))))
    expect(error.problems).toEqual([
      { option: "presence.since", problem: "Identify: presence.since is missing" },
      { option: "presence.status", problem: "presence.status is missing" },
      { option: "presence.afk", problem: "presence.afk is missing" }
    ])
    expect(error.detail).toBe("Identify: presence.since is missing; presence.status is missing; presence.afk is missing")
    // the presence's fault is not the token's, told first
    const presence = { since: null, activities: [], status: "bogus", afk: false }
    expect(problemsOf(options({ token: Redacted.make(""), presence } as never)).map(({ option }) => option)).toEqual(["token", "presence.status"])
    // past ten, the count of the rest is no one option's
    const activities = Array.from({ length: 12 }, () => ({ type: 0 }))
    const many = problemsOf(options({ presence: { ...presence, status: "online", activities } } as never))
    expect(many.map(({ option }) => option)).toEqual([...Array.from({ length: 10 }, (_, index) => `presence.activities[${index}].name`), ""])
    expect(many.at(-1)).toEqual({ option: "", problem: "and 2 more" })
  })

  it("a list too long under a key that is a run of the token: the token masked in the option and the problem", () => {
    const key = secret.slice(0, 30)
    expect(problemsOf({ ...options(), [key]: new Array(2 ** 21) })).toEqual([
      { option: "<token>", problem: "\"<token>\" has 2097152 items, over the 1048576 any option takes" }
    ])
  })

  it("a key that is no plain name: named as spelt at the top, by its path nested, cut short when long; the message as it was", () => {
    expect(problemsOf(options({ "time-outs": 1 } as never))).toEqual([{ option: "time-outs", problem: "unknown option \"time-outs\" (misspelt?)" }])
    expect(problemsOf(options({ timeouts: { "con nect": 1 } } as never))).toEqual([
      { option: "timeouts[\"con nect\"]", problem: "unknown option timeouts.\"con nect\" (misspelt?)" }
    ])
    expect(problemsOf(options({ ["k".repeat(100)]: 1 } as never))).toEqual([
      { option: `${"k".repeat(57)}...`, problem: "unknown option a value of 100 characters (not shown) (misspelt?)" }
    ])
    const thrown = problemsOf({
      ...options(),
      get "my option"(): never {
        throw new Error("no")
      }
    })
    expect(thrown).toEqual([{ option: "my option", problem: "\"my option\" could not be read: no" }])
  })
})

describe("SessionOptions: infinite timeouts", () => {
  const forever = { connect: Duration.infinity, hello: Duration.infinity, ready: Duration.infinity, members: Duration.infinity }

  it.scoped("a connect that hangs is waited for as long as it takes", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      yield* gateway.hangNextConnect()
      const session = yield* Session.make(options({ timeouts: forever }))
      yield* settle
      yield* TestClock.adjust("30 days")
      expect((yield* gateway.attempts).map((attempt) => attempt.outcome)).toEqual(["hang"])
      expect(yield* session.state).toMatchObject({ _tag: "ConnectingHttp" })
    }).pipe(Effect.provide(TestLayer)))

  // one of 30 days ended the connection under a TestClock, and never in production, where Effect's
  // live Clock never ends a sleep that long (effectuser1)
  it.scoped("a timeout over 24.8 days (the longest one timer waits) is none, under a TestClock too", () =>
    Effect.gen(function*() {
      const longer = { connect: "25 days", hello: "30 days", ready: Duration.days(365), members: "24 days" } as const
      expect(Either.getOrThrow(SessionOptions.resolve(options({ timeouts: longer }))).timeouts)
        .toEqual({ connect: Duration.infinity, hello: Duration.infinity, ready: Duration.infinity, members: "24 days" })
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ timeouts: longer }))
      const peer = yield* gateway.accept
      // no Hello comes
      yield* TestClock.adjust("31 days")
      expect(yield* peer.isOpen).toBe(true)
      expect((yield* session.snapshot).reconnects).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("Hello, READY and a member request's chunks are waited for as long as they take", () =>
    Effect.gen(function*() {
      const gateway = yield* MemoryTransport.MemoryGateway
      const session = yield* Session.make(options({ intents: Intents.Guilds | Intents.GuildMembers, timeouts: forever }))
      const peer = yield* gateway.accept
      yield* TestClock.adjust("1 day")
      expect(yield* peer.isOpen).toBe(true)
      // beats every hour, the longest interval taken: none goes unanswered in the 55 minutes below
      yield* peer.sendJson(hello(3_600_000))
      expect((yield* receiveOp(peer, 2)).op).toBe(2)
      yield* TestClock.adjust("40 minutes")
      expect(yield* peer.isOpen).toBe(true)
      yield* peer.sendJson(ready())
      yield* settle
      expect(yield* session.state).toEqual({ _tag: "Connected", phase: "Ready" })
      const request = yield* Effect.fork(session.requestGuildMembers({ guild_id: "81384788765712384", query: "", limit: 0 }))
      const sent = (yield* receiveOp(peer, 8)) as { readonly d: { readonly nonce: string } }
      yield* TestClock.adjust("15 minutes")
      expect(request.unsafePoll()).toBeNull()
      yield* peer.sendJson(memberAnswer(2, "81384788765712384", sent.d.nonce, []))
      yield* Fiber.join(request)
      expect(yield* peer.isOpen).toBe(true)
    }).pipe(Effect.provide(TestLayer)))
})

describe("SessionOptions.forShard", () => {
  const shared = Either.getOrThrow(
    SessionOptions.resolve(options({ shard: [0, 4], events: ["MESSAGE_CREATE"], timeouts: { hello: "1 second" } }))
  )

  it("gives another shard the same options, sharing their parts, with its own resume point", () => {
    const third = Either.getOrThrow(SessionOptions.forShard(shared, [2, 4], point([2, 4])))
    expect(third.shard).toEqual([2, 4])
    expect(third.resume).toEqual(point([2, 4]))
    expect(third.events).toBe(shared.events)
    expect(third.timeouts).toBe(shared.timeouts)
    expect(third.backoff).toBe(shared.backoff)
    expect(Either.getOrThrow(SessionOptions.forShard(shared, [1, 4], undefined)).resume).toBeUndefined()
    expect(shared.shard).toEqual([0, 4])
  })

  it.effect("checks the shard and its resume point", () =>
    Effect.gen(function*() {
      expect(problemOf(SessionOptions.forShard(shared, [4, 4], undefined))).toBe("shard id must be in [0, 4), got 4")
      expect(problemOf(SessionOptions.forShard(shared, [1, 4], point([2, 4])))).toBe(
        "resume.shard [2,4] is not this session's shard [1, 4]"
      )
      for (const sessionId of ["", "s".repeat(257)]) {
        expect(problemOf(SessionOptions.forShard(shared, [1, 4], point([1, 4], { sessionId })))).toBe(
          "resume.sessionId must be a non-empty string of at most 256 characters"
        )
      }
      const error = yield* Effect.flip(SessionOptions.forShard(shared, [1, 4], point([1, 4], { sessionId: "" })))
      expect(error._tag).toBe("InvalidOptions")
      expect(problemOf(SessionOptions.forShard(shared, [1, 4], point([1, 4], { encoding: "xml" as "json" })))).toBe(
        "resume.encoding must be \"json\" or \"etf\", got \"xml\""
      )
      expect(Either.isRight(SessionOptions.forShard(shared, [1, 4], point([1, 4], { encoding: "etf" })))).toBe(true)
    }))
})

describe("withPresence", () => {
  const activity = (name: string) => ({ since: null, activities: [{ name, type: 0 }], status: "online" as const, afk: false })
  // the longest activity name an Identify of `options` can carry
  const longestFitting = (resolved: SessionOptions.ResolvedOptions) => {
    let length = 0
    while (Either.isRight(withPresence(resolved, activity("x".repeat(length + 1))))) length++
    return length
  }

  it("gives the options a new presence while their Identify can carry it", () => {
    const resolved = Either.getOrThrow(SessionOptions.resolve(options()))
    const watching = activity("the gateway")
    expect(Either.getOrThrow(withPresence(resolved, watching)).presence).toEqual(watching)
    const refused = Either.flip(withPresence(resolved, activity("x".repeat(longestFitting(resolved) + 1))))
    expect(Either.getOrThrow(refused).reason).toBe("TooLarge")
  })

  it("measures the Identify in the options' encoding and for their shard", () => {
    const json = Either.getOrThrow(SessionOptions.resolve(options({ shard: [0, 1] })))
    const etf = Either.getOrThrow(SessionOptions.resolve(options({ shard: [0, 1], encoding: "etf" })))
    expect(longestFitting(etf)).not.toBe(longestFitting(json))
    // a presence that just fits shard 0's Identify does not fit shard 1000's, whose number is longer
    const justFitting = Either.getOrThrow(withPresence(json, activity("x".repeat(longestFitting(json)))))
    expect(problemOf(SessionOptions.forShard(justFitting, [1000, 1001], undefined))).toMatch(/^Identify: payload is 4\d{3} bytes \(the token \d+ of them\), the limit is 4096$/)
  })
})

describe("SessionOptions.gatewayUrl", () => {
  const resolved = Either.getOrThrow(SessionOptions.resolve(options({ compression: "zlib-stream" })))

  it("sets v, encoding and compress once each, replacing the URL's own, and keeps its other parameters as they are spelled", () => {
    // a proxy's URL signed over its query text: written anew, `a~b` became `a%7Eb` and `flag` became `flag=`
    expect(SessionOptions.gatewayUrl("wss://proxy.test/gw?sig=a~b*c&flag&v=9&x=%7e&compress=x&%65ncoding=etf", resolved)).toBe(
      "wss://proxy.test/gw?sig=a~b*c&flag&x=%7e&v=10&encoding=json&compress=zlib-stream"
    )
    // empty pieces kept; a key spelled `?v` is the URL's own (the query's `?` is not its)
    expect(SessionOptions.gatewayUrl("wss://proxy.test/??v=9&&sig=x&", resolved)).toBe(
      "wss://proxy.test/??v=9&&sig=x&&v=10&encoding=json&compress=zlib-stream"
    )
    expect(SessionOptions.gatewayUrl("wss://gateway.discord.gg", resolved)).toBe("wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream")
    expect(SessionOptions.gatewayUrl("wss://gateway.discord.gg/?compress=zlib-stream", { ...resolved, compression: "none" })).toBe(
      "wss://gateway.discord.gg/?v=10&encoding=json"
    )
  })
})
