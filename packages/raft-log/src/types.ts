/** The kind of an entry. A const object with a type of the same name. */
export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One log entry. The leader's no-op entry carries no `data`. */
export interface Entry {
  entryType: EntryType;
  term: number;
  index: number;
  data?: Uint8Array;
}

/** The state a node must persist before it answers any message that depends on it. */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

/** What a `Ready` asks to persist: see `WritableStorage.persist`. */
export interface PersistUpdate {
  snapshot?: Snapshot | undefined;
  hardState?: HardState | undefined;
  entries: Entry[];
}

/**
 * The membership of the cluster (§4 of the Raft dissertation).
 *
 * `nodes` are the voters (of the incoming configuration while joint). The other fields are
 * optional so that a plain `{ nodes }` still describes a cluster of voters; absent means empty
 * (or `false`):
 * - `learners`: members that receive the log but never vote or campaign;
 * - `votersOutgoing`: while in a joint configuration C_old,new, the voters of C_old (decisions
 *   then need a majority of `nodes` and one of `votersOutgoing`);
 * - `learnersNext`: voters of C_old that become learners when the joint configuration is left;
 * - `autoLeave`: whether the leader leaves the joint configuration by itself once it applies.
 */
export interface ConfState {
  nodes: number[];
  learners?: number[];
  votersOutgoing?: number[];
  learnersNext?: number[];
  autoLeave?: boolean;
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data?: Uint8Array;
  metadata: SnapshotMetadata;
}

/**
 * The read side of a node's stable storage. Raft never writes through it: the application
 * persists entries and hard state itself and then tells raft they are stable.
 * Every method is synchronous.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries with index in `[lo, hi)`. With `maxSize`, stops before the `entrySize` of the
   * entries returned would pass it, but always returns at least the first one, so that an entry
   * larger than the limit can still be read.
   */
  entries(lo: number, hi: number, maxSize?: number): Entry[];
  /** Term of entry `index`; valid for `firstIndex() - 1 … lastIndex()`. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/**
 * A `Storage` with the write side that a runtime uses to persist what a `Ready` hands it.
 * `MemoryStorage` and the file storage implement it.
 */
export interface WritableStorage extends Storage {
  setHardState(hs: HardState): void;
  /** Appends entries, replacing any stored entries from the first one's index on. */
  append(entries: Entry[]): void;
  /**
   * Applies the snapshot (if given), sets the hard state (if given), then appends the entries,
   * as one durable step: after a crash either all of them are stored or none is. Refuses what
   * `applySnapshot`, `setHardState` and `append` refuse, and then changes nothing.
   */
  persist(update: PersistUpdate): void;
  applySnapshot(snap: Snapshot): void;
}

/** What an entry counts for in size limits: its payload plus its index, term and type. */
export const entryOverhead = 24;

export function entrySize(e: Entry): number {
  return entryOverhead + (e.data === undefined ? 0 : e.data.length);
}

/**
 * The end (exclusive) of the run of `ents[lo…hi)` whose total `entrySize` stays within
 * `maxSize`; at least `lo + 1` when the run is not empty, so that one oversized entry still goes.
 */
export function sizeLimitedEnd(
  ents: readonly Entry[],
  lo: number,
  hi: number,
  maxSize: number | undefined,
): number {
  if (maxSize === undefined || hi - lo <= 1) {
    return hi;
  }
  let size = entrySize(ents[lo] as Entry);
  let end = lo + 1;
  while (end < hi) {
    size += entrySize(ents[end] as Entry);
    if (size > maxSize) {
      break;
    }
    end++;
  }
  return end;
}

export function emptyHardState(): HardState {
  return { term: 0, vote: 0, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { nodes: [] } } };
}
