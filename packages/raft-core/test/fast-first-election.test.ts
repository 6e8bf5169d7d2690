import { describe, expect, test } from 'vitest';
import { type Config, MemoryStorage, MessageType, Raft, StateType } from '../src/index.js';
import { testConfig } from './helpers.js';

const raft = (overrides: Partial<Config>): Raft => new Raft(testConfig(overrides));

/** Ticks until the node sends its first MsgRequestVote; fails past `limit`. */
function ticksToCampaign(r: Raft, limit = 100): number {
  for (let t = 1; t <= limit; t++) {
    r.tick();
    if (r.readMessages().some((m) => m.msgType === MessageType.MsgRequestVote)) {
      return t;
    }
  }
  throw new Error(`no campaign within ${limit} ticks`);
}

/** A random source that always returns `u`, so the timeout is et + floor(u·et). */
const always = (u: number) => () => u;

describe('fastFirstElection', () => {
  test.each([
    // [electionTick, heartbeatTick, u, ticks without, ticks with]
    [10, 1, 0, 10, 2],
    [10, 1, 0.99, 19, 11],
    [10, 3, 0, 10, 4],
    [10, 9, 0.5, 15, 15],
    [2, 1, 0, 2, 2],
  ])('et %i, hb %i, draw %f: campaigns at tick %i, or %i when fast', (et, hb, u, slow, fast) => {
    const base = { electionTick: et, heartbeatTick: hb, random: always(u) };
    expect(ticksToCampaign(raft(base))).toBe(slow);
    expect(ticksToCampaign(raft({ ...base, fastFirstElection: true }))).toBe(fast);
  });

  test('always leaves a live leader heartbeatTick + 1 ticks to be heard', () => {
    for (let hb = 1; hb < 10; hb++) {
      for (let k = 0; k < 10; k++) {
        const r = raft({ heartbeatTick: hb, random: always(k / 10), fastFirstElection: true });
        expect(ticksToCampaign(r)).toBeGreaterThanOrEqual(hb + 1);
      }
    }
  });

  test('a node that hears a leader before its timer fires never campaigns', () => {
    const r = raft({ random: always(0), fastFirstElection: true });
    r.tick();
    r.step({
      msgType: MessageType.MsgHeartbeat,
      from: 2,
      to: 1,
      term: 1,
      logTerm: 0,
      index: 0,
      commit: 0,
      entries: [],
      reject: false,
    });
    expect(r.state).toBe(StateType.Follower);
    expect(r.lead).toBe(2);
    r.readMessages();
    // The heartbeat reset the timer: now the whole timeout is waited.
    expect(ticksToCampaign(r)).toBe(10);
  });

  test('only the first timer of a brand-new node is shortened', () => {
    const r = raft({ random: always(0), fastFirstElection: true });
    expect(ticksToCampaign(r)).toBe(2);
    r.becomeFollower(r.term + 1, 0);
    expect(ticksToCampaign(r)).toBe(10);
  });

  test.each([
    ['a term', (s: MemoryStorage) => s.setHardState({ term: 3, vote: 0, commit: 0 })],
    ['a log', (s: MemoryStorage) => s.append([{ entryType: 0, term: 1, index: 1 }])],
    [
      'a snapshot',
      (s: MemoryStorage) =>
        s.applySnapshot({ metadata: { index: 4, term: 1, confState: { nodes: [1, 2, 3] } } }),
    ],
  ])('a node that restarts with %s waits the whole timeout', (_what, prepare) => {
    const storage = new MemoryStorage();
    prepare(storage);
    const r = raft({ storage, random: always(0), fastFirstElection: true });
    expect(ticksToCampaign(r)).toBe(10);
  });
});
