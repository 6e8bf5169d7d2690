import {
  type Entry,
  type HardState,
  type Message,
  MessageType,
  messageTypeName,
  None,
  StateType,
} from '@tinyraft/raft-core';

/** The properties a simulation checks; each violation names one. */
export type InvariantName =
  /** §5.2: at most one leader per term, over the whole run. */
  | 'election-safety'
  /** §5.2: a node grants at most one vote per term, across restarts. */
  | 'vote-safety'
  /** §5.3: two logs holding an entry with the same index and term agree up to it; terms in a log never decrease. */
  | 'log-matching'
  /** §5.3: a leader never overwrites or deletes entries of its own log while it leads. */
  | 'leader-append-only'
  /** §5.4: a leader's log holds every entry committed in an earlier term. */
  | 'leader-completeness'
  /** §5.4.3: no two nodes apply different entries at one index; each node applies in order, once. */
  | 'state-machine-safety'
  /** A node's commit index never decreases while it runs, nor on its disk. */
  | 'commit-monotonic'
  /** §5.1: a node's term never decreases, in memory while it runs and on its disk. */
  | 'term-monotonic'
  /** A vote or an acknowledgement is sent only after what it promises is on disk. */
  | 'durability'
  /** Every entry in a log was proposed by a client (or is a leader's no-op), at one place only. */
  | 'integrity'
  /** The node kept its API contract: threw nothing unexpected, refused proposals without changing. */
  | 'api-contract'
  /** Once faults stop, a leader is elected and proposals commit everywhere, within bounds. */
  | 'liveness';

/** A run broke an invariant. The message says which, where and with which values. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
  readonly invariant: InvariantName;
  constructor(invariant: InvariantName, detail: string, options?: ErrorOptions) {
    super(`${invariant}: ${detail}`, options);
    this.invariant = invariant;
  }
}

/** What the checker reads of a node's state; a `Raft` is one. */
export interface NodeView {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly state: StateType;
  readonly raftLog: {
    readonly committed: number;
    readonly applied: number;
    /** In memory, `entries[k]` holds index `firstIndex() + k`. */
    readonly entries: readonly Entry[];
    firstIndex(): number;
    lastIndex(): number;
    /** Valid from `firstIndex() - 1`. */
    term(i: number): number;
  };
}

/** A stable text for an entry's contents: '' for a no-op, else its type and bytes. */
export function entryKey(e: Entry): string {
  const d = e.data;
  let key = e.entryType === 0 ? '' : `#${e.entryType}`;
  if (d !== undefined) {
    key += '=';
    for (let k = 0; k < d.length; k++) {
      key += String.fromCharCode(d[k] as number);
    }
  }
  return key;
}

/** An `entryKey` for people: `no-op`, the payload when it is printable text, else JSON. */
export function showKey(key: string): string {
  if (key === '') {
    return 'no-op';
  }
  const text = key.startsWith('=') ? key.slice(1) : key;
  return /^[\x21-\x7e]+$/.test(text) ? text : JSON.stringify(key);
}

const describeEntry = (e: Entry): string => `${e.index}@${e.term} ${showKey(entryKey(e))}`;

/** What the checker remembers of one node, for one life unless noted. */
interface NodeRecord {
  term: number;
  committed: number;
  applied: number;
  /** What was last persisted; survives restarts. */
  persisted: HardState;
  /** `seen[i]` is the entry object last verified at index i: unchanged objects are not checked again. */
  seen: Array<Entry | undefined>;
  /** The term in which this node was last seen leading (this life), or 0. */
  ledTerm: number;
  /** Committed entries up to this index were verified to be in its log while it led `ledTerm`. */
  completeUpTo: number;
}

interface Registered {
  key: string;
  prevTerm: number;
}

interface Committed {
  key: string;
  term: number;
  /** The term of the node that first reported the entry committed: a bound on when it committed. */
  commitTerm: number;
}

/**
 * Checks Raft's safety properties (§5.2–§5.4, Figure 3) incrementally, from observations a
 * simulated runtime feeds it, and throws `InvariantViolation` at the first one broken.
 *
 * Log matching is checked through a registry of every (index, term) ever seen, holding the
 * entry's contents and the term of the entry before it: if every log agrees with the registry,
 * two logs sharing an (index, term) share the entry and, by induction, everything before it.
 * That makes a check cost one pass over a node's log, and only over entries it had not shown yet.
 */
export class SafetyChecker {
  /** Node-state checks run so far (each covers every invariant that applies to the node). */
  checks = 0;
  private readonly nodes = new Map<number, NodeRecord>();
  private readonly leaders = new Map<number, number>();
  private readonly votes = new Map<number, Map<number, number>>();
  private readonly registry: Array<Map<number, Registered> | undefined> = [];
  private readonly committed: Array<Committed | undefined> = [undefined];
  private readonly applied: Array<string | undefined> = [undefined];
  private readonly proposed = new Set<string>();
  private readonly placed = new Map<string, string>();

  constructor(ids: readonly number[]) {
    for (const id of ids) {
      this.nodes.set(id, {
        term: 0,
        committed: 0,
        applied: 0,
        persisted: { term: 0, vote: None, commit: 0 },
        seen: [],
        ledTerm: 0,
        completeUpTo: 0,
      });
    }
  }

  /** Terms in which a leader was seen. */
  get leaderTerms(): number {
    return this.leaders.size;
  }

  /** Registers a client payload, so that an entry carrying it is not taken for an invented one. */
  noteProposal(data: Uint8Array): void {
    this.proposed.add(entryKey({ entryType: 0, term: 0, index: 0, data }));
  }

  /** Checks a running node after anything happened to it. */
  checkNode(view: NodeView): void {
    this.checks++;
    const rec = this.record(view.id);
    const log = view.raftLog;
    if (view.term < rec.term) {
      this.fail(
        'term-monotonic',
        `node ${view.id}'s term went from ${rec.term} down to ${view.term}`,
      );
    }
    rec.term = view.term;
    if (view.vote !== None) {
      const granted = this.votes.get(view.id)?.get(view.term);
      if (granted !== undefined && granted !== view.vote) {
        this.fail(
          'vote-safety',
          `node ${view.id} holds a vote for ${view.vote} in term ${view.term}, but it voted for ${granted}`,
        );
      }
    }
    const leading = view.state === StateType.Leader;
    if (leading) {
      const leader = this.leaders.get(view.term);
      if (leader === undefined) {
        this.leaders.set(view.term, view.id);
      } else if (leader !== view.id) {
        this.fail('election-safety', `nodes ${leader} and ${view.id} both lead term ${view.term}`);
      }
    }
    if (log.committed < rec.committed) {
      this.fail(
        'commit-monotonic',
        `node ${view.id}'s commit index went from ${rec.committed} down to ${log.committed}`,
      );
    }
    if (log.committed > log.lastIndex()) {
      this.fail(
        'commit-monotonic',
        `node ${view.id} committed ${log.committed} past its last index ${log.lastIndex()}`,
      );
    }
    rec.committed = log.committed;
    const stillLeading = leading && rec.ledTerm === view.term;
    this.scanLog(view, rec, stillLeading);
    this.recordCommits(view);
    if (leading) {
      if (!stillLeading) {
        rec.ledTerm = view.term;
        rec.completeUpTo = 0;
      }
      this.checkCompleteness(view, rec);
    } else {
      rec.ledTerm = 0;
    }
  }

  /** Verifies the entries of the node's log that changed since the last check. */
  private scanLog(view: NodeView, rec: NodeRecord, stillLeading: boolean): void {
    const log = view.raftLog;
    const first = log.firstIndex();
    const last = log.lastIndex();
    const seen = rec.seen;
    if (seen.length > last + 1) {
      if (stillLeading && seen[seen.length - 1] !== undefined) {
        this.fail(
          'leader-append-only',
          `leader ${view.id} of term ${view.term} truncated its log from ${seen.length - 1} to ${last}`,
        );
      }
      seen.length = last + 1;
    }
    let prevTerm = log.term(first - 1);
    for (let i = first; i <= last; i++) {
      const e = log.entries[i - first] as Entry;
      if (seen[i] !== e) {
        if (stillLeading && seen[i] !== undefined) {
          this.fail(
            'leader-append-only',
            `leader ${view.id} of term ${view.term} replaced entry ${describeEntry(seen[i] as Entry)} with ${describeEntry(e)}`,
          );
        }
        this.checkEntry(view, i, e, prevTerm);
        seen[i] = e;
      }
      prevTerm = e.term;
    }
  }

  private checkEntry(view: NodeView, i: number, e: Entry, prevTerm: number): void {
    if (e.index !== i) {
      this.fail('log-matching', `node ${view.id} holds entry ${describeEntry(e)} at index ${i}`);
    }
    if (e.term < prevTerm) {
      this.fail(
        'log-matching',
        `node ${view.id}'s log goes from term ${prevTerm} down to ${e.term} at index ${i}`,
      );
    }
    const key = entryKey(e);
    let atIndex = this.registry[i];
    if (atIndex === undefined) {
      atIndex = new Map();
      this.registry[i] = atIndex;
    }
    const known = atIndex.get(e.term);
    if (known === undefined) {
      atIndex.set(e.term, { key, prevTerm });
      if (key !== '') {
        if (!this.proposed.has(key)) {
          this.fail(
            'integrity',
            `node ${view.id} holds ${describeEntry(e)}, which no one proposed`,
          );
        }
        const place = `${i}@${e.term}`;
        const other = this.placed.get(key);
        if (other !== undefined && other !== place) {
          this.fail(
            'integrity',
            `payload ${showKey(key)} was appended twice, at ${other} and at ${place}`,
          );
        }
        this.placed.set(key, place);
      }
    } else if (known.key !== key || known.prevTerm !== prevTerm) {
      this.fail(
        'log-matching',
        `node ${view.id} holds ${describeEntry(e)} after an entry of term ${prevTerm}, but another log holds ${i}@${e.term} ${showKey(known.key)} after an entry of term ${known.prevTerm}`,
      );
    }
    const c = this.committed[i];
    if (c !== undefined && i <= view.raftLog.committed && (c.key !== key || c.term !== e.term)) {
      this.fail(
        'state-machine-safety',
        `node ${view.id} committed ${describeEntry(e)}, but ${i}@${c.term} ${showKey(c.key)} was committed there before`,
      );
    }
  }

  /** Records entries that became committed, and checks those known committed already. */
  private recordCommits(view: NodeView): void {
    const log = view.raftLog;
    const first = log.firstIndex();
    for (let i = this.committed.length; i <= log.committed; i++) {
      const e = log.entries[i - first];
      if (e === undefined) {
        // Compacted here: this node committed it earlier, when it was recorded.
        continue;
      }
      this.committed[i] = { key: entryKey(e), term: e.term, commitTerm: view.term };
    }
  }

  /** §5.4: every entry committed in this leader's term or before is in its log. */
  private checkCompleteness(view: NodeView, rec: NodeRecord): void {
    const log = view.raftLog;
    const first = log.firstIndex();
    for (let i = Math.max(rec.completeUpTo + 1, first); i < this.committed.length; i++) {
      const c = this.committed[i];
      if (c === undefined || c.commitTerm > view.term) {
        continue;
      }
      const e = log.entries[i - first];
      if (e === undefined || e.term !== c.term || entryKey(e) !== c.key) {
        this.fail(
          'leader-completeness',
          `leader ${view.id} of term ${view.term} lacks committed entry ${i}@${c.term} ${showKey(c.key)}; it holds ${e === undefined ? 'nothing' : describeEntry(e)} there`,
        );
      }
    }
    rec.completeUpTo = this.committed.length - 1;
  }

  /** A node wrote its hard state to disk. */
  observePersisted(id: number, hs: HardState): void {
    this.checks++;
    const rec = this.record(id);
    const prev = rec.persisted;
    if (hs.term < prev.term) {
      this.fail('term-monotonic', `node ${id} persisted term ${hs.term} over term ${prev.term}`);
    }
    if (hs.commit < prev.commit) {
      this.fail('commit-monotonic', `node ${id} persisted commit ${hs.commit} over ${prev.commit}`);
    }
    if (hs.term === prev.term && prev.vote !== None && hs.vote !== prev.vote) {
      this.fail(
        'vote-safety',
        `node ${id} persisted a vote for ${hs.vote} over its vote for ${prev.vote} in term ${hs.term}`,
      );
    }
    if (hs.vote !== None) {
      this.recordVote(id, hs.term, hs.vote);
    }
    rec.persisted = { ...hs };
  }

  /**
   * A node sent `m` while its disk held `persisted` and entries up to `stableIndex`. Figure 2's
   * rule "respond to RPCs only after updating stable storage": a term, a vote or an acknowledged
   * entry must be durable before anyone hears of it.
   */
  observeSend(m: Message, persisted: HardState, stableIndex: number): void {
    this.checks++;
    // A pre-vote asks about the term after its sender's, and a grant repeats that term: one that
    // no one holds yet, so it needs no disk (§9.6). Every other term is one its sender holds.
    const held = m.msgType === MessageType.MsgPreVote ? m.term - 1 : m.term;
    const futureTerm = m.msgType === MessageType.MsgPreVoteResponse && !m.reject;
    if (!futureTerm && held > persisted.term) {
      this.fail(
        'durability',
        `node ${m.from} sent ${messageLabel(m)} with term ${m.term} while its disk holds term ${persisted.term}`,
      );
    }
    if (
      m.msgType === MessageType.MsgRequestVote ||
      m.msgType === MessageType.MsgRequestVoteResponse
    ) {
      const candidate = m.msgType === MessageType.MsgRequestVote ? m.from : m.to;
      if (m.msgType === MessageType.MsgRequestVoteResponse && m.reject) {
        return;
      }
      // A later term on disk also covers the vote: after a restart the node cannot vote in
      // this term again.
      if (persisted.term < m.term || (persisted.term === m.term && persisted.vote !== candidate)) {
        this.fail(
          'durability',
          `node ${m.from} sent ${messageLabel(m)} for ${candidate} in term ${m.term} while its disk holds a vote for ${persisted.vote} in term ${persisted.term}`,
        );
      }
      this.recordVote(m.from, m.term, candidate);
    } else if (
      m.msgType === MessageType.MsgAppendResponse &&
      !m.reject &&
      m.term === persisted.term &&
      m.index > stableIndex
    ) {
      // Only acknowledgements of the term on disk are checked. A node that steps several
      // messages before one Ready may acknowledge entries of an older term that a later
      // leader's MsgAppend then overwrote: harmless, since that later leader was elected while
      // the entries' holders (this node among them) would have refused it their votes, so the
      // entries could never gather a real quorum (§5.4.3's argument).
      this.fail(
        'durability',
        `node ${m.from} acknowledged index ${m.index} while its disk holds entries up to ${stableIndex}`,
      );
    }
  }

  private recordVote(voter: number, term: number, candidate: number): void {
    let byTerm = this.votes.get(voter);
    if (byTerm === undefined) {
      byTerm = new Map();
      this.votes.set(voter, byTerm);
    }
    const before = byTerm.get(term);
    if (before === undefined) {
      byTerm.set(term, candidate);
    } else if (before !== candidate) {
      this.fail(
        'vote-safety',
        `node ${voter} voted for both ${before} and ${candidate} in term ${term}`,
      );
    }
  }

  /**
   * A node restarted from its disk (`persisted`, which must be what it last wrote); its state
   * machine was rebuilt up to `applied` from its snapshot.
   */
  observeRestart(view: NodeView): void {
    this.checks++;
    const rec = this.record(view.id);
    const p = rec.persisted;
    if (view.term !== p.term || view.vote !== p.vote || view.raftLog.committed !== p.commit) {
      this.fail(
        'durability',
        `node ${view.id} restarted with term ${view.term}, vote ${view.vote}, commit ${view.raftLog.committed}, but persisted term ${p.term}, vote ${p.vote}, commit ${p.commit}`,
      );
    }
    rec.term = view.term;
    rec.committed = view.raftLog.committed;
    rec.applied = view.raftLog.applied;
    rec.seen = [];
    rec.ledTerm = 0;
    rec.completeUpTo = 0;
  }

  /** A node applied `e` to its state machine. */
  observeApply(id: number, e: Entry): void {
    this.checks++;
    const rec = this.record(id);
    if (e.index !== rec.applied + 1) {
      this.fail(
        'state-machine-safety',
        `node ${id} applied index ${e.index} after index ${rec.applied}`,
      );
    }
    rec.applied = e.index;
    this.checkApplied(id, e.index, entryKey(e));
  }

  /** A node replaced its state machine with a snapshot holding `keys` (index 1 at position 0). */
  observeSnapshotApplied(id: number, keys: readonly string[]): void {
    this.checks++;
    const rec = this.record(id);
    if (keys.length < rec.applied) {
      this.fail(
        'state-machine-safety',
        `node ${id} went back from applied ${rec.applied} to a snapshot at ${keys.length}`,
      );
    }
    for (let i = 1; i <= keys.length; i++) {
      this.checkApplied(id, i, keys[i - 1] as string);
    }
    rec.applied = keys.length;
  }

  private checkApplied(id: number, index: number, key: string): void {
    const c = this.committed[index];
    if (c === undefined) {
      this.fail(
        'state-machine-safety',
        `node ${id} applied index ${index} before anyone committed it`,
      );
    }
    const before = this.applied[index];
    if (before === undefined) {
      this.applied[index] = key;
    } else if (before !== key) {
      this.fail(
        'state-machine-safety',
        `node ${id} applied ${showKey(key)} at index ${index}, where ${showKey(before)} was applied`,
      );
    }
    if (c.key !== key) {
      this.fail(
        'state-machine-safety',
        `node ${id} applied ${showKey(key)} at index ${index}, where ${showKey(c.key)} is committed`,
      );
    }
  }

  private record(id: number): NodeRecord {
    const rec = this.nodes.get(id);
    if (rec === undefined) {
      throw new RangeError(`node ${id} is not in this cluster`);
    }
    return rec;
  }

  private fail(invariant: InvariantName, detail: string): never {
    throw new InvariantViolation(invariant, detail);
  }
}

const messageLabel = (m: Message): string => `${messageTypeName(m.msgType)} ${m.from}→${m.to}`;

/**
 * Log matching checked head-on (§5.3): any two logs agree on every entry up to the last index at
 * which they hold entries of the same term. Quadratic in the cluster size; a cross-check of
 * `SafetyChecker` at the end of a run.
 */
export function checkLogsAgree(views: readonly NodeView[]): void {
  for (let a = 0; a < views.length; a++) {
    for (let b = a + 1; b < views.length; b++) {
      const x = views[a] as NodeView;
      const y = views[b] as NodeView;
      const lo = Math.max(x.raftLog.firstIndex(), y.raftLog.firstIndex());
      let match = Math.min(x.raftLog.lastIndex(), y.raftLog.lastIndex());
      while (match >= lo && x.raftLog.term(match) !== y.raftLog.term(match)) {
        match--;
      }
      for (let i = lo; i <= match; i++) {
        const ex = x.raftLog.entries[i - x.raftLog.firstIndex()] as Entry;
        const ey = y.raftLog.entries[i - y.raftLog.firstIndex()] as Entry;
        if (ex.term !== ey.term || entryKey(ex) !== entryKey(ey)) {
          throw new InvariantViolation(
            'log-matching',
            `nodes ${x.id} and ${y.id} both hold an entry of term ${x.raftLog.term(match)} at ${match}, but differ at ${i}: ${describeEntry(ex)} and ${describeEntry(ey)}`,
          );
        }
      }
    }
  }
}
