/**
 * The frames a socket received that its reader has not taken yet. The socket's callbacks put them
 * in; one reader takes all of those waiting at once. It does for the live transport what an
 * unbounded `Mailbox` did, at a tenth of its size: a `Mailbox` keeps about 2 KB of prebuilt
 * effects, and a thousand idle shards keep a thousand inboxes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { ConnectionClosed, Frame } from "./GatewayTransport.ts"

/**
 * A socket's received frames, in order, until the connection closed.
 *
 * @since 0.1.0
 */
export class Inbox {
  private frames: Array<Frame> = []
  private closed: ConnectionClosed | undefined = undefined
  private waiting: ((taken: Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed>) => void) | undefined = undefined

  /**
   * Every frame waiting, in order, once there is one; once the inbox was closed and every frame
   * taken, fails with how the connection closed. One reader at a time.
   */
  readonly take: Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed> = Effect.suspend(() =>
    this.poll() ?? Effect.async<ReadonlyArray<Frame>, ConnectionClosed>((resume) => {
      this.waiting = resume
      return Effect.sync(() => {
        this.waiting = undefined
      })
    })
  )

  /** Puts a frame in; one that comes after the close is dropped. */
  offer(frame: Frame): void {
    if (this.closed !== undefined) return
    this.frames.push(frame)
    this.wake()
  }

  /** Closes it with how the connection closed: the first close counts, and the frames in it are still taken. */
  close(closed: ConnectionClosed): void {
    if (this.closed !== undefined) return
    this.closed = closed
    this.wake()
  }

  private poll(): Effect.Effect<ReadonlyArray<Frame>, ConnectionClosed> | undefined {
    if (this.frames.length > 0) {
      const taken = this.frames
      this.frames = []
      return Effect.succeed(taken)
    }
    return this.closed === undefined ? undefined : Effect.fail(this.closed)
  }

  private wake(): void {
    const resume = this.waiting
    if (resume === undefined) return
    this.waiting = undefined
    resume(this.poll()!)
  }
}
