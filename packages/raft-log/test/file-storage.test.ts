import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { encodeHeader, encodeRecord, frame, type LogRecord } from '../src/file-codec.js';
import { CorruptStorageError, FileStorage } from '../src/file-storage.js';
import {
  type Entry,
  MemoryStorage,
  type Snapshot,
  type Storage,
  StorageError,
} from '../src/index.js';
import { useTempStorage } from './file-helpers.js';
import { type ConcreteTarget, concrete, opArb, seedFromEnv } from './random-ops.js';
import { describeStorageContract, dump, ent, type TestStorage } from './storage-contract.js';

const { tempDir, open, reopen } = useTempStorage();
const LOG = 'raft.log';
/** Large enough that no test below rewrites the file unless it asks to. */
const NO_REWRITE = { minRewriteBytes: 1 << 30 };

describeStorageContract({
  name: 'FileStorage',
  create(ents) {
    const s = open(tempDir());
    const [dummy, ...rest] = ents;
    if (dummy === undefined || dummy.index === 0) {
      s.append(rest);
      return s;
    }
    // Entries up to the dummy's index, then compaction down to it: the state fromEntries gives.
    const lead: Entry[] = [];
    for (let i = 1; i <= dummy.index; i++) {
      lead.push({ ...ent(i, dummy.term), entryType: dummy.entryType });
    }
    s.append([...lead, ...rest]);
    s.compact(dummy.index);
    return s;
  },
  reload: (s: TestStorage) => reopen(s as FileStorage),
});

/** Writes `bytes` as the log of a new directory and opens it. */
function openBytes(bytes: Uint8Array): FileStorage {
  const dir = tempDir();
  writeFileSync(join(dir, LOG), bytes);
  return open(dir);
}

function openBytesError(bytes: Uint8Array): CorruptStorageError {
  const dir = tempDir();
  const path = join(dir, LOG);
  writeFileSync(path, bytes);
  try {
    open(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptStorageError);
    expect(e).toBeInstanceOf(StorageError);
    const err = e as CorruptStorageError;
    expect(err.file).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toContain(`byte ${err.offset}`);
    // Refusing to start must leave the evidence alone.
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    return err;
  }
  throw new Error('expected the open to fail');
}

function fileOf(...records: LogRecord[]): Uint8Array {
  const parts = [encodeHeader(), ...records.map((r) => frame(encodeRecord(r)))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `bytes` with the header's version set to `version`. */
function withVersion(bytes: Uint8Array, version: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(8, version, true);
  return out;
}

const snap = (index: number, term: number, data?: number[]): Snapshot => {
  const s: Snapshot = { metadata: { index, term, confState: { nodes: [1, 2, 3] } } };
  if (data !== undefined) {
    s.data = new Uint8Array(data);
  }
  return s;
};

/** A mix of every kind of write, each of which adds one record. */
const writes: Array<(s: FileStorage) => void> = [
  (s) => s.setHardState({ term: 1, vote: 1, commit: 0 }),
  (s) => s.append([ent(1, 1, [1, 2, 3]), ent(2, 1)]),
  (s) => s.append([ent(3, 1, [4])]),
  (s) => s.persist({ hardState: { term: 2, vote: 2, commit: 1 }, entries: [ent(3, 2, [13])] }),
  (s) => s.setHardState({ term: 2, vote: 2, commit: 2 }),
  (s) => s.append([ent(3, 2, [5, 6]), ent(4, 2)]),
  (s) => s.createSnapshot(2, { nodes: [1, 2] }, new Uint8Array([7, 8])),
  (s) => s.compact(2),
  (s) => s.applySnapshot(snap(6, 3, [9, 10, 11])),
  (s) => s.append([ent(7, 3, [12])]),
];

describe('FileStorage.open', () => {
  test('creates the directory and a log holding only the header', () => {
    const dir = join(tempDir(), 'a', 'b');
    const s = open(dir);
    expect(s.path).toBe(join(dir, LOG));
    expect(readdirSync(dir)).toEqual([LOG]);
    const bytes = readFileSync(s.path);
    expect(bytes.length).toBe(12);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('tinyraft');
    expect(dump(s)).toEqual(dump(new MemoryStorage()));
  });

  test('a restarted storage has the term, vote, commit, entries and snapshot it persisted', () => {
    let s = open(tempDir(), NO_REWRITE);
    for (const w of writes.slice(0, 7)) {
      w(s);
    }
    s.setHardState({ term: 3, vote: 1, commit: 4 });
    const before = dump(s);
    expect(before.initialState.hardState).toEqual({ term: 3, vote: 1, commit: 4 });
    expect(before.snapshot.data).toEqual(new Uint8Array([7, 8]));
    s = reopen(s);
    expect(dump(s)).toEqual(before);
    s = reopen(s);
    expect(dump(s)).toEqual(before);
  });

  test('a restarted storage keeps an applied snapshot and its data byte for byte', () => {
    const data = Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
    let s = open(tempDir());
    s.append([ent(1, 1), ent(2, 1)]);
    s.applySnapshot(snap(9, 4, data));
    s = reopen(s);
    expect(s.snapshot()).toEqual(snap(9, 4, data));
    expect([s.firstIndex(), s.lastIndex(), s.term(9)]).toEqual([10, 9, 4]);
  });

  test('the stored state does not change when the caller changes its objects afterwards', () => {
    const s = open(tempDir());
    const e = ent(1, 1, [1, 2]);
    const hs = { term: 1, vote: 1, commit: 0 };
    const data = new Uint8Array([5]);
    const conf = { nodes: [1] };
    s.append([e]);
    s.setHardState(hs);
    s.createSnapshot(1, conf, data);
    e.term = 9;
    (e.data as Uint8Array)[0] = 9;
    hs.term = 9;
    data[0] = 9;
    conf.nodes.push(9);
    const want = {
      entries: [ent(1, 1, [1, 2])],
      hardState: { term: 1, vote: 1, commit: 0 },
      snapshot: {
        metadata: { index: 1, term: 1, confState: { nodes: [1] } },
        data: new Uint8Array([5]),
      },
    };
    for (const x of [s, reopen(s)]) {
      expect({
        entries: x.entries(1, 2),
        hardState: x.initialState().hardState,
        snapshot: x.snapshot(),
      }).toEqual(want);
    }
  });

  test.each([
    ['a negative term', (s: FileStorage) => s.append([ent(1, -1)]), /term of entry 1 .* got -1/],
    ['a fractional index', (s: FileStorage) => s.append([ent(1.5, 1)]), /entry index .* got 1.5/],
    [
      'an unknown entry type',
      (s: FileStorage) => s.append([{ ...ent(1, 1), entryType: 7 as 0 }]),
      /entry 1 has unknown entry type 7/,
    ],
    [
      'data that is not bytes',
      (s: FileStorage) => s.append([{ ...ent(1, 1), data: 'x' as unknown as Uint8Array }]),
      /data of entry 1 must be a Uint8Array/,
    ],
    [
      'a NaN hard state',
      (s: FileStorage) => s.setHardState({ term: Number.NaN, vote: 0, commit: 0 }),
      /hard state term .* got NaN/,
    ],
    [
      'a NaN hard state given to persist with good entries',
      (s: FileStorage) =>
        s.persist({ hardState: { term: 1, vote: Number.NaN, commit: 0 }, entries: [ent(2, 1)] }),
      /hard state vote .* got NaN/,
    ],
    [
      'a bad entry given to persist with a good hard state',
      (s: FileStorage) =>
        s.persist({ hardState: { term: 2, vote: 1, commit: 1 }, entries: [ent(2, -1)] }),
      /term of entry 2 .* got -1/,
    ],
    [
      'an infinite snapshot index',
      (s: FileStorage) => s.applySnapshot(snap(Number.POSITIVE_INFINITY, 1)),
      /snapshot index .* got Infinity/,
    ],
    [
      'a negative node id',
      (s: FileStorage) => s.createSnapshot(1, { nodes: [-2] }),
      /conf state node id .* got -2/,
    ],
  ])('%s is refused before anything is written', (_name, op, message) => {
    const s = open(tempDir());
    s.append([ent(1, 1, [1])]);
    const before = dump(s);
    const bytes = readFileSync(s.path);
    expect(() => op(s)).toThrow(message);
    expect(dump(s)).toEqual(before);
    expect(readFileSync(s.path)).toEqual(bytes);
    // Still usable.
    s.append([ent(2, 1)]);
    expect(dump(reopen(s)).entries).toEqual([ent(1, 1, [1]), ent(2, 1)]);
  });

  test('after close, writes throw StorageError and reads still answer', () => {
    const s = open(tempDir());
    s.append([ent(1, 1)]);
    s.close();
    s.close();
    const calls = [
      () => s.append([ent(2, 1)]),
      () => s.setHardState({ term: 1, vote: 0, commit: 0 }),
      () => s.persist({ hardState: { term: 1, vote: 0, commit: 0 }, entries: [ent(2, 1)] }),
      () => s.compact(1),
      () => s.createSnapshot(1),
      () => s.applySnapshot(snap(5, 1)),
    ];
    for (const call of calls) {
      expect(call).toThrow(StorageError);
      expect(call).toThrow(/raft\.log: storage is unusable: closed/);
    }
    expect(s.lastIndex()).toBe(1);
    expect(dump(open(dirname(s.path)))).toEqual(dump(s));
  });

  test('options are checked', () => {
    expect(() => FileStorage.open(tempDir(), { minRewriteBytes: -1 })).toThrow(
      /minRewriteBytes must be a non-negative integer, got -1/,
    );
  });
});

describe('FileStorage reads', () => {
  test.each([
    ['term(-1)', (s: Storage) => s.term(-1), /term index must be a non-negative integer, got -1/],
    ['term(1.5)', (s: Storage) => s.term(1.5), /term index .* got 1.5/],
    ['entries(2, 1)', (s: Storage) => s.entries(2, 1), /lo 2 is past hi 1/],
    ['entries(NaN, 2)', (s: Storage) => s.entries(Number.NaN, 2), /entries lo must be/],
  ])(
    '%s is refused with the error MemoryStorage gives and changes nothing',
    (_name, read, message) => {
      const s = open(tempDir());
      s.append([ent(1, 1), ent(2, 1)]);
      const before = dump(s);
      expect(() => read(s)).toThrow(message);
      expect(() => read(MemoryStorage.fromEntries([ent(0, 0), ent(1, 1), ent(2, 1)]))).toThrow(
        message,
      );
      expect(dump(reopen(s))).toEqual(before);
    },
  );
});

describe('crash recovery', () => {
  test('a log cut anywhere inside its last record reopens to the state before that record; only the whole record gives the state after it', () => {
    const dir = tempDir();
    const s = open(join(dir, 'live'), NO_REWRITE);
    let before = dump(s);
    let file = new Uint8Array(readFileSync(s.path));
    for (const [k, write] of writes.entries()) {
      write(s);
      const after = dump(s);
      const full = new Uint8Array(readFileSync(s.path));
      // Records are only ever appended: the earlier bytes are untouched.
      expect(full.subarray(0, file.length)).toEqual(file);
      for (let cut = file.length; cut <= full.length; cut++) {
        const crashed = join(dir, `write-${k}-cut-${cut}`);
        mkdirSync(crashed);
        writeFileSync(join(crashed, LOG), full.subarray(0, cut));
        const r = open(crashed);
        const where = `write ${k}, file cut at byte ${cut} of ${full.length}`;
        expect(dump(r), where).toEqual(cut === full.length ? after : before);
        // The torn tail is cut away, so the next record follows the last good one.
        expect(statSync(r.path).size, where).toBe(cut === full.length ? full.length : file.length);
        r.close();
      }
      before = after;
      file = full;
    }
  });

  test('writes after recovering from a torn tail survive the next restart', () => {
    const dir = tempDir();
    const s = open(join(dir, 'live'));
    s.append([ent(1, 1), ent(2, 1)]);
    const good = readFileSync(s.path).length;
    s.append([ent(3, 1, [1, 2, 3, 4])]);
    const torn = readFileSync(s.path).subarray(0, good + 9);
    const crashed = join(dir, 'crashed');
    mkdirSync(crashed);
    writeFileSync(join(crashed, LOG), torn);
    let r = open(crashed);
    expect(r.lastIndex()).toBe(2);
    r.append([ent(3, 2)]);
    r.setHardState({ term: 2, vote: 1, commit: 3 });
    r = reopen(r);
    expect(dump(r).entries).toEqual([ent(1, 1), ent(2, 1), ent(3, 2)]);
    expect(r.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 3 });
  });

  describe('damage that is not a torn tail throws CorruptStorageError and recovers nothing', () => {
    /** A log of several records and the offset at which each one starts. */
    function sample(): { bytes: Uint8Array; starts: number[] } {
      const s = open(tempDir(), NO_REWRITE);
      const starts: number[] = [];
      for (const w of writes.slice(0, 6)) {
        starts.push(statSync(s.path).size);
        w(s);
      }
      return { bytes: new Uint8Array(readFileSync(s.path)), starts };
    }

    test('a damaged byte in any record but the last names that record', () => {
      const { bytes, starts } = sample();
      const last = starts[starts.length - 1] as number;
      for (let pos = 12; pos < last; pos++) {
        const damaged = bytes.slice();
        damaged[pos] = (damaged[pos] as number) ^ 0x5a;
        const start = starts.filter((o) => o <= pos).pop();
        const e = openBytesError(damaged);
        expect(e.offset, `damage at byte ${pos}`).toBe(start);
        expect(e.message).toMatch(/checksum mismatch/);
      }
    });

    test("a damaged byte in the last record's frame is corruption, in its payload a torn write", () => {
      const { bytes, starts } = sample();
      const last = starts[starts.length - 1] as number;
      const before = dump(openBytes(bytes.subarray(0, last)));
      for (let pos = last; pos < bytes.length; pos++) {
        const damaged = bytes.slice();
        damaged[pos] = (damaged[pos] as number) ^ 0x01;
        if (pos < last + 12) {
          expect(openBytesError(damaged).offset).toBe(last);
        } else {
          expect(dump(openBytes(damaged)), `damage at byte ${pos}`).toEqual(before);
        }
      }
    });

    test.each([
      ['an empty file', new Uint8Array(0), 0, /0 bytes, shorter than its 12-byte header/],
      ['a file shorter than the header', encodeHeader().subarray(0, 7), 0, /shorter/],
      [
        'a bad magic',
        Uint8Array.from(encodeHeader(), (b, i) => (i === 3 ? b ^ 0x20 : b)),
        0,
        /bad magic/,
      ],
      [
        'a newer version',
        withVersion(encodeHeader(), 3),
        8,
        /unsupported version 3 \(this build reads versions 1 to 2\)/,
      ],
      ['version 0', withVersion(encodeHeader(), 0), 8, /unsupported version 0/],
      ['a foreign file', new TextEncoder().encode('{"term": 1, "vote": 2}\n'), 0, /bad magic/],
    ])('%s', (_name, bytes, offset, message) => {
      const e = openBytesError(bytes);
      expect(e.offset).toBe(offset);
      expect(e.message).toMatch(message);
    });

    const hs: LogRecord = { kind: 'hardState', hardState: { term: 1, vote: 1, commit: 0 } };
    const one: LogRecord = { kind: 'append', entries: [ent(1, 1)] };
    const hsPayload = encodeRecord(hs);
    const fractionalTerm = hsPayload.slice();
    new DataView(fractionalTerm.buffer).setFloat64(1, 0.5, true);

    test.each([
      ['an unknown record kind', [hs], new Uint8Array([99]), /unknown record kind 99/],
      [
        'bytes after the record',
        [],
        Uint8Array.from([...hsPayload, 0]),
        /1 unexpected bytes after the record/,
      ],
      ['a record cut short', [], hsPayload.subarray(0, 20), /record ends inside hard state commit/],
      [
        'a fractional term',
        [],
        fractionalTerm,
        /hard state term is 0.5, not a non-negative safe integer/,
      ],
      [
        'an append that leaves a gap',
        [one],
        encodeRecord({ kind: 'append', entries: [ent(3, 1)] }),
        /impossible append record: missing log entry \[last: 1, append at: 3\]/,
      ],
      [
        'a persist that leaves a gap',
        [one],
        encodeRecord({
          kind: 'persist',
          hardState: { term: 2, vote: 1, commit: 1 },
          entries: [ent(3, 1)],
        }),
        /impossible persist record: missing log entry \[last: 1, append at: 3\]/,
      ],
      [
        'a compaction past the end',
        [one],
        encodeRecord({ kind: 'compact', index: 2 }),
        /impossible compact record: compact index 2 is out of bound lastIndex \(1\)/,
      ],
      [
        'a snapshot whose term is not its entry term',
        [one],
        encodeRecord({ kind: 'createSnapshot', snapshot: snap(1, 2) }),
        /impossible createSnapshot record: snapshot term 2 differs from term 1 of entry 1/,
      ],
      [
        'an applied snapshot older than the current one',
        [{ kind: 'applySnapshot', snapshot: snap(5, 1) }],
        encodeRecord({ kind: 'applySnapshot', snapshot: snap(4, 1) }),
        /impossible applySnapshot record: .*index 4 is out of date/,
      ],
      [
        'a state with a hole in its entries',
        [],
        encodeRecord({
          kind: 'state',
          hardState: { term: 0, vote: 0, commit: 0 },
          snapshot: snap(0, 0),
          dummy: ent(0, 0),
          entries: [ent(1, 1), ent(3, 1)],
        }),
        /impossible state record: entry 3 follows entry 1/,
      ],
    ])('a checksummed record holding %s', (_name, good, payload, message) => {
      const prefix = fileOf(...(good as LogRecord[]));
      const bad = frame(payload);
      // The bad record is followed by a good one, and is also tried as the last record.
      for (const tail of [frame(encodeRecord(hs)), new Uint8Array(0)]) {
        const bytes = new Uint8Array(prefix.length + bad.length + tail.length);
        bytes.set(prefix, 0);
        bytes.set(bad, prefix.length);
        bytes.set(tail, prefix.length + bad.length);
        const e = openBytesError(bytes);
        expect(e.offset).toBe(prefix.length);
        expect(e.message).toMatch(message);
      }
    });
  });
});

/**
 * Cuts the log at `path` at every byte from `start` (where the last write began) to its end, as a
 * crash in the middle of that write would, and reopens each copy in `dir`: all but the whole file
 * must give `before`, the whole file `after`.
 */
function expectCutsKeepAllOrNothing(
  dir: string,
  path: string,
  start: number,
  before: unknown,
  after: unknown,
): void {
  const full = new Uint8Array(readFileSync(path));
  for (let cut = start; cut <= full.length; cut++) {
    const crashed = join(dir, `cut-${cut}`);
    mkdirSync(crashed);
    writeFileSync(join(crashed, LOG), full.subarray(0, cut));
    const r = open(crashed);
    expect(dump(r), `file cut at byte ${cut} of ${full.length}`).toEqual(
      cut === full.length ? after : before,
    );
    r.close();
  }
}

describe('persist: a hard state and its entries in one record', () => {
  test('a persist with both adds one record; one with only one of them adds the record that write adds', () => {
    const s = open(tempDir(), NO_REWRITE);
    const sizes = [statSync(s.path).size];
    const grew = (): number => {
      sizes.push(statSync(s.path).size);
      return (sizes.at(-1) as number) - (sizes.at(-2) as number);
    };
    s.setHardState({ term: 1, vote: 1, commit: 0 });
    const hardStateRecord = grew();
    s.append([ent(1, 1, [1])]);
    const appendRecord = grew();
    s.persist({ hardState: { term: 1, vote: 1, commit: 1 }, entries: [ent(2, 1, [2])] });
    // One frame and kind byte instead of two, and a flags byte (no snapshot).
    expect(grew()).toBe(hardStateRecord + appendRecord - 13 + 1);
    s.persist({ hardState: { term: 1, vote: 1, commit: 2 }, entries: [] });
    expect(grew()).toBe(hardStateRecord);
    s.persist({ entries: [ent(3, 1, [3])] });
    expect(grew()).toBe(appendRecord);
    // An unchanged hard state and entries already stored write nothing.
    s.persist({ hardState: { term: 1, vote: 1, commit: 2 }, entries: [ent(3, 1, [3])] });
    expect(grew()).toBe(appendRecord);
  });

  test('a log cut anywhere inside a persist record keeps neither its hard state nor its entries', () => {
    const dir = tempDir();
    const s = open(join(dir, 'live'), NO_REWRITE);
    s.setHardState({ term: 1, vote: 1, commit: 1 });
    s.append([ent(1, 1), ent(2, 1, [2]), ent(3, 1)]);
    const before = dump(s);
    const start = statSync(s.path).size;
    // A new term's hard state with entries that replace a conflicting suffix.
    s.persist({ hardState: { term: 2, vote: 3, commit: 2 }, entries: [ent(3, 2, [9]), ent(4, 2)] });
    const after = dump(s);
    expectCutsKeepAllOrNothing(dir, s.path, start, before, after);
  });

  test('a log cut anywhere inside a persist record with a snapshot keeps none of it', () => {
    const dir = tempDir();
    const s = open(join(dir, 'live'), NO_REWRITE);
    s.setHardState({ term: 1, vote: 1, commit: 1 });
    s.append([ent(1, 1), ent(2, 1)]);
    const before = dump(s);
    const start = statSync(s.path).size;
    // What a follower persists for a leader's MsgSnapshot of a newer term: a crash must never keep
    // the snapshot (of term 3) under the old term 1, nor a commit of 7 without the snapshot.
    const snapshot = { metadata: { index: 7, term: 3, confState: { nodes: [1, 2, 3] } } };
    s.persist({ snapshot, hardState: { term: 3, vote: 0, commit: 7 }, entries: [ent(8, 3, [8])] });
    const after = dump(s);
    expectCutsKeepAllOrNothing(dir, s.path, start, before, after);
    expect(after.initialState.hardState).toEqual({ term: 3, vote: 0, commit: 7 });
  });

  test('a damaged byte anywhere in a persist record followed by another is corruption at its offset', () => {
    const s = open(tempDir(), NO_REWRITE);
    s.append([ent(1, 1)]);
    const start = statSync(s.path).size;
    s.persist({ hardState: { term: 2, vote: 1, commit: 1 }, entries: [ent(2, 2, [1, 2])] });
    const end = statSync(s.path).size;
    s.setHardState({ term: 2, vote: 1, commit: 2 });
    const bytes = new Uint8Array(readFileSync(s.path));
    for (let pos = start; pos < end; pos++) {
      const damaged = bytes.slice();
      damaged[pos] = (damaged[pos] as number) ^ 0x10;
      const e = openBytesError(damaged);
      expect(e.offset, `damage at byte ${pos}`).toBe(start);
      expect(e.message).toMatch(/checksum mismatch/);
    }
  });
});

describe('version 1 files', () => {
  const v1 = (...records: LogRecord[]): Uint8Array => withVersion(fileOf(...records), 1);

  test('a version 1 file opens with its state and is rewritten as version 2 before any write', () => {
    const hs: LogRecord = { kind: 'hardState', hardState: { term: 3, vote: 2, commit: 1 } };
    const bytes = v1(hs, { kind: 'append', entries: [ent(1, 3, [1]), ent(2, 3)] });
    let s = openBytes(bytes);
    const state = dump(s);
    expect(state.initialState.hardState).toEqual({ term: 3, vote: 2, commit: 1 });
    expect(state.entries).toEqual([ent(1, 3, [1]), ent(2, 3)]);
    const header = new Uint8Array(readFileSync(s.path)).subarray(0, 12);
    expect(header).toEqual(encodeHeader());
    s.persist({ hardState: { term: 4, vote: 1, commit: 2 }, entries: [ent(3, 4)] });
    const after = dump(s);
    s = reopen(s);
    expect(dump(s)).toEqual(after);
  });

  test('a persist record in a version 1 file is corruption: no version 1 writer made one', () => {
    const bytes = v1({
      kind: 'persist',
      hardState: { term: 1, vote: 1, commit: 0 },
      entries: [ent(1, 1)],
    });
    const e = openBytesError(bytes);
    expect(e.offset).toBe(12);
    expect(e.message).toMatch(/impossible persist record: version 1 has no persist records/);
  });
});

describe('rewriting the log', () => {
  test('the log is rewritten to the live state once it has doubled, and restarts to the same state', () => {
    let s = open(tempDir(), { minRewriteBytes: 0 });
    let largest = 0;
    for (let i = 1; i <= 300; i++) {
      s.setHardState({ term: i, vote: i % 3, commit: 0 });
      largest = Math.max(largest, statSync(s.path).size);
    }
    // 300 hard-state records take 11 kB; the live state is under 100 bytes.
    expect(largest).toBeLessThan(300);
    const before = dump(s);
    s = reopen(s, { minRewriteBytes: 0 });
    expect(dump(s)).toEqual(before);
    expect(readdirSync(dirname(s.path))).toEqual([LOG]);
  });

  test('compacted entries leave the file at the next rewrite', () => {
    let s = open(tempDir(), { minRewriteBytes: 4096 });
    const data = Array.from({ length: 200 }, (_, i) => i);
    for (let i = 1; i <= 20; i++) {
      s.append([ent(i, 1, data)]);
    }
    expect(statSync(s.path).size).toBeGreaterThan(4000);
    s.compact(19);
    s.createSnapshot(19, { nodes: [1] }, new Uint8Array([1]));
    // The next rewrite comes once the file has doubled since the last one; it keeps only the
    // live state: one entry of 200 bytes and a few dozen bytes more.
    const grown = statSync(s.path).size;
    let size = grown;
    for (let commit = 1; size >= grown; commit++) {
      s.setHardState({ term: 1, vote: 1, commit });
      size = statSync(s.path).size;
    }
    expect(size).toBeLessThan(500);
    const before = dump(s);
    s = reopen(s);
    expect(dump(s)).toEqual(before);
    expect(s.entries(20, 21)).toEqual([ent(20, 1, data)]);
  });

  test('a temporary file left by a rewrite that crashed before its rename is ignored and removed', () => {
    let s = open(tempDir());
    s.append([ent(1, 1)]);
    const before = dump(s);
    s.close();
    writeFileSync(
      `${s.path}.tmp`,
      fileOf({ kind: 'append', entries: [ent(1, 7)] }).subarray(0, 30),
    );
    s = open(dirname(s.path));
    expect(dump(s)).toEqual(before);
    expect(existsSync(`${s.path}.tmp`)).toBe(false);
  });

  test('single-entry appends each add one record instead of rewriting the file', () => {
    const s = open(tempDir());
    s.append([ent(1, 1, [1, 2, 3])]);
    const record = statSync(s.path).size - 12;
    for (let i = 2; i <= 500; i++) {
      s.append([ent(i, 1, [1, 2, 3])]);
    }
    expect(statSync(s.path).size).toBe(12 + 500 * record);
    expect(reopen(s).lastIndex()).toBe(500);
  });
});

const seed = seedFromEnv(20_251_130);

test(`random writes with restarts at random points match MemoryStorage (seed ${seed})`, () => {
  const step = fc.oneof(
    { arbitrary: opArb.map((op) => ({ op })), weight: 5 },
    { arbitrary: fc.constant('restart' as const), weight: 1 },
  );
  fc.assert(
    fc.property(
      fc.array(step, { maxLength: 40, size: 'medium' }),
      fc.constantFrom(0, 300, 1 << 20),
      (steps, minRewriteBytes) => {
        const model = new MemoryStorage();
        let s = open(tempDir(), { minRewriteBytes });
        for (const [k, st] of steps.entries()) {
          const where = `seed ${seed}, step ${k}: ${JSON.stringify(st)}`;
          if (st === 'restart') {
            s = reopen(s, { minRewriteBytes });
          } else {
            const call = concrete(st.op, model);
            const want = result(() => call(model));
            expect(
              result(() => call(s as ConcreteTarget)),
              where,
            ).toEqual(want);
          }
          expect(dump(s), where).toEqual(dump(model));
        }
        expect(dump(reopen(s)), `seed ${seed}, after the last step`).toEqual(dump(model));
      },
    ),
    { seed, numRuns: 40 },
  );
});

/** What a call returned or threw, in a form two storages can be compared by. */
function result(call: () => unknown): unknown {
  try {
    return { returned: call() };
  } catch (e) {
    return { threw: `${(e as Error).name}: ${(e as Error).message}` };
  }
}
