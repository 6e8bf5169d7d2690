/**
 * 2AC: the RawNode contract. A runtime persists what a Ready asks, applies its committed
 * entries, and advances; a node started or restarted this way hands out exactly the work due.
 */
import { type Entry, EntryType, MemoryStorage, RawNode, type Ready } from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { newTestConfig } from '../src/index.js';
import { bytes, text } from './helpers.js';

/** What a runtime does with a Ready before it advances (nothing to send in a single node). */
function persist(storage: MemoryStorage, rd: Ready): void {
  if (rd.hardState !== undefined) {
    storage.setHardState(rd.hardState);
  }
  storage.append(rd.entries);
}

describe('2AC RawNode', () => {
  test('TestRawNodeStart2AC', () => {
    const storage = new MemoryStorage();
    const rawNode = new RawNode(newTestConfig(1, [1], 10, 1, storage));
    rawNode.campaign();
    let rd = rawNode.ready();
    persist(storage, rd);
    rawNode.advance(rd);

    rawNode.propose(bytes('foo'));
    rd = rawNode.ready();

    // A single node commits a proposal at once: it is both to persist and to apply.
    expect(rd.entries.map(text)).toEqual(['foo']);
    expect(rd.committedEntries.map(text)).toEqual(['foo']);
    expect(rd.committedEntries).toEqual(rd.entries);
    persist(storage, rd);
    rawNode.advance(rd);

    expect(rawNode.hasReady()).toBe(false);
  });

  test('TestRawNodeRestart2AC', () => {
    const entries: Entry[] = [
      { entryType: EntryType.Normal, term: 1, index: 1 },
      { entryType: EntryType.Normal, term: 1, index: 2, data: bytes('foo') },
    ];
    const storage = new MemoryStorage();
    storage.setHardState({ term: 1, vote: 0, commit: 1 });
    storage.append(entries);
    // MemoryStorage has no way to record a membership without a snapshot, so the restarted node
    // is given its peers; everything else comes from the storage.
    const rawNode = new RawNode(newTestConfig(1, [1], 10, 1, storage));

    // Nothing changed since the restart except that entry 1 is committed and not yet applied:
    // no soft state, no hard state, nothing to persist, nothing to send.
    const rd = rawNode.ready();
    expect(rd).toStrictEqual({
      entries: [],
      committedEntries: [entries[0]],
      messages: [],
      persistedMessages: [],
    });
    rawNode.advance(rd);

    expect(rawNode.hasReady()).toBe(false);
  });
});
