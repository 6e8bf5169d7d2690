import { type Entry, EntryType } from '@tinyraft/raft-core';
import { describe, expect, it } from 'vitest';
import {
  decodeCommand,
  encodeCommand,
  type KvCommand,
  KvCommandError,
  KvStore,
} from '../src/kv.js';

const entry = (index: number, term: number, c?: KvCommand | Uint8Array): Entry => {
  const e: Entry = { entryType: EntryType.Normal, index, term };
  if (c !== undefined) {
    e.data = c instanceof Uint8Array ? c : encodeCommand(c);
  }
  return e;
};

describe('KvStore', () => {
  it('applies puts and deletes in log order', () => {
    const s = new KvStore();
    s.apply(entry(1, 1));
    s.apply(entry(2, 1, { op: 'put', key: 'a', value: '1', id: 'r1' }));
    s.apply(entry(3, 1, { op: 'put', key: 'a', value: '2', id: 'r2' }));
    s.apply(entry(4, 1, { op: 'put', key: 'b', value: 'x', id: 'r3' }));
    s.apply(entry(5, 1, { op: 'delete', key: 'b', id: 'r4' }));
    expect(s.get('a')).toBe('2');
    expect(s.get('b')).toBeUndefined();
    expect(s.digest()).toMatchObject({ applied: 5, keys: 1 });
  });

  it('applies a retried request id only once, even after a later write to the same key', () => {
    const s = new KvStore();
    s.apply(entry(1, 1, { op: 'put', key: 'a', value: 'first', id: 'same' }));
    s.apply(entry(2, 1, { op: 'put', key: 'a', value: 'other', id: 'other' }));
    // The retry of "same" was appended again by a new leader after its ack was lost.
    s.apply(entry(3, 2, { op: 'put', key: 'a', value: 'first', id: 'same' }));
    expect(s.get('a')).toBe('other');
    expect(s.duplicates).toBe(1);
    expect(s.hasApplied('same')).toBe(true);
  });

  it('gives replicas that applied the same entries the same digest, and different logs different ones', () => {
    const log = [
      entry(1, 1),
      entry(2, 1, { op: 'put', key: 'k', value: 'v', id: '1' }),
      entry(3, 2, new Uint8Array(0)),
    ];
    const a = new KvStore();
    const b = new KvStore();
    for (const e of log) {
      a.apply(e);
      b.apply(e);
    }
    expect(a.digest()).toEqual(b.digest());
    const c = new KvStore();
    c.apply(log[0] as Entry);
    c.apply(entry(2, 2, { op: 'put', key: 'k', value: 'v', id: '1' }));
    c.apply(log[2] as Entry);
    expect(c.digest().applied).toBe(3);
    expect(c.digest().hash).not.toBe(a.digest().hash);
  });

  it('ignores entries that are not commands without changing the map', () => {
    const s = new KvStore();
    s.apply(entry(1, 1, { op: 'put', key: 'a', value: '1', id: 'r1' }));
    s.apply(entry(2, 1, new TextEncoder().encode('{"op":"drop-table"}')));
    s.apply(entry(3, 1, new Uint8Array([0xff, 0xfe, 0x00])));
    expect(s.get('a')).toBe('1');
    expect(s.invalid).toBe(2);
    expect(s.digest()).toMatchObject({ applied: 3, keys: 1 });
  });
});

describe('decodeCommand', () => {
  it('round-trips puts and deletes', () => {
    const put: KvCommand = { op: 'put', key: 'k', value: 'v', id: 'i' };
    const del: KvCommand = { op: 'delete', key: 'k', id: 'i' };
    expect(decodeCommand(encodeCommand(put))).toEqual(put);
    expect(decodeCommand(encodeCommand(del))).toEqual(del);
  });

  it.each([
    ['not JSON', 'nope'],
    ['not an object', '42'],
    ['no key', '{"op":"put","value":"v","id":"i"}'],
    ['an empty key', '{"op":"put","key":"","value":"v","id":"i"}'],
    ['no id', '{"op":"put","key":"k","value":"v"}'],
    ['a put without a string value', '{"op":"put","key":"k","value":1,"id":"i"}'],
    ['an unknown op', '{"op":"eval","key":"k","id":"i"}'],
  ])('rejects %s with a KvCommandError', (_, text) => {
    expect(() => decodeCommand(new TextEncoder().encode(text))).toThrow(KvCommandError);
  });
});
