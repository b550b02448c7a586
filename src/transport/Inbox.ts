/**
 * The frames a connection received that its reader has not taken yet.
 *
 * A transport offers each frame as it arrives, from its socket's callback; the reader takes
 * everything there is at once, or waits for it. A waiting reader is woken once per batch: it
 * takes the frames when its fiber runs, so the frames of one socket read come together. Lighter
 * than a `Mailbox` (which makes a dozen effects per instance and wakes its taker through a
 * scheduled task of its own): a thousand idle connections each keep one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { ConnectionClosed, Frame } from "./GatewayTransport.ts"

/**
 * One connection's received frames, for one reader.
 *
 * @since 0.1.0
 */
export interface Inbox {
  /** Adds a frame, unless the inbox has ended. Synchronous. */
  readonly offer: (frame: Frame) => void
  /** Ends the inbox: the frames in it are still taken, then `receive` fails with `closed`. Only the first end counts. */
  readonly end: (closed: ConnectionClosed) => void
  /** `Connection.receive`: every frame there is (at least one), waiting for one if need be. */
  readonly receive: Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed>
}

/**
 * An empty inbox. `onTake` runs each time the reader takes frames (the live transport resumes a
 * socket it paused there).
 *
 * @since 0.1.0
 */
export const make = (onTake?: () => void): Inbox => {
  let frames: Array<Frame> = []
  let closed: ConnectionClosed | undefined
  let waiting: ((taken: Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed>) => void) | undefined

  const receive: Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed> = Effect.suspend(() => {
    if (frames.length > 0) {
      const taken = frames
      frames = []
      onTake?.()
      return Effect.succeed(taken)
    }
    if (closed !== undefined) return Effect.fail(closed)
    return Effect.async((resume) => {
      waiting = resume
      return Effect.sync(() => {
        if (waiting === resume) waiting = undefined
      })
    })
  })
  // a woken reader takes when its fiber runs, after the rest of this socket read was offered
  const wake = (): void => {
    const resume = waiting
    if (resume === undefined) return
    waiting = undefined
    resume(receive)
  }

  return {
    offer: (frame) => {
      if (closed !== undefined) return
      frames.push(frame)
      wake()
    },
    end: (reason) => {
      if (closed !== undefined) return
      closed = reason
      wake()
    },
    receive
  }
}
