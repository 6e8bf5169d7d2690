import type * as Core from '@tinyraft/raft-core';
import type { Message, Raft, RawNode, Ready } from '@tinyraft/raft-core';
import { MemoryStorage } from '@tinyraft/raft-core';

/**
 * The raft-core module the benches drive. Passing it in (rather than importing it here) lets one
 * run measure the workspace build against a saved baseline build side by side.
 */
export type CoreModule = typeof Core;

/**
 * A seeded xorshift32 generator (Marsaglia, 2003) behind a 32-bit integer hash of the seed, so
 * that neighbouring seeds give unrelated streams.
 */
export function seededRandom(seed: number): () => number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  let x = h | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export const electionTick = 10;
export const heartbeatTick = 1;

function ids(size: number): number[] {
  return Array.from({ length: size }, (_, k) => k + 1);
}

/**
 * `size` bare `Raft` state machines joined by a FIFO queue: the minimal synchronous network.
 * Messages take no time; `settle` delivers until every outbox is empty.
 */
export class RaftCluster {
  readonly nodes: Raft[];
  private queue: Message[] = [];

  /**
   * Each node draws its election timeouts from its own stream, derived from `seed` and its id.
   * `fastFirstElection` is passed to every node's `Config`.
   */
  constructor(core: CoreModule, size: number, seed = 1, fastFirstElection = false) {
    const peers = ids(size);
    this.nodes = peers.map(
      (id) =>
        new core.Raft({
          id,
          peers,
          electionTick,
          heartbeatTick,
          storage: new MemoryStorage(),
          random: seededRandom(seed * 1009 + id),
          fastFirstElection,
        }),
    );
  }

  node(id: number): Raft {
    return this.nodes[id - 1] as Raft;
  }

  /** Delivers every pending message, and the messages those cause, in FIFO order. */
  settle(): number {
    const q = this.queue;
    for (const r of this.nodes) {
      for (const m of r.readMessages()) {
        q.push(m);
      }
    }
    let head = 0;
    while (head < q.length) {
      const m = q[head++] as Message;
      const to = this.nodes[m.to - 1] as Raft;
      to.step(m);
      for (const out of to.readMessages()) {
        q.push(out);
      }
    }
    q.length = 0;
    return head;
  }
}

/** Payloads shared by every proposal of a run: the bench measures raft, not the client's buffers. */
export function payloads(bytes: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => new Uint8Array(bytes).fill(k + 1));
}

/**
 * `size` `RawNode`s, each persisting to its own `MemoryStorage`, driven the way a runtime drives
 * them: every `round` handles one Ready per node (persist hard state and entries, queue the
 * messages, apply the committed entries, advance) and then delivers the queued messages. A round
 * is one network hop, so proposals made once per round are pipelined.
 *
 * Storage is compacted every `compactEvery` applied entries, keeping the last `keep` entries so
 * that a follower a few rounds behind is still sent entries rather than a snapshot.
 */
export class RawCluster {
  readonly nodes: RawNode[];
  readonly storages: MemoryStorage[];
  /** Per node: the index of the last entry applied. */
  readonly applied: number[];
  /** Per node: how many entries with data were applied, and how many bytes they carried. */
  readonly appliedEntries: number[];
  appliedBytes = 0;
  /** Messages stepped so far. */
  stepped = 0;
  private queue: Message[] = [];
  private readonly members: number[];

  constructor(
    core: CoreModule,
    size: number,
    private readonly compactEvery: number,
    private readonly keep: number,
  ) {
    this.members = ids(size);
    this.storages = this.members.map(() => new MemoryStorage());
    this.nodes = this.members.map(
      (id, k) =>
        new core.RawNode({
          id,
          peers: this.members,
          electionTick,
          heartbeatTick,
          storage: this.storages[k] as MemoryStorage,
          random: seededRandom(id),
        }),
    );
    this.applied = this.members.map(() => 0);
    this.appliedEntries = this.members.map(() => 0);
  }

  node(id: number): RawNode {
    return this.nodes[id - 1] as RawNode;
  }

  /** One Ready per node, then one hop of delivery. Returns whether anything happened. */
  round(): boolean {
    let busy = false;
    for (let k = 0; k < this.nodes.length; k++) {
      const rn = this.nodes[k] as RawNode;
      if (rn.hasReady()) {
        this.handleReady(k, rn.ready());
        busy = true;
      }
    }
    const q = this.queue;
    for (let head = 0; head < q.length; head++) {
      const m = q[head] as Message;
      (this.nodes[m.to - 1] as RawNode).step(m);
    }
    this.stepped += q.length;
    busy ||= q.length > 0;
    q.length = 0;
    return busy;
  }

  /** Runs rounds until no node has anything left to do. */
  settle(): void {
    while (this.round()) {
      // every round does its work in the condition
    }
  }

  private handleReady(k: number, rd: Ready): void {
    const rn = this.nodes[k] as RawNode;
    const storage = this.storages[k] as MemoryStorage;
    if (rd.hardState !== undefined) {
      storage.setHardState(rd.hardState);
    }
    if (rd.entries.length > 0) {
      storage.append(rd.entries);
    }
    for (const m of rd.messages) {
      this.queue.push(m);
    }
    for (const m of rd.persistedMessages) {
      this.queue.push(m);
    }
    const committed = rd.committedEntries;
    if (committed.length > 0) {
      for (const e of committed) {
        if (e.data !== undefined) {
          this.appliedEntries[k] = (this.appliedEntries[k] as number) + 1;
          this.appliedBytes += e.data.length;
        }
      }
      this.applied[k] = (committed[committed.length - 1] as Core.Entry).index;
    }
    rn.advance(rd);
    if ((this.applied[k] as number) - storage.firstIndex() >= this.compactEvery + this.keep) {
      this.compact(k);
    }
  }

  /** Compacts node `k`'s storage to `keep` entries behind what it applied. */
  private compact(k: number): void {
    const storage = this.storages[k] as MemoryStorage;
    const to = (this.applied[k] as number) - this.keep;
    if (to > storage.firstIndex()) {
      storage.createSnapshot(to, { nodes: this.members });
      storage.compact(to);
    }
  }

  /**
   * Compacts every node now, storage and in-memory log alike, so that each holds exactly `keep`
   * entries: the same state whenever it is called, which makes heap readings comparable.
   */
  compactAll(): void {
    this.nodes.forEach((rn, k) => {
      this.compact(k);
      rn.raft.raftLog.maybeCompact();
    });
  }
}
