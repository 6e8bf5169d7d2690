import { createHash } from 'node:crypto';
import type { Entry } from '@tinyraft/raft-core';

/** One write to the store, as it travels in a log entry (JSON bytes). */
export type KvCommand =
  | { op: 'put'; key: string; value: string; id: string }
  | { op: 'delete'; key: string; id: string };

/** A log entry's payload that is not a valid `KvCommand`. */
export class KvCommandError extends Error {
  override readonly name = 'KvCommandError';
}

export const maxKeyLength: number = 512;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeCommand(c: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(c));
}

/** Parses a command; throws `KvCommandError` naming what is wrong. */
export function decodeCommand(data: Uint8Array): KvCommand {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch (error) {
    throw new KvCommandError(`entry data of ${data.length} bytes is not JSON: ${String(error)}`);
  }
  if (typeof raw !== 'object' || raw === null) {
    throw new KvCommandError(`command must be an object, got ${JSON.stringify(raw)}`);
  }
  const { op, key, value, id } = raw as Record<string, unknown>;
  if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyLength) {
    throw new KvCommandError(`command key must be a string of 1..${maxKeyLength} characters`);
  }
  if (typeof id !== 'string' || id.length === 0) {
    throw new KvCommandError(`command for key ${JSON.stringify(key)} has no request id`);
  }
  if (op === 'put' && typeof value === 'string') {
    return { op, key, value, id };
  }
  if (op === 'delete') {
    return { op, key, id };
  }
  throw new KvCommandError(
    `unknown command op ${JSON.stringify(op)} for key ${JSON.stringify(key)}`,
  );
}

/** What every replica must agree on once it has applied the same prefix of the log. */
export interface KvDigest {
  applied: number;
  /** SHA-256 chained over every applied entry's index, term and data, in order. */
  hash: string;
  keys: number;
}

/**
 * The replicated state machine: a Map from key to value, fed committed entries in log order.
 * Every replica applies the same entries in the same order, so every replica's map is the same
 * (§5.3 State Machine Safety). Entries without data (the leader's no-op, read barriers) change
 * nothing but still count in the digest.
 */
export class KvStore {
  private readonly data = new Map<string, string>();
  /**
   * Request ids already applied. A client that lost an acknowledgement retries with the same
   * id; the retry is appended to the log again but must not take effect twice.
   */
  private readonly appliedIds = new Set<string>();
  private chain: Buffer = Buffer.alloc(32);
  private appliedIndex = 0;
  /** Retried commands skipped because their id had already been applied. */
  duplicates = 0;
  /** Entries whose data was not a valid command (ignored, identically on every replica). */
  invalid = 0;

  apply(entry: Entry): void {
    const h = createHash('sha256');
    h.update(this.chain);
    h.update(`${entry.index}:${entry.term}:`);
    if (entry.data !== undefined) {
      h.update(entry.data);
    }
    this.chain = h.digest();
    this.appliedIndex = entry.index;
    if (entry.data === undefined || entry.data.length === 0) {
      return;
    }
    let c: KvCommand;
    try {
      c = decodeCommand(entry.data);
    } catch {
      this.invalid++;
      return;
    }
    if (this.appliedIds.has(c.id)) {
      this.duplicates++;
      return;
    }
    this.appliedIds.add(c.id);
    if (c.op === 'put') {
      this.data.set(c.key, c.value);
    } else {
      this.data.delete(c.key);
    }
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  hasApplied(id: string): boolean {
    return this.appliedIds.has(id);
  }

  digest(): KvDigest {
    return { applied: this.appliedIndex, hash: this.chain.toString('hex'), keys: this.data.size };
  }
}
