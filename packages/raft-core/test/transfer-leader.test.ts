/**
 * Leadership transfer (§3.10 of the Raft dissertation): the leader stops taking proposals, brings
 * the transferee's log up to its own, and tells it to campaign at once with MsgTimeoutNow.
 */
import { describe, expect, test } from 'vitest';
import {
  type Config,
  EntryType,
  MalformedMessageError,
  type Message,
  MessageType,
  message,
  None,
  ProposalDroppedError,
  Raft,
  RawNode,
  StateType,
} from '../src/index.js';
import { testConfig } from './helpers.js';

const config = (overrides: Partial<Config> = {}): Config =>
  testConfig({ random: () => 0, ...overrides });

const appendResponse = (from: number, index: number, term = 1): Message =>
  message({ msgType: MessageType.MsgAppendResponse, from, to: 1, term, index });

/** Leader 1 of term 1, whose no-op (index 1) node 2 holds and node 3 does not. */
function leader(overrides: Partial<Config> = {}): Raft {
  const r = new Raft(config(overrides));
  r.becomeCandidate();
  r.becomeLeader();
  r.step(appendResponse(2, 1));
  r.readMessages();
  return r;
}

/** The local request to move leadership to `transferee`, stepped at node `at`. */
const transfer = (transferee: number, at = 1): Message =>
  message({ msgType: MessageType.MsgTransferLeader, from: transferee, to: at });

const proposal = (): Message =>
  message({
    msgType: MessageType.MsgPropose,
    from: 1,
    to: 1,
    entries: [{ entryType: EntryType.Normal, term: 0, index: 0, data: new Uint8Array([7]) }],
  });

const timeoutNow = (to: number, term = 1): Message =>
  message({ msgType: MessageType.MsgTimeoutNow, from: 1, to, term });

describe('the leader hands over (§3.10)', () => {
  test('to a follower that holds its whole log: MsgTimeoutNow at once', () => {
    const r = leader();
    r.step(transfer(2));
    expect(r.leadTransferee).toBe(2);
    expect(r.readMessages()).toEqual([timeoutNow(2)]);
    expect(r.state).toBe(StateType.Leader);
  });

  test('to a lagging follower: first what it lacks, then MsgTimeoutNow once it acknowledges the last entry', () => {
    const r = leader();
    r.step(proposal());
    r.step(proposal());
    r.readMessages();
    r.step(transfer(3));
    expect(r.readMessages().map((m) => [m.msgType, m.to])).toEqual([[MessageType.MsgAppend, 3]]);

    r.step(appendResponse(3, 2));
    expect(
      r.readMessages().filter((m) => m.msgType === MessageType.MsgTimeoutNow),
      'index 2 of 3 is not caught up yet',
    ).toEqual([]);
    r.step(appendResponse(3, 3));
    expect(r.readMessages().filter((m) => m.msgType === MessageType.MsgTimeoutNow)).toEqual([
      timeoutNow(3),
    ]);
  });

  test('while the transfer is under way, proposals are dropped and the log does not grow', () => {
    const r = leader();
    r.step(transfer(3));
    const last = r.raftLog.lastIndex();
    expect(() => r.step(proposal())).toThrow(
      new ProposalDroppedError(
        'node 1 is handing leadership to 3 in term 1: proposal of 1 entries dropped',
      ),
    );
    expect(r.raftLog.lastIndex()).toBe(last);
  });

  test.each([
    ['the leader itself', 1],
    ['a node that is not a member', 9],
  ])('a request for %s is ignored', (_name, transferee) => {
    const r = leader();
    r.step(transfer(transferee));
    expect(r.leadTransferee).toBe(None);
    expect(r.readMessages()).toEqual([]);
    r.step(proposal());
    expect(r.raftLog.lastIndex()).toBe(2);
  });

  test('the same request again changes nothing; a request for another member replaces the transfer', () => {
    const r = leader();
    r.step(transfer(3));
    r.readMessages();
    r.step(transfer(3));
    expect(r.readMessages()).toEqual([]);
    r.step(transfer(2));
    expect(r.leadTransferee).toBe(2);
    expect(r.readMessages()).toEqual([timeoutNow(2)]);
  });

  test('a transfer not done within an election timeout of its start is abandoned, and proposals are taken again', () => {
    const r = leader();
    for (let t = 0; t < 5; t++) {
      r.tick();
    }
    r.step(transfer(3));
    for (let t = 0; t < 9; t++) {
      r.tick();
    }
    expect(r.leadTransferee).toBe(3);
    expect(() => r.step(proposal())).toThrow(ProposalDroppedError);
    r.tick();
    expect(r.leadTransferee).toBe(None);
    r.step(proposal());
    expect(r.raftLog.lastIndex()).toBe(2);
  });

  test('a leader that steps down forgets its transfer', () => {
    const r = leader();
    r.step(transfer(3));
    r.step(message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2 }));
    expect([r.state, r.leadTransferee]).toEqual([StateType.Follower, None]);
  });
});

describe('elsewhere', () => {
  test('a follower passes the request on to its leader, unchanged', () => {
    const r = new Raft(config());
    r.becomeFollower(1, 2);
    r.step(transfer(3));
    expect(r.readMessages()).toEqual([transfer(3, 2)]);
    expect(r.leadTransferee).toBe(None);
  });

  test('a node that knows no leader drops the request', () => {
    const follower = new Raft(config());
    const candidate = new Raft(config());
    candidate.becomeCandidate();
    candidate.readMessages();
    const preCandidate = new Raft(config({ preVote: true }));
    preCandidate.step(message({ msgType: MessageType.MsgHup, from: 1, to: 1 }));
    preCandidate.readMessages();
    for (const r of [follower, candidate, preCandidate]) {
      const before = [r.state, r.term, r.vote];
      r.step(transfer(3));
      expect(r.readMessages()).toEqual([]);
      expect([r.state, r.term, r.vote]).toEqual(before);
    }
  });

  test('the transferee campaigns at once on MsgTimeoutNow, in term + 1, skipping the pre-vote', () => {
    const r = new Raft(config({ id: 2, preVote: true }));
    r.becomeFollower(1, 1);
    r.step(timeoutNow(2));
    expect([r.state, r.term, r.vote]).toEqual([StateType.Candidate, 2, 2]);
    expect(r.readMessages().map((m) => [m.msgType, m.to, m.term])).toEqual([
      [MessageType.MsgRequestVote, 1, 2],
      [MessageType.MsgRequestVote, 3, 2],
    ]);
  });
});

describe('RawNode.transferLeader and forwarded requests', () => {
  function rawLeader(): RawNode {
    const rn = new RawNode(config());
    rn.campaign();
    for (const from of [2, 3]) {
      rn.step(message({ msgType: MessageType.MsgRequestVoteResponse, from, to: 1, term: 1 }));
    }
    rn.step(appendResponse(2, 1));
    rn.step(appendResponse(3, 1));
    rn.raft.readMessages();
    return rn;
  }

  test('transferLeader on the leader starts the transfer', () => {
    const rn = rawLeader();
    rn.transferLeader(2);
    expect(rn.raft.leadTransferee).toBe(2);
    expect(rn.raft.readMessages()).toEqual([timeoutNow(2)]);
  });

  test("a leader takes a follower's forwarded request from the network", () => {
    const rn = rawLeader();
    rn.step(transfer(3));
    expect(rn.raft.leadTransferee).toBe(3);
    expect(rn.raft.readMessages()).toEqual([timeoutNow(3)]);
  });

  test('a follower drops a request forwarded to it, rather than forward it again: requests never circle', () => {
    const rn = new RawNode(config());
    rn.raft.becomeFollower(1, 2);
    rn.step(transfer(3));
    expect(rn.raft.readMessages()).toEqual([]);
    // Asked locally, the same follower forwards it.
    rn.transferLeader(3);
    expect(rn.raft.readMessages()).toEqual([transfer(3, 2)]);
  });

  test('a forwarded request must be well formed: one with a term is refused', () => {
    const rn = rawLeader();
    expect(() => rn.step({ ...transfer(3), term: 1 })).toThrow(MalformedMessageError);
    expect(rn.raft.leadTransferee).toBe(None);
  });
});
