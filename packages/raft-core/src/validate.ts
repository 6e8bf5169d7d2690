import { type Entry, EntryType, type Snapshot } from '@tinyraft/raft-log';
import { MalformedMessageError } from './errors.js';
import { isMessageType, type Message, MessageType, messageTypeName } from './message.js';

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function fail(what: string): never {
  throw new MalformedMessageError(what);
}

/**
 * Callers pass the field's value rather than the object and the field's name: a load of a named
 * property is several times faster than one by a computed key, and this runs for every field of
 * every message. They pass the message type, not its name: the text of an error is built only
 * when there is one.
 */
function checkCount(v: unknown, field: string, t: MessageType, part = ''): void {
  if (!isCount(v)) {
    fail(
      `${messageTypeName(t)}${part}: ${field} must be a non-negative integer, got ${describe(v)}`,
    );
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) {
    return String(v);
  }
  return typeof v;
}

function checkEntry(e: unknown, t: MessageType, loose: boolean): void {
  if (typeof e !== 'object' || e === null) {
    fail(`${messageTypeName(t)}: entry must be an object, got ${describe(e)}`);
  }
  const r = e as Record<string, unknown>;
  const et = r.entryType;
  if (!(et === EntryType.Normal || et === EntryType.ConfChange || (loose && et === undefined))) {
    fail(`${messageTypeName(t)}: entryType must be 0 or 1, got ${describe(et)}`);
  }
  if (!loose) {
    checkCount(r.term, 'term', t);
    checkCount(r.index, 'index', t);
  }
  if (r.data !== undefined && !(r.data instanceof Uint8Array)) {
    fail(`${messageTypeName(t)}: entry data must be a Uint8Array, got ${describe(r.data)}`);
  }
}

function checkSnapshot(s: unknown, t: MessageType): void {
  const where = messageTypeName(t);
  if (typeof s !== 'object' || s === null) {
    fail(`${where}: snapshot must be an object`);
  }
  const snap = s as Partial<Snapshot>;
  if (snap.data !== undefined && !(snap.data instanceof Uint8Array)) {
    fail(`${where}: snapshot data must be a Uint8Array`);
  }
  const md = snap.metadata as unknown as Record<string, unknown> | undefined;
  if (typeof md !== 'object' || md === null) {
    fail(`${where}: snapshot metadata is missing`);
  }
  checkCount(md.index, 'index', t, ' snapshot');
  checkCount(md.term, 'term', t, ' snapshot');
  const cs = md.confState as { nodes?: unknown } | undefined;
  if (typeof cs !== 'object' || cs === null || !Array.isArray(cs.nodes)) {
    fail(`${where}: snapshot confState.nodes must be an array`);
  }
  if (cs.nodes.length === 0) {
    fail(`${where}: snapshot membership is empty`);
  }
  for (const n of cs.nodes) {
    if (!isCount(n) || n === 0) {
      fail(`${where}: snapshot confState.nodes must hold positive integers, got ${describe(n)}`);
    }
  }
}

/**
 * Messages that a node's own runtime steps into it; they carry no term. A follower passes
 * MsgTransferLeader on to its leader as it is, so that one may also come from a peer.
 */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgPropose ||
    t === MessageType.MsgTransferLeader
  );
}

/**
 * Checks that `m` is a well-formed `Message` and returns it, or throws `MalformedMessageError`
 * saying what is wrong. Accepts anything (a decoded frame, a hostile peer's object), reads every
 * field once and never mutates it.
 */
export function validateMessage(m: unknown): Message {
  if (typeof m !== 'object' || m === null) {
    fail(`message must be an object, got ${describe(m)}`);
  }
  const r = m as Record<string, unknown>;
  const t = r.msgType;
  if (!isMessageType(t)) {
    fail(`unknown message type ${describe(t)}`);
  }
  checkCount(r.to, 'to', t);
  checkCount(r.from, 'from', t);
  checkCount(r.term, 'term', t);
  checkCount(r.logTerm, 'logTerm', t);
  checkCount(r.index, 'index', t);
  checkCount(r.commit, 'commit', t);
  if (typeof r.reject !== 'boolean') {
    fail(`${messageTypeName(t)}: reject must be a boolean, got ${describe(r.reject)}`);
  }
  // A term of 0 marks a local message and only a local message: a message between nodes
  // without one would bypass every term check in step, and a local one with one would move the
  // node to that term before its handler runs.
  if (isLocalMessage(t)) {
    if (r.term !== 0) {
      fail(`${messageTypeName(t)}: a local message carries no term, got term ${r.term as number}`);
    }
  } else if (r.term === 0) {
    fail(`${messageTypeName(t)}: a message between nodes must carry a term, got term 0`);
  }
  const entries = r.entries;
  if (!Array.isArray(entries)) {
    fail(`${messageTypeName(t)}: entries must be an array, got ${describe(entries)}`);
  }
  // Proposed entries get their term and index from the leader; everything else must be exact.
  const loose = t === MessageType.MsgPropose;
  const first = r.index as number;
  for (let k = 0; k < entries.length; k++) {
    checkEntry(entries[k], t, loose);
    if (!loose && (entries[k] as Entry).index !== first + 1 + k) {
      fail(
        `${messageTypeName(t)}: entry ${k} has index ${(entries[k] as Entry).index}, expected ${first + 1 + k} (entries must follow index ${first})`,
      );
    }
  }
  if (r.snapshot !== undefined) {
    checkSnapshot(r.snapshot, t);
  } else if (t === MessageType.MsgSnapshot) {
    fail(`${messageTypeName(t)}: snapshot is missing`);
  }
  return m as Message;
}
