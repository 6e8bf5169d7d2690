import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  type Snapshot,
  type WritableStorage,
} from './types.js';

function checkIndex(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  }
}

/**
 * A `Storage` kept in memory, with the write side that an application (or a test) uses to
 * persist entries, hard state and snapshots.
 *
 * `ents[k]` holds log index `ents[0].index + k`. `ents[0]` is a dummy that only records the
 * index and term of the last snapshot (or compaction point).
 */
export class MemoryStorage implements WritableStorage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[];

  constructor() {
    this.ents = [{ entryType: EntryType.Normal, term: 0, index: 0 }];
  }

  /** A storage whose array is `ents` as is; `ents[0]` acts as the dummy. */
  static fromEntries(ents: Entry[]): MemoryStorage {
    if (ents.length === 0) {
      throw new Error('MemoryStorage.fromEntries needs at least the dummy entry');
    }
    const s = new MemoryStorage();
    s.ents = ents;
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return {
      hardState: { ...this.hardState },
      confState: { nodes: [...this.snap.metadata.confState.nodes] },
    };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number): Entry[] {
    checkIndex('entries lo', lo);
    checkIndex('entries hi', hi);
    if (lo > hi) {
      throw new Error(`invalid entries range: lo ${lo} is past hi ${hi}`);
    }
    const offset = this.dummy().index;
    if (lo <= offset) {
      throw new CompactedError(lo, this.firstIndex());
    }
    if (hi > this.lastIndex() + 1) {
      throw new Error(`entries' hi (${hi}) is out of bound lastIndex (${this.lastIndex()})`);
    }
    if (this.ents.length === 1 && hi > lo) {
      throw new UnavailableError(lo, this.lastIndex());
    }
    return this.ents.slice(lo - offset, hi - offset);
  }

  term(index: number): number {
    checkIndex('term index', index);
    const offset = this.dummy().index;
    if (index < offset) {
      throw new CompactedError(index, this.firstIndex());
    }
    const entry = this.ents[index - offset];
    if (entry === undefined) {
      throw new UnavailableError(index, this.lastIndex());
    }
    return entry.term;
  }

  lastIndex(): number {
    return this.dummy().index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.dummy().index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with `snap`. The hard state is left as it is. */
  applySnapshot(snap: Snapshot): void {
    const current = this.snap.metadata.index;
    if (current >= snap.metadata.index) {
      throw new SnapshotOutOfDateError(snap.metadata.index, current);
    }
    this.snap = snap;
    this.ents = [
      { entryType: EntryType.Normal, term: snap.metadata.term, index: snap.metadata.index },
    ];
  }

  /** Records a snapshot of the state up to entry `index` and returns it. */
  createSnapshot(index: number, confState?: ConfState, data?: Uint8Array): Snapshot {
    checkIndex('snapshot index', index);
    const current = this.snap.metadata.index;
    if (index <= current) {
      throw new SnapshotOutOfDateError(index, current);
    }
    if (index > this.lastIndex()) {
      throw new Error(`snapshot index ${index} is out of bound lastIndex (${this.lastIndex()})`);
    }
    const snap: Snapshot = {
      metadata: {
        index,
        term: this.term(index),
        confState: confState ?? this.snap.metadata.confState,
      },
    };
    if (data !== undefined) {
      snap.data = data;
    }
    this.snap = snap;
    return snap;
  }

  /** Discards every entry before `compactIndex`; entry `compactIndex` becomes the new dummy. */
  compact(compactIndex: number): void {
    checkIndex('compact index', compactIndex);
    const offset = this.dummy().index;
    if (compactIndex <= offset) {
      throw new CompactedError(compactIndex, this.firstIndex());
    }
    if (compactIndex > this.lastIndex()) {
      throw new Error(
        `compact index ${compactIndex} is out of bound lastIndex (${this.lastIndex()})`,
      );
    }
    const kept = this.ents[compactIndex - offset] as Entry;
    this.ents = [
      { entryType: kept.entryType, term: kept.term, index: kept.index },
      ...this.ents.slice(compactIndex - offset + 1),
    ];
  }

  /**
   * Persists `entries`, which carry their own indexes and terms and must be contiguous.
   * Entries already compacted are skipped; a batch starting inside the stored range replaces
   * everything from its first index on.
   */
  append(entries: Entry[]): void {
    const firstNew = entries[0];
    if (firstNew === undefined) {
      return;
    }
    for (const e of entries) {
      checkIndex('entry index', e.index);
      checkIndex('entry term', e.term);
    }
    for (let i = 1; i < entries.length; i++) {
      const prev = entries[i - 1] as Entry;
      const cur = entries[i] as Entry;
      if (cur.index !== prev.index + 1) {
        throw new Error(
          `entries to append are not contiguous: index ${cur.index} follows index ${prev.index}`,
        );
      }
    }
    const first = this.firstIndex();
    const last = firstNew.index + entries.length - 1;
    if (last < first) {
      return;
    }
    const kept = first > firstNew.index ? entries.slice(first - firstNew.index) : entries;
    const start = (kept[0] as Entry).index;
    const offset = start - this.dummy().index;
    if (offset > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${start}]`);
    }
    this.ents.length = offset;
    for (const e of kept) {
      this.ents.push(e);
    }
  }

  private dummy(): Entry {
    return this.ents[0] as Entry;
  }
}
