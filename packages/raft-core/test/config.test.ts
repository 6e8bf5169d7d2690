import { describe, expect, test } from 'vitest';
import { ConfigError, MemoryStorage, Raft } from '../src/index.js';
import { testConfig } from './helpers.js';

const config = testConfig;

describe('Config validation', () => {
  // The contract fixes these messages and the order in which they are checked.
  test.each([
    ['id 0', { id: 0 }, 'cannot use none as id'],
    ['heartbeatTick 0', { heartbeatTick: 0 }, 'heartbeat tick must be greater than 0'],
    ['negative heartbeatTick', { heartbeatTick: -1 }, 'heartbeat tick must be greater than 0'],
    [
      'electionTick equal to heartbeatTick',
      { electionTick: 1 },
      'election tick must be greater than heartbeat tick',
    ],
    ['no storage', { storage: undefined as never }, 'storage cannot be nil'],
    ['id 0 before a bad heartbeat', { id: 0, heartbeatTick: 0 }, 'cannot use none as id'],
    [
      'heartbeat before election',
      { heartbeatTick: 0, electionTick: 0 },
      'heartbeat tick must be greater than 0',
    ],
    [
      'election before storage',
      { electionTick: 1, storage: undefined as never },
      'election tick must be greater than heartbeat tick',
    ],
  ])('%s', (_name, overrides, message) => {
    expect(() => new Raft(config(overrides))).toThrow(new ConfigError(message));
  });

  test.each([
    ['fractional id', { id: 1.5 }, /id must be a positive integer/],
    ['negative id', { id: -2 }, /id must be a positive integer/],
    ['fractional heartbeat', { heartbeatTick: 1.5 }, /heartbeat tick must be an integer/],
    ['fractional election', { electionTick: 10.5 }, /election tick must be an integer/],
    ['negative applied', { applied: -1 }, /applied must be a non-negative integer/],
    ['duplicate peer', { peers: [1, 2, 2] }, /peer 2 is listed twice/],
    ['peer 0', { peers: [1, 0] }, /peer ids must be positive integers/],
    ['self not a peer', { peers: [2, 3] }, /must include this node's id 1/],
    ['no members at all', { peers: [] }, /no members/],
    ['random not a function', { random: 3 as never }, /random must be a function/],
    ['checkQuorum not a boolean', { checkQuorum: 'yes' as never }, /checkQuorum must be a boolean/],
    [
      'fastFirstElection not a boolean',
      { fastFirstElection: 1 as never },
      /fastFirstElection must be a boolean, got number/,
    ],
    ['applied past commit', { applied: 5 }, /applied 5 is past the committed index 0/],
  ])('rejects %s with a ConfigError that says why', (_name, overrides, pattern) => {
    let thrown: unknown;
    try {
      new Raft(config(overrides));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(pattern);
  });

  test('a restarted node takes its members from the storage conf state', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({ metadata: { index: 5, term: 2, confState: { nodes: [1, 2, 3] } } });
    storage.setHardState({ term: 2, vote: 0, commit: 5 });
    const r = new Raft(config({ peers: undefined as never, storage }));
    expect([...r.prs.keys()]).toEqual([1, 2, 3]);
    expect(r.term).toBe(2);
    expect(r.raftLog.committed).toBe(5);
  });

  test('a hard state whose commit is past the log is refused', () => {
    const storage = new MemoryStorage();
    storage.setHardState({ term: 1, vote: 0, commit: 3 });
    expect(() => new Raft(config({ storage }))).toThrow(
      /hard state commit 3 is out of range \[0, 0\]/,
    );
  });
});
