import { describe, expect, test } from 'vitest';
import {
  CompactedError,
  type ConfState,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  type Snapshot,
  SnapshotOutOfDateError,
  type Storage,
  StorageError,
  UnavailableError,
  type WritableStorage,
} from '../src/index.js';

/** The write side that `MemoryStorage` and `FileStorage` share. */
export interface TestStorage extends WritableStorage {
  createSnapshot(index: number, confState?: ConfState, data?: Uint8Array): Snapshot;
  compact(compactIndex: number): void;
}

/** How the shared rules below get a storage of one kind. */
export interface StorageHarness {
  name: string;
  /**
   * A storage in the state `MemoryStorage.fromEntries(ents)` has: `ents[0]` is the dummy,
   * the other entries follow it, empty hard state, snapshot at index 0.
   */
  create(ents: Entry[]): TestStorage;
  /** The storage as a restarted node finds it; writes continue on the returned one. */
  reload(s: TestStorage): TestStorage;
}

export function ent(index: number, term: number, data?: number[]): Entry {
  const e: Entry = { entryType: EntryType.Normal, term, index };
  if (data !== undefined) {
    e.data = new Uint8Array(data);
  }
  return e;
}

/** Everything a `Storage` lets a reader see. */
export function dump(s: Storage): {
  dummy: { index: number; term: number };
  entries: Entry[];
  snapshot: Snapshot;
  initialState: { hardState: HardState; confState: ConfState };
} {
  const first = s.firstIndex();
  return {
    dummy: { index: first - 1, term: s.term(first - 1) },
    entries: s.entries(first, s.lastIndex() + 1),
    snapshot: s.snapshot(),
    initialState: s.initialState(),
  };
}

/** The log part of `dump`, in the shape `MemoryStorage.fromEntries` takes. */
function logOf(s: Storage): Entry[] {
  const { dummy, entries } = dump(s);
  return [ent(dummy.index, dummy.term), ...entries];
}

type ErrorClass = abstract new (...args: never[]) => Error;

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected a throw, but the call returned');
}

function expectError(f: () => unknown, cls: ErrorClass, message: RegExp): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(cls);
  expect(e.message).toMatch(message);
}

const cs: ConfState = { nodes: [1, 2, 3] };
const bytes = [0x64, 0x61, 0x74, 0x61];

/** Runs the rules of `2aa-suite.md` §"MemoryStorage" against one kind of storage. */
export function describeStorageContract(h: StorageHarness): void {
  /** Checks `s` as it is and as a restarted node sees it; returns the latter. */
  function both(s: TestStorage, check: (x: TestStorage) => void): TestStorage {
    check(s);
    const reloaded = h.reload(s);
    check(reloaded);
    return reloaded;
  }

  describe(`${h.name}: storage rules`, () => {
    test('a new storage holds only the dummy at index 0, an empty hard state and no snapshot', () => {
      both(h.create([ent(0, 0)]), (s) => {
        expect(s.firstIndex()).toBe(1);
        expect(s.lastIndex()).toBe(0);
        expect(s.term(0)).toBe(0);
        expect(s.entries(1, 1)).toEqual([]);
        expect(s.snapshot()).toEqual(emptySnapshot());
        expect(s.initialState()).toEqual({
          hardState: emptyHardState(),
          confState: { nodes: [] },
        });
      });
    });

    test('setHardState stores a copy, which initialState returns', () => {
      const s = h.create([ent(0, 0)]);
      const hs = { term: 3, vote: 2, commit: 1 };
      s.setHardState(hs);
      hs.term = 99;
      both(s, (x) => {
        expect(x.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 1 });
      });
    });

    test('the last setHardState wins', () => {
      const s = h.create([ent(0, 0)]);
      s.setHardState({ term: 1, vote: 1, commit: 0 });
      s.setHardState({ term: 2, vote: 0, commit: 0 });
      s.setHardState({ term: 2, vote: 3, commit: 0 });
      both(s, (x) => {
        expect(x.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 0 });
      });
    });

    describe('term(i): compacted before the dummy, the dummy term at its index, unavailable past the end', () => {
      test.each([
        { i: 2, want: CompactedError },
        { i: 3, want: 3 },
        { i: 4, want: 4 },
        { i: 5, want: 5 },
        { i: 6, want: UnavailableError },
      ])('term($i)', ({ i, want }) => {
        both(h.create([ent(3, 3), ent(4, 4), ent(5, 5)]), (s) => {
          if (typeof want === 'number') {
            expect(s.term(i)).toBe(want);
          } else {
            expectError(() => s.term(i), want, new RegExp(`index ${i}`));
          }
        });
      });

      test('the errors carry the indexes involved', () => {
        const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
        expect(thrown(() => s.term(2))).toMatchObject({ index: 2, firstIndex: 4 });
        expect(thrown(() => s.term(6))).toMatchObject({ index: 6, lastIndex: 5 });
      });
    });

    describe('entries(lo, hi): compacted when lo <= dummy, an error when hi > lastIndex + 1', () => {
      test.each([
        { lo: 2, hi: 6, want: CompactedError },
        { lo: 3, hi: 4, want: CompactedError },
        { lo: 4, hi: 5, want: [ent(4, 4)] },
        { lo: 4, hi: 6, want: [ent(4, 4), ent(5, 5)] },
        { lo: 4, hi: 7, want: [ent(4, 4), ent(5, 5), ent(6, 6)] },
        { lo: 5, hi: 5, want: [] },
        { lo: 7, hi: 7, want: [] },
        { lo: 4, hi: 8, want: /hi \(8\) is out of bound lastIndex \(6\)/ },
      ])('entries($lo, $hi)', ({ lo, hi, want }) => {
        both(h.create([ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 6)]), (s) => {
          if (Array.isArray(want)) {
            expect(s.entries(lo, hi)).toEqual(want);
          } else if (want instanceof RegExp) {
            expectError(() => s.entries(lo, hi), Error, want);
          } else {
            expectError(() => s.entries(lo, hi), want, new RegExp(`index ${lo}`));
          }
        });
      });
    });

    describe('entries(lo, hi, maxSize): stops before the entries pass maxSize bytes, but returns at least one', () => {
      // entrySize = 24 + payload bytes: the entries below weigh 34, 44 and 54.
      test.each([
        { maxSize: 0, want: 1 },
        { maxSize: 33, want: 1 },
        { maxSize: 34, want: 1 },
        { maxSize: 77, want: 1 },
        { maxSize: 78, want: 2 },
        { maxSize: 131, want: 2 },
        { maxSize: 132, want: 3 },
        { maxSize: Number.MAX_SAFE_INTEGER, want: 3 },
      ])('maxSize $maxSize gives $want entries', ({ maxSize, want }) => {
        const all = [
          ent(1, 1, Array(10).fill(1)),
          ent(2, 1, Array(20).fill(2)),
          ent(3, 1, Array(30).fill(3)),
        ];
        both(h.create([ent(0, 0), ...all]), (s) => {
          expect(s.entries(1, 4, maxSize)).toEqual(all.slice(0, want));
          expect(s.entries(4, 4, maxSize)).toEqual([]);
        });
      });
    });

    test('entries keep their data byte for byte; entries without data have no data property', () => {
      const all = Array.from({ length: 256 }, (_, i) => i);
      const s = h.create([ent(0, 0)]);
      s.append([
        ent(1, 1, all),
        ent(2, 1),
        ent(3, 1, []),
        { ...ent(4, 1, [7]), entryType: EntryType.ConfChange },
      ]);
      both(s, (x) => {
        const got = x.entries(1, 5);
        expect(got).toEqual([
          ent(1, 1, all),
          ent(2, 1),
          ent(3, 1, []),
          { ...ent(4, 1, [7]), entryType: EntryType.ConfChange },
        ]);
        expect(got[0]?.data).toBeInstanceOf(Uint8Array);
        expect(got[1] !== undefined && 'data' in got[1]).toBe(false);
        expect(got[2]?.data).toEqual(new Uint8Array(0));
      });
    });

    test('firstIndex and lastIndex follow appends and compaction', () => {
      const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 5]);
      s.append([ent(6, 5)]);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 6]);
      s.compact(4);
      both(s, (x) => {
        expect([x.firstIndex(), x.lastIndex()]).toEqual([5, 6]);
      });
    });

    describe('compact(ci): compacted when ci <= dummy, an error past lastIndex, else ci becomes the dummy', () => {
      test.each([
        { ci: 2, want: CompactedError },
        { ci: 3, want: CompactedError },
        { ci: 4, want: [ent(4, 4), ent(5, 5)] },
        { ci: 5, want: [ent(5, 5)] },
        { ci: 6, want: /compact index 6 is out of bound lastIndex \(5\)/ },
      ])('compact($ci)', ({ ci, want }) => {
        const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
        if (Array.isArray(want)) {
          s.compact(ci);
        } else if (want instanceof RegExp) {
          expectError(() => s.compact(ci), Error, want);
        } else {
          expectError(() => s.compact(ci), want, new RegExp(`index ${ci}`));
        }
        both(s, (x) => {
          expect(logOf(x)).toEqual(Array.isArray(want) ? want : [ent(3, 3), ent(4, 4), ent(5, 5)]);
        });
      });
    });

    test('compact keeps the index and term of entry ci as the dummy and no longer serves it', () => {
      const s = h.create([ent(0, 0), ent(1, 1, [1]), ent(2, 2, [2]), ent(3, 2, [3])]);
      s.compact(2);
      const x = both(s, (y) => {
        expect(y.term(2)).toBe(2);
        expect(y.firstIndex()).toBe(3);
        expectError(() => y.entries(2, 4), CompactedError, /index 2/);
        expect(y.entries(3, 4)).toEqual([ent(3, 2, [3])]);
      });
      expect(x.createSnapshot(2).metadata).toEqual({ index: 2, term: 2, confState: { nodes: [] } });
    });

    describe('createSnapshot(i, cs, data): out of date when i <= snapshot index, an error past lastIndex', () => {
      test.each([
        { i: 4, want: { metadata: { index: 4, term: 4, confState: cs }, data: bytes } },
        { i: 5, want: { metadata: { index: 5, term: 5, confState: cs }, data: bytes } },
        { i: 6, want: /snapshot index 6 is out of bound lastIndex \(5\)/ },
      ])('createSnapshot($i)', ({ i, want }) => {
        const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
        if (want instanceof RegExp) {
          expectError(() => s.createSnapshot(i, cs, new Uint8Array(bytes)), Error, want);
          both(s, (x) => expect(x.snapshot()).toEqual(emptySnapshot()));
          return;
        }
        const expected = { ...want, data: new Uint8Array(want.data) };
        expect(s.createSnapshot(i, cs, new Uint8Array(bytes))).toEqual(expected);
        both(s, (x) => {
          expect(x.snapshot()).toEqual(expected);
          expect(x.initialState().confState).toEqual(cs);
          // A snapshot does not discard entries; compact does.
          expect(logOf(x)).toEqual([ent(3, 3), ent(4, 4), ent(5, 5)]);
        });
      });

      test.each([
        { i: 3, current: 4 },
        { i: 4, current: 4 },
      ])('createSnapshot($i) after a snapshot at $current is out of date', ({ i, current }) => {
        const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
        s.createSnapshot(current);
        const e = thrown(() => s.createSnapshot(i));
        expect(e).toBeInstanceOf(SnapshotOutOfDateError);
        expect(e).toMatchObject({ index: i, snapshotIndex: current });
        expect(e.message).toMatch(new RegExp(`index ${i} is out of date.*index is ${current}`));
      });

      test('an index before the dummy is compacted', () => {
        const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
        expectError(() => s.createSnapshot(2), CompactedError, /index 2/);
      });

      test('without a conf state the previous one is kept; without data none is stored', () => {
        const s = h.create([ent(3, 3), ent(4, 4), ent(5, 5)]);
        s.createSnapshot(4, cs, new Uint8Array(bytes));
        const snap = s.createSnapshot(5);
        expect(snap).toEqual({ metadata: { index: 5, term: 5, confState: cs } });
        both(s, (x) => {
          expect(x.snapshot()).toEqual({ metadata: { index: 5, term: 5, confState: cs } });
          expect('data' in x.snapshot()).toBe(false);
        });
      });
    });

    describe('applySnapshot(snap): out of date unless newer; replaces the whole log', () => {
      const snapAt = (index: number, term: number): Snapshot => ({
        metadata: { index, term, confState: cs },
        data: new Uint8Array(bytes),
      });

      test('the log becomes the snapshot dummy and the hard state is untouched', () => {
        const s = h.create([ent(0, 0), ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 2), ent(5, 2)]);
        s.setHardState({ term: 2, vote: 1, commit: 5 });
        // Entries past the snapshot are discarded too, and the snapshot's term is the dummy's.
        s.applySnapshot(snapAt(3, 7));
        both(s, (x) => {
          expect(logOf(x)).toEqual([ent(3, 7)]);
          expect(x.firstIndex()).toBe(4);
          expect(x.lastIndex()).toBe(3);
          expect(x.snapshot()).toEqual(snapAt(3, 7));
          expect(x.initialState()).toEqual({
            hardState: { term: 2, vote: 1, commit: 5 },
            confState: cs,
          });
        });
      });

      test.each([
        { name: 'index 0 on a new storage', before: [], index: 0, ok: false },
        { name: 'index 4 on a new storage', before: [], index: 4, ok: true },
        { name: 'index 3 after 4', before: [4], index: 3, ok: false },
        { name: 'index 4 after 4', before: [4], index: 4, ok: false },
        { name: 'index 5 after 4', before: [4], index: 5, ok: true },
      ])('$name', ({ before, index, ok }) => {
        let s = h.create([ent(0, 0)]);
        for (const b of before) {
          s.applySnapshot(snapAt(b, b));
        }
        if (ok) {
          s.applySnapshot(snapAt(index, index));
        } else {
          expectError(
            () => s.applySnapshot(snapAt(index, index)),
            SnapshotOutOfDateError,
            new RegExp(`index ${index} is out of date`),
          );
        }
        s = h.reload(s);
        const want = ok ? index : (before[0] ?? 0);
        expect(s.snapshot().metadata.index).toBe(want);
        expect(logOf(s)).toEqual([ent(want, want)]);
      });

      test('entries can be appended right after the snapshot', () => {
        const s = h.create([ent(0, 0)]);
        s.applySnapshot(snapAt(10, 3));
        expectError(() => s.append([ent(12, 3)]), Error, /missing log entry/);
        s.append([ent(11, 3), ent(12, 4)]);
        both(s, (x) => expect(logOf(x)).toEqual([ent(10, 3), ent(11, 3), ent(12, 4)]));
      });
    });

    describe('append(entries): skip compacted, replace from the first new index, refuse gaps', () => {
      const base = (): Entry[] => [ent(3, 3), ent(4, 4), ent(5, 5)];
      test.each([
        { name: 'the same entries change nothing', batch: base(), want: base() },
        {
          name: 'a conflicting suffix is replaced',
          batch: [ent(3, 3), ent(4, 6), ent(5, 6)],
          want: [ent(3, 3), ent(4, 6), ent(5, 6)],
        },
        {
          name: 'a longer batch extends the log',
          batch: [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)],
          want: [...base(), ent(6, 5)],
        },
        {
          name: 'leading compacted entries are skipped',
          batch: [ent(2, 3), ent(3, 3), ent(4, 5)],
          want: [ent(3, 3), ent(4, 5)],
        },
        {
          name: 'a batch starting inside the log replaces everything from its first index',
          batch: [ent(4, 5)],
          want: [ent(3, 3), ent(4, 5)],
        },
        {
          name: 'a batch starting at firstIndex replaces every entry',
          batch: [ent(4, 7), ent(5, 7), ent(6, 7), ent(7, 7)],
          want: [ent(3, 3), ent(4, 7), ent(5, 7), ent(6, 7), ent(7, 7)],
        },
        {
          name: 'a batch starting at lastIndex + 1 is appended',
          batch: [ent(6, 5)],
          want: [...base(), ent(6, 5)],
        },
        { name: 'an empty batch is a no-op', batch: [], want: base() },
        {
          name: 'a batch ending before firstIndex is a no-op',
          batch: [ent(1, 1), ent(2, 1)],
          want: base(),
        },
        {
          name: 'a batch ending at the dummy is a no-op',
          batch: [ent(2, 9), ent(3, 9)],
          want: base(),
        },
        {
          name: 'a batch that would leave a gap is refused',
          batch: [ent(7, 5)],
          want: /missing log entry \[last: 5, append at: 7\]/,
        },
        {
          name: 'a non-contiguous batch is refused',
          batch: [ent(4, 4), ent(6, 4)],
          want: /not contiguous: index 6 follows index 4/,
        },
        {
          name: 'a non-contiguous batch is refused even below firstIndex',
          batch: [ent(1, 1), ent(3, 1)],
          want: /not contiguous: index 3 follows index 1/,
        },
        {
          name: 'a batch going backwards is refused',
          batch: [ent(5, 5), ent(4, 5)],
          want: /not contiguous: index 4 follows index 5/,
        },
      ])('$name', ({ batch, want }) => {
        const s = h.create(base());
        if (want instanceof RegExp) {
          expectError(() => s.append(batch), Error, want);
        } else {
          s.append(batch);
        }
        both(s, (x) => expect(logOf(x)).toEqual(want instanceof RegExp ? base() : want));
      });
    });

    describe('persist(update): the snapshot and hard state (if given), then the entries, or none', () => {
      const base = (): Entry[] => [ent(3, 3), ent(4, 4), ent(5, 5)];
      const hs: HardState = { term: 6, vote: 2, commit: 4 };
      test.each([
        { name: 'a hard state alone is stored', hardState: hs, batch: [], want: base() },
        {
          name: 'entries alone are appended and the hard state is kept',
          batch: [ent(6, 5)],
          want: [...base(), ent(6, 5)],
        },
        {
          name: 'a hard state and entries are both stored',
          hardState: hs,
          batch: [ent(6, 6), ent(7, 6)],
          want: [...base(), ent(6, 6), ent(7, 6)],
        },
        {
          name: 'a conflicting suffix is replaced',
          hardState: hs,
          batch: [ent(4, 6), ent(5, 6)],
          want: [ent(3, 3), ent(4, 6), ent(5, 6)],
        },
        {
          name: 'leading compacted entries are skipped',
          hardState: hs,
          batch: [ent(2, 3), ent(3, 3), ent(4, 6)],
          want: [ent(3, 3), ent(4, 6)],
        },
        { name: 'nothing to store is a no-op', batch: [], want: base() },
        {
          name: 'a batch that would leave a gap is refused, hard state included',
          hardState: hs,
          batch: [ent(7, 5)],
          want: /missing log entry \[last: 5, append at: 7\]/,
        },
        {
          name: 'a non-contiguous batch is refused, hard state included',
          hardState: hs,
          batch: [ent(5, 5), ent(7, 5)],
          want: /not contiguous: index 7 follows index 5/,
        },
      ])('$name', ({ hardState, batch, want }) => {
        const s = h.create(base());
        const before: HardState = { term: 5, vote: 1, commit: 3 };
        s.setHardState(before);
        const update = hardState === undefined ? { entries: batch } : { hardState, entries: batch };
        if (want instanceof RegExp) {
          expectError(() => s.persist(update), Error, want);
        } else {
          s.persist(update);
        }
        const stored = want instanceof RegExp || hardState === undefined ? before : hardState;
        both(s, (x) => {
          expect(logOf(x)).toEqual(want instanceof RegExp ? base() : want);
          expect(x.initialState().hardState).toEqual(stored);
        });
      });

      test('persist stores the state that setHardState and then append store', () => {
        const a = h.create(base());
        const b = h.create(base());
        const batch = (): Entry[] => [ent(4, 6, [1]), ent(5, 6), ent(6, 6, [2, 3])];
        a.persist({ hardState: { ...hs }, entries: batch() });
        b.setHardState({ ...hs });
        b.append(batch());
        expect(dump(h.reload(a))).toEqual(dump(h.reload(b)));
      });

      describe('with a snapshot: applied first, then the hard state, then entries after it', () => {
        const snap = (index: number, term: number): Snapshot => ({
          metadata: { index, term, confState: cs },
          data: new Uint8Array(bytes),
        });

        test('stores the snapshot, the hard state and the entries that follow it', () => {
          const s = h.create(base());
          s.persist({ snapshot: snap(8, 6), hardState: hs, entries: [ent(9, 6), ent(10, 6)] });
          both(s, (x) => {
            expect(logOf(x)).toEqual([ent(8, 6), ent(9, 6), ent(10, 6)]);
            expect(x.snapshot()).toEqual(snap(8, 6));
            expect(x.initialState().hardState).toEqual(hs);
          });
        });

        test('is what applySnapshot, setHardState and append store one after the other', () => {
          const a = h.create(base());
          const b = h.create(base());
          a.persist({
            snapshot: snap(4, 6),
            hardState: { ...hs },
            entries: [ent(4, 6), ent(5, 6)],
          });
          b.applySnapshot(snap(4, 6));
          b.setHardState({ ...hs });
          b.append([ent(4, 6), ent(5, 6)]);
          expect(dump(h.reload(a))).toEqual(dump(h.reload(b)));
        });

        test.each([
          {
            name: 'an out-of-date snapshot',
            update: { snapshot: snap(0, 0), hardState: hs, entries: [] },
            want: /index 0 is out of date/,
          },
          {
            name: 'entries that leave a gap after the snapshot',
            update: { snapshot: snap(8, 6), hardState: hs, entries: [ent(10, 6)] },
            want: /missing log entry \[last: 8, append at: 10\]/,
          },
        ])('refuses $name and changes nothing', ({ update, want }) => {
          const s = h.create(base());
          const before: HardState = { term: 5, vote: 1, commit: 3 };
          s.setHardState(before);
          const old = dump(s);
          expectError(() => s.persist(update), Error, want);
          both(s, (x) => {
            expect(logOf(x)).toEqual(base());
            expect(x.initialState().hardState).toEqual(before);
          });
          expect(dump(s)).toEqual(old);
        });
      });

      test('persist stores a copy of the hard state, as setHardState does', () => {
        const s = h.create(base());
        const hardState = { ...hs };
        s.persist({ hardState, entries: [ent(6, 6)] });
        hardState.term = 99;
        both(s, (x) => expect(x.initialState().hardState).toEqual(hs));
      });
    });

    describe('misuse throws and changes nothing', () => {
      const misuse: Array<{
        name: string;
        op: (s: TestStorage) => unknown;
        cls: ErrorClass;
        message: RegExp;
      }> = [
        {
          name: 'append with a gap',
          op: (s) => s.append([ent(9, 6)]),
          cls: Error,
          message: /missing log entry \[last: 6, append at: 9\]/,
        },
        {
          name: 'append of a non-contiguous batch',
          op: (s) => s.append([ent(5, 6), ent(7, 6)]),
          cls: Error,
          message: /index 7 follows index 5/,
        },
        {
          name: 'compact at the dummy',
          op: (s) => s.compact(3),
          cls: CompactedError,
          message: /index 3 .*first index is 4/,
        },
        {
          name: 'compact past the end',
          op: (s) => s.compact(7),
          cls: Error,
          message: /compact index 7 is out of bound lastIndex \(6\)/,
        },
        {
          name: 'createSnapshot at the snapshot index',
          op: (s) => s.createSnapshot(4, { nodes: [9] }),
          cls: SnapshotOutOfDateError,
          message: /index 4 is out of date/,
        },
        {
          name: 'createSnapshot past the end',
          op: (s) => s.createSnapshot(7, { nodes: [9] }),
          cls: Error,
          message: /snapshot index 7 is out of bound lastIndex \(6\)/,
        },
        {
          name: 'applySnapshot of an older snapshot',
          op: (s) => s.applySnapshot({ metadata: { index: 3, term: 3, confState: { nodes: [] } } }),
          cls: SnapshotOutOfDateError,
          message: /index 3 is out of date.*index is 4/,
        },
        {
          name: 'entries with hi past lastIndex + 1',
          op: (s) => s.entries(4, 8),
          cls: Error,
          message: /hi \(8\) is out of bound lastIndex \(6\)/,
        },
        {
          name: 'entries with lo at the dummy',
          op: (s) => s.entries(3, 5),
          cls: CompactedError,
          message: /index 3/,
        },
        { name: 'term past the end', op: (s) => s.term(7), cls: UnavailableError, message: /7/ },
        { name: 'term before the dummy', op: (s) => s.term(2), cls: CompactedError, message: /2/ },
      ];

      test.each(misuse)('$name', ({ op, cls, message }) => {
        const s = h.create([ent(3, 3), ent(4, 4, [4]), ent(5, 5, [5]), ent(6, 5)]);
        s.setHardState({ term: 5, vote: 2, commit: 5 });
        s.createSnapshot(4, cs, new Uint8Array(bytes));
        const before = dump(s);
        expectError(() => op(s), cls, message);
        both(s, (x) => expect(dump(x)).toEqual(before));
      });

      test('every storage error extends StorageError', () => {
        const s = h.create([ent(3, 3), ent(4, 4)]);
        for (const op of [() => s.term(1), () => s.term(9), () => s.createSnapshot(0)]) {
          expect(thrown(op)).toBeInstanceOf(StorageError);
        }
      });
    });
  });
}
