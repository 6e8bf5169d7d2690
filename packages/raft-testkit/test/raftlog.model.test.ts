/**
 * Model-based test of `RaftLog`: random sequences of appends (with truncation, and invalid ones),
 * commits, applies, persists (`stableTo`, partial and stale), compactions, restarts from storage and snapshot
 * restores run against both a `RaftLog` on a `MemoryStorage` and a plain array model. After every
 * command the log's whole observable state must match the model: indexes, terms, entries,
 * `unstableEntries()`, `nextEnts()`, and which errors `term(i)` throws outside the log.
 *
 * Replay with LOG_MODEL_SEED=<n>; fast-check prints the seed and the shrunk command list on failure.
 */
import {
  CompactedError,
  type Entry,
  MemoryStorage,
  RaftLog,
  type Snapshot,
  UnavailableError,
} from '@tinyraft/raft-core';
import fc from 'fast-check';
import { expect, test } from 'vitest';

const seed = Number(process.env.LOG_MODEL_SEED ?? 4_242);

/** The log as plain data: entries after `offset`, in order. */
interface Model {
  offset: number;
  offsetTerm: number;
  entries: Entry[];
  committed: number;
  applied: number;
  stabled: number;
}

interface Real {
  storage: MemoryStorage;
  log: RaftLog;
}

const last = (m: Model): number => m.offset + m.entries.length;

function termAt(m: Model, i: number): number | undefined {
  return i === m.offset ? m.offsetTerm : m.entries[i - m.offset - 1]?.term;
}

/** Picks an index in [lo, hi] from a fraction in [0, 1). */
const pick = (lo: number, hi: number, f: number): number => lo + Math.floor(f * (hi - lo + 1));

const strip = (ents: readonly Entry[]): unknown[] =>
  ents.map((e) => [e.index, e.term, e.entryType, e.data === undefined ? null : [...e.data]]);

/** The whole observable state of the log equals the model's. */
function expectSame(m: Model, r: Real, after: string): void {
  const log = r.log;
  const what = `after ${after}`;
  expect(log.firstIndex(), `firstIndex ${what}`).toBe(m.offset + 1);
  expect(log.lastIndex(), `lastIndex ${what}`).toBe(last(m));
  expect(log.lastTerm(), `lastTerm ${what}`).toBe(termAt(m, last(m)));
  expect(log.committed, `committed ${what}`).toBe(m.committed);
  expect(log.applied, `applied ${what}`).toBe(m.applied);
  expect(log.stabled, `stabled ${what}`).toBe(m.stabled);
  expect(strip(log.entries), `entries ${what}`).toEqual(strip(m.entries));
  expect(strip(log.unstableEntries()), `unstableEntries ${what}`).toEqual(
    strip(m.entries.filter((e) => e.index > m.stabled)),
  );
  expect(strip(log.nextEnts()), `nextEnts ${what}`).toEqual(
    strip(m.entries.filter((e) => e.index > m.applied && e.index <= m.committed)),
  );
  expect(log.hasNextEnts(), `hasNextEnts ${what}`).toBe(
    m.committed > Math.max(m.applied, m.offset),
  );
  for (let i = m.offset; i <= last(m); i++) {
    expect(log.term(i), `term(${i}) ${what}`).toBe(termAt(m, i));
  }
  if (m.offset > 0) {
    expect(() => log.term(m.offset - 1), `term before the log ${what}`).toThrow(CompactedError);
  }
  expect(() => log.term(last(m) + 1), `term past the log ${what}`).toThrow(UnavailableError);
}

let payload = 0;

class Append implements fc.Command<Model, Real> {
  constructor(
    readonly where: number,
    readonly terms: number[],
    readonly invalid: 'none' | 'before-commit' | 'gap',
  ) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const after =
      this.invalid === 'before-commit'
        ? m.committed - 1
        : this.invalid === 'gap'
          ? last(m) + 1
          : pick(m.committed, last(m), this.where);
    const ents: Entry[] = this.terms.map((term, k) => {
      const e: Entry = { entryType: 0, term, index: after + 1 + k };
      if (k % 2 === 0) {
        e.data = new Uint8Array([++payload & 0xff]);
      }
      return e;
    });
    const valid = ents.length === 0 || (after >= m.committed && after <= last(m));
    if (!valid) {
      expect(() => r.log.append(ents), `append after ${after} must be refused`).toThrow();
    } else {
      r.log.append(ents);
      if (ents.length > 0) {
        m.entries = [...m.entries.slice(0, after - m.offset), ...ents];
        m.stabled = Math.min(m.stabled, after);
      }
    }
    expectSame(m, r, this.toString());
  }
  toString = (): string => `append(${this.invalid}, ${this.where.toFixed(2)}, [${this.terms}])`;
}

class CommitTo implements fc.Command<Model, Real> {
  constructor(readonly where: number) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const target = pick(m.committed, last(m) + 1, this.where);
    if (target > m.committed && target > last(m)) {
      expect(() => r.log.commitTo(target), `commit past the log (${target})`).toThrow();
    } else {
      r.log.commitTo(target);
      m.committed = Math.max(m.committed, target);
    }
    expectSame(m, r, this.toString());
  }
  toString = (): string => `commitTo(${this.where.toFixed(2)})`;
}

class AppliedTo implements fc.Command<Model, Real> {
  constructor(readonly where: number) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const target = pick(m.applied, m.committed + 1, this.where);
    if (target > m.committed) {
      expect(() => r.log.appliedTo(target), `apply past the commit (${target})`).toThrow();
    } else {
      r.log.appliedTo(target);
      m.applied = Math.max(m.applied, target);
    }
    expectSame(m, r, this.toString());
  }
  toString = (): string => `appliedTo(${this.where.toFixed(2)})`;
}

/**
 * What a runtime does with a Ready: write unstable entries (here a prefix of them) to storage,
 * then `stableTo` the last one written. With a stale term (the entry was overwritten since the
 * Ready) `stableTo` must do nothing.
 */
class Persist implements fc.Command<Model, Real> {
  constructor(
    readonly where: number,
    readonly staleTerm: boolean,
  ) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const index = pick(m.stabled, last(m), this.where);
    const written = m.entries.filter((e) => e.index > m.stabled && e.index <= index);
    r.storage.append(written);
    const term = termAt(m, index) as number;
    r.log.stableTo(index, this.staleTerm ? term + 1 : term);
    if (!this.staleTerm && index > m.stabled) {
      m.stabled = index;
    }
    expectSame(m, r, this.toString());
  }
  toString = (): string => `persist(${this.where.toFixed(2)}, stale ${this.staleTerm})`;
}

/** The application compacts storage up to what it applied; the log drops what storage dropped. */
class Compact implements fc.Command<Model, Real> {
  constructor(readonly where: number) {}
  check = (m: Model): boolean => m.applied > m.offset;
  run(m: Model, r: Real): void {
    const storageLast = r.storage.lastIndex();
    const hi = Math.min(m.applied, storageLast);
    const lo = r.storage.firstIndex();
    if (hi >= lo) {
      const index = pick(lo, hi, this.where);
      r.storage.compact(index);
    }
    r.log.maybeCompact();
    const compactedTo = r.storage.firstIndex() - 1;
    if (compactedTo > m.offset && compactedTo <= m.stabled && compactedTo <= last(m)) {
      m.offsetTerm = termAt(m, compactedTo) as number;
      m.entries = m.entries.slice(compactedTo - m.offset);
      m.offset = compactedTo;
    }
    expectSame(m, r, this.toString());
  }
  toString = (): string => `compact(${this.where.toFixed(2)})`;
}

/** A new `RaftLog` on the same storage holds exactly what was persisted. */
class Restart implements fc.Command<Model, Real> {
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    r.log = new RaftLog(r.storage);
    const first = r.storage.firstIndex();
    const lastStored = r.storage.lastIndex();
    m.offset = first - 1;
    m.offsetTerm = r.storage.term(first - 1);
    m.entries = lastStored >= first ? r.storage.entries(first, lastStored + 1) : [];
    m.stabled = lastStored;
    m.committed = first - 1;
    m.applied = first - 1;
    expectSame(m, r, this.toString());
  }
  toString = (): string => 'restart';
}

/** A leader's snapshot past the commit replaces the whole log (and the runtime persists it). */
class Restore implements fc.Command<Model, Real> {
  constructor(
    readonly ahead: number,
    readonly term: number,
  ) {}
  check = (): boolean => true;
  run(m: Model, r: Real): void {
    const index = m.committed + this.ahead;
    const snap: Snapshot = { metadata: { index, term: this.term, confState: { nodes: [1] } } };
    r.log.restore(snap);
    r.storage.applySnapshot(snap);
    m.offset = index;
    m.offsetTerm = this.term;
    m.entries = [];
    m.committed = index;
    m.applied = index;
    m.stabled = index;
    expect(r.log.pendingSnapshot, 'the snapshot waits to be persisted').toBe(snap);
    expectSame(m, r, this.toString());
  }
  toString = (): string => `restore(+${this.ahead}, term ${this.term})`;
}

/** A position in a range, as a fraction in [0, 1). */
const fraction = fc.integer({ min: 0, max: 999 }).map((n) => n / 1000);

const append = fc
  .tuple(
    fraction,
    fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 5 }),
    fc.constantFrom('none', 'none', 'none', 'before-commit', 'gap'),
  )
  .map(([w, t, inv]) => new Append(w, t, inv as Append['invalid']));

/** Each arbitrary listed twice is drawn twice as often: restarts and restores stay rarer. */
const commands = [
  append,
  append,
  fraction.map((w) => new CommitTo(w)),
  fraction.map((w) => new CommitTo(w)),
  fraction.map((w) => new AppliedTo(w)),
  fraction.map((w) => new AppliedTo(w)),
  fc.tuple(fraction, fc.boolean()).map(([w, s]) => new Persist(w, s)),
  fc.tuple(fraction, fc.constant(false)).map(([w, s]) => new Persist(w, s)),
  fraction.map((w) => new Compact(w)),
  fraction.map((w) => new Compact(w)),
  fc.constant(new Restart()),
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }))
    .map(([a, t]) => new Restore(a, t)),
];

test('RaftLog behaves like an array of entries with committed, applied and stabled marks', () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80, size: 'max' }), (cmds) => {
      const storage = new MemoryStorage();
      const setup = (): { model: Model; real: Real } => ({
        model: { offset: 0, offsetTerm: 0, entries: [], committed: 0, applied: 0, stabled: 0 },
        real: { storage, log: new RaftLog(storage) },
      });
      fc.modelRun(setup, cmds);
    }),
    { seed, numRuns: 300 },
  );
});
