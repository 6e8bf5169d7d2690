import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  sizeLimitedEnd,
  type Snapshot,
  type Storage,
} from './types.js';

export function checkIndex(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  }
}

/**
 * What `MemoryStorage` and `FileStorage` both are in memory: the hard state, the latest
 * snapshot and the log, the whole read side, and the rules of every write. Internal to the
 * package; each rule lives here once.
 *
 * A write is split into a check, which throws on misuse and changes nothing, and a store,
 * which cannot fail. `FileStorage` persists the write in between, so a refused write never
 * reaches the disk and a failed disk write leaves memory as it was; it replays its log
 * through the same checks, so a record that no write could have produced is caught.
 *
 * `ents[k]` holds log index `ents[0].index + k`. `ents[0]` is a dummy that only records the
 * index and term of the last snapshot (or compaction point).
 */
export abstract class StorageCore implements Storage {
  protected hardState: HardState = emptyHardState();
  protected snap: Snapshot = emptySnapshot();
  protected ents: Entry[] = [{ entryType: EntryType.Normal, term: 0, index: 0 }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return {
      hardState: { ...this.hardState },
      confState: { nodes: [...this.snap.metadata.confState.nodes] },
    };
  }

  entries(lo: number, hi: number, maxSize?: number): Entry[] {
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
    return this.ents.slice(
      lo - offset,
      sizeLimitedEnd(this.ents, lo - offset, hi - offset, maxSize),
    );
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

  /**
   * The part of `entries` that an append keeps. The entries must be contiguous; those already
   * compacted are dropped, and what remains must start no later than `lastIndex() + 1`. With
   * `after`, the log is taken to be what applying that snapshot would leave: nothing but it.
   */
  protected appendable(entries: Entry[], after?: Snapshot): Entry[] {
    const firstNew = entries[0];
    if (firstNew === undefined) {
      return [];
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
    const last = after === undefined ? this.lastIndex() : after.metadata.index;
    const first = after === undefined ? this.firstIndex() : last + 1;
    if (firstNew.index + entries.length - 1 < first) {
      return [];
    }
    const kept = first > firstNew.index ? entries.slice(first - firstNew.index) : entries;
    const start = (kept[0] as Entry).index;
    if (start > last + 1) {
      throw new Error(`missing log entry [last: ${last}, append at: ${start}]`);
    }
    return kept;
  }

  /** Replaces every entry from `kept[0].index` on with `kept`, which `appendable` returned. */
  protected storeAppend(kept: Entry[]): void {
    const start = kept[0];
    if (start === undefined) {
      return;
    }
    this.ents.length = start.index - this.dummy().index;
    for (const e of kept) {
      this.ents.push(e);
    }
  }

  /**
   * What `persist` stores, in its order: the snapshot and the hard state (when given), then
   * `kept`, which `appendable` returned. All were checked first, so a refused `persist` changes
   * nothing.
   */
  protected storePersist(
    snapshot: Snapshot | undefined,
    hardState: HardState | undefined,
    kept: Entry[],
  ): void {
    if (snapshot !== undefined) {
      this.storeAppliedSnapshot(snapshot);
    }
    if (hardState !== undefined) {
      this.hardState = hardState;
    }
    this.storeAppend(kept);
  }

  protected checkApplySnapshot(snap: Snapshot): void {
    const current = this.snap.metadata.index;
    if (current >= snap.metadata.index) {
      throw new SnapshotOutOfDateError(snap.metadata.index, current);
    }
  }

  /** Replaces the whole log with `snap`, which `checkApplySnapshot` accepted. */
  protected storeAppliedSnapshot(snap: Snapshot): void {
    this.snap = snap;
    this.ents = [
      { entryType: EntryType.Normal, term: snap.metadata.term, index: snap.metadata.index },
    ];
  }

  /** The snapshot that `createSnapshot(index, confState, data)` records; not stored yet. */
  protected newSnapshot(index: number, confState?: ConfState, data?: Uint8Array): Snapshot {
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
        // Throws CompactedError for an index before the dummy.
        term: this.term(index),
        confState: confState ?? this.snap.metadata.confState,
      },
    };
    if (data !== undefined) {
      snap.data = data;
    }
    return snap;
  }

  protected checkCompact(compactIndex: number): void {
    if (compactIndex <= this.dummy().index) {
      throw new CompactedError(compactIndex, this.firstIndex());
    }
    if (compactIndex > this.lastIndex()) {
      throw new Error(
        `compact index ${compactIndex} is out of bound lastIndex (${this.lastIndex()})`,
      );
    }
  }

  /** Makes entry `compactIndex`, which `checkCompact` accepted, the new dummy. */
  protected storeCompact(compactIndex: number): void {
    const offset = this.dummy().index;
    const kept = this.ents[compactIndex - offset] as Entry;
    this.ents = [
      { entryType: kept.entryType, term: kept.term, index: kept.index },
      ...this.ents.slice(compactIndex - offset + 1),
    ];
  }

  protected dummy(): Entry {
    return this.ents[0] as Entry;
  }
}
