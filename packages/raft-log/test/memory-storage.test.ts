import { describe, expect, test } from 'vitest';
import { emptyHardState, emptySnapshot, MemoryStorage } from '../src/index.js';
import { describeStorageContract, ent } from './storage-contract.js';

describeStorageContract({
  name: 'MemoryStorage',
  // Fresh objects every time: fromEntries adopts the array, and tables share their rows.
  create: (ents) => MemoryStorage.fromEntries(ents.map((e) => ({ ...e }))),
  reload: (s) => s,
});

describe('MemoryStorage construction', () => {
  test('new MemoryStorage() holds the dummy {index 0, term 0}, an empty hard state and no snapshot', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState()).toEqual({ hardState: emptyHardState(), confState: { nodes: [] } });
    expect(s.snapshot()).toEqual(emptySnapshot());
  });

  test('fromEntries takes the array as is: its first element is the dummy', () => {
    const s = MemoryStorage.fromEntries([ent(0, 0), ent(1, 2), ent(2, 2)]);
    expect([s.firstIndex(), s.lastIndex(), s.term(0), s.term(2)]).toEqual([1, 2, 0, 2]);
    expect(s.entries(1, 3)).toEqual([ent(1, 2), ent(2, 2)]);
    expect(s.initialState()).toEqual({ hardState: emptyHardState(), confState: { nodes: [] } });
  });

  test('fromEntries with a dummy past 0 starts the log after it; the snapshot stays at 0', () => {
    const s = MemoryStorage.fromEntries([ent(5, 3), ent(6, 3)]);
    expect([s.firstIndex(), s.lastIndex(), s.term(5)]).toEqual([6, 6, 3]);
    expect(s.snapshot()).toEqual(emptySnapshot());
  });

  test('fromEntries adopts the array: later appends land in it', () => {
    const ents = [ent(0, 0), ent(1, 1)];
    const s = MemoryStorage.fromEntries(ents);
    s.append([ent(2, 1)]);
    expect(ents).toEqual([ent(0, 0), ent(1, 1), ent(2, 1)]);
  });

  test('fromEntries without the dummy throws', () => {
    expect(() => MemoryStorage.fromEntries([])).toThrow(/at least the dummy entry/);
  });
});

describe('MemoryStorage input checks', () => {
  test.each([
    [
      'compact(1.5)',
      (s: MemoryStorage) => s.compact(1.5),
      /compact index must be a non-negative integer, got 1.5/,
    ],
    [
      'term(-1)',
      (s: MemoryStorage) => s.term(-1),
      /term index must be a non-negative integer, got -1/,
    ],
    ['entries(2, 1)', (s: MemoryStorage) => s.entries(2, 1), /lo 2 is past hi 1/],
    [
      'entries(NaN, 2)',
      (s: MemoryStorage) => s.entries(Number.NaN, 2),
      /entries lo must be a non-negative integer/,
    ],
    ['createSnapshot(0.5)', (s: MemoryStorage) => s.createSnapshot(0.5), /snapshot index must be/],
    [
      'append of a NaN index',
      (s: MemoryStorage) => s.append([{ ...ent(3, 1), index: Number.NaN }]),
      /entry index must be/,
    ],
  ])('%s is refused with a clear error and changes nothing', (_name, misuse, message) => {
    const s = MemoryStorage.fromEntries([ent(0, 0), ent(1, 1), ent(2, 1)]);
    expect(() => misuse(s)).toThrow(message);
    expect([s.firstIndex(), s.lastIndex(), s.entries(1, 3)]).toEqual([
      1,
      2,
      [ent(1, 1), ent(2, 1)],
    ]);
  });

  test('initialState hands out a copy of the membership', () => {
    const s = new MemoryStorage();
    s.applySnapshot({ metadata: { index: 1, term: 1, confState: { nodes: [1, 2] } } });
    s.initialState().confState.nodes.push(7);
    expect(s.initialState().confState.nodes).toEqual([1, 2]);
  });
});
