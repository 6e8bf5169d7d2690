import {
  type Config,
  MemoryStorage,
  type Message,
  MessageType,
  messageTypeName,
  ProposalDroppedError,
  Raft,
} from '@tinyraft/raft-core';
import { blackHole, idsBySize, newTestConfig, type StateMachine } from './harness.js';
import { seededRandom } from './random.js';

export interface NetworkOptions {
  /** Adjusts the config of every `Raft` the network creates (for `null` peers) before it is built. */
  configure?: (c: Config) => void;
  /** Seeds the generator behind `drop`'s probabilities; default 0. */
  seed?: number;
}

/** The test drove the network into something a correct cluster never does. */
class NetworkError extends Error {
  override name = 'NetworkError';
}

/**
 * One `send` delivering this many messages is a livelock, not a busy test: fail instead of
 * hanging the (synchronous, hence uninterruptible) test run.
 */
const maxDeliveriesPerSend = 1_000_000;

/**
 * A synchronous in-memory cluster for tests. `send` delivers messages in FIFO, breadth-first order
 * until nothing is left in flight; `drop`, `cut`, `isolate` and `ignore` lose messages on the way.
 * Node ids are the peers' positions, 1…n.
 */
export class Network {
  readonly peers: Map<number, StateMachine> = new Map();
  /** The storage of every `Raft` the network created itself (for `null` peers). */
  readonly storage: Map<number, MemoryStorage> = new Map();
  /** Drop probability per directed pair, keyed by sender then receiver. */
  private readonly dropRates = new Map<number, Map<number, number>>();
  private readonly ignored = new Set<MessageType>();
  private readonly random: () => number;

  constructor(peers: Array<StateMachine | null>, options: NetworkOptions = {}) {
    this.random = seededRandom(options.seed ?? 0);
    const ids = idsBySize(peers.length);
    for (const [k, p] of peers.entries()) {
      const id = k + 1;
      if (p === null) {
        const storage = new MemoryStorage();
        const config = newTestConfig(id, ids, 10, 1, storage);
        options.configure?.(config);
        this.storage.set(id, storage);
        this.peers.set(id, new Raft(config));
      } else if (p instanceof Raft) {
        // The position is the id; the node's membership (`prs`) is left as the caller built it.
        p.id = id;
        this.peers.set(id, p);
      } else if (p === blackHole) {
        this.peers.set(id, p);
      } else {
        throw new TypeError(`peer ${id}: expected null, a Raft or blackHole`);
      }
    }
  }

  /**
   * Delivers `msgs`, then everything their receivers send in reply, until nothing is in flight.
   * The messages given here skip the filters (they reach even an isolated node); what the peers
   * send passes them. A receiver's `ProposalDroppedError` is expected traffic and is swallowed;
   * any other error propagates and fails the test.
   */
  send(...msgs: Message[]): void {
    const queue = [...msgs];
    for (let head = 0; head < queue.length; head++) {
      if (head === maxDeliveriesPerSend) {
        throw new NetworkError(
          `send delivered ${maxDeliveriesPerSend} messages and ${queue.length - head} are still in flight: the cluster never goes quiet`,
        );
      }
      const m = queue[head] as Message;
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        throw new NetworkError(
          `${messageTypeName(m.msgType)} from ${m.from} is addressed to ${m.to}, which is not in the network`,
        );
      }
      try {
        peer.step(m);
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) {
          throw e;
        }
      }
      for (const out of peer.readMessages()) {
        if (this.survives(out)) {
          queue.push(out);
        }
      }
    }
  }

  /** Loses each message from `from` to `to` with probability `probability` (one direction). */
  drop(from: number, to: number, probability: number): void {
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(
        `drop probability from ${from} to ${to} must be in [0, 1], got ${probability}`,
      );
    }
    let rates = this.dropRates.get(from);
    if (rates === undefined) {
      rates = new Map();
      this.dropRates.set(from, rates);
    }
    rates.set(to, probability);
  }

  /** Loses every message between `a` and `b`, both ways. */
  cut(a: number, b: number): void {
    this.drop(a, b, 1);
    this.drop(b, a, 1);
  }

  /** Loses every message between `id` and every other node. */
  isolate(id: number): void {
    for (const other of this.peers.keys()) {
      if (other !== id) {
        this.cut(id, other);
      }
    }
  }

  /** Loses every message of type `t`. */
  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  /** Clears every `drop`, `cut`, `isolate` and `ignore`. */
  recover(): void {
    this.dropRates.clear();
    this.ignored.clear();
  }

  private survives(m: Message): boolean {
    if (this.ignored.has(m.msgType)) {
      return false;
    }
    if (m.msgType === MessageType.MsgHup) {
      throw new NetworkError(
        `unexpected MsgHup from ${m.from} to ${m.to}: MsgHup is local and never crosses the network`,
      );
    }
    const p = this.dropRates.get(m.from)?.get(m.to) ?? 0;
    // Certain outcomes draw nothing, so cut/isolate leave the random drop sequence unchanged.
    if (p <= 0) {
      return true;
    }
    return p < 1 && this.random() >= p;
  }
}
