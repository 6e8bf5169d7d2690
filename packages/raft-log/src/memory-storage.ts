import { checkIndex, StorageCore } from './storage-core.js';
import type {
  ConfState,
  Entry,
  HardState,
  PersistUpdate,
  Snapshot,
  WritableStorage,
} from './types.js';

/**
 * A `Storage` kept in memory, with the write side that an application (or a test) uses to
 * persist entries, hard state and snapshots. The state and its rules are `StorageCore`'s;
 * this class checks the arguments it is given and stores each write as soon as it passes.
 */
export class MemoryStorage extends StorageCore implements WritableStorage {
  /** A storage whose array is `ents` as is; `ents[0]` acts as the dummy. */
  static fromEntries(ents: Entry[]): MemoryStorage {
    if (ents.length === 0) {
      throw new Error('MemoryStorage.fromEntries needs at least the dummy entry');
    }
    const s = new MemoryStorage();
    s.ents = ents;
    return s;
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  /** Replaces the whole log with `snap`. The hard state is left as it is. */
  applySnapshot(snap: Snapshot): void {
    this.checkApplySnapshot(snap);
    this.storeAppliedSnapshot(snap);
  }

  /** Records a snapshot of the state up to entry `index` and returns it. */
  createSnapshot(index: number, confState?: ConfState, data?: Uint8Array): Snapshot {
    checkIndex('snapshot index', index);
    this.snap = this.newSnapshot(index, confState, data);
    return this.snap;
  }

  /** Discards every entry before `compactIndex`; entry `compactIndex` becomes the new dummy. */
  compact(compactIndex: number): void {
    checkIndex('compact index', compactIndex);
    this.checkCompact(compactIndex);
    this.storeCompact(compactIndex);
  }

  /**
   * Persists `entries`, which carry their own indexes and terms and must be contiguous.
   * Entries already compacted are skipped; a batch starting inside the stored range replaces
   * everything from its first index on.
   */
  append(entries: Entry[]): void {
    this.storeAppend(this.checkedAppendable(entries));
  }

  /**
   * `applySnapshot(update.snapshot)` and `setHardState(update.hardState)` (when given), then
   * `append(update.entries)`, or none of them.
   */
  persist(update: PersistUpdate): void {
    const snap = update.snapshot;
    if (snap !== undefined) {
      this.checkApplySnapshot(snap);
    }
    const kept = this.checkedAppendable(update.entries, snap);
    const hs = update.hardState;
    this.storePersist(snap, hs === undefined ? undefined : { ...hs }, kept);
  }

  private checkedAppendable(entries: Entry[], after?: Snapshot): Entry[] {
    for (const e of entries) {
      checkIndex('entry index', e.index);
      checkIndex('entry term', e.term);
    }
    return this.appendable(entries, after);
  }
}
