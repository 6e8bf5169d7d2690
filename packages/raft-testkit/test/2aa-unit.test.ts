/**
 * 2AA, unit group: how one node answers a single vote request or heartbeat tick, whatever role it
 * is put in by hand.
 */
import {
  type Entry,
  EntryType,
  MemoryStorage,
  MessageType,
  message,
  None,
  Raft,
  RaftLog,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { newTestConfig, newTestRaft } from '../src/index.js';
import { hup } from './helpers.js';

const R = (id: number, peers: number[], et: number, ht: number): Raft =>
  newTestRaft(id, peers, et, ht, new MemoryStorage());

const entry = (term: number, index: number): Entry => ({
  entryType: EntryType.Normal,
  term,
  index,
});

const stateNames: readonly string[] = ['Follower', 'Candidate', 'Leader'];

describe('votes', () => {
  // A request from a higher term makes any node a follower of that term first (§5.1), with its
  // old vote gone, so it can grant the vote in the new term (§5.2).
  test('TestVoteFromAnyState2AA', () => {
    for (const start of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
      const why = `starting as ${stateNames[start]}`;
      const r = R(1, [1, 2, 3], 10, 1);
      r.term = 1;
      if (start === StateType.Follower) {
        r.becomeFollower(1, 3);
      } else {
        r.becomeCandidate();
        if (start === StateType.Leader) {
          r.becomeLeader();
        }
      }
      r.readMessages();
      const newTerm = r.term + 1;

      expect(() =>
        r.step(
          message({
            from: 2,
            to: 1,
            msgType: MessageType.MsgRequestVote,
            term: newTerm,
            logTerm: newTerm,
            index: 42,
          }),
        ),
      ).not.toThrow();

      expect(r.msgs, why).toEqual([
        message({ from: 1, to: 2, term: newTerm, msgType: MessageType.MsgRequestVoteResponse }),
      ]);
      expect(r.state, why).toBe(StateType.Follower);
      expect(r.term, why).toBe(newTerm);
      expect(r.vote, why).toBe(2);
    }
  });

  // The vote rule reads the log the node has now (the test swaps it in after construction), and a
  // leader or candidate, having voted for itself, rejects a same-term request out loud.
  test('TestRecvMessageType_MsgRequestVote2AA', () => {
    const F = StateType.Follower;
    const rows: Array<[StateType, number, number, number, boolean]> = [
      // state, index, logTerm, vote before, reject
      [F, 0, 0, None, true],
      [F, 0, 1, None, true],
      [F, 0, 2, None, true],
      [F, 0, 3, None, false],
      [F, 1, 0, None, true],
      [F, 1, 1, None, true],
      [F, 1, 2, None, true],
      [F, 1, 3, None, false],
      [F, 2, 0, None, true],
      [F, 2, 1, None, true],
      [F, 2, 2, None, false],
      [F, 2, 3, None, false],
      [F, 3, 0, None, true],
      [F, 3, 1, None, true],
      [F, 3, 2, None, false],
      [F, 3, 3, None, false],
      [F, 3, 2, 2, false],
      [F, 3, 2, 1, true],
      [StateType.Leader, 3, 3, 1, true],
      [StateType.Candidate, 3, 3, 1, true],
    ];
    for (const [i, [state, index, logTerm, vote, reject]] of rows.entries()) {
      const why = `row ${i}`;
      const r = R(1, [1, 2], 10, 1);
      r.state = state;
      r.vote = vote;
      r.raftLog = new RaftLog(MemoryStorage.fromEntries([entry(0, 0), entry(2, 1), entry(2, 2)]));
      const lterm = r.raftLog.term(r.raftLog.lastIndex());
      expect(lterm, why).toBe(2);
      const term = Math.max(lterm, logTerm);
      r.term = term;

      r.step(message({ msgType: MessageType.MsgRequestVote, term, from: 2, index, logTerm }));

      const msgs = r.readMessages();
      expect(msgs, why).toHaveLength(1);
      expect(msgs[0]?.msgType, why).toBe(MessageType.MsgRequestVoteResponse);
      expect(msgs[0]?.reject, why).toBe(reject);
    }
  });
});

describe('local messages', () => {
  // MsgBeat makes a leader heartbeat every other member; any other role ignores it.
  test('TestRecvMessageType_MsgBeat2AA', () => {
    const rows: Array<{ state: StateType; count: number }> = [
      { state: StateType.Leader, count: 2 },
      { state: StateType.Candidate, count: 0 },
      { state: StateType.Follower, count: 0 },
    ];
    for (const row of rows) {
      const why = `as ${stateNames[row.state]}`;
      const r = R(1, [1, 2, 3], 10, 1);
      r.raftLog = new RaftLog(MemoryStorage.fromEntries([entry(0, 0), entry(0, 1), entry(1, 2)]));
      r.term = 1;
      r.state = row.state;

      r.step(message({ from: 1, to: 1, msgType: MessageType.MsgBeat }));

      const msgs = r.readMessages();
      expect(msgs, why).toHaveLength(row.count);
      for (const m of msgs) {
        expect(m.msgType, why).toBe(MessageType.MsgHeartbeat);
      }
    }
  });

  // A leader that is told to campaign again keeps leading in the same term.
  test('TestCampaignWhileLeader2AA', () => {
    const r = new Raft(newTestConfig(1, [1], 5, 1, new MemoryStorage()));
    expect(r.state).toBe(StateType.Follower);

    r.step(hup(1));
    expect(r.state).toBe(StateType.Leader);
    const term = r.term;

    r.step(hup(1));
    expect(r.state).toBe(StateType.Leader);
    expect(r.term).toBe(term);
  });
});
