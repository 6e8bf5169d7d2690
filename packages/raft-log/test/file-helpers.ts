import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { FileStorage, type FileStorageOptions } from '../src/file-storage.js';

/**
 * Temporary directories and open storages for one test file; everything is closed and
 * removed after each test.
 */
export function useTempStorage(): {
  tempDir(): string;
  open(dir: string, options?: FileStorageOptions): FileStorage;
  reopen(s: FileStorage, options?: FileStorageOptions): FileStorage;
} {
  const dirs: string[] = [];
  const opened: FileStorage[] = [];
  afterEach(() => {
    for (const s of opened.splice(0)) {
      s.close();
    }
    for (const d of dirs.splice(0)) {
      rmSync(d, { recursive: true, force: true });
    }
  });
  const open = (dir: string, options?: FileStorageOptions): FileStorage => {
    const s = FileStorage.open(dir, options);
    opened.push(s);
    return s;
  };
  return {
    tempDir() {
      const d = mkdtempSync(join(tmpdir(), 'tinyraft-raft-log-'));
      dirs.push(d);
      return d;
    },
    open,
    reopen(s, options) {
      s.close();
      return open(dirname(s.path), options);
    },
  };
}
