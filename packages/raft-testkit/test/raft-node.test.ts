import {
  type Entry,
  MemoryStorage,
  MessageType,
  message,
  ProposalDroppedError,
  RaftNode,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { ManualTicker, MemoryTransportHub } from '../src/memory-transport.js';
import { seededRandom } from '../src/random.js';

const text = (e: Entry): string => new TextDecoder().decode(e.data ?? new Uint8Array());

function cluster(size: number, seed: number) {
  const hub = new MemoryTransportHub();
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const random = seededRandom(seed);
  const nodes = ids.map((id) => {
    const ticker = new ManualTicker();
    const storage = new MemoryStorage();
    const applied: string[] = [];
    const node = new RaftNode({
      config: { id, peers: ids, electionTick: 10, heartbeatTick: 1, storage, random },
      transport: hub.transport(id),
      ticker,
      apply: (e) => {
        if (e.data !== undefined) applied.push(text(e));
      },
    });
    return { id, node, ticker, storage, applied };
  });
  const tickAll = (n = 1) => {
    for (let i = 0; i < n; i++) {
      for (const x of nodes) x.ticker.tick();
      hub.flush();
    }
  };
  const leader = () => nodes.find((x) => x.node.status().role === StateType.Leader);
  return { hub, nodes, tickAll, leader };
}

describe('RaftNode runtime on fake time', () => {
  test('elects a leader, emits typed events, replicates proposals and resolves them once applied', async () => {
    const seed = 11;
    const c = cluster(3, seed);
    const events: string[] = [];
    for (const x of c.nodes) {
      x.node.on('leaderChanged', (e) => events.push(`${x.id}:leader=${e.leader}@${e.term}`));
      x.node.on('roleChanged', (e) => events.push(`${x.id}:role=${e.role}`));
      x.node.start();
    }
    for (let t = 0; t < 50 && c.leader() === undefined; t++) c.tickAll();
    const leader = c.leader();
    expect(leader, `seed ${seed}`).toBeDefined();
    const lead = leader?.id as number;
    expect(events).toContain(`${lead}:role=${StateType.Leader}`);
    for (const x of c.nodes) {
      expect(x.node.status().leader, `seed ${seed}`).toBe(lead);
    }

    const done = Promise.all(
      ['a', 'b', 'c'].map((v) => leader?.node.propose(new TextEncoder().encode(v))),
    );
    c.hub.flush();
    c.tickAll(2);
    const indexes = await done;
    expect(new Set(indexes).size).toBe(3);
    for (const x of c.nodes) {
      expect(x.applied).toEqual(['a', 'b', 'c']);
      // What was applied was persisted first.
      expect(x.storage.lastIndex()).toBeGreaterThanOrEqual(Math.max(...(indexes as number[])));
      expect(x.storage.initialState().hardState.term).toBe(leader?.node.status().term);
    }
  });

  test('a follower refuses proposals with ProposalDroppedError', async () => {
    const c = cluster(3, 5);
    for (const x of c.nodes) x.node.start();
    for (let t = 0; t < 50 && c.leader() === undefined; t++) c.tickAll();
    const follower = c.nodes.find((x) => x.node.status().role === StateType.Follower);
    await expect(follower?.node.propose(new Uint8Array([1]))).rejects.toBeInstanceOf(
      ProposalDroppedError,
    );
  });

  test('pending proposals fail when the leader loses leadership', async () => {
    const c = cluster(3, 7);
    for (const x of c.nodes) x.node.start();
    for (let t = 0; t < 50 && c.leader() === undefined; t++) c.tickAll();
    const old = c.leader();
    expect(old).toBeDefined();
    c.hub.isolate(old?.id as number);
    const pending = old?.node.propose(new Uint8Array([9])) as Promise<number>;
    const outcome = pending.then(
      () => 'resolved',
      (e: unknown) => (e instanceof ProposalDroppedError ? 'dropped' : 'other'),
    );
    // The others elect a new leader; when the old one hears of the higher term it steps down.
    for (let t = 0; t < 60; t++) c.tickAll();
    c.hub.heal();
    for (let t = 0; t < 30; t++) c.tickAll();
    expect(await outcome).toBe('dropped');
    expect(old?.node.status().role).toBe(StateType.Follower);
  });

  test('a malformed inbound message is reported and changes nothing', () => {
    const c = cluster(3, 3);
    const rejected: string[] = [];
    const target = c.nodes[0];
    target?.node.on('rejectedMessage', (e) => rejected.push(e.error.name));
    for (const x of c.nodes) x.node.start();
    const before = target?.node.status();
    const forged = message({ msgType: MessageType.MsgHup, from: 2, to: 1 });
    c.hub
      .transport(2)
      .send([
        forged,
        { ...message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1 }), term: -5 },
      ]);
    c.hub.flush();
    expect(rejected).toEqual(['MalformedMessageError', 'MalformedMessageError']);
    expect(target?.node.status()).toEqual(before);
  });

  test('stop() stops ticking and fails nothing that was not pending', async () => {
    const c = cluster(1, 1);
    const only = c.nodes[0];
    only?.node.start();
    only?.ticker.tick(30);
    expect(only?.node.status().role).toBe(StateType.Leader);
    await only?.node.stop();
    expect(only?.ticker.running).toBe(false);
    await expect(only?.node.propose(new Uint8Array([1]))).rejects.toBeInstanceOf(
      ProposalDroppedError,
    );
  });
});

describe('RaftNode with a scheduler', () => {
  test('proposals made together share one Ready and so one write to storage', async () => {
    const queued: Array<() => void> = [];
    const storage = new MemoryStorage();
    const appends: number[] = [];
    const persist = storage.persist.bind(storage);
    storage.persist = (update) => {
      if (update.entries.length > 0) appends.push(update.entries.length);
      persist(update);
    };
    const ticker = new ManualTicker();
    const node = new RaftNode({
      config: { id: 1, peers: [1], electionTick: 10, heartbeatTick: 1, storage },
      transport: new MemoryTransportHub().transport(1),
      ticker,
      schedule: (run) => queued.push(run),
    });
    node.start();
    node.campaign();
    expect(node.status().role).toBe(StateType.Leader); // stepped at once…
    expect(appends).toEqual([]); // …but nothing is written until the scheduled run
    for (const run of queued.splice(0)) run();
    expect(appends).toEqual([1]); // the no-op

    const done = Promise.all([1, 2, 3].map((v) => node.propose(new Uint8Array([v]))));
    expect(queued.length).toBe(1);
    for (const run of queued.splice(0)) run();
    expect(appends).toEqual([1, 3]);
    expect(await done).toEqual([2, 3, 4]);
  });
});
