import {
  type Config,
  type Entry,
  type HardState,
  MemoryStorage,
  type Message,
  MessageType,
  messageTypeName,
  None,
  ProposalDroppedError,
  RawNode,
  type Ready,
  type Snapshot,
  StateType,
} from '@tinyraft/raft-core';
import { entryKey, InvariantViolation, type SafetyChecker } from './invariants.js';
import { copyEntry } from './net.js';
import { type SimPlan, unitsPerTick } from './plan.js';

/**
 * Deliberate bugs around raft, so that tests can show the checker catching a broken cluster.
 * - `forget-vote`: the runtime persists hard states without their vote.
 * - `apply-before-commit`: the runtime applies entries as soon as they are appended.
 * - `grant-every-vote`: the network turns every rejected vote into a granted one, so candidates
 *   win elections they lost (two leaders in a term, leaders missing committed entries).
 */
export type InjectedBug = 'forget-vote' | 'apply-before-commit' | 'grant-every-vote';

/** Something for a node to handle, in arrival order. */
export type Input =
  | { kind: 'message'; msg: Message }
  | { kind: 'tick' }
  | { kind: 'propose'; data: Uint8Array };

/** What a node needs from the simulation around it. */
export interface NodeHost {
  readonly plan: SimPlan;
  readonly checker: SafetyChecker;
  readonly bug: InjectedBug | undefined;
  /** Hands a message to the network. */
  send(m: Message): void;
  /** Time units the next disk write takes; 0 completes it at once. */
  writeDelay(): number;
  /** Calls `node.diskDone()` once `delay` units have passed, unless the node crashed. */
  scheduleWrite(node: SimNode, delay: number): void;
  /** The node took one input; `committed` says whether its commit index advanced. */
  stepped(node: SimNode, committed: boolean): void;
  /** A proposal offered to a node was handled: `taken` by a leader, or refused (or lost). */
  proposalHandled(data: Uint8Array, taken: boolean): void;
  /** An entry was applied to `node`'s state machine. */
  applied(node: SimNode, e: Entry): void;
  /** Records a line of the event trace (only built when tracing). */
  note(line: () => string): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The state machine's contents as a snapshot payload. */
function encodeMachine(keys: readonly string[]): Uint8Array {
  return encoder.encode(JSON.stringify(keys));
}

function decodeMachine(snap: Snapshot): string[] {
  return snap.data === undefined ? [] : (JSON.parse(decoder.decode(snap.data)) as string[]);
}

/**
 * One node's runtime: a `RawNode` on a `MemoryStorage` that survives crashes, driven the way the
 * `RawNode` contract asks. Each Ready is persisted (taking `writeDelay()` units, during which
 * inputs wait in `inbox`), its messages sent (leader traffic at once, the rest after the write),
 * its committed entries applied, and then it is advanced.
 *
 * The state machine is the list of applied entries. It is volatile: a restarted node rebuilds it
 * from the storage's snapshot, and raft hands it the committed entries after the snapshot again
 * (`applied` restarts at the snapshot's index).
 */
export class SimNode {
  readonly id: number;
  readonly storage: MemoryStorage = new MemoryStorage();
  /** The hard state on disk. */
  persisted: HardState = { term: 0, vote: None, commit: 0 };
  raw: RawNode | undefined;
  life = 0;
  paused = false;
  inbox: Input[] = [];
  /** A Ready whose disk write is in flight. */
  writing: Ready | undefined;
  /** Applied entries' keys; index 1 at position 0. */
  machine: string[] = [];
  /** Ticks the node has taken, over all its lives. */
  ticks = 0;
  /** Snapshots received from a leader and installed. */
  snapshotsInstalled = 0;
  /** Whether the node was ever paused, so that its tick count fell behind the time. */
  private everPaused = false;
  /** The write in flight finished while the node was paused; it resumes by finishing it. */
  private writeDone = false;
  private readonly host: NodeHost;
  private readonly random: () => number;

  constructor(id: number, host: NodeHost, random: () => number) {
    this.id = id;
    this.host = host;
    this.random = random;
  }

  get up(): boolean {
    return this.raw !== undefined;
  }

  /** Whether the node can take an input right now, rather than queue it. */
  get free(): boolean {
    return this.raw !== undefined && !this.paused && this.writing === undefined;
  }

  /** (Re)starts the node from its storage. */
  start(): void {
    const plan = this.host.plan;
    const config: Config = {
      id: this.id,
      peers: Array.from({ length: plan.nodes }, (_, k) => k + 1),
      electionTick: plan.electionTick,
      heartbeatTick: plan.heartbeatTick,
      storage: this.storage,
      random: this.random,
      checkQuorum: plan.checkQuorum,
      fastFirstElection: plan.fastFirstElection,
      preVote: plan.preVote,
    };
    if (plan.maxSizePerMsg !== undefined) {
      config.maxSizePerMsg = plan.maxSizePerMsg;
    }
    let raw: RawNode;
    try {
      raw = new RawNode(config);
    } catch (error) {
      throw new InvariantViolation(
        'durability',
        `node ${this.id} cannot restart from its storage: ${String(error)}`,
      );
    }
    this.raw = raw;
    this.life++;
    this.inbox = [];
    this.writing = undefined;
    this.writeDone = false;
    this.machine = decodeMachine(this.storage.snapshot());
    if (this.life > 1) {
      this.host.checker.observeRestart(raw.raft);
      if (this.machine.length > 0) {
        this.host.checker.observeSnapshotApplied(this.id, this.machine);
      }
    }
    this.host.checker.checkNode(raw.raft);
  }

  /** Loses everything not on disk: the node's memory, its inbox and a write in flight. */
  crash(): void {
    for (const input of this.inbox) {
      if (input.kind === 'propose') {
        this.host.proposalHandled(input.data, false);
      }
    }
    this.raw = undefined;
    this.inbox = [];
    this.writing = undefined;
    this.writeDone = false;
    this.machine = [];
  }

  /** Takes an input now if the node is free, else queues it. Inputs to a crashed node are lost. */
  offer(input: Input): void {
    if (this.raw === undefined) {
      return;
    }
    this.inbox.push(input);
    this.drive();
  }

  /** Handles queued inputs and Readies until the node is idle or waits for its disk. */
  drive(): void {
    while (this.free) {
      const raw = this.raw as RawNode;
      if (raw.hasReady()) {
        this.handleReady(raw.ready());
      } else if (this.inbox.length > 0) {
        // A runtime steps whatever arrived during a write before asking for the next Ready;
        // a random batch size covers both one input per Ready and many.
        const batch = 1 + Math.floor(this.random() * this.inbox.length);
        for (const input of this.inbox.splice(0, batch)) {
          if (this.raw !== raw) {
            break;
          }
          this.step(raw, input);
        }
      } else {
        return;
      }
    }
  }

  private step(raw: RawNode, input: Input): void {
    const r = raw.raft;
    const before = `${r.term}/${r.state}`;
    const committed = r.raftLog.committed;
    if (input.kind === 'propose') {
      this.propose(raw, input.data);
    } else {
      try {
        if (input.kind === 'tick') {
          this.ticks++;
          raw.tick();
          this.maybeTransferLeader(raw);
        } else {
          raw.step(input.msg);
        }
      } catch (error) {
        const what = input.kind === 'tick' ? 'a tick' : describeMessage(input.msg);
        throw new InvariantViolation(
          'api-contract',
          `node ${this.id} threw on ${what}: ${String(error)}`,
        );
      }
    }
    this.host.checker.checkNode(r);
    if (`${r.term}/${r.state}` !== before) {
      this.host.note(
        () => `node ${this.id} is ${stateName(r.state)} of term ${r.term} (lead ${r.lead})`,
      );
    }
    this.host.stepped(this, r.raftLog.committed > committed);
  }

  /**
   * With `plan.transferLeader`, an operator asks this node, about once per ten ticks of the whole
   * cluster, to hand leadership to a random member, while the chaos lasts: the calm phase measures
   * how a stable leader commits. The node tells the time by its own clock, which is right only if
   * it never stopped, so a node that crashed or paused asks no more.
   */
  private maybeTransferLeader(raw: RawNode): void {
    const plan = this.host.plan;
    if (!plan.transferLeader || this.life > 1 || this.everPaused) {
      return;
    }
    const interval = plan.tickIntervals[this.id - 1] as number;
    if (this.ticks * interval >= plan.chaosTicks * unitsPerTick) {
      return;
    }
    if (this.random() < 1 / (10 * plan.nodes)) {
      const transferee = 1 + Math.floor(this.random() * plan.nodes);
      this.host.note(() => `node ${this.id} is asked to hand leadership to ${transferee}`);
      raw.transferLeader(transferee);
    }
  }

  /**
   * A leader must take a proposal unless it is handing its leadership over; anyone else must refuse
   * it and change nothing.
   */
  private propose(raw: RawNode, data: Uint8Array): void {
    const r = raw.raft;
    const leading = r.state === StateType.Leader && r.leadTransferee === None;
    const before = fingerprint(raw);
    try {
      raw.propose(data);
    } catch (error) {
      if (leading || !(error instanceof ProposalDroppedError)) {
        throw new InvariantViolation(
          'api-contract',
          `node ${this.id} (${stateName(r.state)}) threw on a proposal: ${String(error)}`,
        );
      }
      if (fingerprint(raw) !== before) {
        throw new InvariantViolation(
          'api-contract',
          `node ${this.id} refused a proposal but changed from ${before} to ${fingerprint(raw)}`,
        );
      }
      this.host.proposalHandled(data, false);
      return;
    }
    if (!leading) {
      throw new InvariantViolation(
        'api-contract',
        `node ${this.id} (${stateName(r.state)}) took a proposal`,
      );
    }
    this.host.proposalHandled(data, true);
    this.host.note(() => `node ${this.id} appended proposal at ${r.raftLog.lastIndex()}`);
  }

  private handleReady(rd: Ready): void {
    for (const e of rd.entries) {
      Object.freeze(e);
    }
    for (const m of rd.messages) {
      this.send(m);
    }
    const bug = this.host.bug;
    if (bug === 'apply-before-commit') {
      for (const e of rd.entries) {
        if (e.index === this.machine.length + 1) {
          this.apply(e);
        }
      }
    }
    // A Ready with nothing to persist does not wait for the disk.
    const durable =
      rd.hardState !== undefined || rd.snapshot !== undefined || rd.entries.length > 0;
    const delay = durable ? this.host.writeDelay() : 0;
    this.writing = rd;
    if (delay === 0) {
      this.finishWrite();
    } else {
      this.host.scheduleWrite(this, delay);
    }
  }

  /** The disk finished the write in flight. */
  diskDone(): void {
    if (this.paused) {
      this.writeDone = true;
      return;
    }
    this.finishWrite();
    this.drive();
  }

  pause(): void {
    this.paused = true;
    this.everPaused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.writeDone) {
      this.writeDone = false;
      this.finishWrite();
    }
    this.drive();
  }

  /** The disk write of the Ready in flight is done: send what waited for it, apply, advance. */
  private finishWrite(): void {
    const rd = this.writing;
    const raw = this.raw;
    if (rd === undefined || raw === undefined) {
      return;
    }
    const checker = this.host.checker;
    try {
      if (rd.hardState !== undefined) {
        const hs = { ...rd.hardState };
        if (this.host.bug === 'forget-vote') {
          hs.vote = None;
        }
        this.storage.setHardState(hs);
        checker.observePersisted(this.id, hs);
        this.persisted = hs;
      }
      if (rd.snapshot !== undefined) {
        this.storage.applySnapshot(rd.snapshot);
      }
      if (rd.entries.length > 0) {
        this.storage.append(rd.entries.map(copyEntry));
      }
    } catch (error) {
      if (error instanceof InvariantViolation) {
        throw error;
      }
      throw new InvariantViolation(
        'api-contract',
        `node ${this.id}'s Ready could not be persisted: ${String(error)}`,
      );
    }
    for (const m of rd.persistedMessages) {
      this.send(m);
    }
    if (rd.snapshot !== undefined) {
      this.machine = decodeMachine(rd.snapshot);
      this.snapshotsInstalled++;
      checker.observeSnapshotApplied(this.id, this.machine);
      this.host.note(() => `node ${this.id} installed a snapshot at ${this.machine.length}`);
    }
    if (this.host.bug !== 'apply-before-commit') {
      for (const e of rd.committedEntries) {
        this.apply(e);
      }
    }
    raw.advance(rd);
    this.writing = undefined;
    checker.checkNode(raw.raft);
  }

  private apply(e: Entry): void {
    this.host.checker.observeApply(this.id, e);
    this.machine.push(entryKey(e));
    this.host.applied(this, e);
  }

  private send(m: Message): void {
    this.host.checker.observeSend(m, this.persisted, this.storage.lastIndex());
    this.host.send(m);
  }

  /** Snapshots the state machine into storage and drops the log up to what was applied. */
  compact(): boolean {
    const applied = this.machine.length;
    if (this.raw === undefined || applied <= this.storage.firstIndex() - 1) {
      return false;
    }
    const nodes = Array.from({ length: this.host.plan.nodes }, (_, k) => k + 1);
    this.storage.createSnapshot(applied, { nodes }, encodeMachine(this.machine));
    this.storage.compact(applied);
    return true;
  }
}

const stateNames = ['follower', 'candidate', 'leader', 'pre-candidate'];

export function stateName(s: StateType): string {
  return stateNames[s] ?? `state ${s}`;
}

/** What a refused proposal must leave as it was. */
function fingerprint(raw: RawNode): string {
  const r = raw.raft;
  const log = r.raftLog;
  const last = log.entries[log.entries.length - 1];
  return `term ${r.term} vote ${r.vote} ${stateName(r.state)} lead ${r.lead} last ${log.lastIndex()}@${last?.term ?? '-'} committed ${log.committed} outbox ${r.msgs.length}`;
}

/** A compact one-line rendering of a message for traces. */
export function describeMessage(m: Message): string {
  let s = `${messageTypeName(m.msgType)} ${m.from}→${m.to} term ${m.term}`;
  switch (m.msgType) {
    case MessageType.MsgAppend:
      s += ` after ${m.index}@${m.logTerm} [${m.entries.map((e) => `${e.index}@${e.term}`).join(' ')}] commit ${m.commit}`;
      break;
    case MessageType.MsgAppendResponse:
      s += m.reject ? ` reject, hint ${m.index}@${m.logTerm}` : ` ok ${m.index}`;
      break;
    case MessageType.MsgRequestVote:
    case MessageType.MsgPreVote:
      s += ` last ${m.index}@${m.logTerm}`;
      break;
    case MessageType.MsgRequestVoteResponse:
    case MessageType.MsgPreVoteResponse:
      s += m.reject ? ' rejected' : ' granted';
      break;
    case MessageType.MsgSnapshot:
      s += ` at ${m.snapshot?.metadata.index}@${m.snapshot?.metadata.term}`;
      break;
    case MessageType.MsgHeartbeat:
      s += ` commit ${m.commit}`;
      break;
  }
  return s;
}
