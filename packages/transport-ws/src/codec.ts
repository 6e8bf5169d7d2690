/**
 * The wire format. Every frame is one WebSocket binary message:
 *
 *   magic "TRFT" (4 bytes) | version (1 byte) | kind (1 byte) | body
 *
 * Numbers are unsigned LEB128 varints, canonical (no redundant trailing zero groups) and at most
 * 2^53 - 1, so every JavaScript integer the API allows survives and nothing else decodes. Byte
 * strings are a varint length and the bytes. Decoding never allocates more than the frame holds:
 * a length is checked against the bytes that remain before anything is copied.
 */
import {
  type Entry,
  MalformedMessageError,
  type Message,
  type Snapshot,
  validateMessage,
} from '@tinyraft/raft-core';

const MAGIC = [0x54, 0x52, 0x46, 0x54] as const;

/** The wire format version this code speaks; a peer on another version is refused. */
export const WIRE_VERSION = 1;

/** The largest frame `decodeMessages` accepts unless told otherwise. */
export const DEFAULT_MAX_FRAME_BYTES: number = 16 * 1024 * 1024;

/** What a frame carries: the three handshake steps, then raft messages. */
export const FrameKind = { Hello: 1, Proof: 2, Welcome: 3, Messages: 4 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export type FrameErrorReason =
  | 'bad-magic'
  | 'bad-version'
  | 'truncated'
  | 'trailing-bytes'
  | 'bad-field'
  | 'too-large';

/** A frame that cannot be encoded or decoded. `reason` says which rule it broke. */
export class FrameError extends Error {
  override name = 'FrameError';
  readonly reason: FrameErrorReason;

  constructor(reason: FrameErrorReason, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

const REJECT = 1;
const HAS_SNAPSHOT = 2;
const HAS_DATA = 1;

/**
 * The buffer the previous frame was built in. Frames are built one at a time and copied out when
 * done, so the next one can reuse it: most frames then cost one allocation of their exact size,
 * instead of a buffer that starts small and is reallocated and copied each time it doubles.
 */
let spare: Uint8Array | undefined;
/** Past this, a buffer is left to the collector rather than kept (a snapshot can be 16 MiB). */
const SPARE_LIMIT = 1 << 16;
const EMPTY = new Uint8Array(0);

/**
 * Writes `v`, which the caller has checked is an integer in [0, 2^53 - 1], as a varint at `at` and
 * returns the offset after it. `buf` must have 8 bytes free there.
 */
function putVarint(buf: Uint8Array, at: number, v: number): number {
  let rest = v;
  // Bit operators work on 32 bits; above 2^31 the groups are split off by division.
  while (rest > 0x7fffffff) {
    buf[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  while (rest >= 0x80) {
    buf[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buf[at++] = rest;
  return at;
}

/** The most bytes a varint takes. */
const VARINT_BYTES = 8;

/**
 * Frames laid end to end in large buffers ("slabs") from `alloc`, for a sender that makes many
 * small frames: a frame is a view of its slab, with no allocation or copy of its own. The bytes
 * of a frame that has been handed out are never written again, so a frame stays valid for as long
 * as anyone holds it, and a slab lives as long as its last frame.
 */
export class FrameSlab {
  /** The slab being filled, and how much of it frames already hold. */
  buf: Uint8Array = EMPTY;
  used = 0;
  private readonly alloc: (size: number) => Uint8Array;
  private readonly slabBytes: number;

  constructor(alloc: (size: number) => Uint8Array, slabBytes: number = SPARE_LIMIT) {
    this.alloc = alloc;
    this.slabBytes = slabBytes;
  }

  /** A new buffer for a frame that outgrew the slab: a new slab, or one of its own if larger. */
  fresh(atLeast: number): Uint8Array {
    return this.alloc(Math.max(this.slabBytes, 2 * atLeast));
  }

  /** A frame ending at `end` of `buf` was handed out; frames from now on go after it. */
  took(buf: Uint8Array, end: number): void {
    // A buffer grown for one huge frame is not kept for the small ones after it.
    if (buf.length <= 2 * this.slabBytes) {
      this.buf = buf;
      this.used = end;
    } else {
      this.buf = EMPTY;
      this.used = 0;
    }
  }
}

/**
 * Appends to a buffer that grows as needed. `finish` ends its use. With a `FrameSlab` the frame is
 * written straight into the slab; without one, into a buffer reused from frame to frame and copied
 * out at the end.
 */
export class Writer {
  private buf: Uint8Array;
  /** Where this frame starts in `buf`: 0, or past the frames already in the slab. */
  private start: number;
  /**
   * Where the next byte goes in `buf`; the frame so far is `buf[start, length)`. A caller that
   * writes into `room(n)` moves it on itself.
   */
  length: number;
  private readonly slab: FrameSlab | undefined;

  constructor(kind: FrameKind, slab?: FrameSlab) {
    this.slab = slab;
    if (slab === undefined) {
      this.buf = spare ?? new Uint8Array(1024);
      // Taken, not shared: a second Writer alive at the same time gets a buffer of its own.
      spare = undefined;
      this.start = 0;
    } else {
      this.buf = slab.buf;
      this.start = slab.used;
    }
    this.length = this.start;
    for (const b of MAGIC) {
      this.u8(b);
    }
    this.u8(WIRE_VERSION);
    this.u8(kind);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new FrameError('bad-field', `cannot encode ${v}: not an integer in [0, 2^53 - 1]`);
    }
    this.length = putVarint(this.room(VARINT_BYTES), this.length, v);
  }

  /**
   * Makes room for `n` more bytes and returns the buffer to write them into, from `length` on.
   * The buffer is only good until the next call that writes.
   */
  room(n: number): Uint8Array {
    this.reserve(n);
    return this.buf;
  }

  /** Bytes of a length the reader already knows (a nonce, a MAC). */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** The frame; the writer must not be used afterwards. */
  finish(): Uint8Array {
    const buf = this.buf;
    let frame: Uint8Array;
    if (this.slab !== undefined) {
      frame = buf.subarray(this.start, this.length);
      this.slab.took(buf, this.length);
    } else {
      frame = buf.slice(0, this.length);
      if (buf.length <= SPARE_LIMIT) {
        spare = buf;
      }
    }
    this.buf = EMPTY;
    this.start = 0;
    this.length = 0;
    return frame;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) {
      return;
    }
    const size = this.length - this.start;
    const next =
      this.slab?.fresh(size + n) ?? new Uint8Array(Math.max(this.buf.length * 2, size + n));
    next.set(this.buf.subarray(this.start, this.length));
    this.buf = next;
    this.start = 0;
    this.length = size;
  }
}

/** Reads a frame front to back; every read checks the bytes that remain. */
export class Reader {
  private offset = 0;
  private readonly frame: Uint8Array;
  private readonly maxBytes: number;
  private copy: Uint8Array | undefined;

  /** Checks the header and returns a reader positioned at the body. */
  constructor(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.frame = bytes;
    this.maxBytes = maxBytes;
    if (bytes.length > maxBytes) {
      throw new FrameError('too-large', `frame of ${bytes.length} bytes exceeds ${maxBytes}`);
    }
    for (let i = 0; i < MAGIC.length; i++) {
      const b = this.u8('magic');
      if (b !== MAGIC[i]) {
        throw new FrameError('bad-magic', `byte ${i} of the magic is ${b}, expected ${MAGIC[i]}`);
      }
    }
    const version = this.u8('version');
    if (version !== WIRE_VERSION) {
      throw new FrameError('bad-version', `version ${version}, this node speaks ${WIRE_VERSION}`);
    }
  }

  get remaining(): number {
    return this.frame.length - this.offset;
  }

  /** Where the reader is, for error messages. */
  at(): string {
    return `at byte ${this.offset}`;
  }

  // `what` names the field in errors; callers pass constants, so a frame of a million entries
  // does not build a million strings.

  u8(what: string): number {
    const b = this.frame[this.offset];
    if (b === undefined) {
      throw new FrameError('truncated', `${what}: the frame ends ${this.at()}`);
    }
    this.offset++;
    return b;
  }

  /** A byte of flag bits; a bit outside `known` is refused rather than ignored. */
  flags(what: string, known: number): number {
    const b = this.u8(what);
    if ((b & ~known) !== 0) {
      throw new FrameError('bad-field', `${what} has unknown bits set: ${b} ${this.at()}`);
    }
    return b;
  }

  varint(what: string): number {
    // Most fields (types, ids, small terms) fit in one byte.
    const b = this.frame[this.offset];
    if (b !== undefined && b < 0x80) {
      this.offset++;
      return b;
    }
    return this.longVarint(what);
  }

  private longVarint(what: string): number {
    let value = 0;
    let scale = 1;
    // 8 groups of 7 bits cover 2^53 - 1; a 9th group can only encode something larger.
    for (let group = 0; group < 8; group++, scale *= 0x80) {
      const b = this.u8(what);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && group > 0) {
          throw new FrameError('bad-field', `${what}: varint with a redundant zero ${this.at()}`);
        }
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new FrameError('bad-field', `${what}: varint over 2^53 - 1 ${this.at()}`);
        }
        return value;
      }
    }
    throw new FrameError('bad-field', `${what}: varint longer than 8 bytes ${this.at()}`);
  }

  /**
   * A length or a count: the number of bytes or items that follow. None of them can be smaller
   * than a byte, so a value beyond what remains is a cut frame, and beyond the frame limit it
   * could never have been valid.
   */
  length(what: string): number {
    const n = this.varint(what);
    if (n > this.maxBytes) {
      throw new FrameError(
        'too-large',
        `${what} declares ${n}, over the limit of ${this.maxBytes}`,
      );
    }
    if (n > this.remaining) {
      throw new FrameError(
        'truncated',
        `${what} declares ${n}, but ${this.remaining} bytes remain`,
      );
    }
    return n;
  }

  /**
   * `n` bytes, in a copy so that the frame's buffer can be reused. The byte strings of a frame
   * are views of one copy of it, made when the first is read: an allocation per entry cost more
   * than decoding the rest of a MsgAppend.
   */
  raw(n: number, what: string): Uint8Array {
    if (n > this.remaining) {
      throw new FrameError('truncated', `${what}: needed ${n} bytes, ${this.remaining} remain`);
    }
    this.copy ??= new Uint8Array(this.frame);
    const out = new Uint8Array(this.copy.buffer, this.offset, n);
    this.offset += n;
    return out;
  }

  /** A length, then that many bytes. */
  bytes(what: string): Uint8Array {
    return this.raw(this.length(what), what);
  }

  /** The frame must end here. */
  end(): void {
    if (this.remaining > 0) {
      throw new FrameError(
        'trailing-bytes',
        `${this.remaining} bytes after the end of the frame at offset ${this.offset}`,
      );
    }
  }
}

/** Checks the header of a frame that must be of `kind`; returns a reader for its body. */
export function expectFrame(bytes: Uint8Array, kind: FrameKind, maxBytes?: number): Reader {
  const body = new Reader(bytes, maxBytes);
  const actual = body.u8('kind');
  if (actual !== kind) {
    throw new FrameError('bad-field', `frame kind ${actual}, expected ${kind}`);
  }
  return body;
}

function checked(m: unknown, i: number): Message {
  try {
    return validateMessage(m);
  } catch (error) {
    if (error instanceof MalformedMessageError) {
      throw new FrameError('bad-field', `message ${i}: ${error.message}`);
    }
    throw error;
  }
}

/** Type, six varints, flags and the entry count. */
const MESSAGE_HEAD_BYTES = 2 + 7 * VARINT_BYTES;
/** Type, term, index and flags; the data follows on its own. */
const ENTRY_HEAD_BYTES = 2 + 2 * VARINT_BYTES;

/**
 * Writes a message that `validateMessage` has passed, so every number is an integer in range and
 * goes straight to `putVarint`. The fixed-size parts are written into room made for them at once.
 */
function writeMessage(w: Writer, m: Message): void {
  let buf = w.room(MESSAGE_HEAD_BYTES);
  let at = w.length;
  buf[at++] = m.msgType;
  at = putVarint(buf, at, m.to);
  at = putVarint(buf, at, m.from);
  at = putVarint(buf, at, m.term);
  at = putVarint(buf, at, m.logTerm);
  at = putVarint(buf, at, m.index);
  at = putVarint(buf, at, m.commit);
  buf[at++] = (m.reject ? REJECT : 0) | (m.snapshot !== undefined ? HAS_SNAPSHOT : 0);
  const entries = m.entries;
  w.length = putVarint(buf, at, entries.length);
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k] as Entry;
    if (e.entryType !== 0 && e.entryType !== 1) {
      // validateMessage lets a proposal leave it out; the wire has no way to say "none".
      throw new FrameError('bad-field', `entry ${e.index} has entryType ${e.entryType}`);
    }
    buf = w.room(ENTRY_HEAD_BYTES);
    at = w.length;
    buf[at++] = e.entryType;
    at = putVarint(buf, at, e.term);
    at = putVarint(buf, at, e.index);
    buf[at++] = e.data !== undefined ? HAS_DATA : 0;
    w.length = at;
    if (e.data !== undefined) {
      w.bytes(e.data);
    }
  }
  if (m.snapshot !== undefined) {
    const md = m.snapshot.metadata;
    w.varint(md.index);
    w.varint(md.term);
    w.varint(md.confState.nodes.length);
    for (const id of md.confState.nodes) {
      w.varint(id);
    }
    w.u8(m.snapshot.data !== undefined ? HAS_DATA : 0);
    if (m.snapshot.data !== undefined) {
      w.bytes(m.snapshot.data);
    }
  }
}

function readEntry(r: Reader): Entry {
  const entryType = r.u8('entryType');
  if (entryType !== 0 && entryType !== 1) {
    throw new FrameError('bad-field', `entryType must be 0 or 1, got ${entryType} ${r.at()}`);
  }
  const e: Entry = {
    entryType,
    term: r.varint('entry term'),
    index: r.varint('entry index'),
  };
  if (r.flags('entry flags', HAS_DATA) !== 0) {
    e.data = r.bytes('entry data');
  }
  return e;
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.varint('snapshot index');
  const term = r.varint('snapshot term');
  const nodes: number[] = [];
  const count = r.length('snapshot node count');
  for (let i = 0; i < count; i++) {
    nodes.push(r.varint('snapshot node'));
  }
  const snapshot: Snapshot = { metadata: { index, term, confState: { nodes } } };
  if (r.flags('snapshot flags', HAS_DATA) !== 0) {
    snapshot.data = r.bytes('snapshot data');
  }
  return snapshot;
}

function readMessage(r: Reader, i: number): Message {
  const msgType = r.u8('msgType');
  const to = r.varint('to');
  const from = r.varint('from');
  const term = r.varint('term');
  const logTerm = r.varint('logTerm');
  const index = r.varint('index');
  const commit = r.varint('commit');
  const flags = r.flags('message flags', REJECT | HAS_SNAPSHOT);
  const count = r.length('entry count');
  const entries: Entry[] = [];
  for (let k = 0; k < count; k++) {
    entries.push(readEntry(r));
  }
  const m = {
    msgType,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & REJECT) !== 0,
  } as Message;
  if ((flags & HAS_SNAPSHOT) !== 0) {
    m.snapshot = readSnapshot(r);
  }
  // The type byte and the rest are checked by raft-core's own rules, so the transport can never
  // deliver a message that `step` would refuse as malformed.
  return checked(m, i);
}

function writeMessages(messages: readonly Message[], slab?: FrameSlab): Writer {
  const w = new Writer(FrameKind.Messages, slab);
  w.varint(messages.length);
  for (let i = 0; i < messages.length; i++) {
    writeMessage(w, checked(messages[i], i));
  }
  return w;
}

/**
 * Encodes a batch of messages into one frame. Throws `FrameError` ('bad-field') for a message that
 * is not well formed by raft-core's `validateMessage` (such as a negative or fractional number).
 */
export function encodeMessages(messages: readonly Message[]): Uint8Array {
  return writeMessages(messages).finish();
}

/** `encodeMessages` into `slab`: the frame is a view of it (see `FrameSlab`). */
export function encodeMessagesInto(messages: readonly Message[], slab: FrameSlab): Uint8Array {
  return writeMessages(messages, slab).finish();
}

/**
 * Decodes a frame of messages. Throws `FrameError` for anything malformed: a frame over
 * `maxBytes`, a wrong magic, version or kind, a frame cut short or with bytes after its end, or a
 * field that is out of range or fails raft-core's `validateMessage`.
 */
export function decodeMessages(
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_FRAME_BYTES,
): Message[] {
  const r = expectFrame(bytes, FrameKind.Messages, maxBytes);
  const messages: Message[] = [];
  const count = r.length('message count');
  for (let i = 0; i < count; i++) {
    messages.push(readMessage(r, i));
  }
  r.end();
  return messages;
}

/** Encodes one message as a frame of its own. */
export function encodeMessage(m: Message): Uint8Array {
  return encodeMessages([m]);
}

/** Decodes a frame that must hold exactly one message. */
export function decodeMessage(
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_FRAME_BYTES,
): Message {
  const messages = decodeMessages(bytes, maxBytes);
  const [m] = messages;
  if (m === undefined || messages.length !== 1) {
    throw new FrameError('bad-field', `expected 1 message, the frame holds ${messages.length}`);
  }
  return m;
}
