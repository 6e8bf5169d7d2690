import * as fs from 'node:fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { FileStorage } from '../src/file-storage.js';
import { StorageError } from '../src/index.js';
import { useTempStorage } from './file-helpers.js';
import { dump, ent } from './storage-contract.js';

// The real functions, wrapped so that a test can make one call fail.
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    writeSync: vi.fn(real.writeSync),
    fsyncSync: vi.fn(real.fsyncSync),
    renameSync: vi.fn(real.renameSync),
  };
});

const real = await vi.importActual<typeof import('node:fs')>('node:fs');
const { tempDir, open, reopen } = useTempStorage();

afterEach(() => {
  vi.mocked(fs.writeSync).mockReset().mockImplementation(real.writeSync);
  vi.mocked(fs.fsyncSync).mockReset().mockImplementation(real.fsyncSync);
  vi.mocked(fs.renameSync).mockReset().mockImplementation(real.renameSync);
});

function ioError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

function failNext(f: (...args: never[]) => unknown, code: string): void {
  vi.mocked(f).mockImplementationOnce(() => {
    throw ioError(code);
  });
}

function thrown(f: () => unknown): StorageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return e as StorageError;
  }
  throw new Error('expected a throw');
}

/** A storage with a little state, set to rewrite its file at the next write. */
function dueForRewrite(): FileStorage {
  const s = open(tempDir(), { minRewriteBytes: 0 });
  s.append([ent(1, 1, [1]), ent(2, 1)]);
  return s;
}

describe('a failed write throws StorageError and changes nothing', () => {
  test.each([
    ['the record write', fs.writeSync, 'ENOSPC'],
    ['the fsync of the record', fs.fsyncSync, 'EIO'],
  ])('%s fails: memory is unchanged and later writes are refused', (_name, f, code) => {
    const s = open(tempDir());
    s.append([ent(1, 1, [1])]);
    const before = dump(s);
    failNext(f, code);
    const e = thrown(() => s.append([ent(2, 1)]));
    expect(e.message).toMatch(/raft\.log: writing the append record failed/);
    expect((e.cause as { code: string }).code).toBe(code);
    expect(dump(s)).toEqual(before);
    // Whatever part of the record reached the disk, nothing more is written behind it.
    expect(() => s.setHardState({ term: 1, vote: 1, commit: 1 })).toThrow(
      new RegExp(`storage is unusable: a write failed \\(${code}`),
    );
    expect(dump(s)).toEqual(before);
  });

  test('a record write that never reached the disk is not there after a restart', () => {
    let s = open(tempDir());
    s.append([ent(1, 1, [1])]);
    const before = dump(s);
    failNext(fs.writeSync, 'ENOSPC');
    thrown(() => s.append([ent(2, 1)]));
    s = reopen(s);
    expect(dump(s)).toEqual(before);
    s.append([ent(2, 2)]);
    expect(dump(reopen(s)).entries).toEqual([ent(1, 1, [1]), ent(2, 2)]);
  });
});

describe('persist', () => {
  test('a hard state and entries cost one write and one fsync', () => {
    const s = open(tempDir());
    s.append([ent(1, 1)]);
    vi.mocked(fs.writeSync).mockClear();
    vi.mocked(fs.fsyncSync).mockClear();
    s.persist({ hardState: { term: 2, vote: 1, commit: 1 }, entries: [ent(2, 2), ent(3, 2)] });
    expect(vi.mocked(fs.writeSync)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(fs.fsyncSync)).toHaveBeenCalledTimes(1);
  });

  test.each([
    ['the record write', fs.writeSync, 'ENOSPC'],
    ['the fsync of the record', fs.fsyncSync, 'EIO'],
  ])('%s fails: neither the hard state nor the entries change', (_name, f, code) => {
    let s = open(tempDir());
    s.setHardState({ term: 1, vote: 1, commit: 0 });
    s.append([ent(1, 1, [1])]);
    const before = dump(s);
    failNext(f, code);
    const e = thrown(() =>
      s.persist({ hardState: { term: 2, vote: 2, commit: 1 }, entries: [ent(2, 2)] }),
    );
    expect(e.message).toMatch(/raft\.log: writing the persist record failed/);
    expect((e.cause as { code: string }).code).toBe(code);
    expect(dump(s)).toEqual(before);
    // A write that failed may have reached the disk whole; all of it or none of it is there.
    s = reopen(s);
    expect([s.lastIndex(), s.initialState().hardState.term]).toSatisfy(
      ([last, term]: number[]) => (last === 1 && term === 1) || (last === 2 && term === 2),
    );
  });
});

describe('a failed rewrite', () => {
  test.each([
    ['writing the new file', fs.writeSync, 'ENOSPC'],
    ['its fsync', fs.fsyncSync, 'EIO'],
    ['the rename', fs.renameSync, 'EACCES'],
  ])('in %s leaves the old log in charge and the storage usable', (_name, f, code) => {
    const s = dueForRewrite();
    const before = dump(s);
    failNext(f, code);
    const e = thrown(() => s.setHardState({ term: 1, vote: 1, commit: 2 }));
    expect(e.message).toMatch(/raft\.log: rewriting the log failed/);
    expect((e.cause as { code: string }).code).toBe(code);
    expect(dump(s)).toEqual(before);
    expect(fs.existsSync(`${s.path}.tmp`)).toBe(false);
    // The next write rewrites the file and lands.
    s.setHardState({ term: 1, vote: 1, commit: 2 });
    const after = reopen(s);
    expect(dump(after)).toEqual({
      ...before,
      initialState: { ...before.initialState, hardState: { term: 1, vote: 1, commit: 2 } },
    });
  });

  test('after the rename, a failed directory fsync makes the storage refuse writes', () => {
    const s = dueForRewrite();
    const before = dump(s);
    // The first fsync is the new file's, the second the directory's.
    vi.mocked(fs.fsyncSync)
      .mockImplementationOnce(real.fsyncSync)
      .mockImplementationOnce(() => {
        throw ioError('EIO');
      });
    const e = thrown(() => s.setHardState({ term: 1, vote: 1, commit: 2 }));
    expect(e.message).toMatch(/rewriting the log failed/);
    expect(dump(s)).toEqual(before);
    expect(() => s.append([ent(3, 1)])).toThrow(/unusable: finishing the rewrite failed \(EIO/);
    // The rewritten file holds the state as it was before the failed write.
    expect(dump(reopen(s))).toEqual(before);
  });
});
