/**
 * Pre-Vote (§9.6 of the Raft dissertation, `Config.preVote`): a node whose election timer fires
 * first asks whether it could win, in its old term, and campaigns only with a majority's yes.
 */
import { describe, expect, test } from 'vitest';
import {
  type Config,
  ConfigError,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  None,
  Raft,
  StateType,
} from '../src/index.js';
import { raftState } from './helpers.js';

/** Entries at indexes 1, 2, … with the given terms. */
const ents = (...terms: number[]): Entry[] =>
  terms.map((term, k) => ({ entryType: EntryType.Normal, term, index: k + 1 }));

/** Node 1 of `peers` with the given log, in `term` (its hard state), with Pre-Vote on. */
function raft(
  options: {
    peers?: number[];
    log?: number[];
    term?: number;
    vote?: number;
  } & Partial<Config> = {},
): Raft {
  const { peers = [1, 2, 3], log = [], term = 0, vote = None, ...config } = options;
  const storage = new MemoryStorage();
  storage.append(ents(...log));
  if (term > 0) {
    storage.setHardState({ term, vote, commit: 0 });
  }
  return new Raft({
    id: 1,
    peers,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    random: () => 0,
    preVote: true,
    ...config,
  });
}

const hup = message({ msgType: MessageType.MsgHup, from: 1, to: 1 });

const preVote = (from: number, term: number, index: number, logTerm: number): Message =>
  message({ msgType: MessageType.MsgPreVote, from, to: 1, term, index, logTerm });

const preVoteResponse = (from: number, term: number, granted: boolean): Message =>
  message({ msgType: MessageType.MsgPreVoteResponse, from, to: 1, term, reject: !granted });

const heartbeat = (from: number, term: number): Message =>
  message({ msgType: MessageType.MsgHeartbeat, from, to: 1, term });

const stateOf = raftState;

describe('Config.preVote', () => {
  test('must be a boolean: anything else is a ConfigError that says so', () => {
    expect(() => raft({ preVote: 'yes' as never })).toThrow(
      new ConfigError('preVote must be a boolean, got string'),
    );
  });

  test('is off by default: an election timeout starts a real campaign at once', () => {
    const r = raft({ preVote: undefined as never, term: 2, log: [1, 2] });
    r.step(hup);
    expect(r.state).toBe(StateType.Candidate);
    expect(r.term).toBe(3);
    expect(r.readMessages().map((m) => m.msgType)).toEqual([
      MessageType.MsgRequestVote,
      MessageType.MsgRequestVote,
    ]);
  });
});

describe('pre-campaign (§9.6)', () => {
  test('an election timeout makes a pre-candidate that keeps its term and vote and asks about term + 1', () => {
    const r = raft({ term: 2, vote: 3, log: [1, 2] });
    for (let t = 0; t < 10; t++) {
      r.tick();
    }
    expect(r.state).toBe(StateType.PreCandidate);
    expect([r.term, r.vote, r.lead]).toEqual([2, 3, None]);
    expect(r.readMessages()).toEqual([
      message({ msgType: MessageType.MsgPreVote, from: 1, to: 2, term: 3, index: 2, logTerm: 2 }),
      message({ msgType: MessageType.MsgPreVote, from: 1, to: 3, term: 3, index: 2, logTerm: 2 }),
    ]);
  });

  test('a majority of pre-votes starts the real campaign, in term + 1', () => {
    const r = raft({ term: 2, log: [1, 2] });
    r.step(hup);
    r.readMessages();
    r.step(preVoteResponse(2, 3, true));
    expect(r.state).toBe(StateType.Candidate);
    expect([r.term, r.vote]).toEqual([3, 1]);
    expect(r.readMessages()).toEqual([
      message({
        msgType: MessageType.MsgRequestVote,
        from: 1,
        to: 2,
        term: 3,
        index: 2,
        logTerm: 2,
      }),
      message({
        msgType: MessageType.MsgRequestVote,
        from: 1,
        to: 3,
        term: 3,
        index: 2,
        logTerm: 2,
      }),
    ]);
  });

  test('a single-node cluster needs no one: it pre-campaigns, campaigns and leads in one step', () => {
    const r = raft({ peers: [1] });
    r.step(hup);
    expect(r.state).toBe(StateType.Leader);
    expect(r.term).toBe(1);
  });

  test('a majority of rejections sends the pre-candidate back to follower, in its own term', () => {
    const r = raft({ term: 2, vote: 2, log: [1, 2] });
    r.step(hup);
    r.step(preVoteResponse(2, 2, false));
    expect(r.state).toBe(StateType.PreCandidate);
    r.step(preVoteResponse(3, 2, false));
    expect(r.state).toBe(StateType.Follower);
    expect([r.term, r.vote, r.lead]).toEqual([2, 2, None]);
  });

  // Four members need three pre-votes, and three rejections to give up.
  test('split pre-votes: two yes and two no of four, the pre-candidate waits and asks again at its next timeout, in the same term', () => {
    const r = raft({ peers: [1, 2, 3, 4], term: 2, log: [1, 2] });
    r.step(hup);
    r.step(preVoteResponse(2, 3, true));
    r.step(preVoteResponse(3, 2, false));
    r.step(preVoteResponse(4, 2, false));
    expect(r.state).toBe(StateType.PreCandidate);
    expect(r.term).toBe(2);
    r.readMessages();
    for (let t = 0; t < 10; t++) {
      r.tick();
    }
    expect(r.state).toBe(StateType.PreCandidate);
    expect(r.term).toBe(2);
    expect([...r.votes]).toEqual([[1, true]]);
    expect(r.readMessages().map((m) => [m.msgType, m.to, m.term])).toEqual([
      [MessageType.MsgPreVote, 2, 3],
      [MessageType.MsgPreVote, 3, 3],
      [MessageType.MsgPreVote, 4, 3],
    ]);
  });

  test('a rejection from a higher term makes the pre-candidate a follower of that term', () => {
    const r = raft({ term: 2, log: [1, 2] });
    r.step(hup);
    r.step(preVoteResponse(2, 5, false));
    expect(r.state).toBe(StateType.Follower);
    expect([r.term, r.vote, r.lead]).toEqual([5, None, None]);
  });

  test('only a grant of the term asked about counts: a late grant from an earlier pre-campaign does not', () => {
    const r = raft({ peers: [1, 2, 3, 4, 5], term: 2, log: [1, 2] });
    r.step(hup);
    // Asking about term 3; a grant of term 2 answered a pre-campaign from term 1.
    r.step(preVoteResponse(2, 2, true));
    r.step(preVoteResponse(3, 2, true));
    expect(r.state).toBe(StateType.PreCandidate);
    expect([...r.votes]).toEqual([[1, true]]);
  });

  test('a pre-candidate counts only pre-votes, and a candidate only votes', () => {
    const pre = raft({ term: 2, log: [1, 2] });
    pre.step(hup);
    pre.step(message({ msgType: MessageType.MsgRequestVoteResponse, from: 2, to: 1, term: 2 }));
    expect(pre.state).toBe(StateType.PreCandidate);

    const candidate = raft({ term: 2, log: [1, 2] });
    candidate.step(message({ msgType: MessageType.MsgTimeoutNow, from: 2, to: 1, term: 2 }));
    expect(candidate.state).toBe(StateType.Candidate);
    candidate.step(preVoteResponse(2, 3, true));
    expect(candidate.state).toBe(StateType.Candidate);
    expect([...candidate.votes]).toEqual([[1, true]]);
  });

  test('a candidate whose election times out goes back to pre-voting, in its term', () => {
    const r = raft({ term: 2, log: [1, 2] });
    r.step(hup);
    r.step(preVoteResponse(2, 3, true));
    expect([r.state, r.term]).toEqual([StateType.Candidate, 3]);
    r.readMessages();
    r.step(hup);
    expect([r.state, r.term, r.vote]).toEqual([StateType.PreCandidate, 3, 1]);
    expect(r.readMessages().map((m) => [m.msgType, m.term])).toEqual([
      [MessageType.MsgPreVote, 4],
      [MessageType.MsgPreVote, 4],
    ]);
  });

  test('a pre-candidate that hears the leader of its term follows it', () => {
    const r = raft({ term: 2, log: [1, 2] });
    r.step(hup);
    r.step(heartbeat(3, 2));
    expect([r.state, r.term, r.lead]).toEqual([StateType.Follower, 2, 3]);
  });
});

describe('granting a pre-vote (§9.6, §5.4.1)', () => {
  // Node 1 is a follower in term 2 with log [1, 2] and no leader, unless the row says otherwise.
  const rows: Array<{
    name: string;
    setup?: Partial<{ term: number; vote: number; log: number[]; checkQuorum: boolean }>;
    /** Runs on the node before the pre-vote arrives. */
    before?: (r: Raft) => void;
    m: Message;
    granted: boolean;
  }> = [
    { name: 'a log with a higher last term', m: preVote(2, 3, 1, 3), granted: true },
    { name: 'the same last term and a longer log', m: preVote(2, 3, 3, 2), granted: true },
    { name: 'the same last entry', m: preVote(2, 3, 2, 2), granted: true },
    { name: 'the same last term and a shorter log', m: preVote(2, 3, 1, 2), granted: false },
    { name: 'a lower last term, however long', m: preVote(2, 3, 9, 1), granted: false },
    {
      name: 'a term ahead, though we voted for someone else in ours',
      setup: { vote: 3 },
      m: preVote(2, 3, 2, 2),
      granted: true,
    },
    {
      name: 'a term ahead, though we follow a leader (no check quorum, so no lease)',
      before: (r) => r.step(heartbeat(3, 2)),
      m: preVote(2, 3, 2, 2),
      granted: true,
    },
    {
      name: 'a term ahead while we heard our leader within the election timeout (check quorum: its lease)',
      setup: { checkQuorum: true },
      before: (r) => r.step(heartbeat(3, 2)),
      m: preVote(2, 3, 2, 2),
      granted: false,
    },
    {
      name: 'a term ahead once an election timeout passed without the leader (check quorum)',
      setup: { checkQuorum: true },
      before: (r) => {
        r.step(heartbeat(3, 2));
        // Ticks short of our own (randomized) timeout, so that we do not pre-campaign ourselves.
        r.randomizedElectionTimeout = 15;
        for (let t = 0; t < 10; t++) {
          r.tick();
        }
      },
      m: preVote(2, 3, 2, 2),
      granted: true,
    },
    {
      name: 'our own term, with our vote free and no leader',
      m: preVote(2, 2, 2, 2),
      granted: true,
    },
    {
      name: 'our own term, where we voted for the asker',
      setup: { vote: 2 },
      m: preVote(2, 2, 2, 2),
      granted: true,
    },
    {
      name: 'our own term, where we voted for someone else',
      setup: { vote: 3 },
      m: preVote(2, 2, 2, 2),
      granted: false,
    },
    {
      name: 'our own term, where we follow a leader',
      before: (r) => r.step(heartbeat(3, 2)),
      m: preVote(2, 2, 2, 2),
      granted: false,
    },
    { name: 'an older term', m: preVote(2, 1, 5, 2), granted: false },
  ];

  test.each(rows)('$name: granted $granted', ({ setup, before, m, granted }) => {
    const r = raft({ term: 2, log: [1, 2], ...setup });
    before?.(r);
    r.readMessages();
    const stateBefore = stateOf(r);

    r.step(m);

    expect(r.readMessages()).toEqual([
      // A grant carries the term asked about, so that the pre-candidate counts it; a rejection
      // carries ours, so that a pre-candidate behind in term learns it.
      message({
        msgType: MessageType.MsgPreVoteResponse,
        from: 1,
        to: 2,
        term: granted ? m.term : 2,
        reject: !granted,
      }),
    ]);
    // Granted or not, a pre-vote binds nothing and moves nothing: not the term, not the vote,
    // not the timer.
    expect(stateOf(r)).toEqual(stateBefore);
  });

  test('a leader with check quorum refuses every pre-vote: it is the lease', () => {
    const r = raft({ term: 2, log: [1, 2], checkQuorum: true });
    r.becomeCandidate();
    r.becomeLeader();
    r.readMessages();
    r.step(preVote(2, 4, 9, 9));
    expect(r.state).toBe(StateType.Leader);
    expect(r.term).toBe(3);
    expect(r.readMessages()).toEqual([
      message({ msgType: MessageType.MsgPreVoteResponse, from: 1, to: 2, term: 3, reject: true }),
    ]);
  });

  test('a pre-candidate pre-votes for others too: pre-votes are not exclusive', () => {
    const r = raft({ peers: [1, 2, 3, 4, 5], term: 2, log: [1, 2] });
    r.step(hup);
    r.readMessages();
    r.step(preVote(2, 3, 2, 2));
    r.step(preVote(3, 3, 2, 2));
    expect(r.readMessages().map((m) => [m.to, m.term, m.reject])).toEqual([
      [2, 3, false],
      [3, 3, false],
    ]);
    expect([r.state, r.term]).toEqual([StateType.PreCandidate, 2]);
  });
});

describe('stale messages with Pre-Vote', () => {
  test('a stale heartbeat or append is answered with our term, so that a stale leader steps down', () => {
    for (const msgType of [MessageType.MsgHeartbeat, MessageType.MsgAppend]) {
      const r = raft({ term: 5, log: [1, 2] });
      r.step(message({ msgType, from: 2, to: 1, term: 3 }));
      expect(r.readMessages()).toEqual([
        message({ msgType: MessageType.MsgAppendResponse, from: 1, to: 2, term: 5 }),
      ]);
      expect([r.term, r.state, r.lead]).toEqual([5, StateType.Follower, None]);
    }
  });

  test('without Pre-Vote a stale heartbeat is ignored, as before', () => {
    const r = raft({ term: 5, preVote: false });
    r.step(heartbeat(2, 3));
    expect(r.readMessages()).toEqual([]);
  });
});
