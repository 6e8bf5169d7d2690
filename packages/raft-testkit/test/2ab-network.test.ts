/**
 * 2AB, network and unit group: log replication through whole clusters on the synchronous test
 * network, plus the follower's append rules and step-down, driven one message at a time.
 */
import {
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  None,
  type Raft,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { blackHole, idsBySize, Network, newTestRaft, type StateMachine } from '../src/index.js';
import {
  beat,
  bytes,
  ents,
  hup,
  type LogView,
  nextEnts,
  propose,
  raftOf,
  text,
  viewOf,
} from './helpers.js';

const entry = (term: number, index: number, data?: string): Entry =>
  data === undefined
    ? { entryType: EntryType.Normal, term, index }
    : { entryType: EntryType.Normal, term, index, data: bytes(data) };

const view = (committed: number, entries: Entry[]): LogView => ({
  committed,
  applied: 0,
  entries,
});

/** Every `Raft` in the network, with its id; black holes are skipped. */
function rafts(nt: Network): Array<[number, Raft]> {
  const out: Array<[number, Raft]> = [];
  for (const id of nt.peers.keys()) {
    const p = nt.peers.get(id);
    if (p !== blackHole) {
      out.push([id, raftOf(nt, id)]);
    }
  }
  return out;
}

describe('2AB network: replication through a cluster', () => {
  test('TestProgressLeader2AB', () => {
    const r = newTestRaft(1, [1, 2], 5, 1, new MemoryStorage());
    r.becomeCandidate();
    r.becomeLeader();

    // The leader's own progress follows its log: the no-op at 1, then one more per proposal.
    for (let i = 0; i < 5; i++) {
      const pr = r.prs.get(1);
      expect(pr?.match, `before proposal ${i}`).toBe(i + 1);
      expect(pr?.next, `before proposal ${i}`).toBe(i + 2);
      r.step(propose(1, 'foo'));
    }
  });

  // A newly elected leader that lacks the highest-term entries overwrites them (§5.3, §5.4.1).
  test('TestLeaderElectionOverwriteNewerLogs2AB', () => {
    const peers = idsBySize(5);
    const withLog = (id: number, ...terms: number[]): Raft => {
      const s = new MemoryStorage();
      s.append(ents(...terms));
      const r = newTestRaft(id, peers, 5, 1, s);
      r.term = terms[terms.length - 1] as number;
      return r;
    };
    const voted = (id: number, vote: number, term: number): Raft => {
      const s = new MemoryStorage();
      s.setHardState({ term, vote, commit: 0 });
      const r = newTestRaft(id, peers, 5, 1, s);
      r.term = term;
      return r;
    };
    // Node 1 won term 1 and replicated one entry to node 2 only; node 3 won term 2 with the
    // votes of 4 and 5 and wrote one entry that reached no one.
    const nt = new Network([
      withLog(1, 1),
      withLog(2, 1),
      withLog(3, 2),
      voted(4, 3, 2),
      voted(5, 3, 2),
    ]);
    const n1 = raftOf(nt, 1);

    // A quorum knows of term 2 and refuses: node 1 only learns the term.
    nt.send(hup(1));
    expect(n1.state).toBe(StateType.Follower);
    expect(n1.term).toBe(2);

    nt.send(hup(1));
    expect(n1.state).toBe(StateType.Leader);
    expect(n1.term).toBe(3);

    for (const [id, r] of rafts(nt)) {
      expect(
        r.raftLog.entries.map((e) => [e.index, e.term]),
        `node ${id}`,
      ).toEqual([
        [1, 1],
        [2, 3],
      ]);
    }
  });

  test('TestLogReplication2AB', () => {
    const rows: Array<{ msgs: Message[]; wcommitted: number }> = [
      { msgs: [propose(1, 'somedata')], wcommitted: 2 },
      { msgs: [propose(1, 'somedata'), hup(2), propose(2, 'somedata')], wcommitted: 4 },
    ];
    for (const [i, row] of rows.entries()) {
      const nt = new Network([null, null, null]);
      nt.send(hup(1));
      for (const m of row.msgs) {
        nt.send(m);
      }

      const proposed = row.msgs
        .filter((m) => m.msgType === MessageType.MsgPropose)
        .map((m) => text(m.entries[0] as Entry));
      for (const [id, r] of rafts(nt)) {
        expect(r.raftLog.committed, `row ${i}, node ${id}`).toBe(row.wcommitted);
        const storage = nt.storage.get(id) as MemoryStorage;
        const applied = nextEnts(r, storage).filter((e) => e.data !== undefined);
        expect(applied.map(text), `row ${i}, node ${id}`).toEqual(proposed);
      }
    }
  });

  test('TestSingleNodeCommit2AB', () => {
    const nt = new Network([null]);
    nt.send(hup(1));
    nt.send(propose(1, 'some data'));
    nt.send(propose(1, 'some data'));

    expect(raftOf(nt, 1).raftLog.committed).toBe(3);
  });

  // §5.4.2: entries of an earlier term that were stranded by a partition commit as soon as a new
  // leader commits its no-op, without any new proposal.
  test('TestCommitWithoutNewTermEntry2AB', () => {
    const nt = new Network([null, null, null, null, null]);
    nt.send(hup(1));

    // 1 reaches only 2: its proposals cannot reach a majority.
    nt.cut(1, 3);
    nt.cut(1, 4);
    nt.cut(1, 5);
    nt.send(propose(1, 'some data'));
    nt.send(propose(1, 'some data'));

    const sm = raftOf(nt, 1);
    expect(sm.raftLog.committed).toBe(1);

    nt.recover();
    // 2 holds the stranded entries, wins term 2, and its no-op at 4 commits everything.
    nt.send(hup(2));

    expect(sm.raftLog.committed).toBe(4);
  });

  // A follower that answers a heartbeat while lagging behind is sent the entries it misses.
  test('TestCommitWithHeartbeat2AB', () => {
    const nt = new Network([null, null, null, null, null]);
    nt.send(hup(1));

    nt.isolate(5);
    nt.send(propose(1, 'some data'));
    nt.send(propose(1, 'some data'));

    const sm = raftOf(nt, 5);
    expect(sm.raftLog.committed).toBe(1);

    nt.recover();
    nt.send(beat(1));

    expect(sm.raftLog.committed).toBe(3);
  });

  test('TestDuelingCandidates2AB', () => {
    const a = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    const b = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
    const c = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());
    const nt = new Network([a, b, c]);
    nt.cut(1, 3);

    nt.send(hup(1));
    nt.send(hup(3));

    // 1 wins with the votes of 1 and 2; 3 has its own vote and 2's refusal.
    expect(a.state).toBe(StateType.Leader);
    expect(c.state).toBe(StateType.Candidate);

    nt.recover();
    // 3 campaigns again at a higher term and unseats 1, but both refuse its shorter log (§5.4.1),
    // so nobody leads term 2.
    nt.send(hup(3));

    const wlog = view(1, [entry(1, 1)]);
    const rows: Array<{ sm: Raft; state: StateType; term: number; log: LogView }> = [
      { sm: a, state: StateType.Follower, term: 2, log: wlog },
      { sm: b, state: StateType.Follower, term: 2, log: wlog },
      { sm: c, state: StateType.Follower, term: 2, log: view(0, []) },
    ];
    for (const [i, row] of rows.entries()) {
      expect(row.sm.state, `node ${i + 1}`).toBe(row.state);
      expect(row.sm.term, `node ${i + 1}`).toBe(row.term);
      expect(viewOf(row.sm.raftLog), `node ${i + 1}`).toEqual(row.log);
    }
  });

  // §5.2: a candidate that hears from a leader of its own term concedes and takes its log.
  test('TestCandidateConcede2AB', () => {
    const nt = new Network([null, null, null]);
    nt.isolate(1);

    nt.send(hup(1));
    nt.send(hup(3));

    nt.recover();
    // The heartbeat reaches candidate 1, which concedes.
    nt.send(beat(3));
    const data = 'force follower';
    // A proposal flushes a MsgAppend to 1, the next heartbeat the commit.
    nt.send(propose(3, data));
    nt.send(beat(3));

    const a = raftOf(nt, 1);
    expect(a.state).toBe(StateType.Follower);
    expect(a.term).toBe(1);
    const want = view(2, [entry(1, 1), entry(1, 2, data)]);
    for (const [id, r] of rafts(nt)) {
      expect(viewOf(r.raftLog), `node ${id}`).toEqual(want);
    }
  });

  // §5.1: a MsgAppend from an old leader carries a stale term and changes nothing.
  test('TestOldMessages2AB', () => {
    const nt = new Network([null, null, null]);
    // 1 leads term 1, 2 term 2, 1 again term 3.
    nt.send(hup(1));
    nt.send(hup(2));
    nt.send(hup(1));
    // The term-2 leader's append of its entry at 3: well formed, but stale at node 1.
    nt.send(
      message({
        msgType: MessageType.MsgAppend,
        from: 2,
        to: 1,
        term: 2,
        index: 2,
        logTerm: 2,
        entries: [entry(2, 3)],
      }),
    );
    nt.send(propose(1, 'somedata'));

    const want = view(4, [entry(1, 1), entry(2, 2), entry(3, 3), entry(3, 4, 'somedata')]);
    for (const [id, r] of rafts(nt)) {
      expect(viewOf(r.raftLog), `node ${id}`).toEqual(want);
    }
  });

  // A proposal commits only where a leader can be elected; elsewhere it is dropped, not appended.
  test('TestProposal2AB', () => {
    const rows: Array<{ peers: Array<StateMachine | null>; success: boolean }> = [
      { peers: [null, null, null], success: true },
      { peers: [null, null, blackHole], success: true },
      { peers: [null, blackHole, blackHole], success: false },
      { peers: [null, blackHole, blackHole, null], success: false },
      { peers: [null, blackHole, blackHole, null, null], success: true },
    ];
    for (const [i, row] of rows.entries()) {
      const nt = new Network(row.peers);
      const data = 'somedata';

      nt.send(hup(1));
      nt.send(propose(1, data));

      const want = row.success ? view(2, [entry(1, 1), entry(1, 2, data)]) : view(0, []);
      for (const [id, r] of rafts(nt)) {
        expect(viewOf(r.raftLog), `row ${i}, node ${id}`).toEqual(want);
      }
      expect(raftOf(nt, 1).term, `row ${i}`).toBe(1);
    }
  });
});

describe('2AB unit: follower append rules and step-down', () => {
  // §5.3, the AppendEntries receiver rules:
  // 1. reply false if the log has no entry at prevLogIndex whose term matches prevLogTerm;
  // 2. delete a conflicting entry and all that follow it, append the new ones;
  // 3. if leaderCommit > commitIndex, commitIndex = min(leaderCommit, index of last new entry).
  test('TestHandleMessageType_MsgAppend2AB', () => {
    const append = (
      logTerm: number,
      index: number,
      commit: number,
      entries: Entry[] = [],
    ): Message =>
      message({
        msgType: MessageType.MsgAppend,
        from: 2,
        to: 1,
        term: 2,
        logTerm,
        index,
        commit,
        entries,
      });
    const rows: Array<{ m: Message; wIndex: number; wCommit: number; wReject: boolean }> = [
      // rule 1
      { m: append(3, 2, 3), wIndex: 2, wCommit: 0, wReject: true }, // previous entry mismatch
      { m: append(3, 3, 3), wIndex: 2, wCommit: 0, wReject: true }, // previous entry missing
      // rule 2
      { m: append(1, 1, 1), wIndex: 2, wCommit: 1, wReject: false },
      { m: append(0, 0, 1, [entry(2, 1)]), wIndex: 1, wCommit: 1, wReject: false },
      { m: append(2, 2, 3, [entry(2, 3), entry(2, 4)]), wIndex: 4, wCommit: 3, wReject: false },
      { m: append(2, 2, 4, [entry(2, 3)]), wIndex: 3, wCommit: 3, wReject: false },
      { m: append(1, 1, 4, [entry(2, 2)]), wIndex: 2, wCommit: 2, wReject: false },
      // rule 3
      { m: append(1, 1, 3), wIndex: 2, wCommit: 1, wReject: false }, // last new entry is 1
      { m: append(1, 1, 3, [entry(2, 2)]), wIndex: 2, wCommit: 2, wReject: false }, // ... is 2
      { m: append(2, 2, 3), wIndex: 2, wCommit: 2, wReject: false }, // ... is 2
      { m: append(2, 2, 4), wIndex: 2, wCommit: 2, wReject: false }, // up to the last entry
    ];
    for (const [i, row] of rows.entries()) {
      const s = new MemoryStorage();
      s.append(ents(1, 2));
      const sm = newTestRaft(1, [1], 10, 1, s);
      sm.becomeFollower(2, None);

      sm.handleAppendEntries(row.m);

      expect(sm.raftLog.lastIndex(), `row ${i}`).toBe(row.wIndex);
      expect(sm.raftLog.committed, `row ${i}`).toBe(row.wCommit);
      const msgs = sm.readMessages();
      expect(msgs, `row ${i}`).toHaveLength(1);
      expect(msgs[0]?.reject, `row ${i}`).toBe(row.wReject);
    }
  });

  // §5.1: every role steps down on a higher term; only a MsgAppend names the new leader.
  test('TestAllServerStepdown2AB', () => {
    const rows: Array<{ state: StateType; windex: number }> = [
      { state: StateType.Follower, windex: 0 },
      { state: StateType.Candidate, windex: 0 },
      // the leader keeps its (uncommitted) no-op
      { state: StateType.Leader, windex: 1 },
    ];
    const tterm = 3;
    for (const [i, row] of rows.entries()) {
      const sm = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
      if (row.state === StateType.Follower) {
        sm.becomeFollower(1, None);
      } else {
        sm.becomeCandidate();
        if (row.state === StateType.Leader) {
          sm.becomeLeader();
        }
      }

      for (const msgType of [MessageType.MsgRequestVote, MessageType.MsgAppend]) {
        sm.step(message({ msgType, from: 2, term: tterm, logTerm: tterm }));

        const where = `row ${i}, after message type ${msgType}`;
        expect(sm.state, where).toBe(StateType.Follower);
        expect(sm.term, where).toBe(tterm);
        expect(sm.raftLog.lastIndex(), where).toBe(row.windex);
        expect(sm.raftLog.entries, where).toHaveLength(row.windex);
        expect(sm.lead, where).toBe(msgType === MessageType.MsgAppend ? 2 : None);
      }
    }
  });

  // A heartbeat carries at most what the follower is known to match, so an old leader cut off
  // with uncommitted entries of its own never commits them on the new leader's heartbeat.
  test('TestHeartbeatUpdateCommit2AB', () => {
    const rows: Array<{ failCnt: number; successCnt: number }> = [
      { failCnt: 1, successCnt: 1 },
      { failCnt: 5, successCnt: 3 },
      { failCnt: 5, successCnt: 10 },
    ];
    for (const [i, row] of rows.entries()) {
      const sm1 = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
      const sm2 = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
      const sm3 = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());
      const nt = new Network([sm1, sm2, sm3]);
      nt.send(hup(1));
      nt.isolate(1);

      // The old leader appends, but cannot commit.
      for (let k = 0; k < row.failCnt; k++) {
        nt.send(propose(1));
      }
      expect(sm1.raftLog.committed, `row ${i}`).toBeLessThanOrEqual(1);

      nt.send(hup(2));
      for (let k = 0; k < row.successCnt; k++) {
        nt.send(propose(2));
      }
      // two no-ops (terms 1 and 2) and the proposals
      const wCommit = 2 + row.successCnt;
      expect(sm2.raftLog.committed, `row ${i}`).toBe(wCommit);
      expect(sm3.raftLog.committed, `row ${i}`).toBe(wCommit);

      nt.recover();
      nt.ignore(MessageType.MsgAppend);
      nt.send(beat(2));

      expect(sm1.raftLog.committed, `row ${i}`).toBeLessThanOrEqual(1);
    }
  });

  test('TestLeaderIncreaseNext2AB', () => {
    const previous = ents(1, 1, 1);
    // the previous entries, the no-op, the proposal, plus one
    const wnext = previous.length + 1 + 1 + 1;
    const s = new MemoryStorage();
    s.append(previous);
    const sm = newTestRaft(1, [1, 2], 10, 1, s);
    const nt = new Network([sm, null, null]);

    nt.send(hup(1));
    nt.send(propose(1, 'somedata'));

    expect(sm.prs.get(2)?.next).toBe(wnext);
  });
});
