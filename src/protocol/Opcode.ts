/**
 * Gateway opcodes: the `op` field of every frame.
 *
 * @since 0.1.0
 */

/**
 * Every opcode the gateway defines for bots, by name.
 *
 * @since 0.1.0
 */
export const Opcode = {
  /** An event was dispatched (receive). */
  Dispatch: 0,
  /** Keep the connection alive (send); also "heartbeat now" (receive). */
  Heartbeat: 1,
  /** Start a new session (send). */
  Identify: 2,
  /** Update the client's presence (send). */
  PresenceUpdate: 3,
  /** Join, move or leave a voice channel (send). */
  VoiceStateUpdate: 4,
  /** Resume a previous session (send). */
  Resume: 6,
  /** The client should reconnect and resume (receive). */
  Reconnect: 7,
  /** Request members of a guild (send). */
  RequestGuildMembers: 8,
  /** The session is invalid; `d` says whether it may be resumed (receive). */
  InvalidSession: 9,
  /** Sent on connect, carries the heartbeat interval (receive). */
  Hello: 10,
  /** A heartbeat was received (receive). */
  HeartbeatAck: 11,
  /** Request the soundboard sounds of guilds (send). */
  RequestSoundboardSounds: 31,
  /** Request ephemeral channel information (send). */
  RequestChannelInfo: 43
} as const

/**
 * A gateway opcode number.
 *
 * @since 0.1.0
 */
export type Opcode = (typeof Opcode)[keyof typeof Opcode]
