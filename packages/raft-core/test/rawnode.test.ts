import { describe, expect, test } from 'vitest';
import {
  MemoryStorage,
  type Message,
  MessageType,
  message,
  RawNode,
  type Ready,
  StateType,
} from '../src/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function node(id: number, storage = new MemoryStorage()): { rn: RawNode; storage: MemoryStorage } {
  return {
    rn: new RawNode({
      id,
      peers: [1, 2, 3],
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      random: () => 0,
    }),
    storage,
  };
}

/** Persist and advance, the way a runtime handles a Ready. */
function handle(rn: RawNode, storage: MemoryStorage, rd: Ready): Message[] {
  if (rd.hardState) storage.setHardState(rd.hardState);
  storage.append(rd.entries);
  rn.advance(rd);
  return [...rd.messages, ...rd.persistedMessages];
}

describe('RawNode Ready: what to persist before what is sent', () => {
  test('a candidate persists its new term and self-vote before its vote requests go out', () => {
    const { rn } = node(1);
    rn.campaign();
    const rd = rn.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd.softState).toEqual({ lead: 0, raftState: StateType.Candidate });
    expect(rd.messages).toEqual([]);
    expect(rd.persistedMessages.map((m) => [m.msgType, m.to])).toEqual([
      [MessageType.MsgRequestVote, 2],
      [MessageType.MsgRequestVote, 3],
    ]);
  });

  test('a vote is persisted before it is granted on the wire', () => {
    const { rn } = node(2);
    rn.step(message({ msgType: MessageType.MsgRequestVote, from: 1, to: 2, term: 1 }));
    const rd = rn.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd.messages).toEqual([]);
    expect(rd.persistedMessages).toEqual([
      message({ msgType: MessageType.MsgRequestVoteResponse, from: 2, to: 1, term: 1 }),
    ]);
  });

  test("a leader's appends may go at once, a follower's acknowledgement waits for the disk", () => {
    const a = node(1);
    const b = node(2);
    a.rn.campaign();
    for (const m of handle(a.rn, a.storage, a.rn.ready())) {
      if (m.to === 2) b.rn.step(m);
    }
    for (const m of handle(b.rn, b.storage, b.rn.ready())) a.rn.step(m);
    // Leader now: deliver its no-op to node 2 and the acknowledgement back.
    for (const m of handle(a.rn, a.storage, a.rn.ready())) {
      if (m.to === 2) b.rn.step(m);
    }
    for (const m of handle(b.rn, b.storage, b.rn.ready())) a.rn.step(m);
    handle(a.rn, a.storage, a.rn.ready());
    a.rn.propose(bytes('x'));
    const rd = a.rn.ready();
    expect(rd.hardState).toBeUndefined();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.messages.every((m) => m.msgType === MessageType.MsgAppend)).toBe(true);
    expect(rd.messages.length).toBe(2);
    expect(rd.persistedMessages).toEqual([]);

    b.rn.step(rd.messages.find((m) => m.to === 2) as Message);
    const rb = b.rn.ready();
    expect(rb.entries.map((e) => e.index)).toEqual([2]);
    expect(rb.messages).toEqual([]);
    expect(rb.persistedMessages.map((m) => [m.msgType, m.index])).toEqual([
      [MessageType.MsgAppendResponse, 2],
    ]);
  });

  test('advance moves stabled and applied, and an idle node has nothing ready', () => {
    const storage = new MemoryStorage();
    const rn = new RawNode({ id: 1, peers: [1], electionTick: 10, heartbeatTick: 1, storage });
    expect(rn.hasReady()).toBe(false);
    rn.campaign();
    expect(rn.hasReady()).toBe(true);
    const rd = rn.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([1]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]);
    handle(rn, storage, rd);
    expect(rn.raft.raftLog.stabled).toBe(1);
    expect(rn.raft.raftLog.applied).toBe(1);
    expect(rn.hasReady()).toBe(false);
    expect(rn.ready()).toEqual({
      entries: [],
      committedEntries: [],
      messages: [],
      persistedMessages: [],
    });
  });

  test('entries overwritten after a Ready are not marked stable by it', () => {
    const { rn, storage } = node(2);
    rn.step(
      message({
        msgType: MessageType.MsgAppend,
        from: 1,
        to: 2,
        term: 1,
        entries: [{ entryType: 0, term: 1, index: 1 }],
      }),
    );
    const stale = rn.ready();
    // A new leader replaces entry 1 before the first Ready is acknowledged.
    rn.step(
      message({
        msgType: MessageType.MsgAppend,
        from: 3,
        to: 2,
        term: 2,
        entries: [{ entryType: 0, term: 2, index: 1 }],
      }),
    );
    storage.append(stale.entries);
    rn.advance(stale);
    expect(rn.raft.raftLog.stabled).toBe(0);
    expect(rn.ready().entries).toEqual([{ entryType: 0, term: 2, index: 1 }]);
  });
});
