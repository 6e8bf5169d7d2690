import { EntryType, type Message, MessageType, message } from '@tinyraft/raft-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMessagesInto, FrameSlab } from '../src/codec.js';
import {
  decodeMessage,
  decodeMessages,
  encodeMessage,
  encodeMessages,
  FrameError,
  type FrameErrorReason,
} from '../src/index.js';
import { anyMessage } from './arbitraries.js';
import { checkProperty } from './property.js';

// Frames are built by hand here, independently of the encoder, so the tests pin the wire format.

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

const MAGIC = [0x54, 0x52, 0x46, 0x54];
const MESSAGES = 4;

function frame(...parts: (number | readonly number[])[]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

/** A frame of one message: header, count 1, then the given message bytes. */
function oneMessage(...body: (number | readonly number[])[]): Uint8Array {
  return frame(MAGIC, 1, MESSAGES, 1, ...body);
}

/** MsgHeartbeat 1 → 2, term 3, commit 5, field by field: type, to, from, term, logTerm, index,
 * commit, flags, entry count. */
const heartbeat = [8, 2, 1, 3, 0, 0, 5, 0, 0];

function reasonOf(decode: () => unknown): FrameErrorReason | 'decoded' | 'other error' {
  try {
    decode();
    return 'decoded';
  } catch (error) {
    return error instanceof FrameError ? error.reason : 'other error';
  }
}

const richBatch: Message[] = [
  message({
    msgType: MessageType.MsgAppend,
    to: 2,
    from: 1,
    term: 7,
    logTerm: 6,
    index: 41,
    commit: 40,
    entries: [
      { entryType: EntryType.Normal, term: 7, index: 42, data: Uint8Array.from([1, 2, 3]) },
      { entryType: EntryType.ConfChange, term: 7, index: 43, data: new Uint8Array(0) },
      { entryType: EntryType.Normal, term: 7, index: 44 },
    ],
  }),
  message({
    msgType: MessageType.MsgSnapshot,
    to: 2,
    from: 1,
    term: 300,
    snapshot: {
      data: Uint8Array.from([9, 8, 7]),
      metadata: { index: 1_000_000, term: 299, confState: { nodes: [1, 2, 3] } },
    },
  }),
  message({ msgType: MessageType.MsgAppendResponse, to: 2, from: 1, term: 7, reject: true }),
];

describe('codec: the wire format', () => {
  it('lays out a heartbeat as header, count, then each field in order', () => {
    const m = message({ msgType: MessageType.MsgHeartbeat, to: 2, from: 1, term: 3, commit: 5 });
    expect(encodeMessage(m)).toEqual(oneMessage(heartbeat));
    expect(decodeMessage(oneMessage(heartbeat))).toStrictEqual(m);
  });

  it('writes numbers as canonical LEB128 varints up to 2^53 - 1', () => {
    for (const n of [0, 1, 127, 128, 300, 16_384, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const m = message({ msgType: MessageType.MsgHeartbeat, to: 2, from: 1, term: 1, commit: n });
      const bytes = encodeMessage(m);
      // header (6), count, type, to, from, term, logTerm, index: the commit starts at byte 13.
      expect(bytes.subarray(13, bytes.length - 2), `commit ${n}`).toEqual(
        Uint8Array.from(varint(n)),
      );
      expect(decodeMessage(bytes).commit).toBe(n);
    }
  });

  it('round-trips any message, alone and in batches (property)', () => {
    checkProperty(anyMessage, (m) => {
      expect(decodeMessage(encodeMessage(m))).toStrictEqual(m);
    });
    checkProperty(fc.array(anyMessage, { maxLength: 6 }), (batch) => {
      expect(decodeMessages(encodeMessages(batch))).toStrictEqual(batch);
    });
  });

  it('encodes deterministically: decoding and re-encoding gives the same bytes (property)', () => {
    checkProperty(anyMessage, (m) => {
      const bytes = encodeMessage(m);
      expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes);
    });
  });

  it('decodes into fresh plain Uint8Arrays that do not share the frame buffer', () => {
    const bytes = Buffer.from(encodeMessages(richBatch));
    const [append] = decodeMessages(bytes);
    const data = append?.entries[0]?.data;
    expect(data?.constructor).toBe(Uint8Array);
    bytes.fill(0xee);
    expect(data).toEqual(Uint8Array.from([1, 2, 3]));
  });
});

describe('codec: frames written end to end into slabs', () => {
  // What the transport does: every frame is a view of a shared slab. Earlier frames must survive
  // everything written after them: more frames, a frame that outgrows the slab, a failed encode.
  const bad = message({ msgType: MessageType.MsgHeartbeat, to: 2, from: 1, term: -1 });
  // Passes validation, then fails half-way through its entries: the wire needs an entryType.
  const halfWritten = message({
    msgType: MessageType.MsgPropose,
    to: 1,
    from: 1,
    entries: [
      { entryType: EntryType.Normal, term: 0, index: 0, data: new Uint8Array(40) },
      { data: new Uint8Array(3) } as never,
    ],
  });

  it('gives each frame the bytes encodeMessages gives, and never rewrites one (property)', () => {
    const step = fc.oneof(
      fc.array(anyMessage, { maxLength: 4 }).map((batch) => ({ batch, fails: false })),
      fc.constant({ batch: [bad], fails: true }),
      fc.constant({ batch: [halfWritten], fails: true }),
    );
    checkProperty(
      fc.record({ slabBytes: fc.integer({ min: 8, max: 600 }), steps: fc.array(step) }),
      ({ slabBytes, steps }) => {
        const slab = new FrameSlab((n) => new Uint8Array(n).fill(0xaa), slabBytes);
        const written: Array<{ frame: Uint8Array; copy: Uint8Array }> = [];
        for (const { batch, fails } of steps) {
          if (fails) {
            expect(() => encodeMessagesInto(batch, slab)).toThrow(FrameError);
            continue;
          }
          const frame = encodeMessagesInto(batch, slab);
          expect(frame).toEqual(encodeMessages(batch));
          written.push({ frame, copy: frame.slice() });
        }
        for (const { frame, copy } of written) {
          expect(frame).toEqual(copy);
          expect(decodeMessages(frame)).toStrictEqual(decodeMessages(copy));
        }
      },
    );
  });

  it('puts small frames side by side in one slab and a large one in a buffer of its own', () => {
    const sizes: number[] = [];
    const slab = new FrameSlab((n) => {
      sizes.push(n);
      return new Uint8Array(n);
    }, 1024);
    const hb = message({ msgType: MessageType.MsgHeartbeat, to: 2, from: 1, term: 3, commit: 5 });
    const a = encodeMessagesInto([hb], slab);
    const b = encodeMessagesInto([hb, hb], slab);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + a.length);
    const big = message({
      msgType: MessageType.MsgAppend,
      to: 2,
      from: 1,
      term: 3,
      logTerm: 3,
      index: 7,
      entries: [{ entryType: EntryType.Normal, term: 3, index: 8, data: new Uint8Array(5000) }],
    });
    const c = encodeMessagesInto([big], slab);
    expect(c.buffer).not.toBe(a.buffer);
    // The grown buffer is not kept: the next small frame starts a new slab of the usual size.
    const d = encodeMessagesInto([hb], slab);
    expect(d.buffer).not.toBe(c.buffer);
    expect(sizes.map((n) => n >= 5000)).toEqual([false, true, false]);
    expect(decodeMessages(a)).toStrictEqual([hb]);
    expect(decodeMessages(c)).toStrictEqual([big]);
  });
});

describe('codec: every malformed frame is refused with a reason', () => {
  it('refuses a frame cut at every offset as truncated', () => {
    const bytes = encodeMessages(richBatch);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(
        reasonOf(() => decodeMessages(bytes.subarray(0, cut))),
        `cut at ${cut}`,
      ).toBe('truncated');
    }
  });

  it('refuses any message cut anywhere as truncated (property)', () => {
    const cutMessage = anyMessage.chain((m) => {
      const bytes = encodeMessage(m);
      return fc.integer({ min: 0, max: bytes.length - 1 }).map((cut) => bytes.subarray(0, cut));
    });
    checkProperty(cutMessage, (cut) => {
      expect(reasonOf(() => decodeMessage(cut))).toBe('truncated');
    });
  });

  it('refuses a flipped magic byte as bad-magic', () => {
    const good = oneMessage(heartbeat);
    for (let i = 0; i < 4; i++) {
      const bad = good.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      expect(
        reasonOf(() => decodeMessage(bad)),
        `byte ${i}`,
      ).toBe('bad-magic');
    }
  });

  it('refuses any other version as bad-version', () => {
    for (const version of [0, 2, 255]) {
      const bad = frame(MAGIC, version, MESSAGES, 1, heartbeat);
      expect(
        reasonOf(() => decodeMessage(bad)),
        `version ${version}`,
      ).toBe('bad-version');
    }
  });

  it('refuses bytes after the last message as trailing-bytes', () => {
    const good = encodeMessages(richBatch);
    expect(reasonOf(() => decodeMessages(frame([...good], 0)))).toBe('trailing-bytes');
    expect(reasonOf(() => decodeMessages(frame([...good], [...good])))).toBe('trailing-bytes');
  });

  const badFields: [string, Uint8Array][] = [
    ['an unknown frame kind', frame(MAGIC, 1, 9, 1, heartbeat)],
    ['a handshake frame where messages are expected', frame(MAGIC, 1, 1, 1, heartbeat)],
    ['an unknown message type', oneMessage(10, heartbeat.slice(1))],
    ['a message type out of range', oneMessage(255, heartbeat.slice(1))],
    ['an unknown message flag bit', oneMessage(heartbeat.slice(0, 7), 4, 0)],
    ['an entry type other than 0 or 1', oneMessage(3, 2, 1, 3, 0, 0, 0, 0, 1, [2, 3, 1, 0])],
    ['an unknown entry flag bit', oneMessage(3, 2, 1, 3, 0, 0, 0, 0, 1, [0, 3, 1, 2])],
    ['a varint with a redundant zero group', oneMessage(8, [0x82, 0x00], heartbeat.slice(2))],
    [
      'a varint of 2^53',
      oneMessage(8, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], heartbeat.slice(2)),
    ],
    [
      'a varint longer than 8 bytes',
      oneMessage(8, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], heartbeat.slice(2)),
    ],
    ['term 0 in a message between nodes', oneMessage(8, 2, 1, 0, 0, 0, 5, 0, 0)],
    ['entries that do not follow index', oneMessage(3, 2, 1, 3, 3, 5, 0, 0, 1, [0, 3, 7, 0])],
    ['a MsgSnapshot without a snapshot', oneMessage(7, 2, 1, 3, 0, 0, 0, 0, 0)],
    ['a snapshot member with id 0', oneMessage(7, 2, 1, 3, 0, 0, 0, 2, 0, [9, 3, 1, 0, 0])],
  ];
  it.each(badFields)('refuses %s as bad-field', (_name, bytes) => {
    expect(reasonOf(() => decodeMessage(bytes))).toBe('bad-field');
  });

  it('refuses a frame of several or no messages where exactly one is expected', () => {
    expect(reasonOf(() => decodeMessage(encodeMessages(richBatch)))).toBe('bad-field');
    expect(reasonOf(() => decodeMessage(encodeMessages([])))).toBe('bad-field');
    expect(decodeMessages(encodeMessages([]))).toEqual([]);
  });

  it('refuses a frame over the size limit as too-large', () => {
    const bytes = encodeMessages(richBatch);
    expect(reasonOf(() => decodeMessages(bytes, bytes.length))).toBe('decoded');
    expect(reasonOf(() => decodeMessages(bytes, bytes.length - 1))).toBe('too-large');
  });

  const append = (...entry: (number | readonly number[])[]) =>
    oneMessage(3, 2, 1, 3, 3, 5, 0, 0, 1, [0, 3, 6, 1], ...entry);
  const absurd: [string, Uint8Array][] = [
    ['an entry of 2^50 bytes', append(varint(2 ** 50), 1, 2, 3)],
    ['2^40 entries', oneMessage(3, 2, 1, 3, 3, 5, 0, 0, varint(2 ** 40), [0, 3, 6, 0])],
    ['2^52 messages', frame(MAGIC, 1, MESSAGES, varint(2 ** 52), heartbeat)],
    ['a snapshot of 2^45 members', oneMessage(7, 2, 1, 3, 0, 0, 0, 2, 0, 9, 3, varint(2 ** 45), 1)],
  ];
  it.each(absurd)(
    'refuses a frame declaring %s as too-large, without allocating it',
    (_n, bytes) => {
      expect(reasonOf(() => decodeMessages(bytes))).toBe('too-large');
      // With no frame limit at all the length is still checked against the bytes that remain:
      // allocating first would throw a RangeError here instead of a FrameError.
      expect(reasonOf(() => decodeMessages(bytes, Number.MAX_SAFE_INTEGER))).toBe('truncated');
    },
  );
});

describe('codec: encoding refuses what the wire cannot carry', () => {
  const hb = message({ msgType: MessageType.MsgHeartbeat, to: 2, from: 1, term: 3 });
  const invalid: [string, unknown][] = [
    ['a negative number', { ...hb, commit: -1 }],
    ['a fractional number', { ...hb, index: 1.5 }],
    ['a number above 2^53 - 1', { ...hb, term: 2 ** 53 }],
    ['NaN', { ...hb, logTerm: Number.NaN }],
    ['term 0 between nodes', { ...hb, term: 0 }],
    ['an unknown type', { ...hb, msgType: 10 }],
    [
      'a proposal entry without a type',
      message({ msgType: MessageType.MsgPropose, entries: [{ term: 0, index: 0 } as never] }),
    ],
  ];
  it.each(invalid)('throws FrameError bad-field for %s', (_name, m) => {
    expect(reasonOf(() => encodeMessage(m as Message))).toBe('bad-field');
  });
});
