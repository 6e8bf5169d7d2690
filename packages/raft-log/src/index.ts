export {
  CompactedError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StorageError,
  UnavailableError,
} from './errors.js';
export { MemoryStorage } from './memory-storage.js';
export {
  type ConfState,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  entryOverhead,
  entrySize,
  sizeLimitedEnd,
  type HardState,
  isEmptyHardState,
  type PersistUpdate,
  type Snapshot,
  type SnapshotMetadata,
  type Storage,
  type WritableStorage,
} from './types.js';
