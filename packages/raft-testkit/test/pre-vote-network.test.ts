/**
 * Pre-Vote (§9.6) through whole clusters on the synchronous test network: a node cut off from the
 * cluster cannot raise the term, so when it comes back the leader stays.
 */
import { type Config, MessageType, message, StateType } from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { Network } from '../src/index.js';
import { beat, hup, propose, raftOf } from './helpers.js';

const withPreVote =
  (checkQuorum = false) =>
  (c: Config): void => {
    c.preVote = true;
    c.checkQuorum = checkQuorum;
  };

/** Three nodes with node 1 elected; the options say what else is on. */
function cluster(configure?: (c: Config) => void): Network {
  const nt = new Network([null, null, null], configure === undefined ? {} : { configure });
  nt.send(hup(1));
  expect(raftOf(nt, 1).state).toBe(StateType.Leader);
  return nt;
}

const terms = (nt: Network): number[] => [1, 2, 3].map((id) => raftOf(nt, id).term);

describe('a partitioned node with Pre-Vote', () => {
  test('keeps its term however often its election timer fires; without Pre-Vote it raises it every time', () => {
    for (const [preVote, termOf3] of [
      [true, 1],
      [false, 6],
    ] as const) {
      const nt = cluster(preVote ? withPreVote() : undefined);
      nt.isolate(3);
      for (let k = 0; k < 5; k++) {
        nt.send(hup(3));
      }
      expect(raftOf(nt, 3).term, `preVote ${preVote}`).toBe(termOf3);
      expect(raftOf(nt, 3).state, `preVote ${preVote}`).toBe(
        preVote ? StateType.PreCandidate : StateType.Candidate,
      );
    }
  });

  test('rejoins without disrupting the leader: its pre-vote fails on its stale log, and the next heartbeat brings it back', () => {
    const nt = cluster(withPreVote());
    nt.isolate(3);
    for (let k = 0; k < 5; k++) {
      nt.send(hup(3));
    }
    nt.send(propose(1, 'while 3 was away'));
    nt.recover();

    // Its timer fires before the leader's next heartbeat reaches it.
    nt.send(hup(3));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
    expect(terms(nt)).toEqual([1, 1, 1]);
    expect(raftOf(nt, 3).state).toBe(StateType.Follower);

    nt.send(beat(1));
    expect(raftOf(nt, 3).lead).toBe(1);
    expect(raftOf(nt, 3).raftLog.committed).toBe(raftOf(nt, 1).raftLog.committed);
  });

  test('without Pre-Vote, the same node deposes the leader when it rejoins', () => {
    const nt = cluster();
    nt.isolate(3);
    for (let k = 0; k < 5; k++) {
      nt.send(hup(3));
    }
    nt.send(propose(1, 'while 3 was away'));
    nt.recover();
    nt.send(beat(1));
    // 3 ignores the stale heartbeat; its next campaign, though lost, moves everyone to its term.
    nt.send(hup(3));
    expect(raftOf(nt, 1).state).toBe(StateType.Follower);
    expect(terms(nt)).toEqual([7, 7, 7]);
  });

  test.each([
    [true, StateType.Follower, 1],
    [false, StateType.Leader, 2],
  ])(
    'with an up-to-date log, check quorum %s: the others, still hearing the leader, refuse (the lease), so it ends %s in term %i',
    (checkQuorum, state3, term) => {
      const nt = cluster(withPreVote(checkQuorum));
      nt.isolate(3);
      nt.send(hup(3));
      nt.recover();

      nt.send(hup(3));
      expect(raftOf(nt, 3).state).toBe(state3);
      expect(terms(nt)).toEqual([term, term, term]);
    },
  );
});

describe('when the leader is lost', () => {
  // With check quorum a follower refuses pre-votes while it believes in a live leader; a
  // pre-candidate has stopped believing, or two followers that time out one after the other would
  // refuse each other for ever.
  test('with check quorum, a pre-candidate grants pre-votes to others, so the second to time out wins', () => {
    const nt = cluster(withPreVote(true));
    nt.isolate(1);
    nt.send(hup(2));
    // 3 heard from 1 a moment ago and refuses; 1 does not answer.
    expect(raftOf(nt, 2).state).toBe(StateType.PreCandidate);
    expect(raftOf(nt, 2).lead).toBe(0);

    nt.send(hup(3));
    expect(raftOf(nt, 3).state).toBe(StateType.Leader);
    expect([raftOf(nt, 2).term, raftOf(nt, 3).term]).toEqual([2, 2]);
  });
});

describe('terms with Pre-Vote', () => {
  test('a pre-vote of a higher term moves no one to it, granted or not', () => {
    const nt = cluster(withPreVote());
    nt.isolate(1);
    nt.send(hup(2));
    // 3 granted (its log is as up to date), so 2 campaigned in term 2 and won with 3's vote.
    expect(raftOf(nt, 2).state).toBe(StateType.Leader);
    expect(terms(nt)).toEqual([1, 2, 2]);
  });

  test('a node whose term ran ahead while it was cut off answers the stale leader with its term, and the next election takes everyone to one term', () => {
    const nt = cluster(withPreVote(true));
    nt.isolate(3);
    // A transfer request that reached 3 alone makes it campaign in term 2, which it loses.
    nt.send(message({ msgType: MessageType.MsgTimeoutNow, from: 1, to: 3, term: 1 }));
    expect(raftOf(nt, 3).term).toBe(2);
    nt.send(propose(1, 'while 3 was away'));
    nt.recover();

    // Everyone refuses 3 a pre-vote (its log is behind, and 2 is in its leader's lease); their
    // rejections carry term 1, which 3 ignores. Only the answer to the leader's heartbeat helps.
    nt.send(hup(3));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
    nt.send(beat(1));
    expect(raftOf(nt, 1).state).toBe(StateType.Follower);
    expect(raftOf(nt, 1).term).toBe(2);

    nt.send(hup(1));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
    expect(terms(nt)).toEqual([3, 3, 3]);
    nt.send(propose(1, 'after'));
    expect(raftOf(nt, 3).raftLog.committed).toBe(raftOf(nt, 1).raftLog.lastIndex());
  });
});
