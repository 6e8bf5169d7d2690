import type { Entry, Snapshot } from '@tinyraft/raft-log';

/** "No node": the id of no one, the vote of a node that has not voted, the lead of a leaderless node. */
export const None = 0;

/** Message types. The numbers are the wire values. */
export const MessageType = {
  /** Local: start an election. */
  MsgHup: 0,
  /** Local: the leader's heartbeat timer fired. */
  MsgBeat: 1,
  /** Local: append `entries` to the leader's log. */
  MsgPropose: 2,
  MsgAppend: 3,
  MsgAppendResponse: 4,
  MsgRequestVote: 5,
  MsgRequestVoteResponse: 6,
  MsgSnapshot: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResponse: 9,
  /**
   * Local: hand leadership to the member `from` (§3.10). The one local message that may cross the
   * network: a follower forwards it to its leader.
   */
  MsgTransferLeader: 11,
  /** From a leader that hands over: campaign now, without waiting for the timeout or a pre-vote. */
  MsgTimeoutNow: 12,
  /** §9.6: "would you vote for me in `term`?", asked before disrupting anyone by campaigning. */
  MsgPreVote: 13,
  /** A grant carries the term that was asked about; a rejection the voter's own term. */
  MsgPreVoteResponse: 14,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One Raft message. Every field but `snapshot` is always present; a message that "has no X"
 * carries X = 0, `[]` or `false`.
 */
export interface Message {
  msgType: MessageType;
  to: number;
  from: number;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
}

/** Builds a `Message`, filling every missing field with its zero value. */
export function message(fields: Partial<Message> & Pick<Message, 'msgType'>): Message {
  const m: Message = {
    msgType: fields.msgType,
    to: fields.to ?? 0,
    from: fields.from ?? 0,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
  };
  if (fields.snapshot !== undefined) {
    m.snapshot = fields.snapshot;
  }
  return m;
}

/**
 * Names by wire value; a hole is a value that is no message type. An array, not a map: validation
 * looks up the type of every message that crosses the network.
 */
const messageTypeNames: readonly (string | undefined)[] = (() => {
  const names: (string | undefined)[] = [];
  for (const [name, value] of Object.entries(MessageType)) {
    names[value] = name;
  }
  return names;
})();

/** The name of a message type, for logs and errors (`MsgAppend`), or `unknown(n)`. */
export function messageTypeName(t: number): string {
  return (Number.isInteger(t) ? messageTypeNames[t] : undefined) ?? `unknown(${t})`;
}

/** Whether `t` is one of the `MessageType` values. */
export function isMessageType(t: unknown): t is MessageType {
  // An index that is not a small integer (1.5, -1, NaN) finds a hole, as does a value in a gap.
  return typeof t === 'number' && messageTypeNames[t] !== undefined;
}
