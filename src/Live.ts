/**
 * The services a session needs in production, in one Layer.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layer from "effect/Layer"
import * as IdentifyLimiter from "./limits/IdentifyLimiter.ts"
import type { Requirements } from "./session/Session.ts"
import * as WsTransport from "./transport/WsTransport.ts"

/**
 * Websockets over `ws`, an in-memory identify limiter for the shards of this process, and an
 * undici `HttpClient` for `GET /gateway/bot`.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Requirements> = Layer.mergeAll(
  WsTransport.layer,
  IdentifyLimiter.layerMemory,
  NodeHttpClient.layerUndici
)
