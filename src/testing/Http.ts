/**
 * The local gateway's HTTP side: `GET /api/v10/gateway/bot` (and `/gateway`), answered as
 * Discord answers them.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { GatewayBot } from "../protocol/GatewayBot.ts"

/**
 * What the HTTP handler needs from the gateway.
 *
 * @since 0.1.0
 */
export interface HttpHost {
  readonly url: () => string
  readonly gatewayBot: () => GatewayBot
  readonly authorized: (authorization: string | undefined) => boolean
}

const json = (response: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  response.end(text)
}

/**
 * The URL a request asks for, or none where its target is no URL (`//[`, which node's parser takes
 * and `new URL` throws on: thrown in a socket's callback, it ended the process).
 *
 * @since 0.1.0
 */
export const requestUrl = (request: IncomingMessage): URL | undefined => {
  try {
    return new URL(request.url ?? "/", "http://127.0.0.1")
  } catch {
    return undefined
  }
}

/**
 * Creates the request handler.
 *
 * @since 0.1.0
 */
export const handler = (host: HttpHost) => (request: IncomingMessage, response: ServerResponse): void => {
  const url = requestUrl(request)
  if (url === undefined) return json(response, 400, { message: "400: Bad Request", code: 0 })
  const path = url.pathname.replace(/\/+$/, "")
  if (request.method === "GET" && (path === "/api/v10/gateway" || path === "/api/gateway")) {
    return json(response, 200, { url: host.url() })
  }
  if (request.method === "GET" && (path === "/api/v10/gateway/bot" || path === "/api/gateway/bot")) {
    if (!host.authorized(request.headers.authorization)) return json(response, 401, { message: "401: Unauthorized", code: 0 })
    return json(response, 200, host.gatewayBot())
  }
  json(response, 404, { message: "404: Not Found", code: 0 })
}
