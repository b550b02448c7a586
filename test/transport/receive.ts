import * as Effect from "effect/Effect"
import type { Connection, Frame } from "../../src/transport/GatewayTransport.ts"

/** Every frame the connection gets until it ends, and how it ended. */
export const drain = (connection: Connection) =>
  Effect.gen(function*() {
    const seen: Array<Frame> = []
    const end = yield* Effect.flip(Effect.forever(Effect.map(connection.receive, (frames) => seen.push(...frames))))
    return { seen, end }
  })

/** The connection's next `count` frames (takes until it has at least that many). */
export const take = (connection: Connection, count: number) =>
  Effect.gen(function*() {
    const seen: Array<Frame> = []
    while (seen.length < count) seen.push(...(yield* connection.receive))
    return seen
  })
