/**
 * A harness for clock-driven fleet tests: the in-memory transport with a scripted gateway that
 * serves every connection (Hello, READY on Identify, RESUMED on Resume, ACKs), and records
 * when each shard identified and what each shard sent.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fleet from "../../src/fleet/Fleet.ts"
import type { FleetOptions } from "../../src/fleet/FleetOptions.ts"
import * as IdentifyLimiter from "../../src/limits/IdentifyLimiter.ts"
import type { ResumePoint } from "../../src/session/SessionOptions.ts"
import { type Connection, GatewayTransport } from "../../src/transport/GatewayTransport.ts"
import * as MemoryTransport from "../../src/transport/MemoryTransport.ts"
import * as VirtualTime from "../../src/testing/VirtualTime.ts"
import { settleFor } from "../settle.ts"

export const secret = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"
export const token = Redacted.make(secret)
export const gatewayUrl = "ws://gateway.test/"
export const resumeUrl = "ws://resume.test/"

/** The services a fleet needs, all in memory. */
export const TestLayer = Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, FetchHttpClient.layer)

/** {@link TestLayer} with every connection changed by `adjust` (a transport that sends or closes slowly). */
export const TestLayerWith = (adjust: (connection: Connection) => Connection) =>
  Layer.mergeAll(
    Layer.effectContext(Effect.map(MemoryTransport.make, ({ gateway, transport }) =>
      Context.make(GatewayTransport, {
        connect: (url, connectOptions) => Effect.map(transport.connect(url, connectOptions), adjust)
      }).pipe(Context.add(MemoryTransport.MemoryGateway, gateway)))),
    IdentifyLimiter.layerMemory,
    FetchHttpClient.layer
  )

/** Fleet options: an uncompressed JSON fleet at the test gateway, then `overrides`. */
export const options = (overrides: Partial<FleetOptions> = {}): FleetOptions => ({
  token,
  intents: 513,
  gateway: gatewayUrl,
  compression: "none",
  ...overrides
})

/** Sets the identify limiter's max concurrency, as `GET /gateway/bot` would. */
export const configureLimiter = (maxConcurrency: number) =>
  Effect.flatMap(IdentifyLimiter.IdentifyLimiter, (limiter) =>
    limiter.configure({ maxConcurrency, total: 1000, remaining: 1000, resetAfter: 86_400_000 }))

/** A guild id on `shard` of `count` shards (a made-up snowflake). */
export const guildOn = (shard: number, count: number, salt = 0): string =>
  String((BigInt(shard + count * (1000 + salt)) << 22n) | 4242n)

interface Payload {
  readonly op: number
  readonly d: unknown
}

/** What the scripted gateway saw. */
export interface Served {
  /** Every Identify: which shard, when (ms by the `Clock`), with which presence. */
  readonly identifies: Array<{ readonly shard: number; readonly at: number; readonly presence: unknown }>
  /** Every Resume: which session, from which sequence. */
  readonly resumes: Array<{ readonly sessionId: string; readonly seq: number }>
  /** The latest connection of each shard (known once it identified or resumed). */
  readonly peers: Map<number, MemoryTransport.MemoryPeer>
  /** Every payload each shard sent after authenticating, heartbeats excluded. */
  readonly commands: Map<number, Array<Payload>>
}

/**
 * Serves every connection the fleet opens, in the background of the test's scope; READY follows
 * an Identify after `readyAfter` ms (at once by default). The connections `silent` names (by the
 * order they came in, from 0) get no Hello.
 */
export const serve = ({ heartbeatInterval = 3_600_000, readyAfter = 0, silent = () => false }: {
  readonly heartbeatInterval?: number
  readonly readyAfter?: number
  readonly silent?: (connection: number) => boolean
} = {}) =>
  Effect.gen(function*() {
    const gateway = yield* MemoryTransport.MemoryGateway
    const served: Served = { identifies: [], resumes: [], peers: new Map(), commands: new Map() }
    let connections = 0
    const handle = (peer: MemoryTransport.MemoryPeer) =>
      Effect.gen(function*() {
        if (silent(connections++)) return
        yield* peer.sendJson({ op: 10, d: { heartbeat_interval: heartbeatInterval }, s: null, t: null })
        let shard: number | undefined
        while (true) {
          const payload = (yield* peer.receivedJson) as Payload
          if (payload.op === 1) {
            yield* peer.sendJson({ op: 11, d: null, s: null, t: null })
          } else if (payload.op === 2) {
            const { presence, shard: [id, count] } = payload.d as { readonly shard: [number, number]; readonly presence?: unknown }
            shard = id
            served.identifies.push({ shard: id, at: yield* Clock.currentTimeMillis, presence })
            served.peers.set(id, peer)
            if (readyAfter > 0) yield* Effect.sleep(readyAfter)
            yield* peer.sendJson(dispatch(1, "READY", {
              v: 10,
              session_id: `session-${id}`,
              resume_gateway_url: resumeUrl,
              user: { id: "1", username: "bot" },
              guilds: [],
              shard: [id, count],
              application: { id: "2", flags: 0 }
            }))
          } else if (payload.op === 6) {
            const { seq, session_id } = payload.d as { seq: number; session_id: string }
            shard = Number(session_id.replace("session-", ""))
            served.resumes.push({ sessionId: session_id, seq })
            served.peers.set(shard, peer)
            yield* peer.sendJson(dispatch(seq + 1, "RESUMED", {}))
          } else if (shard !== undefined) {
            const list = served.commands.get(shard) ?? []
            list.push(payload)
            served.commands.set(shard, list)
          }
        }
      })
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(gateway.accept, (peer) => Effect.forkScoped(handle(peer)))))
    return served
  })

/** A dispatch frame. */
export const dispatch = (s: number, t: string, d: unknown) => ({ op: 0, s, t, d })

/** Lets the forked fibers run until they block (a fleet has more of them than a session). */
export const settle = settleFor(100)

/** Moves the `TestClock` forward by `millis` in steps, letting every fiber run between steps. */
export const advance = (millis: number, step = 500) => VirtualTime.advance(millis, { step })

/**
 * Starts a fleet of `shards` shards at `maxConcurrency` against a gateway that answers each
 * Identify `readyAfter` ms later (at once by default), and runs the clock to `until` in steps of
 * `step` ms (times are exact at multiples of it). Returns what the gateway served, when each shard
 * was READY, and the identify times of one rate-limit key.
 */
export const startup = (run: {
  readonly shards: number
  readonly maxConcurrency: number
  readonly readyAfter?: number
  readonly until: number
  readonly step?: number
}) =>
  Effect.gen(function*() {
    yield* configureLimiter(run.maxConcurrency)
    const served = yield* serve({ readyAfter: run.readyAfter ?? 0 })
    const fleet = yield* Fleet.make(options({ shardCount: run.shards }))
    const ready: Array<{ readonly shard: number; readonly at: number }> = []
    yield* Effect.forkScoped(Stream.runForEach(Stream.filter(fleet.events, (event) => event.t === "READY"), (event) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        ready.push({ shard: event.shard, at })
      })))
    yield* advance(run.until, run.step)
    /** The identify times of one rate-limit key, in order. */
    const identifiesOf = (key: number) =>
      served.identifies.filter((i) => i.shard % run.maxConcurrency === key).map((i) => i.at).sort((a, b) => a - b)
    return { served, ready, identifiesOf }
  })

/** An `HttpClient` answering `GET /gateway/bot` with `body`, counting the requests. */
export const gatewayBotClient = (body: unknown) => {
  const requests: Array<{ readonly url: string; readonly authorization: string | undefined }> = []
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      requests.push({ url: request.url, authorization: request.headers["authorization"] })
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } })
      )
    })
  )
  return { requests, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

/**
 * The README's wait ("Startup"): true once every shard of `fleet` has been ready, false if the
 * fleet ended first.
 */
export const everyShardReady = (fleet: Fleet.Fleet) =>
  fleet.statusChanges.pipe(
    Stream.filter((status) => status.state._tag === "Connected" && status.state.phase === "Ready"),
    Stream.scan(new Set<number>(), (ready, status) => new Set(ready).add(status.shard)),
    Stream.takeUntil((ready) => ready.size === fleet.shardIds.length),
    Stream.runLast,
    Effect.map(Option.exists((ready) => ready.size === fleet.shardIds.length))
  )

/**
 * The in-memory transport and identify limiter, with an `HttpClient` answering `GET /gateway/bot`
 * with `status()` as it is asked (503: an API outage, the gateway itself up), or, once that is
 * 200, as a bot of one shard at `ws://gateway.test`; counting the requests in `asked`.
 */
export const gatewayBotAnswering = (status: () => number) => {
  const asked = { count: 0 }
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      asked.count++
      const now = status()
      const body = now === 200
        ? JSON.stringify({ url: "ws://gateway.test", shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } })
        : "unavailable"
      return HttpClientResponse.fromWeb(request, new Response(body, { status: now, headers: { "content-type": "application/json" } }))
    }))
  return { asked, layer: Layer.mergeAll(MemoryTransport.layer, IdentifyLimiter.layerMemory, Layer.succeed(HttpClient.HttpClient, client)) }
}

/** The resume point of shard `id` of `count` that `serve` answers with RESUMED (session `session-<id>`, sequence 5). */
export const resumePointOf = (id: number, count: number): ResumePoint => ({
  sessionId: `session-${id}`,
  sequence: 5,
  resumeGatewayUrl: resumeUrl,
  shard: [id, count],
  encoding: "json",
  intents: 513
})

const { gateway: _gateway, ...withoutGateway } = options()

/** `options()` without `gateway`, asking `GET /gateway/bot` of an API over http (so that the test gateway's ws:// resume URL is taken). */
export const restartedOptions = { ...withoutGateway, api: "http://127.0.0.1:1/api/v10" }
