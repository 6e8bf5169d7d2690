/** Base class of every error a `Storage` throws. */
export class StorageError extends Error {
  override name = 'StorageError';
}

/** The index asked for is before the first available entry: it was compacted into a snapshot. */
export class CompactedError extends StorageError {
  override name = 'CompactedError';
  readonly index: number;
  readonly firstIndex: number;
  constructor(index: number, firstIndex: number) {
    super(
      `requested index ${index} is unavailable due to compaction (first index is ${firstIndex})`,
    );
    this.index = index;
    this.firstIndex = firstIndex;
  }
}

/** The index asked for is past the last entry in storage. */
export class UnavailableError extends StorageError {
  override name = 'UnavailableError';
  readonly index: number;
  readonly lastIndex: number;
  constructor(index: number, lastIndex: number) {
    super(`requested entry at index ${index} is unavailable (last index is ${lastIndex})`);
    this.index = index;
    this.lastIndex = lastIndex;
  }
}

/** The snapshot given or asked for is older than the one already held. */
export class SnapshotOutOfDateError extends StorageError {
  override name = 'SnapshotOutOfDateError';
  readonly index: number;
  readonly snapshotIndex: number;
  constructor(index: number, snapshotIndex: number) {
    super(
      `requested snapshot index ${index} is out of date (current snapshot index is ${snapshotIndex})`,
    );
    this.index = index;
    this.snapshotIndex = snapshotIndex;
  }
}

/** The snapshot is being prepared and is not available yet; try again later. */
export class SnapshotTemporarilyUnavailableError extends StorageError {
  override name = 'SnapshotTemporarilyUnavailableError';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}
