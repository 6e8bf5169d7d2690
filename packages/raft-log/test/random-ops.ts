import fc from 'fast-check';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type PersistUpdate,
  type Snapshot,
} from '../src/index.js';

/** The seed of the randomized tests: `SEED=n` replays a run; the default keeps CI stable. */
export function seedFromEnv(fallback: number): number {
  const s = process.env.SEED;
  return s === undefined ? fallback : Number(s);
}

/**
 * One random operation. Indexes are drawn as a position in a window around the current log
 * (`at`), and placed when the operation runs, so that most operations hit interesting ranges.
 */
type AppendOp = {
  kind: 'append';
  at: number;
  count: number;
  term: number;
  gapAt: number;
  data: number[];
};

export type Op =
  | AppendOp
  | { kind: 'persist'; append: AppendOp; hardState: HardState | null }
  | { kind: 'compact'; at: number }
  | { kind: 'createSnapshot'; at: number; nodes: number[] | null; data: number[] | null }
  | { kind: 'applySnapshot'; at: number; term: number; nodes: number[]; data: number[] | null }
  | { kind: 'setHardState'; hardState: HardState };

const small = fc.nat({ max: 6 });
const nodes = fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 3 });
const data = fc.array(fc.nat({ max: 255 }), { maxLength: 3 });

const hardState = fc.record({ term: small, vote: small, commit: small });
const appendArb: fc.Arbitrary<AppendOp> = fc.record({
  kind: fc.constant('append' as const),
  at: fc.nat({ max: 400 }),
  count: fc.nat({ max: 4 }),
  term: small,
  gapAt: fc.nat({ max: 20 }),
  data,
});

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: appendArb, weight: 5 },
  {
    arbitrary: fc.record({
      kind: fc.constant('persist' as const),
      append: appendArb,
      hardState: fc.option(hardState),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('compact' as const), at: fc.nat({ max: 400 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('createSnapshot' as const),
      at: fc.nat({ max: 400 }),
      nodes: fc.option(nodes),
      data: fc.option(data),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('applySnapshot' as const),
      at: fc.nat({ max: 400 }),
      term: small,
      nodes,
      data: fc.option(data),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('setHardState' as const),
      hardState,
    }),
    weight: 1,
  },
);

/**
 * Turns the drawn `at` into an index: one draw in four lands anywhere in `wide` (errors
 * included), the others in `likely` (where the operation usually succeeds) when it is not empty.
 */
function place(at: number, wide: [number, number], likely: [number, number]): number {
  const [lo, hi] = at % 4 === 0 || likely[0] > likely[1] ? wide : likely;
  const from = Math.max(0, lo);
  return from + (Math.floor(at / 4) % (Math.max(from, hi) - from + 1));
}

/** The storage the property drives, as far as these operations go. */
export interface Driven {
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/**
 * Turns `op` into the call to make, with concrete indexes chosen from `s`'s current state.
 * Each call builds fresh objects, so two storages never share an argument.
 */
export function concrete(op: Op, s: Driven): (target: ConcreteTarget) => unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const snapIndex = s.snapshot().metadata.index;
  switch (op.kind) {
    case 'append': {
      const start = place(op.at, [first - 2, last + 2], [first, last + 1]);
      return (t) => t.append(batchOf(op, start));
    }
    case 'persist': {
      const start = place(op.append.at, [first - 2, last + 2], [first, last + 1]);
      const hs = op.hardState;
      return (t) =>
        t.persist(
          hs === null
            ? { entries: batchOf(op.append, start) }
            : { hardState: { ...hs }, entries: batchOf(op.append, start) },
        );
    }
    case 'compact': {
      const ci = place(op.at, [first - 2, last + 1], [first, last]);
      return (t) => t.compact(ci);
    }
    case 'createSnapshot': {
      const i = place(op.at, [snapIndex - 1, last + 1], [Math.max(snapIndex + 1, first - 1), last]);
      return (t) =>
        t.createSnapshot(
          i,
          op.nodes === null ? undefined : { nodes: [...op.nodes] },
          op.data === null ? undefined : new Uint8Array(op.data),
        );
    }
    case 'applySnapshot': {
      const i = place(op.at, [snapIndex - 1, last + 3], [snapIndex + 1, last + 3]);
      return (t) => {
        const snap: Snapshot = {
          metadata: { index: i, term: op.term, confState: { nodes: [...op.nodes] } },
        };
        if (op.data !== null) {
          snap.data = new Uint8Array(op.data);
        }
        return t.applySnapshot(snap);
      };
    }
    case 'setHardState':
      return (t) => t.setHardState({ ...op.hardState });
  }
}

/** The entries `op` appends from index `start` on; fresh objects on every call. */
function batchOf(op: AppendOp, start: number): Entry[] {
  const batch: Entry[] = [];
  for (let k = 0; k < op.count; k++) {
    // gapAt picks, once in a while, an entry whose index skips one.
    const index = start + k + (k > 0 && k === op.gapAt ? 1 : 0);
    const e: Entry = { entryType: EntryType.Normal, term: op.term, index };
    if (op.data.length > 0 && (index + op.term) % 3 !== 0) {
      e.data = new Uint8Array(op.data);
    }
    batch.push(e);
  }
  return batch;
}

export interface ConcreteTarget {
  append(entries: Entry[]): unknown;
  persist(update: PersistUpdate): unknown;
  compact(i: number): unknown;
  createSnapshot(i: number, confState?: ConfState, data?: Uint8Array): unknown;
  applySnapshot(snap: Snapshot): unknown;
  setHardState(hs: HardState): unknown;
}

/** Runs `call`; returns the thrown error's name, or undefined. */
export function outcome(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (e) {
    return (e as Error).name;
  }
}
