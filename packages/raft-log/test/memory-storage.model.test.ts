import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  type ConfState,
  type Entry,
  type HardState,
  MemoryStorage,
  type Snapshot,
} from '../src/index.js';
import { type ConcreteTarget, concrete, opArb, outcome, seedFromEnv } from './random-ops.js';
import { dump } from './storage-contract.js';

/**
 * The rules of `2aa-suite.md` §"MemoryStorage" restated as plainly as possible: the log is
 * the dummy `base` plus `log`, and each rule is written one entry at a time.
 */
class Model {
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  snap: Snapshot = { metadata: { index: 0, term: 0, confState: { nodes: [] } } };
  base = { index: 0, term: 0 };
  log: Entry[] = [];

  first(): number {
    return this.base.index + 1;
  }

  last(): number {
    return this.base.index + this.log.length;
  }

  termAt(i: number): number {
    return i === this.base.index ? this.base.term : (this.log[i - this.first()] as Entry).term;
  }

  /** Returns the name of the error the rule calls for, or undefined when it succeeds. */
  append(batch: Entry[]): string | undefined {
    if (batch.some((e, k) => k > 0 && e.index !== (batch[k - 1] as Entry).index + 1)) {
      return 'Error';
    }
    const kept = batch.filter((e) => e.index >= this.first());
    if (kept.length > 0 && (kept[0] as Entry).index > this.last() + 1) {
      return 'Error';
    }
    for (const e of kept) {
      // Everything from e's index on goes, then e takes its place.
      this.log.splice(e.index - this.first());
      this.log.push(e);
    }
    return undefined;
  }

  /** The hard state is set only when the entries are accepted: both or neither. */
  persist(hardState: HardState | undefined, batch: Entry[]): string | undefined {
    const error = this.append(batch);
    if (error === undefined && hardState !== undefined) {
      this.hardState = hardState;
    }
    return error;
  }

  compact(ci: number): string | undefined {
    if (ci <= this.base.index) {
      return 'CompactedError';
    }
    if (ci > this.last()) {
      return 'Error';
    }
    this.base = { index: ci, term: this.termAt(ci) };
    this.log = this.log.filter((e) => e.index > ci);
    return undefined;
  }

  createSnapshot(i: number, confState?: ConfState, data?: Uint8Array): string | undefined {
    if (i <= this.snap.metadata.index) {
      return 'SnapshotOutOfDateError';
    }
    if (i > this.last()) {
      return 'Error';
    }
    if (i < this.base.index) {
      return 'CompactedError';
    }
    const snap: Snapshot = {
      metadata: {
        index: i,
        term: this.termAt(i),
        confState: confState ?? this.snap.metadata.confState,
      },
    };
    if (data !== undefined) {
      snap.data = data;
    }
    this.snap = snap;
    return undefined;
  }

  applySnapshot(snap: Snapshot): string | undefined {
    if (snap.metadata.index <= this.snap.metadata.index) {
      return 'SnapshotOutOfDateError';
    }
    this.snap = snap;
    this.base = { index: snap.metadata.index, term: snap.metadata.term };
    this.log = [];
    return undefined;
  }
}

const seed = seedFromEnv(20_251_129);

test(`random append/persist/compact/createSnapshot/applySnapshot sequences follow the array model (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60, size: 'medium' }), (ops) => {
      const s = new MemoryStorage();
      const m = new Model();
      const modelTarget: ConcreteTarget = {
        append: (b) => m.append(b),
        persist: (u) => m.persist(u.hardState, u.entries),
        compact: (i) => m.compact(i),
        createSnapshot: (i, c, d) => m.createSnapshot(i, c, d),
        applySnapshot: (snap) => m.applySnapshot(snap),
        setHardState: (hs) => {
          m.hardState = hs;
        },
      };
      for (const [k, op] of ops.entries()) {
        const call = concrete(op, s);
        const want = call(modelTarget) as string | undefined;
        const got = outcome(() => call(s));
        const where = `seed ${seed}, operation ${k}: ${JSON.stringify(op)}`;
        expect(got, where).toBe(want);
        expect(dump(s), where).toEqual({
          dummy: m.base,
          entries: m.log,
          snapshot: m.snap,
          initialState: { hardState: m.hardState, confState: m.snap.metadata.confState },
        });
      }
    }),
    { seed, numRuns: 150 },
  );
});
