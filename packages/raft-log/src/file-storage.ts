/// <reference types="node" />
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageError } from './errors.js';
import {
  decodeRecord,
  encodeHeader,
  encodeRecord,
  FRAME_SIZE,
  frame,
  HEADER_SIZE,
  type LogRecord,
  MAGIC,
  OLDEST_VERSION,
  VERSION,
} from './file-codec.js';
import { StorageCore } from './storage-core.js';
import type {
  ConfState,
  Entry,
  HardState,
  PersistUpdate,
  Snapshot,
  WritableStorage,
} from './types.js';

/** The log file is damaged in a way that is not a torn last write; nothing was recovered. */
export class CorruptStorageError extends StorageError {
  override name = 'CorruptStorageError';
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super(`${file} is corrupt at byte ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

export interface FileStorageOptions {
  /**
   * The log file is rewritten to hold only the live state once it has reached this many bytes
   * and twice its size after the last rewrite (or open). Default 1 MiB.
   */
  minRewriteBytes?: number;
}

const LOG_FILE = 'raft.log';
const DEFAULT_MIN_REWRITE_BYTES = 1 << 20;

/**
 * A `Storage` that keeps the hard state, the log and the latest snapshot in one file in `dir`,
 * so that a node that crashes and restarts comes back with everything it had persisted
 * (the Raft paper, Figure 2: `currentTerm`, `votedFor` and the log are updated on stable
 * storage before the node responds to RPCs).
 *
 * Every write appends one checksummed record and fsyncs before returning: the `Storage`
 * interface is synchronous, so when a write returns the data is on disk. Once the file has
 * doubled since it was last written whole, it is rewritten to hold only the live state
 * (a new file, fsync, rename over the old one, fsync of the directory).
 *
 * The state in memory, the reads and the rules of every write are `StorageCore`'s, as in
 * `MemoryStorage`: a write is checked, then persisted, then stored. Only one `FileStorage`
 * may use a directory at a time.
 */
export class FileStorage extends StorageCore implements WritableStorage {
  /** The log file. */
  readonly path: string;
  private readonly dir: string;
  private readonly minRewriteBytes: number;
  private fd: number;
  /** Length of the file's valid prefix; the next record is written here. */
  private size: number;
  private rewriteAt: number;
  /** Why writes are refused: the storage was closed or a write failed half way. */
  private unusable: string | undefined;

  private constructor(dir: string, path: string, fd: number, size: number, minRewrite: number) {
    super();
    this.dir = dir;
    this.path = path;
    this.fd = fd;
    this.size = size;
    this.minRewriteBytes = minRewrite;
    this.rewriteAt = Math.max(minRewrite, 2 * size);
  }

  /**
   * Opens the storage in `dir`, creating the directory and an empty log when there is none,
   * and otherwise recovering the state the log holds. A torn last record (a crash during its
   * write) is cut off; any other damage throws `CorruptStorageError`.
   */
  static open(dir: string, options: FileStorageOptions = {}): FileStorage {
    const minRewrite = options.minRewriteBytes ?? DEFAULT_MIN_REWRITE_BYTES;
    if (!Number.isSafeInteger(minRewrite) || minRewrite < 0) {
      throw new RangeError(`minRewriteBytes must be a non-negative integer, got ${minRewrite}`);
    }
    const absDir = resolve(dir);
    const created = mkdirSync(absDir, { recursive: true });
    if (created !== undefined) {
      // A new directory's own entry must survive a crash too, or the log vanishes with it.
      for (let d = absDir; ; d = dirname(d)) {
        syncDir(dirname(d));
        if (d === created) {
          break;
        }
      }
    }
    const path = join(absDir, LOG_FILE);
    // A temporary file left behind is a rewrite that crashed before its rename: the log file
    // it was meant to replace is still complete.
    rmSync(tempPath(path), { force: true });
    if (!existsSync(path)) {
      const header = encodeHeader();
      const fd = writeTemp(path, header);
      try {
        renameSync(tempPath(path), path);
        syncDir(absDir);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      return new FileStorage(absDir, path, fd, header.length, minRewrite);
    }
    const fd = openSync(path, 'r+');
    let s: FileStorage;
    let version: number;
    try {
      const raw = readFileSync(fd);
      const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
      s = new FileStorage(absDir, path, fd, bytes.length, minRewrite);
      version = s.checkHeader(bytes);
      const end = s.replay(bytes, version);
      if (end < bytes.length) {
        // No fsync of its own: until the next record's fsync makes it durable, losing the
        // truncation only brings back the same torn tail, which the next open drops again.
        ftruncateSync(fd, end);
      }
      s.size = end;
      s.rewriteAt = Math.max(minRewrite, 2 * end);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (version < VERSION) {
      // The next write may be a record an older version lacks; rewriting the file now gives it
      // the header that makes an older reader refuse it as a newer version, not as corrupt.
      try {
        s.rewrite();
      } catch (e) {
        s.close();
        throw e;
      }
    }
    return s;
  }

  /** Closes the file. Reads keep answering from memory; writes throw. */
  close(): void {
    if (this.unusable === 'closed') {
      return;
    }
    this.unusable = 'closed';
    closeSync(this.fd);
  }

  setHardState(hs: HardState): void {
    this.checkUsable();
    const copy = { term: hs.term, vote: hs.vote, commit: hs.commit };
    const cur = this.hardState;
    if (copy.term === cur.term && copy.vote === cur.vote && copy.commit === cur.commit) {
      return;
    }
    this.writeRecord({ kind: 'hardState', hardState: copy });
    this.hardState = copy;
  }

  /**
   * Skips compacted entries and replaces a conflicting suffix, as `MemoryStorage.append` does;
   * indexes, terms and data are checked as the record is encoded.
   */
  append(entries: Entry[]): void {
    this.checkUsable();
    const kept = this.appendable(entries);
    if (kept.length === 0) {
      return;
    }
    this.writeRecord({ kind: 'append', entries: kept });
    this.storeAppend(kept.map(copyEntry));
  }

  /**
   * `applySnapshot(update.snapshot)` and `setHardState(update.hardState)` (when given), then
   * `append(update.entries)`, with one record and one fsync when there is more than one: a crash
   * keeps all or none.
   */
  persist(update: PersistUpdate): void {
    this.checkUsable();
    const snap = update.snapshot;
    if (snap !== undefined) {
      this.checkApplySnapshot(snap);
    }
    const kept = this.appendable(update.entries, snap);
    const hs = update.hardState;
    const cur = this.hardState;
    const hardState =
      hs === undefined || (hs.term === cur.term && hs.vote === cur.vote && hs.commit === cur.commit)
        ? undefined
        : { term: hs.term, vote: hs.vote, commit: hs.commit };
    if (snap !== undefined) {
      this.writeRecord({
        kind: 'persist',
        snapshot: snap,
        hardState: hardState ?? cur,
        entries: kept,
      });
      this.storePersist(copySnapshot(snap), hardState, kept.map(copyEntry));
      return;
    }
    if (hardState === undefined) {
      if (kept.length > 0) {
        this.writeRecord({ kind: 'append', entries: kept });
      }
    } else if (kept.length === 0) {
      this.writeRecord({ kind: 'hardState', hardState });
    } else {
      this.writeRecord({ kind: 'persist', hardState, entries: kept });
    }
    this.storePersist(undefined, hardState, kept.map(copyEntry));
  }

  /** Replaces the whole log with `snap`. The hard state is left as it is. */
  applySnapshot(snap: Snapshot): void {
    this.checkUsable();
    this.checkApplySnapshot(snap);
    this.writeRecord({ kind: 'applySnapshot', snapshot: snap });
    this.storeAppliedSnapshot(copySnapshot(snap));
  }

  /** Records a snapshot of the state up to entry `index` and returns it. */
  createSnapshot(index: number, confState?: ConfState, data?: Uint8Array): Snapshot {
    this.checkUsable();
    const snap = this.newSnapshot(index, confState, data);
    this.writeRecord({ kind: 'createSnapshot', snapshot: snap });
    this.snap = copySnapshot(snap);
    return this.snap;
  }

  /** Discards every entry before `compactIndex`; entry `compactIndex` becomes the new dummy. */
  compact(compactIndex: number): void {
    this.checkUsable();
    this.checkCompact(compactIndex);
    this.writeRecord({ kind: 'compact', index: compactIndex });
    this.storeCompact(compactIndex);
  }

  /** Applies one recovered record, with the checks of the write that produced it. */
  private replayRecord(record: LogRecord, version: number): void {
    switch (record.kind) {
      case 'hardState':
        this.hardState = record.hardState;
        return;
      case 'append':
        this.storeAppend(this.appendable(record.entries));
        return;
      case 'persist':
        if (version < 2) {
          throw new Error(`version ${version} has no persist records`);
        }
        if (record.snapshot !== undefined) {
          this.checkApplySnapshot(record.snapshot);
        }
        this.storePersist(
          record.snapshot,
          record.hardState,
          this.appendable(record.entries, record.snapshot),
        );
        return;
      case 'applySnapshot':
        this.checkApplySnapshot(record.snapshot);
        this.storeAppliedSnapshot(record.snapshot);
        return;
      case 'createSnapshot': {
        const { index, term, confState } = record.snapshot.metadata;
        const snap = this.newSnapshot(index, confState, record.snapshot.data);
        if (snap.metadata.term !== term) {
          throw new Error(
            `snapshot term ${term} differs from term ${snap.metadata.term} of entry ${index}`,
          );
        }
        this.snap = snap;
        return;
      }
      case 'compact':
        this.checkCompact(record.index);
        this.storeCompact(record.index);
        return;
      case 'state': {
        let prev = record.dummy.index;
        for (const e of record.entries) {
          if (e.index !== prev + 1) {
            throw new Error(`entry ${e.index} follows entry ${prev}`);
          }
          prev = e.index;
        }
        this.hardState = record.hardState;
        this.snap = record.snapshot;
        this.ents = [record.dummy, ...record.entries];
        return;
      }
    }
  }

  /**
   * Replays the records after the header; returns the length of the file's valid prefix
   * (shorter after a torn write).
   */
  private replay(bytes: Uint8Array, version: number): number {
    let offset = HEADER_SIZE;
    while (offset < bytes.length) {
      if (bytes.length - offset < FRAME_SIZE) {
        break; // torn: the crash cut the last frame short
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_SIZE);
      if (crc32(bytes.subarray(offset, offset + 8)) !== view.getUint32(8, true)) {
        throw new CorruptStorageError(this.path, offset, 'record frame checksum mismatch');
      }
      const end = offset + FRAME_SIZE + view.getUint32(0, true);
      if (end > bytes.length) {
        break; // torn: the last record's payload is incomplete
      }
      const payload = bytes.subarray(offset + FRAME_SIZE, end);
      if (crc32(payload) !== view.getUint32(4, true)) {
        if (end === bytes.length) {
          break; // torn: the last record's bytes did not all reach the disk
        }
        throw new CorruptStorageError(this.path, offset, 'record checksum mismatch');
      }
      let record: LogRecord;
      try {
        record = decodeRecord(payload);
      } catch (e) {
        throw new CorruptStorageError(this.path, offset, errorMessage(e));
      }
      try {
        this.replayRecord(record, version);
      } catch (e) {
        throw new CorruptStorageError(
          this.path,
          offset,
          `impossible ${record.kind} record: ${errorMessage(e)}`,
        );
      }
      offset = end;
    }
    return offset;
  }

  /** Returns the file's version. */
  private checkHeader(bytes: Uint8Array): number {
    if (bytes.length < HEADER_SIZE) {
      throw new CorruptStorageError(
        this.path,
        0,
        `the file is ${bytes.length} bytes, shorter than its ${HEADER_SIZE}-byte header`,
      );
    }
    if (!MAGIC.every((b, i) => bytes[i] === b)) {
      throw new CorruptStorageError(this.path, 0, 'not a tinyraft log file (bad magic)');
    }
    const version = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
    if (version < OLDEST_VERSION || version > VERSION) {
      throw new CorruptStorageError(
        this.path,
        MAGIC.length,
        `unsupported version ${version} (this build reads versions ${OLDEST_VERSION} to ${VERSION})`,
      );
    }
    return version;
  }

  /**
   * Writes `record` and fsyncs it. Nothing in memory has changed yet, so when this throws the
   * storage still holds its previous state.
   */
  private writeRecord(record: LogRecord): void {
    // Encoding first: a value that cannot be stored is refused before any I/O.
    const bytes = frame(encodeRecord(record));
    if (this.size >= this.rewriteAt) {
      this.rewrite();
    }
    try {
      writeAll(this.fd, bytes, this.size);
      fsyncSync(this.fd);
    } catch (e) {
      // Part of the record may have reached the disk. A shorter record written over it later
      // would leave the rest behind, and a restart would take that for corruption.
      this.unusable = `a write failed (${errorMessage(e)})`;
      throw new StorageError(`${this.path}: writing the ${record.kind} record failed`, {
        cause: e,
      });
    }
    this.size += bytes.length;
  }

  /** Replaces the file with one holding only the live state. */
  private rewrite(): void {
    const state = encodeRecord({
      kind: 'state',
      hardState: this.hardState,
      snapshot: this.snap,
      dummy: this.dummy(),
      entries: this.ents.slice(1),
    });
    const header = encodeHeader();
    const framed = frame(state);
    const bytes = new Uint8Array(header.length + framed.length);
    bytes.set(header, 0);
    bytes.set(framed, header.length);
    let fd: number;
    try {
      fd = writeTemp(this.path, bytes);
    } catch (e) {
      throw new StorageError(`${this.path}: rewriting the log failed`, { cause: e });
    }
    try {
      renameSync(tempPath(this.path), this.path);
    } catch (e) {
      closeSync(fd);
      rmSync(tempPath(this.path), { force: true });
      throw new StorageError(`${this.path}: rewriting the log failed`, { cause: e });
    }
    const old = this.fd;
    this.fd = fd;
    this.size = bytes.length;
    this.rewriteAt = Math.max(this.minRewriteBytes, 2 * bytes.length);
    try {
      closeSync(old);
      syncDir(this.dir);
    } catch (e) {
      // The rename may not survive a crash, and later records would then be lost with it.
      this.unusable = `finishing the rewrite failed (${errorMessage(e)})`;
      throw new StorageError(`${this.path}: rewriting the log failed`, { cause: e });
    }
  }

  private checkUsable(): void {
    if (this.unusable !== undefined) {
      throw new StorageError(`${this.path}: storage is unusable: ${this.unusable}`);
    }
  }
}

function tempPath(path: string): string {
  return `${path}.tmp`;
}

/** Writes `bytes` to `path`'s temporary file and fsyncs it; returns the open descriptor. */
function writeTemp(path: string, bytes: Uint8Array): number {
  const tmp = tempPath(path);
  const fd = openSync(tmp, 'w+');
  try {
    writeAll(fd, bytes, 0);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  return fd;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

/** Makes a rename in `dir` durable. Windows cannot fsync a directory and does not need to. */
function syncDir(dir: string): void {
  if (process.platform === 'win32') {
    return;
  }
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function copyEntry(e: Entry): Entry {
  const copy: Entry = { entryType: e.entryType, term: e.term, index: e.index };
  if (e.data !== undefined) {
    copy.data = new Uint8Array(e.data);
  }
  return copy;
}

function copySnapshot(s: Snapshot): Snapshot {
  const { index, term, confState } = s.metadata;
  const copy: Snapshot = { metadata: { index, term, confState: { nodes: [...confState.nodes] } } };
  if (s.data !== undefined) {
    copy.data = new Uint8Array(s.data);
  }
  return copy;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
