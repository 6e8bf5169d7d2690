import type { Entry, HardState, Snapshot } from '@tinyraft/raft-log';
import type { Config } from './config.js';
import { MalformedMessageError } from './errors.js';
import { type Message, MessageType, message, messageTypeName } from './message.js';
import { Raft, type SoftState, StateType } from './raft.js';
import { isLocalMessage, validateMessage } from './validate.js';

/**
 * Everything a node needs the world to do, collected since the last `advance`.
 *
 * Handle a Ready in this order, and finish before stepping any other message:
 * 1. persist `hardState` (if present), `snapshot` (if present) and `entries`, durably;
 * 2. send `messages` (they may also go before or while step 1 runs) and then `persistedMessages`
 *    (only after step 1: a vote or an acknowledgement must never get ahead of the disk);
 * 3. apply `snapshot` and then `committedEntries` to the state machine;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  /** The leader and role, when they changed since the last Ready. */
  softState?: SoftState;
  /** Term, vote and commit, when they changed since the last Ready. Persist before sending. */
  hardState?: HardState;
  /** Entries to append to stable storage. */
  entries: Entry[];
  /** A snapshot from the leader to persist and apply. */
  snapshot?: Snapshot;
  /** Entries committed since the last Ready, to apply in order. */
  committedEntries: Entry[];
  /** Messages that depend on nothing in this Ready being durable: the leader's appends and heartbeats. */
  messages: Message[];
  /** Messages to send only once `hardState`, `snapshot` and `entries` are durable. */
  persistedMessages: Message[];
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

/**
 * The contract between the Raft state machine and a runtime: drive it with `tick`, `step`,
 * `campaign` and `propose`, collect its work with `ready`, report the work done with `advance`.
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now instead of at the election timeout (with Pre-Vote, by asking first). */
  campaign(): void {
    this.raft.step(message({ msgType: MessageType.MsgHup, from: this.raft.id, to: this.raft.id }));
  }

  /**
   * Asks for leadership to move to the member `transferee` (§3.10). A leader stops taking
   * proposals (they throw `ProposalDroppedError`) until the transferee has caught up and won an
   * election, or an election timeout has passed. A follower forwards the request to its leader,
   * with `from` = the transferee (a transport that checks senders carries it only when the
   * follower is the transferee itself); a node that knows no leader drops it.
   */
  transferLeader(transferee: number): void {
    this.raft.step(
      message({ msgType: MessageType.MsgTransferLeader, from: transferee, to: this.raft.id }),
    );
  }

  /** Proposes `data` to be appended; throws `ProposalDroppedError` unless this node leads. */
  propose(data: Uint8Array): void {
    this.proposeBatch([data]);
  }

  /** Proposes several entries at once, in order, in one message. */
  proposeBatch(data: readonly Uint8Array[]): void {
    const entries: Entry[] = data.map((d) => ({ entryType: 0, term: 0, index: 0, data: d }));
    this.raft.step(
      message({ msgType: MessageType.MsgPropose, from: this.raft.id, to: this.raft.id, entries }),
    );
  }

  /**
   * Steps a message received from a peer. Local-only messages (MsgHup, MsgBeat, MsgPropose) are
   * refused: a peer must not be able to start our elections or heartbeats, or append to our log
   * other than by replication. Proposals go through `propose`. The exception is MsgTransferLeader,
   * which a follower forwards to its leader: a leader takes it, anyone else drops it (the sender's
   * idea of the leader was stale), so that a request never goes round in circles.
   */
  step(m: Message): void {
    // `m` may be anything a peer sent; Raft.step validates the rest.
    const msgType = (m as Partial<Message> | null)?.msgType;
    if (msgType === MessageType.MsgTransferLeader) {
      // A forwarded request is for a leader; elsewhere it is dropped, once checked like any other.
      if (this.raft.state === StateType.Leader) {
        this.raft.step(m);
      } else {
        validateMessage(m);
      }
      return;
    }
    if (msgType !== undefined && isLocalMessage(msgType)) {
      throw new MalformedMessageError(
        `${messageTypeName(msgType)} is local to a node and cannot come from a peer`,
      );
    }
    this.raft.step(m);
  }

  hasReady(): boolean {
    const r = this.raft;
    return (
      r.msgs.length > 0 ||
      r.raftLog.stabled < r.raftLog.lastIndex() ||
      r.raftLog.hasNextEnts() ||
      r.raftLog.pendingSnapshot !== undefined ||
      r.lead !== this.prevSoftState.lead ||
      r.state !== this.prevSoftState.raftState ||
      r.term !== this.prevHardState.term ||
      r.vote !== this.prevHardState.vote ||
      r.raftLog.committed !== this.prevHardState.commit
    );
  }

  /** Collects the work to do; hand the same object back to `advance` when it is done. */
  ready(): Ready {
    const r = this.raft;
    const hardState = r.hardState();
    const softState = r.softState();
    const rd: Ready = {
      entries: r.raftLog.unstableEntries(),
      committedEntries: r.raftLog.nextEnts(),
      messages: [],
      persistedMessages: [],
    };
    if (!sameSoftState(softState, this.prevSoftState)) {
      rd.softState = softState;
    }
    const termOrVoteChanged =
      hardState.term !== this.prevHardState.term || hardState.vote !== this.prevHardState.vote;
    if (termOrVoteChanged || hardState.commit !== this.prevHardState.commit) {
      rd.hardState = hardState;
    }
    if (r.raftLog.pendingSnapshot !== undefined) {
      rd.snapshot = r.raftLog.pendingSnapshot;
    }
    for (const m of r.readMessages()) {
      // A leader's appends and heartbeats carry a term it has already persisted (unless it just
      // changed) and entries it may write in parallel (§10.2.1); everything else answers or asks
      // for a vote, and must wait for the disk.
      const leaderTraffic =
        m.msgType === MessageType.MsgAppend ||
        m.msgType === MessageType.MsgHeartbeat ||
        m.msgType === MessageType.MsgSnapshot;
      if (leaderTraffic && !termOrVoteChanged) {
        rd.messages.push(m);
      } else {
        rd.persistedMessages.push(m);
      }
    }
    return rd;
  }

  /** Records that everything in `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    const log = this.raft.raftLog;
    if (rd.softState !== undefined) {
      this.prevSoftState = rd.softState;
    }
    if (rd.hardState !== undefined) {
      this.prevHardState = rd.hardState;
    }
    if (rd.snapshot !== undefined && log.pendingSnapshot === rd.snapshot) {
      log.pendingSnapshot = undefined;
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) {
      log.stableTo(lastEntry.index, lastEntry.term);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) {
      log.appliedTo(lastApplied.index);
    }
    log.maybeCompact();
  }
}
