import type { Entry, Snapshot, WritableStorage } from '@tinyraft/raft-log';
import type { Config } from './config.js';
import { MalformedMessageError, ProposalDroppedError } from './errors.js';
import { Emitter } from './events.js';
import type { Message } from './message.js';
import { StateType } from './raft.js';
import { RawNode, type Ready } from './rawnode.js';
import type { Transport } from './transport.js';

/** Calls `onTick` at a steady pace until stopped. Inject a fake one to run on simulated time. */
export interface Ticker {
  start(onTick: () => void): void;
  stop(): void;
}

/** What a `RaftNode` tells its listeners. */
export type RaftNodeEvents = {
  leaderChanged: { leader: number; term: number };
  roleChanged: { role: StateType; term: number };
  termChanged: { term: number };
  /** Entries applied to the state machine, in order. */
  applied: { entries: Entry[] };
  /** An inbound message was refused (malformed, or a local-only type from a peer). */
  rejectedMessage: { message: unknown; error: Error };
};

export interface RaftNodeOptions {
  /** The node's Raft configuration; its storage is the one the node persists to. */
  config: Config & { storage: WritableStorage };
  transport: Transport;
  ticker: Ticker;
  /** Applies one committed entry to the state machine (the leader's no-ops included, with no data). */
  apply?: (entry: Entry) => void;
  /** Replaces the state machine with a snapshot's contents. */
  applySnapshot?: (snapshot: Snapshot) => void;
  /**
   * When given, work is not handled at once but in a callback passed to `schedule` (for example
   * Node's `setImmediate`), so that the proposals and messages that arrive together share one
   * Ready, and so one disk write. Without it every input is handled before the call returns.
   */
  schedule?: (run: () => void) => void;
}

/** A point-in-time view of a node, for dashboards and tests. */
export interface RaftNodeStatus {
  id: number;
  role: StateType;
  term: number;
  vote: number;
  leader: number;
  lastIndex: number;
  commit: number;
  applied: number;
}

/** A proposal that is waiting for its entry to be applied. */
interface PendingProposal {
  term: number;
  resolve: (index: number) => void;
  reject: (error: Error) => void;
}

/**
 * A small runtime around `RawNode`: a ticker drives time, a `Transport` carries messages, and a
 * writable storage keeps what must survive a crash. Each Ready is handled completely (persist,
 * send, apply, advance) before any other input is stepped, which is what makes sending a leader's
 * appends before its own disk write safe.
 */
export class RaftNode {
  readonly rawNode: RawNode;
  private readonly storage: WritableStorage;
  private readonly transport: Transport;
  private readonly ticker: Ticker;
  private readonly applyEntry: (entry: Entry) => void;
  private readonly applySnap: (snapshot: Snapshot) => void;
  private readonly events = new Emitter<RaftNodeEvents>();
  private readonly pending = new Map<number, PendingProposal>();
  private readonly schedule: ((run: () => void) => void) | undefined;
  private inbox: Message[] = [];
  private processing = false;
  private scheduled = false;
  private running = false;
  private lastTerm: number;
  private lastLeader: number;
  private lastRole: StateType;

  constructor(options: RaftNodeOptions) {
    this.rawNode = new RawNode(options.config);
    this.storage = options.config.storage;
    this.transport = options.transport;
    this.ticker = options.ticker;
    this.applyEntry = options.apply ?? (() => {});
    this.applySnap = options.applySnapshot ?? (() => {});
    this.schedule = options.schedule;
    const r = this.rawNode.raft;
    this.lastTerm = r.term;
    this.lastLeader = r.lead;
    this.lastRole = r.state;
  }

  get id(): number {
    return this.rawNode.raft.id;
  }

  on<K extends keyof RaftNodeEvents>(
    event: K,
    listener: (e: RaftNodeEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.transport.onMessage((m) => this.receive(m));
    this.ticker.start(() => this.tick());
  }

  /** Stops ticking and closes the transport. Pending proposals fail. */
  async stop(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.running = false;
    this.ticker.stop();
    this.failPending(
      new ProposalDroppedError(`node ${this.id} stopped before the proposal was applied`),
    );
    await this.transport.close();
  }

  status(): RaftNodeStatus {
    const r = this.rawNode.raft;
    return {
      id: r.id,
      role: r.state,
      term: r.term,
      vote: r.vote,
      leader: r.lead,
      lastIndex: r.raftLog.lastIndex(),
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
    };
  }

  tick(): void {
    if (!this.running) {
      return;
    }
    this.rawNode.tick();
    this.requestProcess();
  }

  /** Starts an election now. */
  campaign(): void {
    this.rawNode.campaign();
    this.requestProcess();
  }

  /** Asks for leadership to move to `transferee`; see `RawNode.transferLeader`. */
  transferLeadership(transferee: number): void {
    this.rawNode.transferLeader(transferee);
    this.requestProcess();
  }

  /**
   * Proposes `data`; resolves with the entry's index once it is committed and applied here.
   * Rejects with `ProposalDroppedError` when this node is not the leader or is handing its
   * leadership over, or when leadership changes before the entry is applied (it may still commit:
   * the outcome is then unknown).
   */
  propose(data: Uint8Array): Promise<number> {
    const r = this.rawNode.raft;
    if (!this.running || r.state !== StateType.Leader) {
      return Promise.reject(
        new ProposalDroppedError(`node ${this.id} is not the leader (leader is ${r.lead})`),
      );
    }
    try {
      this.rawNode.propose(data);
    } catch (error) {
      return Promise.reject(error);
    }
    const index = r.raftLog.lastIndex();
    const promise = new Promise<number>((resolve, reject) => {
      this.pending.set(index, { term: r.term, resolve, reject });
    });
    this.requestProcess();
    return promise;
  }

  /** Inbound messages from the transport; never throws, whatever a peer sends. */
  private receive(m: Message): void {
    if (!this.running) {
      return;
    }
    this.inbox.push(m);
    this.requestProcess();
  }

  private requestProcess(): void {
    if (this.schedule === undefined) {
      this.process();
    } else if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => {
        this.scheduled = false;
        if (this.running) {
          this.process();
        }
      });
    }
  }

  /** Steps everything that arrived, then handles Readies until there is nothing left to do. */
  private process(): void {
    if (this.processing) {
      // A transport that delivers synchronously from inside `send` lands here; the loop below
      // picks the message up once the current Ready is done.
      return;
    }
    this.processing = true;
    try {
      for (;;) {
        while (this.inbox.length > 0) {
          const batch = this.inbox;
          this.inbox = [];
          for (const m of batch) {
            this.stepInbound(m);
          }
        }
        if (!this.rawNode.hasReady()) {
          break;
        }
        this.handleReady(this.rawNode.ready());
      }
    } finally {
      this.processing = false;
    }
  }

  private stepInbound(m: Message): void {
    try {
      this.rawNode.step(m);
    } catch (error) {
      // A proposal forwarded to a non-leader is simply dropped; anything else a peer sends that
      // the core refuses (MalformedMessageError) is reported and the node carries on.
      if (!(error instanceof ProposalDroppedError)) {
        this.events.emit('rejectedMessage', {
          message: m,
          error: error instanceof Error ? error : new MalformedMessageError(String(error)),
        });
      }
    }
  }

  private handleReady(rd: Ready): void {
    this.transport.send(rd.messages);
    // One durable step for all three, so that a crash never keeps a snapshot or entries without
    // the term and vote they were accepted in, nor a commit index without the entries it covers;
    // a file storage makes it one record and one fsync.
    if (rd.snapshot !== undefined || rd.hardState !== undefined || rd.entries.length > 0) {
      this.storage.persist({ snapshot: rd.snapshot, hardState: rd.hardState, entries: rd.entries });
    }
    // Figure 2: only what is on stable storage may be acknowledged.
    this.transport.send(rd.persistedMessages);
    if (rd.snapshot !== undefined) {
      this.applySnap(rd.snapshot);
    }
    for (const e of rd.committedEntries) {
      this.applyEntry(e);
      this.settle(e);
    }
    this.rawNode.advance(rd);
    if (rd.committedEntries.length > 0) {
      this.events.emit('applied', { entries: rd.committedEntries });
    }
    this.emitStateChanges();
  }

  private settle(e: Entry): void {
    const p = this.pending.get(e.index);
    if (p === undefined) {
      return;
    }
    this.pending.delete(e.index);
    if (e.term === p.term) {
      p.resolve(e.index);
    } else {
      p.reject(
        new ProposalDroppedError(`entry ${e.index} was replaced by a leader of term ${e.term}`),
      );
    }
  }

  private emitStateChanges(): void {
    const r = this.rawNode.raft;
    if (r.term !== this.lastTerm) {
      this.lastTerm = r.term;
      this.events.emit('termChanged', { term: r.term });
    }
    if (r.state !== this.lastRole) {
      if (this.lastRole === StateType.Leader) {
        this.failPending(
          new ProposalDroppedError(
            `node ${this.id} lost leadership; the proposal may or may not commit`,
          ),
        );
      }
      this.lastRole = r.state;
      this.events.emit('roleChanged', { role: r.state, term: r.term });
    }
    if (r.lead !== this.lastLeader) {
      this.lastLeader = r.lead;
      this.events.emit('leaderChanged', { leader: r.lead, term: r.term });
    }
  }

  private failPending(error: Error): void {
    for (const p of this.pending.values()) {
      p.reject(error);
    }
    this.pending.clear();
  }
}
