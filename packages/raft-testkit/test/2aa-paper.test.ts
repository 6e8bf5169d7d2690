/**
 * 2AA, paper group: leader election as §5.1, §5.2 and §5.4.1 of the Raft paper state it, one rule
 * per test, each driving a single node by hand and reading its outbox.
 */
import {
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  None,
  Raft,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { idsBySize, newTestConfig, newTestRaft, seededRandom } from '../src/index.js';
import { hup, sortMessages } from './helpers.js';

const R = (id: number, peers: number[], et: number, ht: number): Raft =>
  newTestRaft(id, peers, et, ht, new MemoryStorage());

/** `R` with its election timeouts drawn from `seededRandom(seed)`, so the draws replay. */
const seededR = (id: number, peers: number[], seed: number): Raft =>
  new Raft({ ...newTestConfig(id, peers, 10, 1, new MemoryStorage()), random: seededRandom(seed) });

const entry = (term: number, index: number): Entry => ({
  entryType: EntryType.Normal,
  term,
  index,
});

type Role = 'follower' | 'candidate' | 'leader';

/** Puts a fresh node into `role` the way the tests of one body for three roles do. */
function enterRole(r: Raft, role: Role): void {
  switch (role) {
    case 'follower':
      r.becomeFollower(1, 2);
      break;
    case 'candidate':
      r.becomeCandidate();
      break;
    case 'leader':
      r.becomeCandidate();
      r.becomeLeader();
      break;
  }
}

// §5.1: "If one server's current term is smaller than the other's, then it updates its current
// term to the larger value. If a candidate or leader discovers that its term is out of date, it
// immediately reverts to follower state."
function testUpdateTermFromMessage(role: Role): void {
  const r = R(1, [1, 2, 3], 10, 1);
  enterRole(r, role);
  // Sender 0 is not a member; the higher term must still be taken, not the message dropped.
  r.step(message({ msgType: MessageType.MsgAppend, term: 2 }));
  expect(r.term).toBe(2);
  expect(r.state).toBe(StateType.Follower);
}

describe('terms (§5.1)', () => {
  test('TestFollowerUpdateTermFromMessage2AA', () => testUpdateTermFromMessage('follower'));
  test('TestCandidateUpdateTermFromMessage2AA', () => testUpdateTermFromMessage('candidate'));
  test('TestLeaderUpdateTermFromMessage2AA', () => testUpdateTermFromMessage('leader'));
});

describe('leader election (§5.2)', () => {
  // §5.2: "When servers start up, they begin as followers."
  test('TestStartAsFollower2AA', () => {
    const r = R(1, [1, 2, 3], 10, 1);
    expect(r.state).toBe(StateType.Follower);
  });

  // §5.2: the leader sends periodic heartbeats (AppendEntries carrying no entries) to every
  // follower to keep its authority; a heartbeat carries no entries even when followers lag.
  test('TestLeaderBcastBeat2AA', () => {
    const r = R(1, [1, 2, 3], 10, 1);
    r.becomeCandidate();
    r.becomeLeader();
    r.step(
      message({
        msgType: MessageType.MsgPropose,
        entries: [{ entryType: EntryType.Normal, term: 0, index: 0 }],
      }),
    );
    r.readMessages();

    r.tick();

    expect(sortMessages(r.readMessages())).toEqual([
      message({ from: 1, to: 2, term: 1, msgType: MessageType.MsgHeartbeat }),
      message({ from: 1, to: 3, term: 1, msgType: MessageType.MsgHeartbeat }),
    ]);
  });

  // §5.2: a follower (or a candidate whose election went nowhere) that hears nothing for an
  // election timeout starts an election: it increments its term, votes for itself and sends
  // RequestVote to every other server.
  function testNonleaderStartElection(role: 'follower' | 'candidate'): void {
    const et = 10;
    const r = R(1, [1, 2, 3], et, 1);
    enterRole(r, role);
    // No drain here: entering a role must not send anything by itself.
    for (let i = 1; i < 2 * et; i++) {
      r.tick();
    }

    expect(r.term).toBe(2);
    expect(r.state).toBe(StateType.Candidate);
    expect(r.votes.get(1)).toBe(true);
    expect(sortMessages(r.readMessages())).toEqual([
      message({ from: 1, to: 2, term: 2, msgType: MessageType.MsgRequestVote }),
      message({ from: 1, to: 3, term: 2, msgType: MessageType.MsgRequestVote }),
    ]);
  }

  test('TestFollowerStartElection2AA', () => testNonleaderStartElection('follower'));
  test('TestCandidateStartNewElection2AA', () => testNonleaderStartElection('candidate'));

  // §5.2: a candidate wins once it has votes from a majority of the full cluster (its own
  // included), and stays a candidate without one.
  test('TestLeaderElectionInOneRoundRPC2AA', () => {
    const rows: Array<{ size: number; votes: Array<[number, boolean]>; state: StateType }> = [
      { size: 1, votes: [], state: StateType.Leader },
      {
        size: 3,
        votes: [
          [2, true],
          [3, true],
        ],
        state: StateType.Leader,
      },
      { size: 3, votes: [[2, true]], state: StateType.Leader },
      {
        size: 5,
        votes: [
          [2, true],
          [3, true],
          [4, true],
          [5, true],
        ],
        state: StateType.Leader,
      },
      {
        size: 5,
        votes: [
          [2, true],
          [3, true],
          [4, true],
        ],
        state: StateType.Leader,
      },
      {
        size: 5,
        votes: [
          [2, true],
          [3, true],
        ],
        state: StateType.Leader,
      },
      { size: 3, votes: [], state: StateType.Candidate },
      { size: 5, votes: [[2, true]], state: StateType.Candidate },
      {
        size: 5,
        votes: [
          [2, false],
          [3, false],
        ],
        state: StateType.Candidate,
      },
      { size: 5, votes: [], state: StateType.Candidate },
    ];
    for (const [i, row] of rows.entries()) {
      const r = R(1, idsBySize(row.size), 10, 1);
      r.step(hup(1));
      for (const [id, granted] of row.votes) {
        r.step(
          message({
            from: id,
            to: 1,
            term: r.term,
            msgType: MessageType.MsgRequestVoteResponse,
            reject: !granted,
          }),
        );
      }
      expect(r.state, `row ${i}`).toBe(row.state);
      expect(r.term, `row ${i}`).toBe(1);
    }
  });

  // §5.2: "Each server will vote for at most one candidate in a given term, on a
  // first-come-first-served basis."
  test('TestFollowerVote2AA', () => {
    const rows: Array<{ vote: number; nvote: number; reject: boolean }> = [
      { vote: None, nvote: 1, reject: false },
      { vote: None, nvote: 2, reject: false },
      { vote: 1, nvote: 1, reject: false },
      { vote: 2, nvote: 2, reject: false },
      { vote: 1, nvote: 2, reject: true },
      { vote: 2, nvote: 1, reject: true },
    ];
    for (const [i, row] of rows.entries()) {
      const r = R(1, [1, 2, 3], 10, 1);
      r.term = 1;
      r.vote = row.vote;
      r.step(message({ from: row.nvote, to: 1, term: 1, msgType: MessageType.MsgRequestVote }));

      expect(sortMessages(r.readMessages()), `row ${i}`).toEqual([
        message({
          from: 1,
          to: row.nvote,
          term: 1,
          msgType: MessageType.MsgRequestVoteResponse,
          reject: row.reject,
        }),
      ]);
    }
  });

  // §5.2: "If the leader's term (included in its RPC) is at least as large as the candidate's
  // current term, then the candidate recognizes the leader as legitimate and returns to follower
  // state."
  test('TestCandidateFallback2AA', () => {
    const rows: Message[] = [
      message({ from: 2, to: 1, term: 1, msgType: MessageType.MsgAppend }),
      message({ from: 2, to: 1, term: 2, msgType: MessageType.MsgAppend }),
    ];
    for (const [i, m] of rows.entries()) {
      const r = R(1, [1, 2, 3], 10, 1);
      r.step(hup(1));
      expect(r.state, `row ${i}: the node must be a candidate before the leader's message`).toBe(
        StateType.Candidate,
      );

      r.step(m);

      expect(r.state, `row ${i}`).toBe(StateType.Follower);
      expect(r.term, `row ${i}`).toBe(m.term);
    }
  });

  // §5.2: "Raft uses randomized election timeouts ... chosen randomly from a fixed interval."
  // Here: re-drawn on every reset, uniformly from [et, 2·et).
  function testNonleaderElectionTimeoutRandomized(role: 'follower' | 'candidate'): void {
    const et = 10;
    const seed = role === 'follower' ? 11 : 12;
    const r = seededR(1, [1, 2, 3], seed);
    const seen = new Set<number>();
    for (let round = 0; round < 500; round++) {
      if (role === 'follower') {
        r.becomeFollower(r.term + 1, 2);
      } else {
        r.becomeCandidate();
      }
      let ticks = 0;
      while (r.readMessages().length === 0 && ticks < 4 * et) {
        r.tick();
        ticks++;
      }
      seen.add(ticks);
    }

    for (const ticks of seen) {
      expect(ticks, `seed ${seed}: an election fired after ${ticks} ticks`).toBeGreaterThanOrEqual(
        et,
      );
      expect(ticks, `seed ${seed}: an election fired after ${ticks} ticks`).toBeLessThan(2 * et);
    }
    for (let ticks = et + 1; ticks < 2 * et; ticks++) {
      expect(seen.has(ticks), `seed ${seed}: no election fired after exactly ${ticks} ticks`).toBe(
        true,
      );
    }
  }

  test('TestFollowerElectionTimeoutRandomized2AA', () =>
    testNonleaderElectionTimeoutRandomized('follower'));
  test('TestCandidateElectionTimeoutRandomized2AA', () =>
    testNonleaderElectionTimeoutRandomized('candidate'));

  // §5.2: randomized timeouts spread the servers out "so that in most cases only a single server
  // will time out", which needs an independent draw per node.
  function testNonleadersElectionTimeoutNonconflict(role: 'follower' | 'candidate'): void {
    const size = 5;
    const rounds = 1000;
    const seed = role === 'follower' ? 13 : 14;
    const ids = idsBySize(size);
    const rs = ids.map((id) => seededR(id, ids, seed * 100 + id));
    let conflicts = 0;
    for (let round = 0; round < rounds; round++) {
      for (const r of rs) {
        if (role === 'follower') {
          r.becomeFollower(r.term + 1, None);
        } else {
          r.becomeCandidate();
        }
      }
      let timedOut = 0;
      for (let sweep = 0; timedOut === 0 && sweep < 40; sweep++) {
        for (const r of rs) {
          r.tick();
          if (r.readMessages().length > 0) {
            timedOut++;
          }
        }
      }
      expect(timedOut, `seed ${seed}, round ${round}: no node ever timed out`).toBeGreaterThan(0);
      if (timedOut > 1) {
        conflicts++;
      }
    }
    expect(conflicts / rounds, `seed ${seed}: conflict rate`).toBeLessThanOrEqual(0.3);
  }

  test('TestFollowersElectionTimeoutNonconflict2AA', () =>
    testNonleadersElectionTimeoutNonconflict('follower'));
  test('TestCandidatesElectionTimeoutNonconflict2AA', () =>
    testNonleadersElectionTimeoutNonconflict('candidate'));
});

describe('election restriction (§5.4.1)', () => {
  // §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
  // candidate": a later last term wins; with equal last terms, the longer log wins.
  test('TestVoter2AA', () => {
    const rows: Array<{ log: Entry[]; logTerm: number; index: number; reject: boolean }> = [
      { log: [entry(1, 1)], logTerm: 1, index: 1, reject: false },
      { log: [entry(1, 1)], logTerm: 1, index: 2, reject: false },
      { log: [entry(1, 1), entry(1, 2)], logTerm: 1, index: 1, reject: true },
      { log: [entry(1, 1)], logTerm: 2, index: 1, reject: false },
      { log: [entry(1, 1)], logTerm: 2, index: 2, reject: false },
      { log: [entry(1, 1), entry(1, 2)], logTerm: 2, index: 1, reject: false },
      { log: [entry(2, 1)], logTerm: 1, index: 1, reject: true },
      { log: [entry(2, 1)], logTerm: 1, index: 2, reject: true },
      { log: [entry(2, 1), entry(1, 2)], logTerm: 1, index: 1, reject: true },
    ];
    for (const [i, row] of rows.entries()) {
      const s = new MemoryStorage();
      s.append(row.log);
      const r = newTestRaft(1, [1, 2], 10, 1, s);
      r.step(
        message({
          from: 2,
          to: 1,
          msgType: MessageType.MsgRequestVote,
          term: 3,
          logTerm: row.logTerm,
          index: row.index,
        }),
      );

      const msgs = r.readMessages();
      expect(msgs, `row ${i}`).toHaveLength(1);
      expect(msgs[0]?.msgType, `row ${i}`).toBe(MessageType.MsgRequestVoteResponse);
      expect(msgs[0]?.reject, `row ${i}`).toBe(row.reject);
    }
  });
});
