import { describe, expect, test } from 'vitest';
import {
  type Entry,
  EntryType,
  type HardState,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  messageTypeName,
  type PersistUpdate,
  RaftNode,
  type Snapshot,
  type Transport,
} from '../src/index.js';
import { testConfig } from './helpers.js';

/** A `MemoryStorage` that writes every write call into `log`. */
class RecordingStorage extends MemoryStorage {
  constructor(private readonly log: string[]) {
    super();
  }
  override setHardState(hs: HardState): void {
    this.log.push('setHardState');
    super.setHardState(hs);
  }
  override append(entries: Entry[]): void {
    this.log.push('append');
    super.append(entries);
  }
  override applySnapshot(snap: Snapshot): void {
    this.log.push(`applySnapshot ${snap.metadata.index}`);
    super.applySnapshot(snap);
  }
  override persist(update: PersistUpdate): void {
    const hs = update.hardState;
    const what = hs === undefined ? 'no hard state' : `term ${hs.term} vote ${hs.vote}`;
    const snap =
      update.snapshot === undefined ? '' : `snapshot ${update.snapshot.metadata.index}, `;
    this.log.push(`persist ${snap}${what}, ${update.entries.length} entries`);
    super.persist(update);
  }
}

/** Node 1 of 3 on a transport and storage that record into one log, so that order shows. */
function recordingNode(): { node: RaftNode; storage: RecordingStorage; log: string[] } {
  const log: string[] = [];
  const storage = new RecordingStorage(log);
  const transport: Transport = {
    send(messages: readonly Message[]) {
      for (const m of messages) {
        log.push(`send ${messageTypeName(m.msgType)} to ${m.to}`);
      }
    },
    onMessage() {},
    close: async () => {},
  };
  const node = new RaftNode({
    config: { ...testConfig(), storage },
    transport,
    ticker: { start() {}, stop() {} },
  });
  node.start();
  return { node, storage, log };
}

const ent = (index: number, term: number): Entry => ({ entryType: EntryType.Normal, term, index });

describe('RaftNode.handleReady persists before it acknowledges', () => {
  test('a Ready with a hard state and entries is persisted by one persist call, then acknowledged', () => {
    const { node, storage, log } = recordingNode();
    // Stepped on the RawNode directly; the tick below handles the Ready it makes.
    node.rawNode.step(
      message({
        msgType: MessageType.MsgAppend,
        from: 2,
        to: 1,
        term: 2,
        entries: [ent(1, 2), ent(2, 2)],
        commit: 1,
      }),
    );
    node.tick();
    expect(log).toEqual(['persist term 2 vote 0, 2 entries', 'send MsgAppendResponse to 2']);
    expect(storage.initialState().hardState).toEqual({ term: 2, vote: 0, commit: 1 });
    expect(storage.lastIndex()).toBe(2);
  });

  test('a vote is persisted before it is sent, with no entries', () => {
    const { node, log } = recordingNode();
    node.campaign();
    expect(log[0]).toBe('persist term 1 vote 1, 0 entries');
    expect(log.slice(1).sort()).toEqual(['send MsgRequestVote to 2', 'send MsgRequestVote to 3']);
  });

  test('a snapshot is persisted in one step with the hard state that accepted it', () => {
    const { node, storage, log } = recordingNode();
    const snapshot: Snapshot = { metadata: { index: 5, term: 2, confState: { nodes: [1, 2, 3] } } };
    node.rawNode.step(
      message({ msgType: MessageType.MsgSnapshot, from: 2, to: 1, term: 2, snapshot }),
    );
    node.tick();
    expect(log).toEqual([
      'persist snapshot 5, term 2 vote 0, 0 entries',
      'send MsgAppendResponse to 2',
    ]);
    expect(storage.initialState().hardState).toEqual({ term: 2, vote: 0, commit: 5 });
  });
});
