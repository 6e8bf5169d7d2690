/// <reference types="node" />
import { crc32 } from 'node:zlib';
import { type ConfState, type Entry, EntryType, type HardState, type Snapshot } from './types.js';

/**
 * The on-disk format of `FileStorage`.
 *
 * A file is a header followed by records:
 *
 *     header: "tinyraft" (8 bytes) | version u32
 *     record: length u32 | crc32(payload) u32 | crc32(the previous 8 bytes) u32 | payload
 *
 * All integers are little endian. The frame carries its own checksum so that a damaged length
 * is caught instead of being taken for a record that runs past the end of the file (which
 * would look like a torn write and silently drop every record after it).
 */

export const MAGIC: Uint8Array = new TextEncoder().encode('tinyraft');
/**
 * The version this build writes. Version 2 added the `persist` record; a version 1 file holds
 * none and is still read (and rewritten as version 2 when opened).
 */
export const VERSION = 2;
/** The oldest version this build reads. */
export const OLDEST_VERSION = 1;
export const HEADER_SIZE = 12;
export const FRAME_SIZE = 12;

/** What one record says happened. Replaying the records in order rebuilds the state. */
export type LogRecord =
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'append'; entries: Entry[] }
  | { kind: 'applySnapshot'; snapshot: Snapshot }
  | { kind: 'createSnapshot'; snapshot: Snapshot }
  | { kind: 'compact'; index: number }
  /**
   * A Ready's snapshot (if any), hard state and entries: one checksum, so all or none. A snapshot
   * comes with the hard state that accepted it, so no crash leaves one without the other.
   */
  | { kind: 'persist'; snapshot?: Snapshot; hardState: HardState; entries: Entry[] }
  /** The whole state, written as the only record when the file is rewritten. */
  | { kind: 'state'; hardState: HardState; snapshot: Snapshot; dummy: Entry; entries: Entry[] };

const KIND_CODES = {
  hardState: 1,
  append: 2,
  applySnapshot: 3,
  createSnapshot: 4,
  compact: 5,
  state: 6,
  persist: 7,
} as const satisfies Record<LogRecord['kind'], number>;

/** The flag of a `persist` record that carries a snapshot. */
const PERSIST_HAS_SNAPSHOT = 1;

/** A payload that passed its checksum but does not decode; the caller adds file and offset. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

export function encodeHeader(): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, VERSION, true);
  return out;
}

/** Frames `payload` as one record: length, payload checksum, frame checksum, payload. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  view.setUint32(8, crc32(out.subarray(0, 8)), true);
  out.set(payload, FRAME_SIZE);
  return out;
}

/**
 * Turns `record` into a payload. Throws a `RangeError` or `TypeError` naming the field when a
 * value cannot be stored (a negative or fractional index, an unknown entry type), so that bad
 * input is refused before anything reaches the disk.
 */
export function encodeRecord(record: LogRecord): Uint8Array {
  const w = new Writer();
  w.u8(KIND_CODES[record.kind]);
  switch (record.kind) {
    case 'hardState':
      w.hardState(record.hardState);
      break;
    case 'append':
      w.entries(record.entries);
      break;
    case 'applySnapshot':
    case 'createSnapshot':
      w.snapshot(record.snapshot);
      break;
    case 'compact':
      w.num(record.index, 'compact index');
      break;
    case 'persist':
      w.u8(record.snapshot === undefined ? 0 : PERSIST_HAS_SNAPSHOT);
      if (record.snapshot !== undefined) {
        w.snapshot(record.snapshot);
      }
      w.hardState(record.hardState);
      w.entries(record.entries);
      break;
    case 'state':
      w.hardState(record.hardState);
      w.snapshot(record.snapshot);
      w.entry(record.dummy);
      w.entries(record.entries);
      break;
  }
  return w.finish();
}

/** The inverse of `encodeRecord`; throws `DecodeError` on anything it did not write. */
export function decodeRecord(payload: Uint8Array): LogRecord {
  const r = new Reader(payload);
  const code = r.u8('record kind');
  let record: LogRecord;
  switch (code) {
    case KIND_CODES.hardState:
      record = { kind: 'hardState', hardState: r.hardState() };
      break;
    case KIND_CODES.append:
      record = { kind: 'append', entries: r.entries() };
      break;
    case KIND_CODES.applySnapshot:
      record = { kind: 'applySnapshot', snapshot: r.snapshot() };
      break;
    case KIND_CODES.createSnapshot:
      record = { kind: 'createSnapshot', snapshot: r.snapshot() };
      break;
    case KIND_CODES.compact:
      record = { kind: 'compact', index: r.num('compact index') };
      break;
    case KIND_CODES.persist: {
      const flags = r.u8('persist flags');
      if ((flags & ~PERSIST_HAS_SNAPSHOT) !== 0) {
        throw new DecodeError(`persist flags has unknown bits: ${flags}`);
      }
      const snapshot = flags === PERSIST_HAS_SNAPSHOT ? r.snapshot() : undefined;
      record = { kind: 'persist', hardState: r.hardState(), entries: r.entries() };
      if (snapshot !== undefined) {
        record.snapshot = snapshot;
      }
      break;
    }
    case KIND_CODES.state:
      record = {
        kind: 'state',
        hardState: r.hardState(),
        snapshot: r.snapshot(),
        dummy: r.entry(),
        entries: r.entries(),
      };
      break;
    default:
      throw new DecodeError(`unknown record kind ${code}`);
  }
  r.end();
  return record;
}

class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u32(v: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new RangeError(`${what} must be an integer in [0, 2^32), got ${v}`);
    }
    this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Terms, indexes and ids: any safe non-negative integer, stored exactly as a float64. */
  num(v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`${what} must be a non-negative safe integer, got ${v}`);
    }
    this.reserve(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(v: Uint8Array | undefined, what: string): void {
    if (v === undefined) {
      this.u8(0);
      return;
    }
    if (!(v instanceof Uint8Array)) {
      throw new TypeError(`${what} must be a Uint8Array`);
    }
    this.u8(1);
    this.u32(v.length, `${what} length`);
    this.reserve(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  hardState(hs: HardState): void {
    this.num(hs.term, 'hard state term');
    this.num(hs.vote, 'hard state vote');
    this.num(hs.commit, 'hard state commit');
  }

  entry(e: Entry): void {
    if (e.entryType !== EntryType.Normal && e.entryType !== EntryType.ConfChange) {
      throw new RangeError(`entry ${e.index} has unknown entry type ${e.entryType}`);
    }
    this.u8(e.entryType);
    this.num(e.term, `term of entry ${e.index}`);
    this.num(e.index, 'entry index');
    this.bytes(e.data, `data of entry ${e.index}`);
  }

  entries(ents: Entry[]): void {
    this.u32(ents.length, 'entry count');
    for (const e of ents) {
      this.entry(e);
    }
  }

  snapshot(s: Snapshot): void {
    this.num(s.metadata.index, 'snapshot index');
    this.num(s.metadata.term, 'snapshot term');
    const nodes = s.metadata.confState.nodes;
    this.u32(nodes.length, 'conf state size');
    for (const id of nodes) {
      this.num(id, 'conf state node id');
    }
    this.bytes(s.data, 'snapshot data');
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) {
      return;
    }
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
}

class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  num(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new DecodeError(`${what} is ${v}, not a non-negative safe integer`);
    }
    this.pos += 8;
    return v;
  }

  /** A copy, so that a decoded value never keeps the whole file's buffer alive. */
  bytes(what: string): Uint8Array | undefined {
    const present = this.u8(`${what} flag`);
    if (present === 0) {
      return undefined;
    }
    if (present !== 1) {
      throw new DecodeError(`${what} flag is ${present}, expected 0 or 1`);
    }
    const len = this.u32(`${what} length`);
    this.need(len, what);
    const v = this.buf.slice(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  hardState(): HardState {
    return {
      term: this.num('hard state term'),
      vote: this.num('hard state vote'),
      commit: this.num('hard state commit'),
    };
  }

  entry(): Entry {
    const entryType = this.u8('entry type');
    if (entryType !== EntryType.Normal && entryType !== EntryType.ConfChange) {
      throw new DecodeError(`unknown entry type ${entryType}`);
    }
    const term = this.num('entry term');
    const index = this.num('entry index');
    const data = this.bytes(`data of entry ${index}`);
    const e: Entry = { entryType: entryType as EntryType, term, index };
    if (data !== undefined) {
      e.data = data;
    }
    return e;
  }

  entries(): Entry[] {
    const count = this.u32('entry count');
    const ents: Entry[] = [];
    for (let i = 0; i < count; i++) {
      ents.push(this.entry());
    }
    return ents;
  }

  snapshot(): Snapshot {
    const index = this.num('snapshot index');
    const term = this.num('snapshot term');
    const size = this.u32('conf state size');
    const confState: ConfState = { nodes: [] };
    for (let i = 0; i < size; i++) {
      confState.nodes.push(this.num('conf state node id'));
    }
    const data = this.bytes('snapshot data');
    const snap: Snapshot = { metadata: { index, term, confState } };
    if (data !== undefined) {
      snap.data = data;
    }
    return snap;
  }

  end(): void {
    if (this.pos !== this.buf.length) {
      throw new DecodeError(`${this.buf.length - this.pos} unexpected bytes after the record`);
    }
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError(`record ends inside ${what}`);
    }
  }
}
