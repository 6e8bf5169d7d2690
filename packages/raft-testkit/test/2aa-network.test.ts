/**
 * 2AA, network group: whole elections on the synchronous test `Network`, with dead peers,
 * isolated nodes and nodes ticked by hand.
 */
import {
  MemoryStorage,
  MessageType,
  message,
  None,
  type Raft,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { blackHole, Network, newTestRaft, type StateMachine } from '../src/index.js';
import { hup, raftOf } from './helpers.js';

const R = (id: number, peers: number[], et: number, ht: number): Raft =>
  newTestRaft(id, peers, et, ht, new MemoryStorage());

/** Ticks `r` on its own (its messages stay in its outbox) until it is a candidate. */
function tickUntilCandidate(r: Raft): void {
  for (let i = 0; r.state !== StateType.Candidate; i++) {
    if (i === 2 * r.electionTimeout) {
      throw new Error(`node ${r.id} did not campaign within ${i} ticks`);
    }
    r.tick();
  }
}

/** Three nodes that already went through term 1 as followers, so the first election is term 2. */
function followersAtTerm1(): [Raft, Raft, Raft] {
  const rs: [Raft, Raft, Raft] = [
    R(1, [1, 2, 3], 10, 1),
    R(2, [1, 2, 3], 10, 1),
    R(3, [1, 2, 3], 10, 1),
  ];
  for (const r of rs) {
    r.becomeFollower(1, None);
  }
  return rs;
}

describe('elections on a network', () => {
  test('TestLeaderElection2AA', () => {
    const rows: Array<{ peers: Array<StateMachine | null>; state: StateType }> = [
      { peers: [null, null, null], state: StateType.Leader },
      { peers: [null, null, blackHole], state: StateType.Leader },
      { peers: [null, blackHole, blackHole], state: StateType.Candidate },
      { peers: [null, blackHole, blackHole, null], state: StateType.Candidate },
      { peers: [null, blackHole, blackHole, null, null], state: StateType.Leader },
    ];
    for (const [i, row] of rows.entries()) {
      const nt = new Network(row.peers);
      nt.send(hup(1));
      const r = raftOf(nt, 1);
      expect(r.state, `row ${i}`).toBe(row.state);
      expect(r.term, `row ${i}`).toBe(1);
    }
  });

  // Every node can win in turn: the old leader steps down on the higher-term vote request, and
  // the new candidate's log, holding the previous no-op, is up to date.
  test('TestLeaderCycle2AA', () => {
    const nt = new Network([null, null, null]);
    for (const c of [1, 2, 3]) {
      nt.send(hup(c));
      for (const id of nt.peers.keys()) {
        const want = id === c ? StateType.Leader : StateType.Follower;
        expect(raftOf(nt, id).state, `leader ${c}, node ${id}`).toBe(want);
      }
    }
  });

  test('TestSingleNodeCandidate2AA', () => {
    const nt = new Network([null]);
    nt.send(hup(1));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
  });

  // A candidate that hears from the leader of a higher term follows it; the stale vote requests
  // it queued while isolated must not disturb that leader.
  function testCandidateResetTerm(mt: MessageType): void {
    const a = R(1, [1, 2, 3], 10, 1);
    const b = R(2, [1, 2, 3], 10, 1);
    const c = R(3, [1, 2, 3], 10, 1);
    const nt = new Network([a, b, c]);

    nt.send(hup(1));
    expect(a.state).toBe(StateType.Leader);
    expect(b.state).toBe(StateType.Follower);
    expect(c.state).toBe(StateType.Follower);

    // Move the cluster's term past c's while c cannot hear it.
    nt.isolate(3);
    nt.send(hup(2));
    nt.send(hup(1));
    expect(a.state).toBe(StateType.Leader);
    expect(b.state).toBe(StateType.Follower);

    tickUntilCandidate(c);

    nt.recover();
    nt.send(message({ from: 1, to: 3, term: a.term, msgType: mt }));

    expect(c.state).toBe(StateType.Follower);
    expect(c.term).toBe(a.term);
  }

  test('TestCandidateResetTermMessageType_MsgHeartbeat2AA', () =>
    testCandidateResetTerm(MessageType.MsgHeartbeat));
  test('TestCandidateResetTermMessageType_MsgAppend2AA', () =>
    testCandidateResetTerm(MessageType.MsgAppend));

  // Without pre-vote, a follower that times out on its own campaigns in a higher term, and its
  // vote requests depose the working leader.
  test('TestDisruptiveFollower2AA', () => {
    const [n1, n2, n3] = followersAtTerm1();
    const nt = new Network([n1, n2, n3]);

    nt.send(hup(1));
    expect([n1.state, n2.state, n3.state]).toEqual([
      StateType.Leader,
      StateType.Follower,
      StateType.Follower,
    ]);

    tickUntilCandidate(n3);
    expect([n1.state, n2.state, n3.state]).toEqual([
      StateType.Leader,
      StateType.Follower,
      StateType.Candidate,
    ]);
    expect([n1.term, n2.term, n3.term]).toEqual([2, 2, 3]);

    // The heartbeat is stale at n3, but delivering it flushes n3's term-3 vote requests.
    nt.send(message({ from: 1, to: 3, term: n1.term, msgType: MessageType.MsgHeartbeat }));

    expect(n1.state).toBe(StateType.Follower);
    expect(n1.term).toBe(3);
  });

  // Two candidates of the same term each reject the other; neither wins until one retries in a
  // later term alone.
  test('TestSplitVote2AA', () => {
    const [n1, n2, n3] = followersAtTerm1();
    const nt = new Network([n1, n2, n3]);

    nt.send(hup(1));
    expect(n1.state).toBe(StateType.Leader);
    expect(n1.term).toBe(2);
    nt.isolate(1);

    nt.send(hup(2), hup(3));
    expect([n2.term, n3.term]).toEqual([3, 3]);
    expect([n2.state, n3.state]).toEqual([StateType.Candidate, StateType.Candidate]);

    nt.send(hup(2));
    expect([n2.term, n3.term]).toEqual([4, 4]);
    expect([n2.state, n3.state]).toEqual([StateType.Leader, StateType.Follower]);
  });
});
