import {
  CompactedError,
  type Entry,
  type Snapshot,
  type Storage,
  UnavailableError,
} from '@tinyraft/raft-log';

/**
 * A node's log: the entries in storage plus those not yet persisted.
 *
 * Layout: `snapshot/first … applied … committed … stabled … last`.
 * `entries` holds, in order and without gaps, every entry after the last compaction point
 * (`entries[k].index === offset + 1 + k`); it never holds the storage's dummy entry.
 */
export class RaftLog {
  storage: Storage;
  /** Highest index known to be on a quorum. */
  committed: number;
  /** Highest index the application has applied. */
  applied: number;
  /** Entries up to this index are in `storage`. */
  stabled: number;
  entries: Entry[];
  /** A snapshot received from the leader that the application has not persisted yet. */
  pendingSnapshot: Snapshot | undefined;
  /** The index and term just before `entries[0]`: the compaction point (0 on a fresh log). */
  private offset: number;
  private offsetTerm: number;

  constructor(storage: Storage) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.offset = first - 1;
    this.offsetTerm = storage.term(first - 1);
    this.entries = last >= first ? storage.entries(first, last + 1) : [];
    this.stabled = last;
    this.committed = first - 1;
    this.applied = first - 1;
    this.pendingSnapshot = undefined;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length > 0
      ? (this.entries[this.entries.length - 1] as Entry).term
      : this.offsetTerm;
  }

  /** The term of entry `i`; throws `CompactedError` or `UnavailableError` outside the log. */
  term(i: number): number {
    const t = this.termOrUndefined(i);
    if (t === undefined) {
      if (i < this.offset) {
        throw new CompactedError(i, this.firstIndex());
      }
      throw new UnavailableError(i, this.lastIndex());
    }
    return t;
  }

  /** The term of entry `i`, or `undefined` when it is compacted or past the end. */
  termOrUndefined(i: number): number | undefined {
    if (i === this.offset) {
      return this.offsetTerm;
    }
    return this.entries[i - this.offset - 1]?.term;
  }

  matchTerm(i: number, term: number): boolean {
    return this.termOrUndefined(i) === term;
  }

  /**
   * §5.4.1: whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as
   * this one: a later last term, or the same last term and at least as long.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries with index in `[lo, hi)`; throws `CompactedError` when `lo` was compacted. */
  slice(lo: number, hi: number): Entry[] {
    if (lo <= this.offset) {
      throw new CompactedError(lo, this.firstIndex());
    }
    return this.entries.slice(lo - this.offset - 1, hi - this.offset - 1);
  }

  /** Entries not yet in storage (index > stabled). */
  unstableEntries(): Entry[] {
    return this.entries.slice(Math.max(this.stabled - this.offset, 0));
  }

  /** Entries committed but not yet applied (applied < index ≤ committed). */
  nextEnts(): Entry[] {
    const lo = Math.max(this.applied, this.offset);
    if (this.committed <= lo) {
      return [];
    }
    return this.entries.slice(lo - this.offset, this.committed - this.offset);
  }

  hasNextEnts(): boolean {
    return this.committed > Math.max(this.applied, this.offset);
  }

  /**
   * The index of the first entry of `ents` that is not in this log with the same term (a
   * conflict, or simply new), or 0 if every entry is already here.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) {
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`: where a log that has `term` at `index`
   * can match this one at the earliest. Used on both sides of a rejected MsgAppend to skip a whole
   * term per round trip instead of one index. When even the compaction point has a later term,
   * the answer lies in the compacted prefix: the result is below `firstIndex() - 1`, and a leader
   * sends its snapshot.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i >= this.offset) {
      if ((this.termOrUndefined(i) as number) <= term) {
        return i;
      }
      i--;
    }
    return i;
  }

  /**
   * Appends `ents`, which must follow an index already in the log; any entries after that point
   * are deleted first (§5.3: a conflicting suffix goes). Never deletes a committed entry.
   */
  append(ents: readonly Entry[]): void {
    const firstNew = ents[0];
    if (firstNew === undefined) {
      return;
    }
    const after = firstNew.index - 1;
    if (after < this.committed) {
      throw new Error(
        `cannot overwrite committed entries: append after ${after}, committed ${this.committed}`,
      );
    }
    if (after > this.lastIndex()) {
      throw new Error(`missing log entry: append after ${after}, last index ${this.lastIndex()}`);
    }
    if (after < this.lastIndex()) {
      this.entries.length = after - this.offset;
      this.stabled = Math.min(this.stabled, after);
    }
    for (const e of ents) {
      this.entries.push(e);
    }
  }

  commitTo(index: number): void {
    if (index > this.committed) {
      if (index > this.lastIndex()) {
        throw new Error(`commit index ${index} is past the last index ${this.lastIndex()}`);
      }
      this.committed = index;
    }
  }

  appliedTo(index: number): void {
    if (index > this.committed) {
      throw new Error(`applied index ${index} is past the committed index ${this.committed}`);
    }
    if (index > this.applied) {
      this.applied = index;
    }
  }

  /** The entries up to `index` (of `term`) are now in storage. */
  stableTo(index: number, term: number): void {
    // An entry overwritten since the Ready that carried it is not the one that was persisted.
    if (this.matchTerm(index, term) && index > this.stabled) {
      this.stabled = index;
    }
  }

  /** Replaces the whole log with `snap`, which the application must persist and apply. */
  restore(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    this.entries = [];
    this.offset = index;
    this.offsetTerm = term;
    this.committed = index;
    this.applied = index;
    this.stabled = index;
    this.pendingSnapshot = snap;
  }

  /** Drops in-memory entries that the application has compacted out of storage. */
  maybeCompact(): void {
    const compactedTo = this.storage.firstIndex() - 1;
    if (
      compactedTo > this.offset &&
      compactedTo <= this.stabled &&
      compactedTo <= this.lastIndex()
    ) {
      this.offsetTerm = this.termOrUndefined(compactedTo) as number;
      this.entries = this.entries.slice(compactedTo - this.offset);
      this.offset = compactedTo;
    }
  }
}
