/**
 * What a faulty or hostile peer can do with the Pre-Vote and leadership-transfer messages: a
 * malformed one is refused and changes nothing, and a well-formed one of any term can never move
 * a node's term, vote, role or log beyond what the protocol lets that message do.
 */
import { describe, expect, test } from 'vitest';
import {
  EntryType,
  MalformedMessageError,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  None,
  Raft,
  RawNode,
  StateType,
} from '../src/index.js';
import { raftState } from './helpers.js';

function node(): Raft {
  const storage = new MemoryStorage();
  storage.append([
    { entryType: EntryType.Normal, term: 1, index: 1 },
    { entryType: EntryType.Normal, term: 2, index: 2 },
  ]);
  storage.setHardState({ term: 2, vote: 3, commit: 0 });
  return new Raft({
    id: 1,
    peers: [1, 2, 3],
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    random: () => 0,
    preVote: true,
    checkQuorum: true,
  });
}

/** Node 1 of [1, 2, 3], log [1@1, 2@2], term 2, in each role it can be in. */
const roles: Array<[string, () => Raft]> = [
  [
    'a follower with a leader',
    () => {
      const r = node();
      r.step(message({ msgType: MessageType.MsgHeartbeat, from: 3, to: 1, term: 2 }));
      r.readMessages();
      return r;
    },
  ],
  [
    'a pre-candidate',
    () => {
      const r = node();
      r.step(message({ msgType: MessageType.MsgHup, from: 1, to: 1 }));
      r.readMessages();
      return r;
    },
  ],
  [
    'a candidate',
    () => {
      const r = node();
      r.becomeCandidate();
      return r;
    },
  ],
  [
    'a leader',
    () => {
      const r = node();
      r.becomeCandidate();
      r.becomeLeader();
      r.readMessages();
      return r;
    },
  ],
];

const stateOf = raftState;

const preVote = message({ msgType: MessageType.MsgPreVote, from: 2, to: 1, term: 4 });
const preVoteResponse = message({
  msgType: MessageType.MsgPreVoteResponse,
  from: 2,
  to: 1,
  term: 4,
});
const transfer = message({ msgType: MessageType.MsgTransferLeader, from: 2, to: 1 });

const malformed: Array<[string, unknown]> = [
  ['a pre-vote without a term', { ...preVote, term: 0 }],
  ['a pre-vote with a negative last index', { ...preVote, index: -1 }],
  ['a pre-vote with a fractional last term', { ...preVote, logTerm: 1.5 }],
  ['a pre-vote response without a term', { ...preVoteResponse, term: 0 }],
  ['a pre-vote response whose reject is not a boolean', { ...preVoteResponse, reject: 'no' }],
  ['a pre-vote response from NaN', { ...preVoteResponse, from: Number.NaN }],
  ['a transfer request with a term', { ...transfer, term: 3 }],
  ['a transfer request from a negative id', { ...transfer, from: -2 }],
  ['a transfer request with entries that are not an array', { ...transfer, entries: 'x' }],
];

describe('malformed Pre-Vote and transfer messages are refused and change nothing', () => {
  test.each(malformed)('%s', (_name, m) => {
    for (const [role, build] of roles) {
      const r = build();
      const before = stateOf(r);
      expect(() => r.step(m as Message), role).toThrow(MalformedMessageError);
      expect(stateOf(r), role).toEqual(before);
      expect(r.readMessages(), role).toEqual([]);
    }
    const rn = new RawNode({
      id: 1,
      peers: [1, 2, 3],
      electionTick: 10,
      heartbeatTick: 1,
      storage: new MemoryStorage(),
    });
    expect(() => rn.step(m as Message)).toThrow(MalformedMessageError);
  });
});

describe('well-formed but hostile', () => {
  const terms = [1, 2, 3, 4, 100];

  test.each(roles)(
    'a pre-vote of any term, with any log, leaves %s exactly as it was and only answers',
    (_role, build) => {
      for (const term of terms) {
        for (const [index, logTerm] of [
          [0, 0],
          [2, 2],
          [50, 50],
        ] as const) {
          const r = build();
          const before = stateOf(r);
          r.step({ ...preVote, term, index, logTerm });
          const why = `term ${term}, last ${index}@${logTerm}`;
          expect(stateOf(r), why).toEqual(before);
          expect(
            r.readMessages().map((m) => [m.msgType, m.to]),
            why,
          ).toEqual([[MessageType.MsgPreVoteResponse, 2]]);
        }
      }
    },
  );

  test.each(roles.filter(([role]) => role !== 'a pre-candidate'))(
    'a granted pre-vote response of any term leaves %s exactly as it was',
    (_role, build) => {
      for (const term of terms) {
        const r = build();
        const before = stateOf(r);
        r.step({ ...preVoteResponse, term });
        expect(stateOf(r), `term ${term}`).toEqual(before);
        expect(r.readMessages()).toEqual([]);
      }
    },
  );

  test('a pre-candidate counts a granted pre-vote response only for the term it asked about', () => {
    for (const term of [2, 4, 100]) {
      const r = (roles[1] as [string, () => Raft])[1]();
      const before = stateOf(r);
      r.step({ ...preVoteResponse, term });
      expect(stateOf(r), `term ${term}`).toEqual(before);
    }
    const r = (roles[1] as [string, () => Raft])[1]();
    r.step({ ...preVoteResponse, term: 3 });
    expect([r.state, r.term]).toEqual([StateType.Candidate, 3]);
  });

  test('a pre-vote response from a non-member is not counted', () => {
    const r = (roles[1] as [string, () => Raft])[1]();
    r.step({ ...preVoteResponse, from: 7, term: 3 });
    expect([r.state, r.term, [...r.votes]]).toEqual([StateType.PreCandidate, 2, [[1, true]]]);
  });

  test('a transfer request from the network for a non-member or for the leader itself changes nothing', () => {
    const rn = new RawNode({
      id: 1,
      peers: [1],
      electionTick: 10,
      heartbeatTick: 1,
      storage: new MemoryStorage(),
    });
    rn.campaign();
    rn.raft.readMessages();
    for (const from of [0, 1, 9]) {
      const before = stateOf(rn.raft);
      rn.step({ ...transfer, from });
      expect(stateOf(rn.raft), `transferee ${from}`).toEqual(before);
      expect(rn.raft.readMessages()).toEqual([]);
    }
    expect(rn.raft.leadTransferee).toBe(None);
  });
});
