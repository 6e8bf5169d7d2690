/**
 * Bugs in raft-core found by the fuzzer (test/fuzz.test.ts) and the chaos simulator
 * (src/sim, `pnpm sim`), each pinned as the smallest input that showed it.
 */
import {
  MalformedMessageError,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  ProposalDroppedError,
  Raft,
  RawNode,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { Network } from '../src/index.js';
import { hup, propose, raftOf } from './helpers.js';

function follower(): Raft {
  return new Raft({
    id: 1,
    peers: [1, 2, 3],
    electionTick: 10,
    heartbeatTick: 1,
    storage: new MemoryStorage(),
    random: () => 0.5,
  });
}

/** The state a refused message must leave as it was. */
function stateOf(r: Raft): unknown {
  return {
    term: r.term,
    vote: r.vote,
    state: r.state,
    lead: r.lead,
    electionElapsed: r.electionElapsed,
    randomizedElectionTimeout: r.randomizedElectionTimeout,
    committed: r.raftLog.committed,
    lastIndex: r.raftLog.lastIndex(),
  };
}

// Raft's contract (raft.ts, errors.ts): a step that throws `MalformedMessageError` or
// `ProposalDroppedError` has changed nothing, and nothing a peer sends makes a node throw anything
// else. Fixed in raft-core by validating these inputs before any state moves.
describe('regression (fuzz): a refused message changes nothing', () => {
  // Found by fuzz.test.ts, FUZZ_SEED=72024; shrunk by fast-check to this single step. `step`
  // moved to the message's term (becomeFollower) before the role's handler refused the proposal.
  test('a proposal carrying a higher term is refused without moving the node to that term', () => {
    const r = follower();
    r.step(message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 1 }));
    r.tick();
    const before = stateOf(r);
    const proposal = message({
      msgType: MessageType.MsgPropose,
      from: 2,
      to: 1,
      term: 5,
      entries: [{ entryType: 0, term: 0, index: 0, data: new Uint8Array([1]) }],
    });

    expect(() => r.step(proposal), 'refused as malformed or dropped').toThrow(
      expect.toSatisfy(
        (e) => e instanceof MalformedMessageError || e instanceof ProposalDroppedError,
      ),
    );
    expect(stateOf(r), 'term 1, leader 2 and the election timer are untouched').toEqual(before);
  });

  // Found by fuzz.test.ts, FUZZ_SEED=72024, as the first step of a run. `step` moved to the
  // snapshot's term and recorded the sender as leader (becomeFollower, heardFromLeader) before
  // handleSnapshot refused the empty membership.
  test.each([
    ['a higher term', 7],
    ['the current term', 1],
  ])(
    'a snapshot refused for its empty membership, in %s, leaves term, leader and timer alone',
    (_, term) => {
      const r = follower();
      r.step(message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 1 }));
      r.tick();
      const before = stateOf(r);
      const snapshot = message({
        msgType: MessageType.MsgSnapshot,
        from: 3,
        to: 1,
        term,
        snapshot: { metadata: { index: 5, term: 1, confState: { nodes: [] } } },
      });

      expect(() => r.step(snapshot)).toThrow(MalformedMessageError);
      expect(stateOf(r), 'still following 2 in term 1, timer running').toEqual(before);
    },
  );

  // Found by fuzz.test.ts, FUZZ_SEED=72024 (RawNode run): RawNode.step read `m.msgType` to refuse
  // local messages before `validateMessage` ran, so a null frame threw a TypeError.
  test('RawNode.step refuses a message that is not an object with MalformedMessageError', () => {
    const node = new RawNode({
      id: 1,
      peers: [1, 2, 3],
      electionTick: 10,
      heartbeatTick: 1,
      storage: new MemoryStorage(),
    });
    for (const frame of [null, undefined, 7, 'MsgApp']) {
      expect(() => node.step(frame as unknown as Message), String(frame)).toThrow(
        MalformedMessageError,
      );
    }
  });
});

/**
 * Found by the simulator: `pnpm sim --seed 86886`, shrunk to three faults (`--keep 0,1,8 --quiet
 * loss,disk`): node 3 is partitioned away (ticks 39–81) holding uncommitted entries of term 1 up to
 * 26@1; node 1, leader of term 2, commits up to 19@2 and compacts its log to 19 (tick 84); node 1
 * then leads term 4. It probes node 3 with "MsgAppend after 19@2", node 3 rejects with hint 19@1,
 * and the leader's `findConflictByTerm(19, 1)` stops at the compaction point and answers 19
 * without checking that the term there (2) is above the hint's (1): `next` stays 20 and the same
 * MsgAppend goes out again, forever. Node 3 never catches up, and each duplicated message starts
 * one more endless ping-pong: a message storm (20,000 events within one tick). Once the
 * divergence reaches its compaction point the leader must send a snapshot (§7).
 */
describe("regression (sim): a follower that diverges at the leader's compaction point gets a snapshot", () => {
  test('the leader sends a snapshot instead of probing the same index forever', () => {
    const compacted = new MemoryStorage();
    compacted.applySnapshot({ metadata: { index: 2, term: 2, confState: { nodes: [1, 2, 3] } } });
    compacted.append([
      { entryType: 0, term: 2, index: 3 },
      { entryType: 0, term: 2, index: 4 },
    ]);
    compacted.setHardState({ term: 2, vote: 1, commit: 2 });
    const leader = new Raft({
      id: 1,
      peers: [1, 2, 3],
      electionTick: 10,
      heartbeatTick: 1,
      storage: compacted,
    });
    leader.becomeCandidate();
    leader.becomeLeader();

    // Node 3 holds entries of term 1 up to index 3: it diverges at 2, the leader's snapshot index.
    const stale = MemoryStorage.fromEntries([
      { entryType: 0, term: 0, index: 0 },
      { entryType: 0, term: 1, index: 1 },
      { entryType: 0, term: 1, index: 2 },
      { entryType: 0, term: 1, index: 3 },
    ]);
    stale.setHardState({ term: 1, vote: 0, commit: 1 });
    const follower = new Raft({
      id: 3,
      peers: [1, 2, 3],
      electionTick: 10,
      heartbeatTick: 1,
      storage: stale,
    });

    const sent: string[] = [];
    let snapshotSent = false;
    for (let round = 0; round < 10 && !snapshotSent; round++) {
      for (const m of leader.readMessages().filter((m) => m.to === 3)) {
        sent.push(
          `${m.msgType === MessageType.MsgSnapshot ? 'MsgSnapshot' : 'MsgAppend'} after ${m.index}@${m.logTerm}`,
        );
        snapshotSent ||= m.msgType === MessageType.MsgSnapshot;
        follower.step(m);
      }
      for (const m of follower.readMessages()) {
        leader.step(m);
      }
    }

    expect(snapshotSent, `the leader sent node 3: ${sent.join('; ')}`).toBe(true);
  });
});

/**
 * Found by the simulator with leadership transfers, before they were first committed: `pnpm sim
 * --seed 8607`, shrunk to seven faults (`--keep 1,3,7,8,14,16,17 --quiet disk`). Node 3 leads term
 * 11; node 2 asks for leadership, and node 3, seeing node 2 up to date, sends it MsgTimeoutNow.
 * Then node 1 asks for node 3 (the leader itself) to lead, and the leader took that for a
 * cancellation: it took the next proposal (p59, at 16@11). Node 2, not yet holding it, won the
 * election its MsgTimeoutNow started with node 1's vote, and replaced it: a taken proposal that
 * was never applied. Once the MsgTimeoutNow is out, nothing but the election timeout ends a
 * transfer, and a request for the leader itself changes nothing.
 */
describe('regression (sim): a transfer under way is not cancelled by a request for the leader itself', () => {
  test('the leader keeps dropping proposals, so none is lost to the transferee winning', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    const leader = raftOf(nt, 1);
    const transfer = (transferee: number): Message =>
      message({ msgType: MessageType.MsgTransferLeader, from: transferee, to: 1 });

    leader.step(transfer(2));
    const timeoutNow = leader.readMessages();
    expect(timeoutNow.map((m) => [m.msgType, m.to])).toEqual([[MessageType.MsgTimeoutNow, 2]]);
    leader.step(transfer(1));
    expect(leader.leadTransferee).toBe(2);
    expect(() => leader.step(propose(1, 'p59'))).toThrow(ProposalDroppedError);

    nt.send(...timeoutNow);
    expect(raftOf(nt, 2).state).toBe(StateType.Leader);
    expect(leader.raftLog.lastIndex()).toBe(raftOf(nt, 2).raftLog.lastIndex());
  });
});
