import { type Config, MemoryStorage, type Raft } from '../src/index.js';

/** Node 1 of a new 3-node cluster (election tick 10, heartbeat tick 1), changed by `overrides`. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    id: 1,
    peers: [1, 2, 3],
    electionTick: 10,
    heartbeatTick: 1,
    storage: new MemoryStorage(),
    ...overrides,
  };
}

/**
 * Everything a step could change in `r` apart from its outbox, as plain data: compare it before
 * and after a message that must change nothing.
 */
export function raftState(r: Raft): unknown {
  return {
    term: r.term,
    vote: r.vote,
    state: r.state,
    lead: r.lead,
    leadTransferee: r.leadTransferee,
    committed: r.raftLog.committed,
    entries: structuredClone(r.raftLog.entries),
    prs: structuredClone([...r.prs]),
    votes: [...r.votes],
    electionElapsed: r.electionElapsed,
    randomizedElectionTimeout: r.randomizedElectionTimeout,
  };
}
