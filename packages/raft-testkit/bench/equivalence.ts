/**
 * Checks that a performance change to raft-core changed no behaviour: drives the workspace build
 * and a saved baseline build (save-baseline.ts) through the same seeded random histories (ticks,
 * proposals, message loss and reordering, compaction) and compares every message, every Ready and
 * every node's state after every action. Prints the first difference and exits non-zero.
 *
 *   tsx bench/equivalence.ts [seeds, default 300] [actions per seed, default 3000]
 *   BENCH_BASELINE=<raft-core index.js> overrides the baseline's location.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Message, RawNode } from '@tinyraft/raft-core';
import * as workspaceCore from '@tinyraft/raft-core';
import { MemoryStorage } from '@tinyraft/raft-core';
import { type CoreModule, electionTick, heartbeatTick, seededRandom } from './cluster.js';
import { resultsDir } from './harness.js';

const baselinePath =
  process.env.BENCH_BASELINE || join(resultsDir, 'baseline/raft-core/dist/index.js');
const baseline = (await import(pathToFileURL(resolve(baselinePath)).href)) as CoreModule;
const seeds = Number(process.argv[2] ?? 300);
const actions = Number(process.argv[3] ?? 3000);

function show(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? `bytes:${Array.from(v)}` : v));
}

function errorLine(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `thrown ${String(e)}`;
}

const badValues: unknown[] = [-1, 1.5, Number.NaN, 'x', null, undefined, 2 ** 60, true, {}];

/** A deep copy of `m` with one field, of the message, an entry or a snapshot, set to a bad value. */
function corrupt(m: Message, pick: (n: number) => number): unknown {
  const copy = structuredClone(m) as unknown as Record<string, unknown>;
  const bad = badValues[pick(badValues.length)];
  const entries = copy.entries as Record<string, unknown>[];
  const snapshot = copy.snapshot as { metadata: Record<string, unknown> } | undefined;
  const target =
    entries.length > 0 && pick(3) === 0
      ? (entries[pick(entries.length)] as Record<string, unknown>)
      : snapshot !== undefined && pick(2) === 0
        ? snapshot.metadata
        : copy;
  const fields = Object.keys(target);
  target[fields[pick(fields.length)] as string] = bad;
  return copy;
}

/** Totals over the workspace build's histories, to show that they exercise replication. */
let committed = 0;
let snapshots = 0;

/** One seeded history on one build, as a list of lines: what happened and what every node is. */
function history(core: CoreModule, seed: number): string[] {
  const rnd = seededRandom(seed);
  const pick = (n: number) => Math.floor(rnd() * n);
  const size = rnd() < 0.5 ? 3 : 5;
  const ids = Array.from({ length: size }, (_, k) => k + 1);
  const storages = ids.map(() => new MemoryStorage());
  const nodes: RawNode[] = ids.map(
    (id, k) =>
      new core.RawNode({
        id,
        peers: ids,
        electionTick,
        heartbeatTick,
        storage: storages[k] as MemoryStorage,
        random: seededRandom(seed * 31 + id),
        maxSizePerMsg: 64,
      }),
  );
  const inflight: Message[] = [];
  const lines: string[] = [];
  for (let a = 0; a < actions; a++) {
    const k = pick(size);
    const rn = nodes[k] as RawNode;
    const storage = storages[k] as MemoryStorage;
    const r = rnd();
    let line: string;
    try {
      if (r < 0.25) {
        rn.tick();
        line = `tick ${k + 1}`;
      } else if (r < 0.32) {
        const data = Array.from(
          { length: 1 + pick(4) },
          () => new Uint8Array([pick(256), pick(256)]),
        );
        line = `propose ${k + 1} ${show(data)}`;
        rn.proposeBatch(data);
      } else if (r < 0.72 && inflight.length > 0) {
        // Deliver a random message in flight (reordering), and lose one in ten.
        const m = inflight.splice(pick(inflight.length), 1)[0] as Message;
        line = `deliver ${show(m)}`;
        if (rnd() >= 0.1) {
          (nodes[m.to - 1] as RawNode).step(m);
        }
      } else if (r < 0.75) {
        // A hostile copy of a message in flight: one field broken; the error must not change.
        const m = inflight[pick(inflight.length)];
        const bad = m === undefined ? undefined : corrupt(m, pick);
        line = `hostile ${show(bad)}`;
        if (bad !== undefined) {
          rn.step(bad as Message);
        }
      } else if (r < 0.97) {
        line = `ready ${k + 1} has=${rn.hasReady()}`;
        if (rn.hasReady()) {
          const rd = rn.ready();
          line += ` ${show(rd)}`;
          if (rd.snapshot !== undefined) {
            storage.applySnapshot(rd.snapshot);
          }
          if (rd.hardState !== undefined) {
            storage.setHardState(rd.hardState);
          }
          storage.append(rd.entries);
          inflight.push(...rd.messages, ...rd.persistedMessages);
          rn.advance(rd);
        }
      } else {
        // Compact up to a few entries behind what this node applied, to force snapshots.
        const to = rn.raft.raftLog.applied - pick(3);
        line = `compact ${k + 1} to ${to}`;
        if (to > storage.firstIndex()) {
          storage.createSnapshot(to, { nodes: ids });
          storage.compact(to);
        }
      }
    } catch (e) {
      line = `threw ${errorLine(e)}`;
    }
    const states = nodes.map((n) => {
      const f = n.raft;
      const l = f.raftLog;
      return `${f.id}:${f.state}/${f.term}/${f.vote}/${f.lead}/${l.lastIndex()}/${l.committed}/${l.applied}/${l.stabled}/${f.msgs.length}`;
    });
    lines.push(`${line} => ${states.join(' ')}`);
  }
  committed += Math.max(...nodes.map((n) => n.raft.raftLog.committed));
  snapshots += lines.filter((l) => l.includes('"snapshot":{')).length;
  return lines;
}

let compared = 0;
for (let seed = 1; seed <= seeds; seed++) {
  const b = history(workspaceCore, seed);
  const [c, s] = [committed, snapshots];
  const a = history(baseline, seed);
  [committed, snapshots] = [c, s];
  for (let k = 0; k < a.length; k++) {
    if (a[k] !== b[k]) {
      console.error(`seed ${seed}, action ${k}: the builds differ`);
      console.error(`baseline: ${a[k]}`);
      console.error(`current:  ${b[k]}`);
      process.exit(1);
    }
  }
  compared += a.length;
}
console.log(
  `equivalent: ${seeds} seeds, ${compared.toLocaleString('en-US')} actions, identical messages, Readys and states ` +
    `(${committed.toLocaleString('en-US')} entries committed, ${snapshots} actions carrying a snapshot)`,
);
