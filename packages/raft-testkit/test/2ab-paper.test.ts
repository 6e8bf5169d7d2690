/**
 * 2AB, paper group: log replication as the Raft paper (https://raft.github.io/raft.pdf) states
 * it, one rule per test, each citing its section. Every test builds a node by hand, steps the
 * messages a peer would send, and checks the outbox and the log.
 */
import {
  type Entry,
  EntryType,
  MemoryStorage,
  MessageType,
  message,
  type Raft,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { blackHole, idsBySize, Network, newTestRaft } from '../src/index.js';
import {
  acceptAndReply,
  bytes,
  commitNoopEntry,
  ents,
  hup,
  propose,
  sortMessages,
  viewOf,
} from './helpers.js';

const entry = (term: number, index: number, data?: string): Entry =>
  data === undefined
    ? { entryType: EntryType.Normal, term, index }
    : { entryType: EntryType.Normal, term, index, data: bytes(data) };

/** Node 1 of `peers`, leader of term 1, with its no-op committed, applied and stable. */
function leaderWithNoop(peers: number[]): Raft {
  const s = new MemoryStorage();
  const r = newTestRaft(1, peers, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  return r;
}

describe('2AB paper: the leader replicates (§5.3)', () => {
  // §5.3: the leader appends a proposal to its log, then sends AppendEntries in parallel to every
  // other server, naming the index and term of the entry that precedes the new one.
  test('TestLeaderStartReplication2AB', () => {
    const r = leaderWithNoop([1, 2, 3]);
    const li = r.raftLog.lastIndex();

    r.step(propose(1, 'some data'));

    expect(r.raftLog.lastIndex()).toBe(li + 1);
    expect(r.raftLog.committed).toBe(li);
    const ent = entry(1, li + 1, 'some data');
    const append = (to: number) =>
      message({
        msgType: MessageType.MsgAppend,
        from: 1,
        to,
        term: 1,
        index: li,
        logTerm: 1,
        entries: [ent],
        commit: li,
      });
    expect(sortMessages(r.readMessages())).toEqual([append(2), append(3)]);
    // The new entry is not yet in stable storage: the runtime must persist it.
    expect(r.raftLog.unstableEntries()).toEqual([ent]);
  });

  // §5.3: once the entry is safely replicated the leader commits it, hands it out to be applied,
  // and tells the followers the new commit index in its next AppendEntries.
  test('TestLeaderCommitEntry2AB', () => {
    const r = leaderWithNoop([1, 2, 3]);
    const li = r.raftLog.lastIndex();
    r.step(propose(1, 'some data'));

    for (const m of r.readMessages()) {
      r.step(acceptAndReply(m));
    }

    expect(r.raftLog.committed).toBe(li + 1);
    expect(r.raftLog.nextEnts()).toEqual([entry(1, li + 1, 'some data')]);
    const msgs = sortMessages(r.readMessages());
    expect(msgs.map((m) => [m.to, m.msgType, m.commit])).toEqual([
      [2, MessageType.MsgAppend, li + 1],
      [3, MessageType.MsgAppend, li + 1],
    ]);
  });

  // §5.3: an entry is committed once the leader that created it has it on a majority of servers,
  // the leader itself included.
  test('TestLeaderAcknowledgeCommit2AB', () => {
    const rows: Array<{ size: number; acceptors: number[]; wack: boolean }> = [
      { size: 1, acceptors: [], wack: true },
      { size: 3, acceptors: [], wack: false },
      { size: 3, acceptors: [2], wack: true },
      { size: 3, acceptors: [2, 3], wack: true },
      { size: 5, acceptors: [], wack: false },
      { size: 5, acceptors: [2], wack: false },
      { size: 5, acceptors: [2, 3], wack: true },
      { size: 5, acceptors: [2, 3, 4], wack: true },
      { size: 5, acceptors: [2, 3, 4, 5], wack: true },
    ];
    for (const [i, row] of rows.entries()) {
      const r = leaderWithNoop(idsBySize(row.size));
      const li = r.raftLog.lastIndex();
      r.step(propose(1, 'some data'));

      for (const m of r.readMessages()) {
        if (row.acceptors.includes(m.to)) {
          r.step(acceptAndReply(m));
        }
      }

      expect(r.raftLog.committed > li, `row ${i}: ${JSON.stringify(row)}`).toBe(row.wack);
    }
  });

  // §5.3: committing an entry commits every entry before it, including those of earlier leaders,
  // and they are applied in log order.
  test('TestLeaderCommitPrecedingEntries2AB', () => {
    const rows: Entry[][] = [[], ents(2), ents(1, 2), ents(1)];
    for (const [i, prior] of rows.entries()) {
      const s = new MemoryStorage();
      s.append(prior);
      const r = newTestRaft(1, [1, 2, 3], 10, 1, s);
      r.term = 2;
      r.becomeCandidate();
      r.becomeLeader();
      r.step(propose(1, 'some data'));

      for (const m of r.readMessages()) {
        r.step(acceptAndReply(m));
      }

      const li = prior.length;
      expect(r.raftLog.nextEnts(), `row ${i}`).toEqual([
        ...prior,
        entry(3, li + 1),
        entry(3, li + 2, 'some data'),
      ]);
    }
  });
});

describe('2AB paper: the follower replicates (§5.3)', () => {
  // §5.3: once a follower learns that an entry is committed, it applies it (in log order).
  test('TestFollowerCommitEntry2AB', () => {
    const rows: Array<{ entries: Entry[]; commit: number }> = [
      { entries: [entry(1, 1, 'some data')], commit: 1 },
      { entries: [entry(1, 1, 'some data'), entry(1, 2, 'some data2')], commit: 2 },
      { entries: [entry(1, 1, 'some data2'), entry(1, 2, 'some data')], commit: 2 },
      { entries: [entry(1, 1, 'some data'), entry(1, 2, 'some data2')], commit: 1 },
    ];
    for (const [i, row] of rows.entries()) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
      r.becomeFollower(1, 2);

      r.step(
        message({
          msgType: MessageType.MsgAppend,
          from: 2,
          to: 1,
          term: 1,
          entries: row.entries,
          commit: row.commit,
        }),
      );

      expect(r.raftLog.committed, `row ${i}`).toBe(row.commit);
      expect(r.raftLog.nextEnts(), `row ${i}`).toEqual(row.entries.slice(0, row.commit));
    }
  });

  // §5.3: a follower that has no entry with the index and term that precede the new entries
  // refuses them; otherwise it accepts.
  test('TestFollowerCheckMessageType_MsgAppend2AB', () => {
    const rows: Array<{ logTerm: number; index: number; reject: boolean }> = [
      // match with committed entries
      { logTerm: 0, index: 0, reject: false },
      { logTerm: 1, index: 1, reject: false },
      // match with an uncommitted entry
      { logTerm: 2, index: 2, reject: false },
      // an entry exists at the index, with another term
      { logTerm: 1, index: 2, reject: true },
      // no entry at the index
      { logTerm: 3, index: 3, reject: true },
    ];
    for (const [i, row] of rows.entries()) {
      const s = new MemoryStorage();
      s.append(ents(1, 2));
      const r = newTestRaft(1, [1, 2, 3], 10, 1, s);
      r.raftLog.committed = 1;
      r.becomeFollower(2, 2);
      r.readMessages();

      r.step(
        message({
          msgType: MessageType.MsgAppend,
          from: 2,
          to: 1,
          term: 2,
          logTerm: row.logTerm,
          index: row.index,
        }),
      );

      const msgs = r.readMessages();
      expect(msgs, `row ${i}`).toHaveLength(1);
      expect(msgs[0]?.msgType, `row ${i}`).toBe(MessageType.MsgAppendResponse);
      expect(msgs[0]?.term, `row ${i}`).toBe(2);
      expect(msgs[0]?.reject, `row ${i}`).toBe(row.reject);
    }
  });

  // §5.3: on a valid AppendEntries the follower deletes a conflicting entry and everything after
  // it, appends the entries it does not have, and the new entries still have to be persisted.
  test('TestFollowerAppendEntries2AB', () => {
    const rows: Array<{
      index: number;
      logTerm: number;
      entries: Entry[];
      wentries: Entry[];
      wunstable: Entry[];
    }> = [
      {
        index: 2,
        logTerm: 2,
        entries: [entry(3, 3)],
        wentries: [entry(1, 1), entry(2, 2), entry(3, 3)],
        wunstable: [entry(3, 3)],
      },
      {
        index: 1,
        logTerm: 1,
        entries: [entry(3, 2), entry(4, 3)],
        wentries: [entry(1, 1), entry(3, 2), entry(4, 3)],
        wunstable: [entry(3, 2), entry(4, 3)],
      },
      {
        index: 0,
        logTerm: 0,
        entries: [entry(1, 1)],
        wentries: [entry(1, 1), entry(2, 2)],
        wunstable: [],
      },
      {
        index: 0,
        logTerm: 0,
        entries: [entry(3, 1)],
        wentries: [entry(3, 1)],
        wunstable: [entry(3, 1)],
      },
    ];
    for (const [i, row] of rows.entries()) {
      const s = new MemoryStorage();
      s.append(ents(1, 2));
      const r = newTestRaft(1, [1, 2, 3], 10, 1, s);
      r.becomeFollower(2, 2);

      r.step(
        message({
          msgType: MessageType.MsgAppend,
          from: 2,
          to: 1,
          term: 2,
          logTerm: row.logTerm,
          index: row.index,
          entries: row.entries,
        }),
      );

      expect(r.raftLog.entries, `row ${i}`).toEqual(row.wentries);
      expect(r.raftLog.unstableEntries(), `row ${i}`).toEqual(row.wunstable);
    }
  });

  // §5.3, figure 7: whatever a follower's log holds (missing entries, extra uncommitted entries,
  // entries of terms the leader never saw), the leader brings it into exact agreement with its own.
  test('TestLeaderSyncFollowerLog2AB', () => {
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const term = 8;
    const followers: number[][] = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one entry
      [1, 1, 1, 4], // (b) missing many
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted entry
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      [1, 1, 1, 4, 4, 4, 4], // (e) missing entries, extra entries of term 4
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) entries of terms 2 and 3 the leader never had
    ];
    for (const [i, followerTerms] of followers.entries()) {
      const leadStorage = new MemoryStorage();
      leadStorage.append(ents(...leaderTerms));
      const lead = newTestRaft(1, [1, 2, 3], 10, 1, leadStorage);
      lead.term = term;
      lead.raftLog.committed = lead.raftLog.lastIndex();
      const followerStorage = new MemoryStorage();
      followerStorage.append(ents(...followerTerms));
      const follower = newTestRaft(2, [1, 2, 3], 10, 1, followerStorage);
      follower.term = term - 1;
      // Three members: a follower whose log is more up to date refuses its vote, so the leader
      // needs the vote of the third member, played here by hand.
      const nt = new Network([lead, follower, blackHole]);

      nt.send(hup(1));
      nt.send(
        message({ msgType: MessageType.MsgRequestVoteResponse, from: 3, to: 1, term: term + 1 }),
      );
      nt.send(propose(1));

      expect(lead.state, `row ${i}`).toBe(StateType.Leader);
      expect(lead.raftLog.committed, `row ${i}`).toBe(lead.raftLog.lastIndex());
      expect(viewOf(follower.raftLog), `row ${i}: follower ${followerTerms.join(',')}`).toEqual(
        viewOf(lead.raftLog),
      );
    }
  });
});

describe('2AB paper: safety (§5.4)', () => {
  // §5.4.1: a vote request carries the index and term of the candidate's last entry, and goes to
  // every other server.
  test('TestVoteRequest2AB', () => {
    const rows: Array<{ entries: Entry[]; wterm: number }> = [
      { entries: ents(1), wterm: 2 },
      { entries: ents(1, 2), wterm: 3 },
    ];
    for (const [i, row] of rows.entries()) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
      r.step(
        message({
          msgType: MessageType.MsgAppend,
          from: 2,
          to: 1,
          term: row.wterm - 1,
          logTerm: 0,
          index: 0,
          entries: row.entries,
        }),
      );
      r.readMessages();

      // The election timeout is below 2 × electionTick, so this bound only stops a broken node.
      for (let t = 0; t < 100 && r.state !== StateType.Candidate; t++) {
        r.tick();
      }
      expect(r.state, `row ${i}`).toBe(StateType.Candidate);

      const last = row.entries[row.entries.length - 1] as Entry;
      const msgs = sortMessages(r.readMessages());
      expect(
        msgs.map((m) => [m.msgType, m.to, m.term, m.index, m.logTerm]),
        `row ${i}`,
      ).toEqual([
        [MessageType.MsgRequestVote, 2, row.wterm, last.index, last.term],
        [MessageType.MsgRequestVote, 3, row.wterm, last.index, last.term],
      ]);
    }
  });

  // §5.4.2: a leader commits entries of earlier terms only by committing an entry of its own
  // term; replicas counted on a majority are not enough for an old-term entry.
  test('TestLeaderOnlyCommitsLogFromCurrentTerm2AB', () => {
    const rows: Array<{ index: number; wcommit: number }> = [
      // entries of earlier terms are not committed by counting
      { index: 1, wcommit: 0 },
      { index: 2, wcommit: 0 },
      // an entry of the current term is
      { index: 3, wcommit: 3 },
    ];
    for (const [i, row] of rows.entries()) {
      const s = new MemoryStorage();
      s.append(ents(1, 2));
      const r = newTestRaft(1, [1, 2], 10, 1, s);
      r.term = 2;
      r.becomeCandidate();
      r.becomeLeader();
      r.readMessages();
      r.step(propose(1));

      r.step(
        message({
          msgType: MessageType.MsgAppendResponse,
          from: 2,
          to: 1,
          term: r.term,
          index: row.index,
        }),
      );

      expect(r.raftLog.committed, `row ${i}: ack of index ${row.index}`).toBe(row.wcommit);
    }
  });
});
