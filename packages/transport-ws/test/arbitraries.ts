import {
  type Entry,
  isLocalMessage,
  type Message,
  MessageType,
  message,
  type Snapshot,
} from '@tinyraft/raft-core';
import fc from 'fast-check';

/** Small numbers most of the time, every safe integer some of the time. */
const count: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.constantFrom(127, 128, 16_383, 16_384, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);

const data: fc.Arbitrary<Uint8Array | undefined> = fc.option(fc.uint8Array({ maxLength: 40 }), {
  nil: undefined,
});

const snapshot: fc.Arbitrary<Snapshot> = fc
  .record({
    index: count,
    term: count,
    nodes: fc.array(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), {
      minLength: 1,
      maxLength: 6,
    }),
    data,
  })
  .map(({ index, term, nodes, data }) => {
    const s: Snapshot = { metadata: { index, term, confState: { nodes } } };
    if (data !== undefined) {
      s.data = data;
    }
    return s;
  });

/** Any message raft-core's `validateMessage` accepts, with every field exercised. */
export const anyMessage: fc.Arbitrary<Message> = fc
  .record({
    msgType: fc.constantFrom(...Object.values(MessageType)),
    to: count,
    from: count,
    term: count,
    logTerm: count,
    commit: count,
    reject: fc.boolean(),
    index: fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 8 }),
    ),
    entries: fc.array(fc.record({ entryType: fc.constantFrom(0, 1), term: count, data }), {
      maxLength: 5,
    }),
    snapshot: fc.option(snapshot, { nil: undefined }),
  })
  .map((r) => {
    const entries = r.entries.map(({ entryType, term, data }, k) => {
      const e: Entry = { entryType: entryType as Entry['entryType'], term, index: r.index + 1 + k };
      if (data !== undefined) {
        e.data = data;
      }
      return e;
    });
    const m = message({
      msgType: r.msgType,
      to: r.to,
      from: r.from,
      // A term of 0 marks a local message, and only a local message.
      term: isLocalMessage(r.msgType) ? 0 : r.term === 0 ? 1 : r.term,
      logTerm: r.logTerm,
      index: r.index,
      commit: r.commit,
      reject: r.reject,
      entries,
    });
    const snap =
      r.snapshot ??
      (r.msgType === MessageType.MsgSnapshot
        ? { metadata: { index: 0, term: 0, confState: { nodes: [1] } } }
        : undefined);
    if (snap !== undefined) {
      m.snapshot = snap;
    }
    return m;
  });
