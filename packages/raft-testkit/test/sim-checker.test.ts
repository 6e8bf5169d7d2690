/**
 * The simulator's own tests: the safety checker must fail on every kind of violation it claims to
 * catch (fed hand-built node states), the whole simulator must catch deliberately broken runtimes
 * and networks and shrink their failures, and a run must be a pure function of its seed.
 */
import {
  type Entry,
  type HardState,
  type Message,
  MessageType,
  message,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { seededRandom } from '../src/random.js';
import {
  checkLogsAgree,
  editPlan,
  type InvariantName,
  InvariantViolation,
  type NodeView,
  planSimulation,
  replayArgs,
  runSimulation,
  SafetyChecker,
  shrinkFailure,
} from '../src/sim/index.js';
import { EventQueue } from '../src/sim/scheduler.js';

const encoder = new TextEncoder();

/** Log entries from specs like `p1@2` (payload p1, term 2) or `@1` (a no-op of term 1), from index 1. */
function entries(...specs: string[]): Entry[] {
  return specs.map((spec, k) => {
    const [payload, term] = spec.split('@') as [string, string];
    const e: Entry = { entryType: 0, term: Number(term), index: k + 1 };
    if (payload !== '') {
      e.data = encoder.encode(payload);
    }
    return e;
  });
}

interface ViewFields {
  term: number;
  vote?: number;
  state?: StateType;
  log?: Entry[];
  committed?: number;
  applied?: number;
}

/** A hand-built node state for the checker. */
function view(id: number, f: ViewFields): NodeView {
  const log = f.log ?? [];
  return {
    id,
    term: f.term,
    vote: f.vote ?? 0,
    state: f.state ?? StateType.Follower,
    raftLog: {
      committed: f.committed ?? 0,
      applied: f.applied ?? 0,
      entries: log,
      firstIndex: () => 1,
      lastIndex: () => log.length,
      term: (i: number) => (i === 0 ? 0 : (log[i - 1] as Entry).term),
    },
  };
}

/** A checker for nodes 1–3 that knows the payloads p1…p5. */
function newChecker(): SafetyChecker {
  const checker = new SafetyChecker([1, 2, 3]);
  for (let k = 1; k <= 5; k++) {
    checker.noteProposal(encoder.encode(`p${k}`));
  }
  return checker;
}

/** Runs `fn` and returns the invariant it reported as broken. */
function brokenBy(fn: () => void): InvariantName | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvariantViolation) {
      return error.invariant;
    }
    throw error;
  }
  return undefined;
}

const hs = (term: number, vote: number, commit = 0): HardState => ({ term, vote, commit });
const voteGrant = (from: number, to: number, term: number): Message =>
  message({ msgType: MessageType.MsgRequestVoteResponse, from, to, term });

describe('SafetyChecker fails on each violation it claims to catch', () => {
  test('two leaders in one term break election safety (§5.2)', () => {
    const c = newChecker();
    c.checkNode(view(1, { term: 2, state: StateType.Leader }));
    expect(brokenBy(() => c.checkNode(view(2, { term: 2, state: StateType.Leader })))).toBe(
      'election-safety',
    );
  });

  test('one leader per term, seen again and again, breaks nothing', () => {
    const c = newChecker();
    c.checkNode(view(1, { term: 2, state: StateType.Leader }));
    c.checkNode(view(1, { term: 2, state: StateType.Leader }));
    c.checkNode(view(2, { term: 3, state: StateType.Leader }));
    expect(c.checks).toBe(3);
  });

  test('a voter whose granted votes name two candidates in one term breaks vote safety', () => {
    const c = newChecker();
    c.observeSend(voteGrant(1, 2, 3), hs(3, 2), 0);
    expect(brokenBy(() => c.observeSend(voteGrant(1, 3, 3), hs(3, 3), 0))).toBe('vote-safety');
  });

  test('a vote persisted over another vote of the same term breaks vote safety', () => {
    const c = newChecker();
    c.observePersisted(1, hs(2, 2));
    expect(brokenBy(() => c.observePersisted(1, hs(2, 3)))).toBe('vote-safety');
  });

  test('a node holding a vote other than the one it granted breaks vote safety', () => {
    const c = newChecker();
    c.observeSend(voteGrant(1, 2, 4), hs(4, 2), 0);
    expect(brokenBy(() => c.checkNode(view(1, { term: 4, vote: 3 })))).toBe('vote-safety');
  });

  test('a vote, a term or an acknowledgement sent before it is on disk breaks durability', () => {
    expect(brokenBy(() => newChecker().observeSend(voteGrant(1, 2, 2), hs(2, 0), 0))).toBe(
      'durability',
    );
    const heartbeat = message({ msgType: MessageType.MsgHeartbeat, from: 1, to: 2, term: 5 });
    expect(brokenBy(() => newChecker().observeSend(heartbeat, hs(4, 1), 0))).toBe('durability');
    const ack = message({
      msgType: MessageType.MsgAppendResponse,
      from: 2,
      to: 1,
      term: 1,
      index: 7,
    });
    expect(brokenBy(() => newChecker().observeSend(ack, hs(1, 1), 6))).toBe('durability');
    expect(brokenBy(() => newChecker().observeSend(ack, hs(1, 1), 7))).toBeUndefined();
  });

  test('a vote for an earlier term is durable once a later term is on disk', () => {
    expect(
      brokenBy(() => newChecker().observeSend(voteGrant(1, 2, 3), hs(4, 3), 0)),
    ).toBeUndefined();
  });

  test('two logs with different entries at the same index and term break log matching (§5.3)', () => {
    const c = newChecker();
    c.checkNode(view(1, { term: 1, log: entries('p1@1') }));
    expect(brokenBy(() => c.checkNode(view(2, { term: 1, log: entries('p2@1') })))).toBe(
      'log-matching',
    );
  });

  test('two logs sharing an entry but not what precedes it break log matching', () => {
    const c = newChecker();
    c.checkNode(view(1, { term: 2, log: entries('@1', 'p1@2') }));
    expect(brokenBy(() => c.checkNode(view(2, { term: 2, log: entries('@2', 'p1@2') })))).toBe(
      'log-matching',
    );
  });

  test('a log whose terms go down breaks log matching', () => {
    expect(
      brokenBy(() => newChecker().checkNode(view(1, { term: 2, log: entries('@2', '@1') }))),
    ).toBe('log-matching');
  });

  test('checkLogsAgree compares whole logs: divergence before a shared entry fails, a different suffix does not', () => {
    const diverged = [
      view(1, { term: 2, log: entries('p1@1', 'p3@2') }),
      view(2, { term: 2, log: entries('p2@1', 'p3@2') }),
    ];
    expect(brokenBy(() => checkLogsAgree(diverged))).toBe('log-matching');
    const forked = [
      view(1, { term: 3, log: entries('p1@1', 'p2@2') }),
      view(2, { term: 3, log: entries('p1@1', 'p3@3') }),
    ];
    expect(brokenBy(() => checkLogsAgree(forked))).toBeUndefined();
  });

  test('a leader without an entry committed in an earlier term breaks leader completeness (§5.4)', () => {
    const c = newChecker();
    c.checkNode(
      view(1, { term: 1, state: StateType.Leader, log: entries('@1', 'p1@1'), committed: 2 }),
    );
    expect(
      brokenBy(() =>
        c.checkNode(view(2, { term: 2, state: StateType.Leader, log: entries('@1', '@2') })),
      ),
    ).toBe('leader-completeness');
  });

  test('a leader that rewrites or truncates its own log breaks leader append-only', () => {
    const c = newChecker();
    const leader = { term: 1, state: StateType.Leader } as const;
    c.checkNode(view(1, { ...leader, log: entries('@1', 'p1@1') }));
    expect(brokenBy(() => c.checkNode(view(1, { ...leader, log: entries('@1', 'p2@1') })))).toBe(
      'leader-append-only',
    );
    const d = newChecker();
    d.checkNode(view(1, { ...leader, log: entries('@1', 'p1@1') }));
    expect(brokenBy(() => d.checkNode(view(1, { ...leader, log: entries('@1') })))).toBe(
      'leader-append-only',
    );
  });

  test('a committed entry replaced on another node breaks state machine safety', () => {
    const c = newChecker();
    c.checkNode(view(1, { term: 2, log: entries('p1@1', 'p2@2'), committed: 2 }));
    expect(
      brokenBy(() => c.checkNode(view(2, { term: 3, log: entries('p1@1', 'p3@3'), committed: 2 }))),
    ).toBe('state-machine-safety');
  });

  test('nodes applying different entries at one index, out of order, twice or uncommitted break state machine safety (§5.4.3)', () => {
    const c = newChecker();
    const log = entries('p1@1', 'p2@1');
    c.checkNode(view(1, { term: 1, log, committed: 2 }));
    c.observeApply(1, log[0] as Entry);
    expect(brokenBy(() => c.observeApply(2, entries('p3@1')[0] as Entry))).toBe(
      'state-machine-safety',
    );
    expect(brokenBy(() => c.observeApply(3, log[1] as Entry))).toBe('state-machine-safety');
    expect(brokenBy(() => c.observeApply(1, log[0] as Entry))).toBe('state-machine-safety');
    const d = newChecker();
    expect(brokenBy(() => d.observeApply(1, log[0] as Entry))).toBe('state-machine-safety');
  });

  test('a commit index or a term going down breaks monotonicity, in memory and on disk', () => {
    const c = newChecker();
    c.checkNode(view(1, { term: 3, log: entries('@1', '@1'), committed: 2 }));
    expect(
      brokenBy(() => c.checkNode(view(1, { term: 3, log: entries('@1', '@1'), committed: 1 }))),
    ).toBe('commit-monotonic');
    const d = newChecker();
    d.checkNode(view(1, { term: 3 }));
    expect(brokenBy(() => d.checkNode(view(1, { term: 2 })))).toBe('term-monotonic');
    const e = newChecker();
    e.observePersisted(1, hs(3, 1, 2));
    expect(brokenBy(() => e.observePersisted(1, hs(2, 1, 2)))).toBe('term-monotonic');
    expect(brokenBy(() => e.observePersisted(1, hs(3, 1, 1)))).toBe('commit-monotonic');
  });

  test('a node restarting from anything but its persisted hard state breaks durability', () => {
    const c = newChecker();
    c.observePersisted(1, hs(3, 2, 0));
    expect(brokenBy(() => c.observeRestart(view(1, { term: 3, vote: 0 })))).toBe('durability');
    expect(brokenBy(() => newChecker().observeRestart(view(1, { term: 0 })))).toBeUndefined();
  });

  test('an entry nobody proposed, or a proposal appended twice, breaks integrity', () => {
    expect(brokenBy(() => newChecker().checkNode(view(1, { term: 1, log: entries('x@1') })))).toBe(
      'integrity',
    );
    expect(
      brokenBy(() => newChecker().checkNode(view(1, { term: 2, log: entries('p1@1', 'p1@2') }))),
    ).toBe('integrity');
  });
});

describe('the simulator catches broken clusters and shrinks their failures', () => {
  test('a runtime that persists hard states without the vote is caught sending unpersisted votes', () => {
    for (const seed of [1, 2, 3]) {
      const result = runSimulation(planSimulation(seed), { bug: 'forget-vote' });
      expect(result.violation?.invariant, `seed ${seed}`).toBe('durability');
    }
  });

  test('a runtime that applies entries before they commit breaks state machine safety', () => {
    const result = runSimulation(planSimulation(4), { bug: 'apply-before-commit' });
    expect(result.violation?.invariant, 'seed 4').toBe('state-machine-safety');
  });

  test('a network that turns rejected votes into grants breaks election safety or leader completeness, and the failure shrinks', () => {
    const deep: InvariantName[] = ['election-safety', 'leader-completeness'];
    let seed = 1;
    let result = runSimulation(planSimulation(seed), { bug: 'grant-every-vote' });
    while (result.violation === undefined && seed < 20) {
      seed++;
      result = runSimulation(planSimulation(seed), { bug: 'grant-every-vote' });
    }
    const violation = result.violation;
    expect(violation, `seeds 1…${seed} all passed with forged votes`).toBeDefined();
    const invariant = violation?.invariant as InvariantName;
    expect(deep, `seed ${seed}: ${violation?.message}`).toContain(invariant);

    const shrunk = shrinkFailure(seed, invariant, {}, { bug: 'grant-every-vote' });
    const faults = planSimulation(seed).faults.length;
    expect(shrunk.edit.keep?.length ?? faults, `seed ${seed}`).toBeLessThanOrEqual(faults);
    expect(shrunk.result.violation?.invariant, `seed ${seed}: the shrunk plan still fails`).toBe(
      invariant,
    );
    expect(shrunk.result.trace.at(-1), `seed ${seed}: the trace ends at the violation`).toContain(
      'VIOLATION',
    );
    // The shrunk plan replays exactly from its command-line form.
    const replayed = runSimulation(editPlan(planSimulation(seed), shrunk.edit), {
      bug: 'grant-every-vote',
    });
    expect(replayed.violation?.message).toBe(shrunk.result.violation?.message);
    expect(replayArgs(seed, shrunk.edit)).toContain(`--seed ${seed}`);
  });
});

describe('simulation runs are reproducible', () => {
  test('a run is a function of its seed: same events, same checks, same trace', () => {
    const a = runSimulation(planSimulation(11), { trace: true });
    const b = runSimulation(planSimulation(11), { trace: true });
    expect(a.violation, 'seed 11').toBeUndefined();
    expect(b.stats).toEqual(a.stats);
    expect(b.trace).toEqual(a.trace);
  });

  test('editPlan keeps only the chosen faults and silences the chosen behaviours', () => {
    const plan = planSimulation(5);
    const edited = editPlan(plan, { keep: [0], quiet: ['loss', 'disk'] });
    expect(edited.faults).toEqual(plan.faults.slice(0, 1));
    expect(edited.network.loss).toBe(0);
    expect(edited.diskDelay).toBe(0);
    expect(edited.network.duplicate).toBe(plan.network.duplicate);
  });

  test('the event queue runs events by time, and events due together in the order scheduled', () => {
    const seed = 17;
    const random = seededRandom(seed);
    const q = new EventQueue<{ at: number; seq: number }>();
    let seq = 0;
    const popped: Array<{ at: number; seq: number }> = [];
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 40; k++) {
        const at = q.now + Math.floor(random() * 20);
        q.push(at, { at, seq: seq++ });
      }
      for (let k = 0; k < 30; k++) {
        popped.push(q.pop() as { at: number; seq: number });
      }
    }
    for (let e = q.pop(); e !== undefined; e = q.pop()) {
      popped.push(e);
    }
    expect(popped, `seed ${seed}`).toHaveLength(seq);
    for (let k = 1; k < popped.length; k++) {
      const a = popped[k - 1] as { at: number; seq: number };
      const b = popped[k] as { at: number; seq: number };
      expect(a.at < b.at || (a.at === b.at && a.seq < b.seq), `seed ${seed}: event ${k}`).toBe(
        true,
      );
    }
    expect(() => q.push(q.now - 1, { at: 0, seq: -1 })).toThrow(RangeError);
  });
});
