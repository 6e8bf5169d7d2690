/**
 * Builders shared by the 2AB, 2AC and regression suites: entries, proposals, the replies a test
 * plays for a follower, and the "persist and apply" step a runtime would do.
 */
import {
  type Entry,
  EntryType,
  type MemoryStorage,
  type Message,
  MessageType,
  message,
  Raft,
  type RaftLog,
  StateType,
} from '@tinyraft/raft-core';
import type { Network } from '../src/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (s: string): Uint8Array => encoder.encode(s);

/** The entry's payload as text; '' for the leader's no-op. */
export const text = (e: Entry): string => decoder.decode(e.data ?? new Uint8Array());

/** Entries at indexes 1, 2, … with the given terms and no data: `ents(1, 1, 2)` = [1@1, 1@2, 2@3]. */
export function ents(...terms: number[]): Entry[] {
  return terms.map((term, k) => ({ entryType: EntryType.Normal, term, index: k + 1 }));
}

/** One entry to propose: term and index are the leader's to fill in. */
function proposal(data?: string): Entry {
  const e: Entry = { entryType: EntryType.Normal, term: 0, index: 0 };
  if (data !== undefined) {
    e.data = bytes(data);
  }
  return e;
}

/** A local MsgPropose at node `id` with one entry (no data when `data` is omitted). */
export function propose(id: number, data?: string): Message {
  return message({ msgType: MessageType.MsgPropose, from: id, to: id, entries: [proposal(data)] });
}

/** A local MsgPropose at node `id` carrying one entry per element of `data`, in order. */
export function proposeBatch(id: number, data: readonly string[]): Message {
  return message({
    msgType: MessageType.MsgPropose,
    from: id,
    to: id,
    entries: data.map((d) => proposal(d)),
  });
}

/** A local MsgHup: node `id` campaigns. */
export const hup = (id: number): Message =>
  message({ msgType: MessageType.MsgHup, from: id, to: id });

/** A local MsgBeat: leader `id` sends heartbeats. */
export const beat = (id: number): Message =>
  message({ msgType: MessageType.MsgBeat, from: id, to: id });

/** The reply of a follower that accepted `m` in full. Like a real reply, it carries no logTerm. */
export function acceptAndReply(m: Message): Message {
  if (m.msgType !== MessageType.MsgAppend) {
    throw new Error(`acceptAndReply needs a MsgAppend, got message type ${m.msgType}`);
  }
  return message({
    msgType: MessageType.MsgAppendResponse,
    from: m.to,
    to: m.from,
    term: m.term,
    index: m.index + m.entries.length,
  });
}

/**
 * Brings a brand-new leader to the state the paper tests start from: every follower has acked
 * the no-op, the commit broadcast that followed is dropped, and the log is persisted and applied.
 */
export function commitNoopEntry(r: Raft, s: MemoryStorage): void {
  if (r.state !== StateType.Leader) {
    throw new Error(`commitNoopEntry needs a leader, node ${r.id} is in state ${r.state}`);
  }
  for (const m of r.readMessages()) {
    const isNoop =
      m.msgType === MessageType.MsgAppend &&
      m.entries.length === 1 &&
      m.entries[0]?.data === undefined;
    if (!isNoop) {
      throw new Error(`expected the leader's no-op MsgAppend, got ${JSON.stringify(m)}`);
    }
    r.step(acceptAndReply(m));
  }
  r.readMessages();
  s.append(r.raftLog.unstableEntries());
  r.raftLog.applied = r.raftLog.committed;
  r.raftLog.stabled = r.raftLog.lastIndex();
}

/** Persists the unstable entries into `s`, then returns the entries to apply and marks them applied. */
export function nextEnts(r: Raft, s: MemoryStorage): Entry[] {
  s.append(r.raftLog.unstableEntries());
  r.raftLog.stabled = r.raftLog.lastIndex();
  const applicable = r.raftLog.nextEnts();
  r.raftLog.applied = r.raftLog.committed;
  return applicable;
}

/** Sorts by (msgType, to), the order in which the suites list expected messages. */
export function sortMessages(msgs: Message[]): Message[] {
  return [...msgs].sort((a, b) => a.msgType - b.msgType || a.to - b.to);
}

/** The `Raft` at `id` in a network; throws if that peer is a black hole. */
export function raftOf(nt: Network, id: number): Raft {
  const p = nt.peers.get(id);
  if (!(p instanceof Raft)) {
    throw new Error(`peer ${id} of the network is not a Raft`);
  }
  return p;
}

/** What two logs must agree on to be "the same log": commit, applied and every entry. */
export interface LogView {
  committed: number;
  applied: number;
  entries: Entry[];
}

export const viewOf = (l: RaftLog): LogView => ({
  committed: l.committed,
  applied: l.applied,
  entries: l.entries,
});
