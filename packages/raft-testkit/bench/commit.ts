import { type CoreModule, payloads, RawCluster } from './cluster.js';
import { type BenchCase, collectGarbage } from './harness.js';

export interface CommitShape {
  nodes: number;
  /** Entries per proposal (`RawNode.proposeBatch`). */
  batch: number;
  /** Bytes of data per entry. */
  payload: number;
}

/** Compact every 4,096 applied entries, keeping enough for followers a few rounds behind. */
function newCluster(core: CoreModule, shape: CommitShape): RawCluster {
  const c = new RawCluster(core, shape.nodes, 4096, Math.max(1024, 4 * shape.batch));
  c.node(1).campaign();
  c.settle();
  return c;
}

/**
 * Proposes `entries` on the leader (node 1), one proposal of `batch` entries per round, then
 * settles. Throws unless every node applied every entry.
 */
function commitRun(c: RawCluster, shape: CommitShape, entries: number, pool: Uint8Array[]): void {
  const leader = c.node(1);
  const before = [...c.appliedEntries];
  const batch: Uint8Array[] = Array.from(
    { length: shape.batch },
    (_, k) => pool[k % pool.length] as Uint8Array,
  );
  for (let proposed = 0; proposed < entries; proposed += shape.batch) {
    leader.proposeBatch(batch);
    c.round();
  }
  c.settle();
  c.appliedEntries.forEach((a, k) => {
    if (a - (before[k] as number) !== entries) {
      throw new Error(
        `node ${k + 1} applied ${a - (before[k] as number)} of ${entries} entries (${shape.nodes} nodes, batch ${shape.batch})`,
      );
    }
  });
}

/**
 * Commit throughput: entries committed and applied on every node, through full RawNode
 * Ready/advance cycles with MemoryStorage persistence. The unit of work is one entry.
 */
export function commitCase(label: string, core: CoreModule, shape: CommitShape): BenchCase {
  const pool = payloads(shape.payload, 64);
  return {
    name: `${label} commit ${shape.nodes} nodes batch ${shape.batch} ${shape.payload} B`,
    params: { core: label, ...shape },
    prepare(n) {
      const entries = Math.max(1, Math.round(n / shape.batch)) * shape.batch;
      const c = newCluster(core, shape);
      return () => {
        commitRun(c, shape, entries, pool);
        return entries;
      };
    },
  };
}

/** Messages stepped per entry committed, counted on a separate, untimed run of 64 proposals. */
export function messagesPerEntry(core: CoreModule, shape: CommitShape): number {
  const c = newCluster(core, shape);
  const before = c.stepped;
  const entries = 64 * shape.batch;
  commitRun(c, shape, entries, payloads(shape.payload, 64));
  return (c.stepped - before) / entries;
}

/**
 * Heap growth per 100,000 entries once the cluster is warm: with compaction on, the live heap
 * should not depend on how many entries went through. Measured over 300,000 entries, between two
 * readings taken in the same state (every log compacted to `keep` entries, two full collections),
 * with the cluster still reachable.
 */
export function heapGrowthPer100k(core: CoreModule, shape: CommitShape): number {
  const pool = payloads(shape.payload, 64);
  const c = newCluster(core, shape);
  const warm = 50 * 1024;
  const measured = 300 * 1024;
  const heapUsed = () => {
    c.compactAll();
    collectGarbage();
    collectGarbage();
    return process.memoryUsage().heapUsed;
  };
  commitRun(c, shape, warm, pool);
  const before = heapUsed();
  commitRun(c, shape, measured, pool);
  const after = heapUsed();
  // Also keeps the cluster reachable until after the second measurement.
  const bytes = shape.nodes * (warm + measured) * shape.payload;
  if (c.appliedBytes !== bytes) {
    throw new Error(`applied ${c.appliedBytes} bytes, expected ${bytes}`);
  }
  return ((after - before) * 100_000) / measured;
}
