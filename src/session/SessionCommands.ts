/**
 * What a program sends through a session. Each command is checked and encoded at once (an
 * `InvalidCommand` otherwise), refused when it is about a guild another shard holds (no answer
 * would come), then queued in the outbox until a connection the gateway answered writes it.
 * Presence updates also set the presence a new Identify carries.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Random from "effect/Random"
import { detached } from "../internal/detached.ts"
import { monotonicMillis } from "../internal/due.ts"
import * as Withdrawable from "../internal/withdrawable.ts"
import * as Commands from "../protocol/Commands.ts"
import { isSnowflake, show } from "../protocol/internal/schema.ts"
import * as OtherCommand from "../protocol/OtherCommand.ts"
import { shardOf } from "../protocol/Sharding.ts"
import { identifyCommand, withPresence } from "./internal/identify.ts"
import * as WholeListCooldown from "./internal/wholeListCooldown.ts"
import * as MemberRequests from "./MemberRequests.ts"
import type * as Outbox from "./Outbox.ts"
import * as ResumePoint from "./ResumePoint.ts"
import { SessionClosed } from "./SessionError.ts"
import type { SessionMetrics } from "./SessionMetrics.ts"
import * as SessionOptions from "./SessionOptions.ts"

/**
 * What a fleet learns of a presence update it makes under {@link presenceWatch}: `written` once its
 * frame was written, `withdrawn` once it is known that it never will be (its caller gave up before
 * it was queued, or while it waited). Given up on while its frame was being written, it is told
 * which once the write ended.
 *
 * @internal
 * @since 0.1.0
 */
export interface PresenceWatch {
  readonly written: () => void
  readonly withdrawn: () => void
}

/**
 * Set (`Effect.locally`) around a fleet's `updatePresence` calls: what the update's frame became,
 * which the call's exit does not say (one given up on may have gone out), so the fleet knows what
 * its shard shows.
 *
 * @internal
 * @since 0.1.0
 */
export const presenceWatch: FiberRef.FiberRef<PresenceWatch | undefined> = globalValue(
  Symbol.for("effect-discord-gateway/SessionCommands/presenceWatch"),
  () => FiberRef.unsafeMake<PresenceWatch | undefined>(undefined)
)

/**
 * The commands of a session.
 *
 * @since 0.1.0
 */
export interface SessionCommands {
  /**
   * Op 3. Waits for an answered connection, then for the send and presence limits. A new session
   * identifies with the presence set last, from the call on; given up on (the caller interrupted)
   * before it went out, it is forgotten. One older than the presence an Identify carried does not
   * go out after it (the wait ends as if it had).
   */
  readonly updatePresence: (presence: Commands.Presence) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed>
  /** Op 4. */
  readonly updateVoiceState: (
    voice: Omit<Commands.VoiceStateUpdate, "_tag">
  ) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed>
  /**
   * Op 31: the answer arrives as SOUNDBOARD_SOUNDS events. A list too long for one frame (about
   * 180 ids) goes out in several, in order; the session ending first fails the call naming the
   * guilds of the frames not sent.
   */
  readonly requestSoundboardSounds: (
    guildIds: ReadonlyArray<string>
  ) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed>
  /** Op 43: the answer arrives as a CHANNEL_INFO event. */
  readonly requestChannelInfo: (
    request: Omit<Commands.RequestChannelInfo, "_tag">
  ) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed>
  /**
   * Op 8 with a fresh nonce; returns the members once every chunk arrived, or fails on
   * RATE_LIMITED (at once, sending nothing, for a guild's whole list asked again within 30 s of
   * the last going out: Discord's limit), on a malformed answer, when the members timeout passes
   * without a chunk of the answer (counted from the request going out, then from each chunk, while
   * a connection is answered, and started over as a reader that waited for room in the events
   * buffer gets it, up to ten timeouts after the last chunk: a request waits for an answered
   * connection and the send limit as other commands do), when the gateway session it was sent on
   * ends (`Lost`: op 9, a new Identify), with `SessionClosed` when the session stops first, or at
   * once with `InvalidCommand` (what the gateway would not answer for want of an intent).
   */
  readonly requestGuildMembers: (
    request: Commands.MemberRequest
  ) => Effect.Effect<MemberRequests.GuildMembers, Commands.InvalidCommand | MemberRequests.MemberRequestError | SessionClosed>
  /**
   * A command this version has no method for (one Discord added since): `{ op, d }` as given, in
   * the session's encoding, within the send limits as other commands go; `guildId`, the guild it
   * is about where there is one, must be this shard's, and is named by a `SessionClosed`. Refused
   * at once with `InvalidCommand` (`command` "Other") for an opcode that is no non-negative whole
   * number or one this version knows (its method, or who sends it, is named), a `d` that is not
   * plain data (`null` for none), a `guildId` that is no snowflake or another shard's, and a frame
   * over 4096 bytes. Its answer arrives as events.
   */
  readonly send: (op: number, d: unknown, guildId?: string) => Effect.Effect<void, Commands.InvalidCommand | SessionClosed>
}

/**
 * What the commands need of their session.
 *
 * @since 0.1.0
 */
export interface Context {
  readonly options: SessionOptions.ResolvedOptions
  readonly outbox: Outbox.Outbox
  readonly members: MemberRequests.MemberRequests
  /** Where each call's outcome is counted. */
  readonly metrics: SessionMetrics
  /**
   * Succeeds once the session has ended, however it ended: with why, in a line, where an error or
   * a defect ended it (the token masked), `undefined` where it was stopped.
   */
  readonly endedWith: Effect.Effect<string | undefined>
  /**
   * The point the session resumes (its gateway session shows the presence it had), `undefined`
   * where it identifies (a point of another encoding or other intents is only handed back).
   */
  readonly resuming: ResumePoint.ResumePoint | undefined
  /**
   * Where it identifies in place of a point it cannot resume (of another encoding or other
   * intents, handed back): that point, whose presence the bot showed.
   */
  readonly replacing?: ResumePoint.ResumePoint | undefined
}

/**
 * The commands, and the Identify a new connection of the session sends.
 *
 * @since 0.1.0
 */
export interface Made {
  readonly commands: SessionCommands
  /**
   * The Identify to send now: the options, with the presence of the updates so far, which it
   * carries from now on; `refused`, called where it is not known to have gone out and no READY
   * answered it (the socket refused it, or the connection's end cut its write short), puts them on
   * their way again (an update given up on meanwhile is not shown by the next Identify).
   */
  readonly identify: () => { readonly command: Commands.Identify; readonly refused: () => void }
  /**
   * To run as the session is made, before the program can update its presence: a session that
   * resumes a point with a `presence` option shows it once the Resume is answered (a Resume carries
   * no presence: the gateway session kept the one it had), unless the point says it shows it
   * already, or a newer update or an Identify (the Resume refused) made it moot. It queues the
   * update, and gives the wait for it, to run in the session's scope. None for other sessions.
   */
  readonly presenceOnResume: Effect.Effect<Effect.Effect<void>> | undefined
  /**
   * The presence the gateway session shows, for a resume point: the point's, then each Identify's
   * (`null`: none) and each update's as it goes out; `undefined` while that is not known.
   */
  readonly shown: () => Commands.Presence | null | undefined
}

// `options` identifying with the presence a resume point says was shown, where an Identify can
// carry it (one near a Presence Update's size may not fit beside the token: then none, as before)
const identifyingAsShown = (options: SessionOptions.ResolvedOptions, shown: Commands.Presence | null | undefined): SessionOptions.ResolvedOptions =>
  shown === undefined || shown === null ? options : Either.getOrElse(withPresence(options, shown), () => options)

/**
 * Makes the commands of a session.
 *
 * @since 0.1.0
 */
export const make = ({ endedWith, members, metrics, options, outbox, replacing, resuming }: Context): Made => {
  // what a fresh Identify says: the options, with the presence of the newest update not given up
  // on, so a new session shows what the old one showed; without a presence option, what the point
  // resumed (or replaced) says its gateway session showed (an op 9 after the handoff brought the
  // bot back with none)
  const identifying = Withdrawable.make(options.presence === undefined ? identifyingAsShown(options, (resuming ?? replacing)?.presence) : options)
  // (a point's presence was read as a checked copy, or left out where no command could carry it)
  let shown = resuming?.presence

  // `effect` for a command about `guildIds`, unless the session ends first: it fails with
  // SessionClosed then, naming this shard and those guilds, and why the session ended (run
  // detached, so that a caller that cannot be interrupted gets its answer too); a member request
  // is done when it was `answered`, the others once they were `sent`
  // (a soundboard request in several frames names the guilds of those not sent yet: `guildIds` a
  // function, asked as it fails)
  const untilEnded = <A, E>(
    guildIds: ReadonlyArray<string> | (() => ReadonlyArray<string>),
    done: "sent" | "answered",
    effect: Effect.Effect<A, E>
  ): Effect.Effect<A, E | SessionClosed> =>
    Effect.raceFirst(
      effect,
      Effect.flatMap(endedWith, (why) => {
        const ids = typeof guildIds === "function" ? guildIds() : guildIds
        const about = ids.length === 0 ? "" : ` for guild ${ids.join(", ")}`
        const before = done === "answered" ? `the member request${about} was answered` : `the command${about} went out`
        // why it ended, where an error or a defect ended it: a caller that gets this first learns it here
        const detail = `shard ${options.shard[0]} was disconnected or ended before ${before}${why === undefined ? "" : `; it ended with: ${why}`}`
        return Effect.fail(new SessionClosed({ detail, shards: [options.shard[0]], guildIds: ids }))
      })
    )
  // a command waits for a connection the gateway answered
  const submitOp = (
    op: number,
    guildIds: ReadonlyArray<string>,
    payload: string | Uint8Array,
    watch?: Outbox.Watch
  ): Effect.Effect<void, SessionClosed> => detached(untilEnded(guildIds, "sent", outbox.submit(op, payload, watch)))
  const submitCommand = (command: Commands.UserCommand, payload: string | Uint8Array, watch?: Outbox.Watch) =>
    submitOp(Commands.opcode(command), Commands.guildIds(command), payload, watch)
  // a command (named `name`) about a guild another shard holds would get no answer: refused at once
  const onThisShard = (name: string, guildIds: ReadonlyArray<string>): Effect.Effect<void, Commands.InvalidCommand> => {
    const [id, count] = options.shard
    for (const guildId of guildIds) {
      const holder = shardOf(guildId, count)
      if (holder === id) continue
      return Effect.fail(
        Commands.InvalidCommand.of("Invalid", name, [
          `guild ${guildId} is on shard ${holder} of ${count}, not on this session's shard ${id}`
        ])
      )
    }
    return Effect.void
  }
  // checked, and sent, as a copy read once
  const submit = (command: Commands.UserCommand): Effect.Effect<void, Commands.InvalidCommand | SessionClosed> =>
    Effect.flatMap(
      Commands.encodeChecked(command, options.encoding),
      ({ checked, payload }) => Effect.zipRight(onThisShard(checked._tag, Commands.guildIds(checked)), submitCommand(checked, payload))
    )
  // op 31 in as many frames as its list needs, in order, each queued once the one before went out
  // (other commands may go between them); a session that ends first fails it naming the guilds of
  // the frames not sent
  const requestSoundboardSounds = (guildIds: ReadonlyArray<string>): Effect.Effect<void, Commands.InvalidCommand | SessionClosed> =>
    Effect.flatMap(Commands.soundboardParts(guildIds, options.encoding), (parts) => {
      let sent = 0
      const unsent = () => parts.slice(sent).flatMap((part) => part.checked.guild_ids)
      return Effect.zipRight(
        onThisShard("RequestSoundboardSounds", unsent()),
        detached(untilEnded(
          unsent,
          "sent",
          Effect.forEach(parts, (part) =>
            Effect.map(outbox.submit(Commands.opcode(part.checked), part.payload), () => {
              sent++
            }), { discard: true })
        ))
      )
    })
  // a command of another opcode, about `guildId` where one is given (a snowflake of this shard)
  const sendOther = (op: number, d: unknown, guildId: string | undefined): Effect.Effect<void, Commands.InvalidCommand | SessionClosed> =>
    Effect.flatMap(OtherCommand.encode(op, d, options.encoding), (payload) => {
      if (guildId === undefined) return submitOp(op, [], payload)
      if (!isSnowflake(guildId)) {
        return Effect.fail(
          Commands.InvalidCommand.of("Invalid", OtherCommand.commandName, [`guildId must be a snowflake, got ${show(guildId)}`])
        )
      }
      return Effect.zipRight(onThisShard(OtherCommand.commandName, [guildId]), submitOp(op, [guildId], payload))
    })

  // a nonce is never used twice by a session (its count), nor likely by another (the random part)
  let memberRequests = 0
  const wholeLists = WholeListCooldown.make()
  const requestGuildMembers: SessionCommands["requestGuildMembers"] = (request) =>
    Effect.flatMap(Random.nextIntBetween(0, 2 ** 31 - 1), (random) => {
      const nonce = MemberRequests.nonce(random, ++memberRequests)
      // a whole member list's turn taken and not yet gone out: given back if it never does
      let turnTaken: string | undefined
      // whether its request was queued: its write, or its withdrawal, then says what became of it
      let queued = false
      return Effect.gen(function*() {
        const { checked: command, payload } = yield* Commands.encodeChecked(yield* Commands.memberRequest(request, nonce), options.encoding)
        const guildId = command.guild_id
        yield* onThisShard(command._tag, [guildId])
        yield* MemberRequests.checkIntents(command, options.intents)
        const clock = yield* Effect.clock
        // sent again within 30 s, it broke Discord's limit, and got RATE_LIMITED
        if (WholeListCooldown.isWholeList(command)) {
          const wait = wholeLists.take(guildId, nonce, monotonicMillis(clock))
          if (wait > 0) return yield* Effect.fail(new MemberRequests.MemberRequestError({ reason: "RateLimited", guildId, retryAfter: wait / 1000 }))
          turnTaken = guildId
        }
        const answer = yield* members.register(nonce, guildId, command.user_ids)
        // a whole list's turn told gone out as its frame is written, or given back as it is withdrawn
        // unwritten, whatever its caller does: one that gave up while the frame was written gave
        // the turn back, and a second request went out right behind it
        const watch: Outbox.Watch | undefined = turnTaken === undefined ? undefined : {
          onQueued: () => {
            queued = true
          },
          onWritten: () => {
            if (turnTaken !== undefined) wholeLists.wentOut(turnTaken, nonce, monotonicMillis(clock))
            turnTaken = undefined
          },
          onWithdrawn: () => {
            if (turnTaken !== undefined) wholeLists.giveBack(turnTaken, nonce)
            turnTaken = undefined
          }
        }
        // the timeout counts from when the request went out, then from each chunk: what it waits
        // for is the gateway's answer, not an answered connection nor the send limit (150 requests made
        // together timed out in the outbox, never sent); a session that ends fails it at once,
        // sent or not, since no answer can come
        const sent = Effect.zipRight(outbox.submit(Commands.opcode(command), payload, watch), members.sent(nonce))
        return yield* detached(untilEnded([guildId], "answered", Effect.zipRight(sent, Effect.raceFirst(answer, members.stalled(nonce, options.timeouts.members)))))
      }).pipe(Effect.ensuring(Effect.zipRight(
        members.unregister(nonce),
        Effect.sync(() => turnTaken === undefined || queued ? undefined : wholeLists.giveBack(turnTaken, nonce))
      )))
    })

  const masked = Commands.maskingToken(options.token)

  // the options' presence, an update made with the session: queued as the session is made, before
  // any of the program's (the presence lane's overtaking goes by the order of the queue), and moot
  // once a newer one went out or an Identify carried it (a newer one given up on leaves it due)
  const showOnResume = (presence: Commands.Presence): Effect.Effect<Effect.Effect<void>> =>
    Either.match(Commands.presenceChecked(presence, options.encoding), {
      // (not met: the option was checked inside an Identify, which carries more)
      onLeft: (error) => Effect.as(Effect.logWarning(`the presence option is not shown after the Resume: ${masked(error).message}`), Effect.void),
      onRight: ({ command, payload }) => {
        const update = identifying.add(options)
        const watch: Outbox.Watch = {
          onWritten: () => {
            identifying.wentOut(update)
            shown = presence
          },
          onWithdrawn: () => identifying.withdraw(update),
          superseded: () => identifying.superseded(update)
        }
        return Effect.map(outbox.queue(Commands.opcode(command), payload, watch), (wait) =>
          Effect.catchTag(detached(untilEnded([], "sent", wait)), "SessionClosed", () => Effect.void))
      }
    }).pipe(Effect.annotateLogs({ component: "Session", shard: options.shard[0] }))
  const presenceOnResume = options.presence !== undefined && resuming !== undefined && !(shown !== undefined && ResumePoint.showsAlready(shown, options.presence))
    ? showOnResume(options.presence)
    : undefined

  // each call counted as it ends, its error as the caller gets it
  const counted = <A, E extends { readonly _tag: string }>(command: Commands.UserCommand["_tag"] | typeof OtherCommand.commandName, effect: Effect.Effect<A, E>) =>
    Effect.onExit(Effect.mapError(effect, masked), (exit) => metrics.command(command, exit))
  const commands: SessionCommands = {
    updatePresence: (given) =>
      // kept as checked: a copy, which the caller's later changes to its object do not reach
      counted("PresenceUpdate", Effect.flatMap(Commands.presenceChecked(given, options.encoding), ({ command, payload, presence }) =>
        Effect.flatMap(withPresence(identifying.latest(), presence), (next) =>
          Effect.flatMap(FiberRef.get(presenceWatch), (watch) =>
            Effect.uninterruptibleMask((restore) => {
              const update = identifying.add(next)
              // whether the outbox took it, and whether it told what became of it
              let queued = false
              let told = false
              // given up before it went out, it is as if it had never been made (also given up before
              // it was queued: the next Identify carried it); older than one an Identify carried
              // (made while no connection was ready), it would show an older presence after the new
              // session's, and it does not go out
              return Effect.onInterrupt(
                restore(submitCommand(command, payload, {
                  onQueued: () => {
                    queued = true
                  },
                  onWritten: () => {
                    told = true
                    identifying.wentOut(update)
                    shown = next.presence
                    watch?.written()
                  },
                  onWithdrawn: () => {
                    told = true
                    const carried = identifying.superseded(update)
                    identifying.withdraw(update)
                    if (!carried) watch?.withdrawn()
                  },
                  superseded: () => identifying.superseded(update)
                })),
                () =>
                  Effect.sync(() => {
                    const carried = identifying.superseded(update)
                    identifying.withdraw(update)
                    // not queued: never written; queued and being written, the outbox tells which.
                    // One an Identify carried (or a newer one went out) is not told withdrawn: the
                    // Identify may have gone out with it (one refused by the socket is carried by
                    // the next), so the fleet takes it for one that may have gone out
                    if (!queued && !told && !carried) watch?.withdrawn()
                  })
              )
            }))))),
    updateVoiceState: (voice) =>
      counted("VoiceStateUpdate", Effect.flatMap(Commands.built("VoiceStateUpdate", () => Commands.voiceStateUpdate(voice)), submit)),
    requestSoundboardSounds: (guildIds) => counted("RequestSoundboardSounds", requestSoundboardSounds(guildIds)),
    requestChannelInfo: (request) =>
      counted("RequestChannelInfo", Effect.flatMap(Commands.built("RequestChannelInfo", () => Commands.requestChannelInfo(request)), submit)),
    requestGuildMembers: (request) => counted("RequestGuildMembers", requestGuildMembers(request)),
    send: (op, d, guildId) => counted(OtherCommand.commandName, sendOther(op, d, guildId))
  }

  return {
    commands,
    presenceOnResume,
    shown: () => shown,
    identify: () => {
      const latest = identifying.latest()
      const showing = shown
      const undo = identifying.carried(latest)
      shown = latest.presence ?? null
      return {
        command: identifyCommand(latest),
        refused: () => {
          undo()
          shown = showing
        }
      }
    }
  }
}
