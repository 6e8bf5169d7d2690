/**
 * Randomized leader elections on 3, 5 and 7 nodes. Every run is fully determined by its seed: the
 * scheduler and each node's `Config.random` are `seededRandom` streams derived from it.
 *
 * A run has two phases.
 * 1. Chaos: nodes tick at random, messages are delivered in random order (so they are delayed and
 *    reordered), lost at a per-run rate, sometimes duplicated, and partitions form and heal;
 *    leaders are given the odd proposal so that logs diverge.
 * 2. Healed: no more losses; in-flight messages are delivered, then every round ticks each node
 *    once, delivering everything each tick causes before the next tick.
 *
 * Checked after every single tick and step: never two leaders in one term (§5.2 Election Safety,
 * over every (term, leader) ever seen), a node's term never decreases (§5.1), and a node votes
 * for at most one candidate per term (§5.2). After healing: within `settleBound` rounds exactly
 * one leader, every node at its term and following it, and it stays so.
 *
 * Replay one seed, in packages/raft-testkit: ELECTION_SEED=<n> npx vitest run test/election-random.test.ts
 */
import {
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  messageTypeName,
  None,
  Raft,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { idsBySize, newTestConfig, seededRandom } from '../src/index.js';

const sizes = [3, 5, 7] as const;
/** Seeds 1…seedCount; seed s runs on `sizes[s % 3]` nodes, so each size gets a third of them. */
const seedCount = 1200;
const electionTick = 10;
const heartbeatTick = 1;
const chaosEvents = 3000;
/** Chance that a chaos event ticks a node; most events deliver one in-flight message instead. */
const tickShare = 0.2;
const proposeShare = 0.03;
const partitionShare = 0.02;
const maxDropRate = 0.3;
const duplicateRate = 0.02;

/**
 * How many healed rounds a run may take to settle on one leader. Once healed, every campaign is
 * decided before the next tick (delivery is synchronous and lossless), so there are no split
 * votes: the first campaign from a node at the highest term brings every node to one term, and
 * from then on each campaign is a fresh race (every node's timer was just reset and redrawn) that
 * a node holding a most up-to-date log wins whenever it times out first. A race lasts at most
 * 2·electionTick rounds, and even with a single such node among 7, last in tick order, it wins a
 * race with probability ≥ Σ_{k<10} (k/10)^6 / 10 ≈ 0.098. 150 races lose with probability below
 * 0.902^150 ≈ 2e-7, so the bound is 150 races plus one timeout to bring the terms together. A
 * seed either passes or fails every time; only a change in the core can move a seed over it.
 */
const settleBound = 151 * 2 * electionTick;
/** Rounds a settled leader must keep leading: with a heartbeat every round, no follower times out. */
const stableRounds = 2 * electionTick;
/** Events kept for the failure report. */
const traceLength = 40;

const sizeOf = (seed: number): number =>
  sizes[((seed % sizes.length) + sizes.length) % sizes.length] as number;

const stateName = (s: StateType): string => ['Follower', 'Candidate', 'Leader'][s] ?? String(s);

/** A broken Raft guarantee (as opposed to a bug in the test itself). */
class ElectionViolation extends Error {
  override name = 'ElectionViolation';
}

type TraceEvent =
  | { kind: 'tick'; id: number }
  | { kind: 'deliver'; m: Message }
  | { kind: 'propose'; id: number }
  | { kind: 'partition'; groups: number[] }
  | { kind: 'heal' };

function formatEvent(e: TraceEvent): string {
  switch (e.kind) {
    case 'tick':
      return `tick ${e.id}`;
    case 'deliver': {
      const m = e.m;
      return `deliver ${messageTypeName(m.msgType)} ${m.from}→${m.to} term ${m.term} index ${m.index} logTerm ${m.logTerm} entries ${m.entries.length} reject ${m.reject}`;
    }
    case 'propose':
      return `propose at ${e.id}`;
    case 'partition':
      return `partition into groups [${e.groups.join(', ')}] (by node id)`;
    case 'heal':
      return 'heal';
  }
}

class ElectionRun {
  readonly size: number;
  private readonly rng: () => number;
  readonly nodes: Map<number, Raft> = new Map();
  private inflight: Message[] = [];
  /** Partition group per node; all 0 when healed. */
  private groups: number[];
  private readonly dropRate: number;
  private lossy = true;
  private readonly leaderOfTerm = new Map<number, number>();
  private readonly termOf = new Map<number, number>();
  /** `${id}/${term}` → the candidate that node voted for in that term. */
  private readonly voteOf = new Map<string, number>();
  private readonly trace: TraceEvent[] = [];

  constructor(readonly seed: number) {
    this.size = sizeOf(seed);
    const ids = idsBySize(this.size);
    this.rng = seededRandom(seed * 16);
    for (const id of ids) {
      const config = newTestConfig(id, ids, electionTick, heartbeatTick, new MemoryStorage());
      this.nodes.set(id, new Raft({ ...config, random: seededRandom(seed * 16 + id) }));
    }
    this.groups = ids.map(() => 0);
    this.dropRate = this.rng() * maxDropRate;
  }

  /** Runs both phases; returns the healed rounds it took to settle. Throws on a violation. */
  run(): number {
    for (let e = 0; e < chaosEvents; e++) {
      this.chaosEvent();
    }
    this.heal();
    this.lossy = false;
    const pending = this.inflight;
    this.inflight = [];
    this.flush(pending);
    for (let round = 1; round <= settleBound; round++) {
      this.healedRound();
      const leader = this.settledLeader();
      if (leader !== undefined) {
        this.checkStable(leader);
        return round;
      }
    }
    throw new ElectionViolation(
      `no single leader that every node follows after ${settleBound} healed rounds`,
    );
  }

  /** The failure report: the run, the last events and every node's state. */
  describe(): string {
    const nodes = [...this.nodes.values()].map(
      (r) =>
        `  node ${r.id}: ${stateName(r.state)} term ${r.term} vote ${r.vote} lead ${r.lead} lastIndex ${r.raftLog.lastIndex()}`,
    );
    return [
      `seed ${this.seed} (${this.size} nodes, drop rate ${this.dropRate.toFixed(3)})`,
      `last ${this.trace.length} events:`,
      ...this.trace.map((e) => `  ${formatEvent(e)}`),
      'nodes:',
      ...nodes,
      `replay (in packages/raft-testkit): ELECTION_SEED=${this.seed} npx vitest run test/election-random.test.ts`,
    ].join('\n');
  }

  private pick(n: number): number {
    return Math.floor(this.rng() * n);
  }

  private node(id: number): Raft {
    return this.nodes.get(id) as Raft;
  }

  private record(e: TraceEvent): void {
    if (this.trace.length === traceLength) {
      this.trace.shift();
    }
    this.trace.push(e);
  }

  private chaosEvent(): void {
    const roll = this.rng();
    if (roll < tickShare || this.inflight.length === 0) {
      this.tick(1 + this.pick(this.size));
    } else if (roll < 1 - proposeShare - partitionShare) {
      const k = this.pick(this.inflight.length);
      const m = this.inflight[k] as Message;
      // Swap-remove: delivery order is random, so messages are delayed and reordered.
      this.inflight[k] = this.inflight[this.inflight.length - 1] as Message;
      this.inflight.pop();
      if (!this.partitioned(m)) {
        this.post(this.deliver(m));
      }
    } else if (roll < 1 - partitionShare) {
      const leaders = [...this.nodes.values()].filter((r) => r.state === StateType.Leader);
      const r = leaders[this.pick(leaders.length)];
      if (r !== undefined) {
        this.propose(r);
      }
    } else if (this.groups.some((g) => g !== 0) && this.rng() < 0.5) {
      this.heal();
    } else {
      const groupCount = 2 + this.pick(2);
      this.groups = this.groups.map(() => this.pick(groupCount));
      this.record({ kind: 'partition', groups: [...this.groups] });
    }
  }

  private heal(): void {
    this.groups = this.groups.map(() => 0);
    this.record({ kind: 'heal' });
  }

  private partitioned(m: Message): boolean {
    return this.groups[m.from - 1] !== this.groups[m.to - 1];
  }

  private tick(id: number): void {
    const r = this.node(id);
    this.record({ kind: 'tick', id });
    r.tick();
    this.observe(r);
    this.post(r.readMessages());
  }

  private propose(r: Raft): void {
    this.record({ kind: 'propose', id: r.id });
    r.step(
      message({
        msgType: MessageType.MsgPropose,
        from: r.id,
        to: r.id,
        entries: [
          {
            entryType: EntryType.Normal,
            term: 0,
            index: 0,
            data: new Uint8Array([this.pick(256)]),
          },
        ],
      }),
    );
    this.observe(r);
    this.post(r.readMessages());
  }

  private deliver(m: Message): Message[] {
    const r = this.node(m.to);
    this.record({ kind: 'deliver', m });
    r.step(m);
    this.observe(r);
    return r.readMessages();
  }

  /** Puts what a node sent in flight, losing or duplicating some of it while the run is lossy. */
  private post(out: Message[]): void {
    for (const m of out) {
      if (this.lossy && (this.partitioned(m) || this.rng() < this.dropRate)) {
        continue;
      }
      this.inflight.push(m);
      if (this.lossy && this.rng() < duplicateRate) {
        this.inflight.push(m);
      }
    }
  }

  /** Delivers `queue` and everything it causes, first in first out, until nothing is in flight. */
  private flush(queue: Message[]): void {
    for (let head = 0; head < queue.length; head++) {
      if (head === 1_000_000) {
        throw new ElectionViolation('a healed network did not go quiet after 1,000,000 messages');
      }
      queue.push(...this.deliver(queue[head] as Message));
    }
  }

  private healedRound(): void {
    for (const r of this.nodes.values()) {
      this.record({ kind: 'tick', id: r.id });
      r.tick();
      this.observe(r);
      this.flush(r.readMessages());
    }
  }

  /** The one leader every node follows at its term, if the cluster has settled on one. */
  private settledLeader(): Raft | undefined {
    const leaders = [...this.nodes.values()].filter((r) => r.state === StateType.Leader);
    const leader = leaders[0];
    if (leaders.length !== 1 || leader === undefined) {
      return undefined;
    }
    for (const r of this.nodes.values()) {
      if (r.term !== leader.term || r.lead !== leader.id) {
        return undefined;
      }
    }
    return leader;
  }

  private checkStable(leader: Raft): void {
    const term = leader.term;
    for (let round = 1; round <= stableRounds; round++) {
      this.healedRound();
      const now = this.settledLeader();
      if (now !== leader || now.term !== term) {
        throw new ElectionViolation(
          `leader ${leader.id} of term ${term} lost its leadership ${round} rounds later in a healthy network`,
        );
      }
    }
  }

  /** Checks the safety invariants on the node that just ticked or stepped. */
  observe(r: Raft): void {
    const lastTerm = this.termOf.get(r.id) ?? 0;
    if (r.term < lastTerm) {
      throw new ElectionViolation(`node ${r.id}'s term went back from ${lastTerm} to ${r.term}`);
    }
    this.termOf.set(r.id, r.term);
    if (r.vote !== None) {
      const key = `${r.id}/${r.term}`;
      const earlier = this.voteOf.get(key);
      if (earlier !== undefined && earlier !== r.vote) {
        throw new ElectionViolation(
          `node ${r.id} voted for both ${earlier} and ${r.vote} in term ${r.term}`,
        );
      }
      this.voteOf.set(key, r.vote);
    }
    if (r.state === StateType.Leader) {
      const leader = this.leaderOfTerm.get(r.term);
      if (leader !== undefined && leader !== r.id) {
        throw new ElectionViolation(`two leaders in term ${r.term}: ${leader} and ${r.id}`);
      }
      this.leaderOfTerm.set(r.term, r.id);
    }
  }
}

/** Runs one seed; any failure names the seed, the last events and how to replay it. */
function check(seed: number): void {
  const run = new ElectionRun(seed);
  try {
    run.run();
  } catch (e) {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    expect.fail(`${what}\n${run.describe()}`);
  }
}

const replaySeed = process.env.ELECTION_SEED;

if (replaySeed !== undefined) {
  const seed = Number(replaySeed);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`ELECTION_SEED must be an integer, got '${replaySeed}'`);
  }
  test(`randomized election, replaying seed ${seed} (${sizeOf(seed)} nodes)`, () => check(seed));
} else {
  describe('randomized elections', () => {
    test.each(sizes.map((size, k) => ({ size, k })))('$size nodes', ({ k }) => {
      for (let seed = 1; seed <= seedCount; seed++) {
        if (seed % sizes.length === k) {
          check(seed);
        }
      }
    });

    // The checks above must be able to fail: a forged second leader in a term is caught.
    test('a second leader in one term is reported with its seed', () => {
      const run = new ElectionRun(1);
      const [a, b] = [run.nodes.get(1) as Raft, run.nodes.get(2) as Raft];
      for (const r of [a, b]) {
        r.term = 5;
        r.state = StateType.Leader;
      }
      run.observe(a);
      expect(() => run.observe(b)).toThrow('two leaders in term 5: 1 and 2');
      expect(run.describe()).toContain('ELECTION_SEED=1 ');
    });
  });
}
