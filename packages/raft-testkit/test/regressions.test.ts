/**
 * Regression tests for the ways other JavaScript Raft libraries have broken: proposals made in
 * bulk, bare-majority clusters, five-node clusters, entries applied twice across Ready cycles,
 * O(n) log repair, and proposals silently swallowed by non-leaders.
 */
import {
  type Entry,
  MemoryStorage,
  type Message,
  MessageType,
  ProposalDroppedError,
  type Raft,
  RawNode,
  type Ready,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import {
  blackHole,
  idsBySize,
  Network,
  newTestConfig,
  newTestRaft,
  seededRandom,
} from '../src/index.js';
import {
  beat,
  bytes,
  ents,
  hup,
  nextEnts,
  propose,
  proposeBatch,
  raftOf,
  text,
} from './helpers.js';

/**
 * Checks that every node's committed log holds `data`, each exactly once and in order, at
 * consecutive indexes, with every other committed entry a no-op; and that applying the log
 * hands out each index exactly once, however often the runtime asks.
 */
function expectCommittedOnce(nt: Network, ids: number[], data: string[]): void {
  const reference = raftOf(nt, ids[0] as number).raftLog;
  for (const id of ids) {
    const r = raftOf(nt, id);
    const log = r.raftLog;
    expect(log.committed, `node ${id}: everything is committed`).toBe(log.lastIndex());
    expect(log.committed, `node ${id}`).toBe(reference.committed);
    const committed = log.entries.slice(0, log.committed);
    expect(
      committed.map((e) => e.index),
      `node ${id}: consecutive indexes`,
    ).toEqual(committed.map((_, k) => k + 1));
    expect(committed, `node ${id}: same log as node ${ids[0]}`).toEqual(
      reference.entries.slice(0, reference.committed),
    );
    const payloads = committed.filter((e) => e.data !== undefined).map(text);
    expect(payloads, `node ${id}: every proposal once, in order`).toEqual(data);
    expect(new Set(payloads).size, `node ${id}: payloads are unique`).toBe(data.length);

    const storage = nt.storage.get(id) as MemoryStorage;
    const applied = [...nextEnts(r, storage), ...nextEnts(r, storage)];
    expect(
      applied.map((e) => e.index),
      `node ${id}: each index applied once`,
    ).toEqual(committed.map((e) => e.index));
  }
}

const labels = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, k) => `${prefix}${k}`);

describe('regression: proposals in bulk', () => {
  test('2,000 proposals sent in one Network.send get consecutive indexes and commit once on every node', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    const data = labels('p', 2000);

    nt.send(...data.map((d) => propose(1, d)));

    expect(raftOf(nt, 1).raftLog.lastIndex()).toBe(1 + data.length);
    expectCommittedOnce(nt, [1, 2, 3], data);
  });

  test('2,000 proposals in one MsgPropose batch at the leader get consecutive indexes and commit once on every node', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    const data = labels('b', 2000);

    nt.send(proposeBatch(1, data));

    expect(raftOf(nt, 1).raftLog.lastIndex()).toBe(1 + data.length);
    expectCommittedOnce(nt, [1, 2, 3], data);
  });
});

describe('regression: bare majorities and five nodes', () => {
  test('2 of 3 with the third a black hole elect a leader and keep committing, across a leader change', () => {
    const nt = new Network([null, null, blackHole]);
    nt.send(hup(1));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
    const first = labels('x', 20);
    for (const [k, d] of first.entries()) {
      nt.send(propose(1, d));
      expect(raftOf(nt, 1).raftLog.committed, `after proposal ${k}`).toBe(k + 2);
      expect(raftOf(nt, 2).raftLog.committed, `after proposal ${k}`).toBe(k + 2);
    }

    nt.send(hup(2));
    expect(raftOf(nt, 2).state).toBe(StateType.Leader);
    const second = labels('y', 20);
    for (const d of second) {
      nt.send(propose(2, d));
    }

    expectCommittedOnce(nt, [1, 2], [...first, ...second]);
  });

  test('2 of 3 with the third isolated elect a leader and keep committing; the third catches up', () => {
    const nt = new Network([null, null, null]);
    nt.isolate(3);
    nt.send(hup(1));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
    const data = labels('i', 30);
    for (const d of data) {
      nt.send(propose(1, d));
    }
    expect(raftOf(nt, 2).raftLog.committed).toBe(1 + data.length);
    expect(raftOf(nt, 3).raftLog.committed).toBe(0);

    nt.recover();
    nt.send(beat(1));

    expectCommittedOnce(nt, [1, 2, 3], data);
  });

  test('3 of 5 with two nodes down elect a leader and keep committing, across a leader change', () => {
    const nt = new Network([null, null, null, blackHole, blackHole]);
    nt.send(hup(1));
    expect(raftOf(nt, 1).state).toBe(StateType.Leader);
    const first = labels('f', 15);
    for (const d of first) {
      nt.send(propose(1, d));
    }
    expect(raftOf(nt, 3).raftLog.committed).toBe(1 + first.length);

    nt.send(hup(3));
    expect(raftOf(nt, 3).state).toBe(StateType.Leader);
    const second = labels('s', 15);
    for (const d of second) {
      nt.send(propose(3, d));
    }

    expectCommittedOnce(nt, [1, 2, 3], [...first, ...second]);
  });

  test('a 5-node cluster commits on every node, across a leader change', () => {
    const nt = new Network([null, null, null, null, null]);
    nt.send(hup(1));
    const first = labels('a', 10);
    for (const d of first) {
      nt.send(propose(1, d));
    }
    nt.send(hup(4));
    expect(raftOf(nt, 4).state).toBe(StateType.Leader);
    const second = labels('b', 10);
    nt.send(...second.map((d) => propose(4, d)));

    expectCommittedOnce(nt, idsBySize(5), [...first, ...second]);
  });
});

/**
 * A cluster of RawNodes run the way a runtime runs them: every cycle each node hands out a
 * Ready (even when it has nothing to do), which is persisted, sent, applied and advanced.
 */
class RawCluster {
  readonly nodes = new Map<number, { node: RawNode; storage: MemoryStorage; applied: Entry[] }>();
  private inflight: Message[] = [];

  constructor(
    size: number,
    private readonly seed: number,
  ) {
    const peers = idsBySize(size);
    for (const id of peers) {
      const storage = new MemoryStorage();
      const config = {
        ...newTestConfig(id, peers, 10, 1, storage),
        random: seededRandom(seed * 31 + id),
      };
      this.nodes.set(id, { node: new RawNode(config), storage, applied: [] });
    }
  }

  get(id: number): RawNode {
    const n = this.nodes.get(id);
    if (n === undefined) {
      throw new Error(`no node ${id}`);
    }
    return n.node;
  }

  /** One Ready/advance round at every node. An empty Ready must hand out nothing. */
  cycle(): void {
    for (const [id, n] of this.nodes) {
      const due = n.node.hasReady();
      const rd: Ready = n.node.ready();
      if (!due) {
        expect(
          rd,
          `seed ${this.seed}, node ${id}: a Ready when hasReady() is false must be empty`,
        ).toEqual({
          entries: [],
          committedEntries: [],
          messages: [],
          persistedMessages: [],
        });
      }
      if (rd.hardState !== undefined) {
        n.storage.setHardState(rd.hardState);
      }
      n.storage.append(rd.entries);
      this.inflight.push(...rd.messages, ...rd.persistedMessages);
      n.applied.push(...rd.committedEntries);
      n.node.advance(rd);
    }
  }

  /** Delivers what the last cycles sent; `lose` decides per message whether the network loses it. */
  deliver(lose: () => boolean = () => false): void {
    const batch = this.inflight;
    this.inflight = [];
    for (const m of batch) {
      if (!lose()) {
        this.get(m.to).step(m);
      }
    }
  }

  /** Cycles and delivers until no node has work and nothing is in flight. */
  settle(): void {
    for (let round = 0; round < 1000; round++) {
      this.cycle();
      if (this.inflight.length === 0 && ![...this.nodes.values()].some((n) => n.node.hasReady())) {
        return;
      }
      this.deliver();
    }
    throw new Error(`seed ${this.seed}: the cluster did not settle in 1000 rounds`);
  }

  tickAll(): void {
    for (const n of this.nodes.values()) {
      n.node.tick();
    }
  }

  /** The leader every node follows in one term, if there is one (a stale leader does not count). */
  leader(): number | undefined {
    const leaders = [...this.nodes].filter(([, n]) => n.node.raft.state === StateType.Leader);
    if (leaders.length !== 1) {
      return undefined;
    }
    const [id, l] = leaders[0] as [number, { node: RawNode }];
    const agreed = [...this.nodes.values()].every(
      (n) => n.node.raft.term === l.node.raft.term && n.node.raft.lead === id,
    );
    return agreed ? id : undefined;
  }
}

/**
 * Every node applied indexes 1, 2, … each exactly once, and all nodes applied the same entry at
 * each index (§5.4.3, state machine safety).
 */
function expectAppliedOnce(c: RawCluster, why: string): void {
  let longest: Entry[] = [];
  for (const [id, n] of c.nodes) {
    expect(
      n.applied.map((e) => e.index),
      `${why}, node ${id}: applied indexes`,
    ).toEqual(n.applied.map((_, k) => k + 1));
    if (n.applied.length > longest.length) {
      longest = n.applied;
    }
  }
  for (const [id, n] of c.nodes) {
    expect(n.applied, `${why}, node ${id}: same entries as the longest applied log`).toEqual(
      longest.slice(0, n.applied.length),
    );
  }
}

describe('regression: an entry is applied exactly once', () => {
  test('through many Ready/advance cycles, empty ones and a leader change included', () => {
    const c = new RawCluster(3, 1);
    c.get(1).campaign();
    c.settle();
    expect(c.leader()).toBe(1);

    const first = labels('r', 5);
    for (const d of first) {
      c.get(1).propose(bytes(d));
      // Persist and apply before and after delivery, in separate cycles.
      c.cycle();
      c.cycle();
      c.deliver();
    }
    c.settle();
    for (const n of c.nodes.values()) {
      expect(n.node.hasReady()).toBe(false);
    }
    // Cycles with nothing to do must not hand out committed entries again.
    c.cycle();
    c.cycle();
    c.cycle();

    c.get(2).campaign();
    c.settle();
    expect(c.leader()).toBe(2);
    const second = labels('q', 5);
    for (const d of second) {
      c.get(2).propose(bytes(d));
    }
    c.settle();
    // Heartbeats only: they must not re-deliver anything either.
    for (let t = 0; t < 3; t++) {
      c.tickAll();
      c.settle();
    }

    expectAppliedOnce(c, 'scenario');
    const total = 1 + first.length + 1 + second.length;
    for (const [id, n] of c.nodes) {
      expect(n.applied.length, `node ${id}`).toBe(total);
      expect(n.applied.filter((e) => e.data !== undefined).map(text), `node ${id}`).toEqual([
        ...first,
        ...second,
      ]);
    }
  });

  test('under random proposals, ticks, lost messages and elections (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const why = `seed ${seed}`;
      const rng = seededRandom(seed);
      const c = new RawCluster(3, seed);
      let proposals = 0;
      for (let step = 0; step < 400; step++) {
        const roll = rng();
        if (roll < 0.3) {
          const id = 1 + Math.floor(rng() * 3);
          try {
            c.get(id).propose(bytes(`s${seed}-${proposals++}`));
          } catch (e) {
            if (!(e instanceof ProposalDroppedError)) {
              throw e;
            }
          }
        } else if (roll < 0.55) {
          c.tickAll();
        } else if (roll < 0.58) {
          // An election timeout at a random node, more often than ticks alone would cause one.
          c.get(1 + Math.floor(rng() * 3)).campaign();
        } else {
          c.cycle();
          c.deliver(() => rng() < 0.1);
        }
      }
      // Heal the network and let an election settle, then commit one last entry everywhere.
      c.settle();
      let leader = c.leader();
      for (let t = 0; t < 200 && leader === undefined; t++) {
        c.tickAll();
        c.settle();
        leader = c.leader();
      }
      expect(leader, `${why}: a leader after healing`).toBeDefined();
      c.get(leader as number).propose(bytes('final'));
      c.settle();
      c.tickAll();
      c.settle();

      expectAppliedOnce(c, why);
      const payloads = (c.nodes.get(1)?.applied ?? [])
        .filter((e) => e.data !== undefined)
        .map(text);
      expect(new Set(payloads).size, `${why}: no payload applied twice`).toBe(payloads.length);
      for (const [id, n] of c.nodes) {
        expect(
          n.applied.filter((e) => text(e) === 'final'),
          `${why}, node ${id}: the final entry`,
        ).toHaveLength(1);
      }
    }
  });
});

/**
 * Delivers messages between `rafts` until none is left; messages to anyone else are lost.
 * Returns every message that was delivered.
 */
function exchange(rafts: Map<number, Raft>): Message[] {
  const delivered: Message[] = [];
  const queue: Message[] = [];
  for (const r of rafts.values()) {
    queue.push(...r.readMessages());
  }
  for (let n = 0; queue.length > 0; n++) {
    if (n > 100_000) {
      throw new Error('the exchange did not settle in 100000 messages');
    }
    const m = queue.shift() as Message;
    const to = rafts.get(m.to);
    if (to === undefined) {
      continue;
    }
    delivered.push(m);
    to.step(m);
    queue.push(...to.readMessages());
  }
  return delivered;
}

describe('regression: repairing a divergent log takes a few round trips, not one per entry', () => {
  const repeat = (term: number, n: number): number[] => Array.from({ length: n }, () => term);
  const rows: Array<{
    name: string;
    leader: number[];
    follower: number[];
    divergentTerms: number;
  }> = [
    {
      name: 'follower has 1,000 extra entries of an old term',
      leader: [1, 3],
      follower: [1, ...repeat(2, 1000)],
      divergentTerms: 1,
    },
    {
      name: 'follower has 1,000 entries of an old term where the leader has its own',
      leader: [1, ...repeat(3, 1000)],
      follower: [1, ...repeat(2, 1000)],
      divergentTerms: 1,
    },
    {
      name: 'follower lacks 1,000 entries',
      leader: [1, ...repeat(3, 1000)],
      follower: [1],
      divergentTerms: 1,
    },
    {
      name: 'follower diverges by 1,000 entries spread over three old terms',
      leader: [1, ...repeat(4, 500), ...repeat(6, 500)],
      follower: [1, ...repeat(2, 333), ...repeat(3, 333), ...repeat(5, 334)],
      divergentTerms: 3,
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const withLog = (id: number, terms: number[]): Raft => {
        const s = new MemoryStorage();
        s.append(ents(...terms));
        s.setHardState({ term: terms[terms.length - 1] as number, vote: 0, commit: 1 });
        return newTestRaft(id, [1, 2, 3], 10, 1, s);
      };
      const leader = withLog(1, row.leader);
      const follower = withLog(2, row.follower);

      // Node 3 is down: the follower's vote elects the leader, then the logs are repaired.
      leader.step(hup(1));
      const delivered = exchange(
        new Map([
          [1, leader],
          [2, follower],
        ]),
      );

      expect(leader.state).toBe(StateType.Leader);
      const rejections = delivered.filter(
        (m) => m.msgType === MessageType.MsgAppendResponse && m.reject,
      ).length;
      expect(rejections, `rejected MsgAppendResponses`).toBeLessThanOrEqual(3 * row.divergentTerms);
      const appends = delivered.filter((m) => m.msgType === MessageType.MsgAppend).length;
      expect(appends, 'MsgAppends sent').toBeLessThanOrEqual(3 * row.divergentTerms + 3);
      expect(follower.raftLog.entries).toEqual(leader.raftLog.entries);
      expect(follower.raftLog.committed).toBe(leader.raftLog.lastIndex());
      expect(leader.raftLog.committed).toBe(leader.raftLog.lastIndex());
    });
  }
});

describe('regression: a non-leader never drops a proposal silently', () => {
  test('a follower and a candidate throw ProposalDroppedError from step and change nothing', () => {
    const follower = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    follower.becomeFollower(1, 2);
    expect(() => follower.step(propose(1, 'x'))).toThrow(ProposalDroppedError);
    expect(follower.raftLog.lastIndex()).toBe(0);
    expect(follower.readMessages()).toEqual([]);

    const candidate = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    candidate.becomeCandidate();
    expect(() => candidate.step(propose(1, 'x'))).toThrow(ProposalDroppedError);
    expect(candidate.raftLog.lastIndex()).toBe(0);
    expect(candidate.readMessages()).toEqual([]);
  });

  test('a follower that knows its leader still throws ProposalDroppedError, with a typed name', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    const f = raftOf(nt, 2);
    expect(f.lead).toBe(1);
    const before = f.raftLog.lastIndex();

    let caught: unknown;
    try {
      f.step(propose(2, 'x'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ProposalDroppedError);
    expect((caught as Error).name).toBe('ProposalDroppedError');
    expect(f.raftLog.lastIndex()).toBe(before);
    expect(f.readMessages()).toEqual([]);
  });

  test('RawNode.propose at a follower throws ProposalDroppedError and leaves no work', () => {
    const storage = new MemoryStorage();
    const rn = new RawNode(newTestConfig(1, [1, 2, 3], 10, 1, storage));
    expect(rn.hasReady()).toBe(false);

    expect(() => rn.propose(bytes('x'))).toThrow(ProposalDroppedError);

    expect(rn.hasReady()).toBe(false);
    expect(rn.raft.raftLog.lastIndex()).toBe(0);
  });
});
