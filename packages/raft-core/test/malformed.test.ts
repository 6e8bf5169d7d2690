import { describe, expect, test } from 'vitest';
import {
  EntryType,
  MalformedMessageError,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  Raft,
  RawNode,
  StateType,
  validateMessage,
} from '../src/index.js';
import { raftState } from './helpers.js';

function node(): Raft {
  return new Raft({
    id: 1,
    peers: [1, 2, 3],
    electionTick: 10,
    heartbeatTick: 1,
    storage: new MemoryStorage(),
  });
}

function leader(): Raft {
  const r = node();
  r.becomeCandidate();
  r.becomeLeader();
  r.readMessages();
  return r;
}

function follower(): Raft {
  const r = node();
  r.becomeFollower(2, 2);
  r.step(
    message({
      msgType: MessageType.MsgAppend,
      from: 2,
      to: 1,
      term: 2,
      entries: [
        { entryType: EntryType.Normal, term: 2, index: 1 },
        { entryType: EntryType.Normal, term: 2, index: 2 },
      ],
      commit: 1,
    }),
  );
  r.readMessages();
  return r;
}

/** Everything a message could change, the outbox included. */
const stateOf = (r: Raft): unknown => ({ ...(raftState(r) as object), msgs: r.msgs.length });

const ok = message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2 });

const malformed: Array<[string, unknown]> = [
  ['not an object', 42],
  ['null', null],
  ['an unknown type', { ...ok, msgType: 10 }],
  ['a type out of range', { ...ok, msgType: 99 }],
  ['a string type', { ...ok, msgType: '3' }],
  ['a negative term', { ...ok, term: -1 }],
  ['a fractional term', { ...ok, term: 2.5 }],
  ['a NaN index', { ...ok, index: Number.NaN }],
  ['an infinite commit', { ...ok, commit: Number.POSITIVE_INFINITY }],
  ['an unsafe integer', { ...ok, logTerm: 2 ** 60 }],
  ['a missing from', { ...ok, from: undefined }],
  ['a missing reject', { ...ok, reject: undefined }],
  ['a string reject', { ...ok, reject: 'no' }],
  ['entries that are not an array', { ...ok, entries: {} }],
  ['a term 0 message between nodes', { ...ok, term: 0 }],
  [
    'entries that do not follow index',
    {
      ...ok,
      msgType: MessageType.MsgAppend,
      index: 2,
      logTerm: 2,
      entries: [{ entryType: 0, term: 2, index: 4 }],
    },
  ],
  [
    'an entry with a bad type',
    {
      ...ok,
      msgType: MessageType.MsgAppend,
      index: 2,
      logTerm: 2,
      entries: [{ entryType: 7, term: 2, index: 3 }],
    },
  ],
  [
    'an entry whose data is not bytes',
    {
      ...ok,
      msgType: MessageType.MsgAppend,
      index: 2,
      logTerm: 2,
      entries: [{ entryType: 0, term: 2, index: 3, data: 'x' }],
    },
  ],
  ['a snapshot message without a snapshot', { ...ok, msgType: MessageType.MsgSnapshot }],
  [
    'a snapshot with a bad membership',
    {
      ...ok,
      msgType: MessageType.MsgSnapshot,
      snapshot: { metadata: { index: 9, term: 2, confState: { nodes: [0] } } },
    },
  ],
];

describe('malformed messages are rejected with a clear error and change nothing', () => {
  test.each(malformed)('%s', (_name, m) => {
    for (const r of [leader(), follower()]) {
      const before = stateOf(r);
      expect(() => r.step(m as Message)).toThrow(MalformedMessageError);
      expect(stateOf(r)).toEqual(before);
    }
    expect(() => validateMessage(m)).toThrow(MalformedMessageError);
  });

  test('the error names the field and the value', () => {
    expect(() => validateMessage({ ...ok, term: -1 })).toThrow(
      'MsgHeartbeat: term must be a non-negative integer, got -1',
    );
    expect(() => validateMessage({ ...ok, msgType: 10 })).toThrow('unknown message type 10');
  });

  test('a MsgAppend reaching below the commit index cannot rewrite committed entries', () => {
    const r = follower();
    const before = structuredClone(r.raftLog.entries);
    expect(() =>
      r.step(
        message({
          msgType: MessageType.MsgAppend,
          from: 2,
          to: 1,
          term: 2,
          index: 0,
          logTerm: 0,
          entries: [{ entryType: EntryType.Normal, term: 1, index: 1 }],
        }),
      ),
    ).not.toThrow();
    expect(r.raftLog.entries).toEqual(before);
    // Answered with the commit index, so the leader moves on from there.
    expect(r.readMessages()).toEqual([
      message({ msgType: MessageType.MsgAppendResponse, from: 1, to: 2, term: 2, index: 1 }),
    ]);
  });

  test('an acknowledgement past the leader log is refused', () => {
    const r = leader();
    const before = stateOf(r);
    expect(() =>
      r.step(
        message({
          msgType: MessageType.MsgAppendResponse,
          from: 2,
          to: 1,
          term: r.term,
          index: 99,
        }),
      ),
    ).toThrow(/acknowledges index 99, past our last index 1/);
    expect(stateOf(r)).toEqual(before);
  });

  test('RawNode refuses local-only messages from peers', () => {
    const rn = new RawNode({
      id: 1,
      peers: [1, 2, 3],
      electionTick: 10,
      heartbeatTick: 1,
      storage: new MemoryStorage(),
    });
    expect(() => rn.step(message({ msgType: MessageType.MsgHup, from: 2, to: 1 }))).toThrow(
      MalformedMessageError,
    );
    expect(() => rn.step(message({ msgType: MessageType.MsgBeat, from: 2, to: 1 }))).toThrow(
      MalformedMessageError,
    );
    expect(rn.raft.state).toBe(StateType.Follower);
    expect(rn.raft.term).toBe(0);

    // Even a leader takes proposals only through propose(), never from a peer.
    const single = new RawNode({
      id: 1,
      peers: [1],
      electionTick: 10,
      heartbeatTick: 1,
      storage: new MemoryStorage(),
    });
    single.campaign();
    const entries = [{ entryType: EntryType.Normal, term: 0, index: 0, data: new Uint8Array([1]) }];
    expect(() =>
      single.step(message({ msgType: MessageType.MsgPropose, from: 2, to: 1, entries })),
    ).toThrow(/MsgPropose is local to a node/);
    expect(single.raft.raftLog.lastIndex()).toBe(1);
  });
});
