import { type Entry, EntryType, type HardState, isEmptyHardState } from '@tinyraft/raft-log';
import { type Config, validateConfig } from './config.js';
import { ConfigError, MalformedMessageError, ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { type Message, MessageType, message, None } from './message.js';
import { newProgress, type Progress, ProgressState } from './progress.js';
import { majorityIndex, quorum } from './quorum.js';
import { validateMessage } from './validate.js';

/**
 * The role of a node. A pre-candidate (only with `Config.preVote`) asks for pre-votes before it
 * campaigns, in its old term (§9.6).
 */
export const StateType = { Follower: 0, Candidate: 1, Leader: 2, PreCandidate: 3 } as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

/** The volatile state that a runtime shows: who leads, and this node's role. */
export interface SoftState {
  lead: number;
  raftState: StateType;
}

const defaultMaxSizePerMsg = 1024 * 1024;
/** The size an entry counts for in `maxSizePerMsg`, beyond its payload (its index, term and type). */
const entryOverhead = 24;

/**
 * One Raft node as a pure state machine. Time passes only through `tick()`, input arrives only
 * through `step()`, and everything the node wants to send is left in `msgs` for the caller to
 * drain with `readMessages()`. Nothing here does I/O, reads a clock or draws randomness except
 * through `Config.random`.
 *
 * The flow: `tick()` raises MsgHup or MsgBeat; `step()` settles the term (§5.1) and dispatches by
 * role; `sendXxx` methods put requests in the outbox; `handleXxx` methods handle requests and reply;
 * `handleXxxResponse` methods handle the replies.
 */
export class Raft {
  id: number;
  term = 0;
  vote: number = None;
  state: StateType = StateType.Follower;
  lead: number = None;
  raftLog: RaftLog;
  /** Replication progress of every member, this node included. */
  prs: Map<number, Progress> = new Map();
  /** Vote (or pre-vote) responses received in this election; `true` = granted. */
  votes: Map<number, boolean> = new Map();
  /** The member this leader is handing its leadership to (§3.10), or `None`. */
  leadTransferee: number = None;
  /** The outbox. */
  msgs: Message[] = [];

  /** Ticks since the last heartbeat sent (leader). */
  heartbeatElapsed = 0;
  /** Ticks since the last election timer reset (every role; the leader uses it for check quorum). */
  electionElapsed = 0;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  /** Drawn from [electionTimeout, 2·electionTimeout) at every reset of the election timer. */
  randomizedElectionTimeout = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  private readonly maxSizePerMsg: number;
  private readonly random: () => number;
  /** Reused by `maybeCommit` so the leader's commit path allocates nothing. */
  private matchScratch: number[] = [];

  constructor(config: Config) {
    validateConfig(config);
    this.id = config.id;
    this.electionTimeout = config.electionTick;
    this.heartbeatTimeout = config.heartbeatTick;
    this.random = config.random ?? Math.random;
    this.maxSizePerMsg = config.maxSizePerMsg ?? defaultMaxSizePerMsg;
    this.checkQuorum = config.checkQuorum ?? false;
    this.preVote = config.preVote ?? false;
    const { hardState, confState } = config.storage.initialState();
    const peers =
      config.peers !== undefined && config.peers.length > 0 ? config.peers : confState.nodes;
    if (peers.length === 0) {
      throw new ConfigError(
        'no members: give peers for a new cluster, or a storage whose conf state lists them',
      );
    }
    this.raftLog = new RaftLog(config.storage);
    const next = this.raftLog.lastIndex() + 1;
    for (const p of peers) {
      this.prs.set(p, newProgress(next));
    }
    if (!isEmptyHardState(hardState)) {
      this.loadHardState(hardState);
    }
    if (config.applied !== undefined && config.applied > 0) {
      if (config.applied > this.raftLog.committed) {
        throw new ConfigError(
          `applied ${config.applied} is past the committed index ${this.raftLog.committed}`,
        );
      }
      this.raftLog.appliedTo(config.applied);
    }
    this.becomeFollower(this.term, None);
    if (config.fastFirstElection === true && this.term === 0 && this.raftLog.lastIndex() === 0) {
      this.electionElapsed = this.electionTimeout - this.heartbeatTimeout - 1;
    }
  }

  private loadHardState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new ConfigError(
        `hard state commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.term = hs.term;
    this.vote = hs.vote;
    this.raftLog.committed = hs.commit;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Returns the outbox and leaves it empty. */
  readMessages(): Message[] {
    const msgs = this.msgs;
    this.msgs = [];
    return msgs;
  }

  // ---------------------------------------------------------------------------------------------
  // Time
  // ---------------------------------------------------------------------------------------------

  /** Advances the logical clock by one tick. */
  tick(): void {
    if (this.state === StateType.Leader) {
      this.tickHeartbeat();
    } else {
      this.tickElection();
    }
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ msgType: MessageType.MsgHup, from: this.id, to: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        // A leader cut off from a majority steps down rather than serve a stale term.
        this.becomeFollower(this.term, None);
        return;
      }
      // §3.10: a transfer that has not completed within an election timeout is abandoned, and the
      // leader takes proposals again.
      this.leadTransferee = None;
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ msgType: MessageType.MsgBeat, from: this.id, to: this.id }));
    }
  }

  /** Whether a majority (self included) was heard from since the last check; clears the marks. */
  private quorumActive(): boolean {
    let active = 0;
    for (const [id, pr] of this.prs) {
      if (id === this.id || pr.recentActive) {
        active++;
      }
      pr.recentActive = false;
    }
    return active >= quorum(this.prs.size);
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedElectionTimeout =
      this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions (emit nothing)
  // ---------------------------------------------------------------------------------------------

  becomeFollower(term: number, lead: number): void {
    this.state = StateType.Follower;
    if (term !== this.term) {
      this.term = term;
      // A vote is only for one term; a candidate falling back within its own term keeps it.
      this.vote = None;
    }
    this.lead = lead;
    this.leadTransferee = None;
    this.heartbeatElapsed = 0;
    this.resetElectionTimer();
    this.votes.clear();
  }

  /**
   * §9.6: a pre-candidate keeps its term and its vote, so that asking disrupts no one; it stops
   * following the leader it no longer hears, and counts its own pre-vote.
   */
  becomePreCandidate(): void {
    this.state = StateType.PreCandidate;
    this.startPolling();
  }

  becomeCandidate(): void {
    this.state = StateType.Candidate;
    this.term++;
    this.vote = this.id;
    this.startPolling();
  }

  /** Either kind of candidate: no leader, no transfer, only its own (pre-)vote so far, a new timer. */
  private startPolling(): void {
    this.lead = None;
    this.leadTransferee = None;
    this.votes.clear();
    this.votes.set(this.id, true);
    this.heartbeatElapsed = 0;
    this.resetElectionTimer();
  }

  /**
   * §5.2, §8: a new leader appends a no-op entry of its own term and sends it to every follower,
   * which both asserts leadership and lets it commit the entries of earlier terms (§5.4.2).
   */
  becomeLeader(): void {
    this.state = StateType.Leader;
    this.lead = this.id;
    this.leadTransferee = None;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    const next = this.raftLog.lastIndex() + 1;
    for (const pr of this.prs.values()) {
      pr.match = 0;
      pr.next = next;
      pr.state = ProgressState.Probe;
      pr.recentActive = true;
    }
    this.appendEntries([{ entryType: EntryType.Normal, term: 0, index: 0 }]);
    this.bcastAppend();
    this.maybeCommit();
  }

  // ---------------------------------------------------------------------------------------------
  // Step: terms first (§5.1), then the role
  // ---------------------------------------------------------------------------------------------

  /**
   * Handles one message. Throws `MalformedMessageError` for a message that is not well formed
   * and `ProposalDroppedError` for a proposal this node cannot take; either way nothing changed.
   */
  step(m: Message): void {
    validateMessage(m);
    if (m.term > this.term) {
      // §9.6: a pre-vote asks about a term no one is in yet, and a grant answers with that term:
      // neither moves us to it. (A rejection carries the voter's own term, which is real.)
      const futureTerm =
        m.msgType === MessageType.MsgPreVote ||
        (m.msgType === MessageType.MsgPreVoteResponse && !m.reject);
      if (!futureTerm) {
        // §5.1: a higher term makes any node a follower of that term. Only a leader's messages
        // name the leader.
        const fromLeader =
          m.msgType === MessageType.MsgAppend ||
          m.msgType === MessageType.MsgHeartbeat ||
          m.msgType === MessageType.MsgSnapshot;
        this.becomeFollower(m.term, fromLeader ? m.from : None);
      }
    } else if (m.term !== 0 && m.term < this.term) {
      this.handleStaleMessage(m);
      return;
    }
    switch (this.state) {
      case StateType.Follower:
        this.stepFollower(m);
        break;
      case StateType.PreCandidate:
      case StateType.Candidate:
        this.stepCandidate(m);
        break;
      case StateType.Leader:
        this.stepLeader(m);
        break;
    }
  }

  /**
   * §5.1: a message of an older term changes nothing; ignoring it is enough, its sender learns our
   * term from the messages we send anyway. Two kinds are answered with our term, because their
   * senders might hear nothing else from us:
   * - a pre-vote request: the pre-candidate, behind in term, learns it from the rejection;
   * - with Pre-Vote, a stale leader's append or heartbeat. We are a node whose term ran ahead of
   *   the leader's (we campaigned and lost): we ignore the leader, and cannot bring everyone to our
   *   term by campaigning again, as no one pre-votes for a log that is behind or within a leader's
   *   lease. Told our term, the leader steps down, and the next election reunites the cluster.
   */
  private handleStaleMessage(m: Message): void {
    if (m.msgType === MessageType.MsgPreVote) {
      this.sendPreVoteResponse(m.from, this.term, false);
    } else if (
      this.preVote &&
      (m.msgType === MessageType.MsgAppend || m.msgType === MessageType.MsgHeartbeat)
    ) {
      this.sendAppendResponse(m.from, 0);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.msgType) {
      case MessageType.MsgHup:
        this.hup();
        break;
      case MessageType.MsgTimeoutNow:
        // §3.10: the leader hands over to us: campaign at once, without a pre-vote.
        this.campaign();
        break;
      case MessageType.MsgPropose:
        throw new ProposalDroppedError(
          `node ${this.id} is a follower (leader ${this.lead}) in term ${this.term}: proposal of ${m.entries.length} entries dropped`,
        );
      case MessageType.MsgAppend:
        this.heardFromLeader(m);
        this.handleAppendEntries(m);
        break;
      case MessageType.MsgHeartbeat:
        this.heardFromLeader(m);
        this.handleHeartbeat(m);
        break;
      case MessageType.MsgSnapshot:
        this.heardFromLeader(m);
        this.handleSnapshot(m);
        break;
      case MessageType.MsgRequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.MsgPreVote:
        this.handlePreVote(m);
        break;
      case MessageType.MsgTransferLeader:
        // Only the leader can hand leadership over: pass the request on to it, if we know it.
        if (this.lead !== None) {
          this.msgs.push(
            message({ msgType: MessageType.MsgTransferLeader, from: m.from, to: this.lead }),
          );
        }
        break;
    }
  }

  /** A candidate and a pre-candidate differ only in the responses they count. */
  private stepCandidate(m: Message): void {
    switch (m.msgType) {
      case MessageType.MsgHup:
        this.hup();
        break;
      case MessageType.MsgTimeoutNow:
        this.campaign();
        break;
      case MessageType.MsgPropose: {
        const role = this.state === StateType.PreCandidate ? 'pre-candidate' : 'candidate';
        throw new ProposalDroppedError(
          `node ${this.id} is a ${role} in term ${this.term}: proposal of ${m.entries.length} entries dropped`,
        );
      }
      case MessageType.MsgAppend:
      case MessageType.MsgHeartbeat:
      case MessageType.MsgSnapshot:
        // §5.2: a leader of our term exists; concede and handle its message as a follower.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case MessageType.MsgRequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.MsgPreVote:
        this.handlePreVote(m);
        break;
      case MessageType.MsgRequestVoteResponse:
        if (this.state === StateType.Candidate) {
          this.handleRequestVoteResponse(m);
        }
        break;
      case MessageType.MsgPreVoteResponse:
        if (this.state === StateType.PreCandidate) {
          this.handlePreVoteResponse(m);
        }
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.msgType) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        break;
      case MessageType.MsgPropose:
        this.handlePropose(m);
        break;
      case MessageType.MsgRequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.MsgPreVote:
        this.handlePreVote(m);
        break;
      case MessageType.MsgTransferLeader:
        this.handleTransferLeader(m);
        break;
      case MessageType.MsgAppendResponse:
        this.handleAppendEntriesResponse(m);
        break;
      case MessageType.MsgHeartbeatResponse:
        this.handleHeartbeatResponse(m);
        break;
    }
  }

  private heardFromLeader(m: Message): void {
    this.electionElapsed = 0;
    this.lead = m.from;
  }

  // ---------------------------------------------------------------------------------------------
  // Election (§5.2)
  // ---------------------------------------------------------------------------------------------

  /** The election timer fired, or the runtime asked: with Pre-Vote, first ask whether we can win. */
  private hup(): void {
    if (this.preVote) {
      this.preCampaign();
    } else {
      this.campaign();
    }
  }

  /**
   * §9.6: ask every member whether it would vote for us in the next term, without moving to it;
   * a majority of yes starts the real campaign.
   */
  private preCampaign(): void {
    this.becomePreCandidate();
    if (this.grantedVotes() >= quorum(this.prs.size)) {
      this.campaign();
      return;
    }
    this.requestVotes(MessageType.MsgPreVote, this.term + 1);
  }

  /** Starts an election: vote for self, and win at once if that is already a quorum. */
  private campaign(): void {
    this.becomeCandidate();
    if (this.grantedVotes() >= quorum(this.prs.size)) {
      this.becomeLeader();
      return;
    }
    this.requestVotes(MessageType.MsgRequestVote, this.term);
  }

  /** Asks every other member for its vote (or pre-vote) in `term`, with our last entry (§5.4.1). */
  private requestVotes(
    msgType: typeof MessageType.MsgRequestVote | typeof MessageType.MsgPreVote,
    term: number,
  ): void {
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.prs.keys()) {
      if (id !== this.id) {
        this.msgs.push(
          message({ msgType, from: this.id, to: id, term, logTerm: lastTerm, index: lastIndex }),
        );
      }
    }
  }

  /**
   * §5.2, §5.4.1: grant at most one vote per term, and only to a candidate whose log is at least
   * as up to date as ours. A leader or candidate has voted for itself, so it rejects.
   */
  handleRequestVote(m: Message): void {
    const canVote = this.vote === None || this.vote === m.from;
    const granted = canVote && this.raftLog.isUpToDate(m.index, m.logTerm);
    if (granted) {
      this.vote = m.from;
      this.resetElectionTimer();
    }
    this.msgs.push(
      message({
        msgType: MessageType.MsgRequestVoteResponse,
        from: this.id,
        to: m.from,
        term: this.term,
        reject: !granted,
      }),
    );
  }

  /**
   * §9.6: grant a pre-vote to a node whose log is at least as up to date as ours (§5.4.1), unless
   * we are in a leader's lease. A pre-vote binds nothing, so several pre-candidates may have ours
   * in one term, and it changes nothing here: not our term, vote or timer. A pre-vote for a term
   * ahead of ours needs no free vote; one for our own term does, as a vote would (§5.2). A grant
   * carries the term asked about, so the pre-candidate counts it; a rejection carries ours.
   */
  handlePreVote(m: Message): void {
    const canVote =
      m.term > this.term || this.vote === m.from || (this.vote === None && this.lead === None);
    const granted = canVote && !this.inLeaderLease() && this.raftLog.isUpToDate(m.index, m.logTerm);
    this.sendPreVoteResponse(m.from, granted ? m.term : this.term, granted);
  }

  private sendPreVoteResponse(to: number, term: number, granted: boolean): void {
    this.msgs.push(
      message({
        msgType: MessageType.MsgPreVoteResponse,
        from: this.id,
        to,
        term,
        reject: !granted,
      }),
    );
  }

  /**
   * With check quorum, a leader steps down when it stops hearing from a majority, so a follower
   * that heard from its leader less than an election timeout ago (or a leader) knows the leader is
   * alive, and refuses pre-votes (§4.2.3, §9.6). Without check quorum a leader may go on leading
   * with no majority behind it, and refusing could leave the cluster with no way to replace it;
   * so, as in etcd, there is no lease then, and only the log decides.
   */
  private inLeaderLease(): boolean {
    return this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
  }

  /** Counts a vote; a quorum of grants wins the election, a quorum of rejections loses it. */
  handleRequestVoteResponse(m: Message): void {
    const result = this.poll(m);
    if (result === 'won') {
      this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, None);
    }
  }

  /**
   * Counts a pre-vote; a quorum of grants starts the campaign, a quorum of rejections ends the
   * attempt. Only a grant of the term we are asking about counts: a late one from an earlier
   * pre-campaign, of a term we have since reached, is no answer to this one.
   */
  handlePreVoteResponse(m: Message): void {
    if (!m.reject && m.term !== this.term + 1) {
      return;
    }
    const result = this.poll(m);
    if (result === 'won') {
      this.campaign();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, None);
    }
  }

  /** Records a member's answer; a quorum of grants wins, a quorum of rejections loses. */
  private poll(m: Message): 'won' | 'lost' | 'pending' {
    if (!this.prs.has(m.from)) {
      return 'pending';
    }
    this.votes.set(m.from, !m.reject);
    const q = quorum(this.prs.size);
    const granted = this.grantedVotes();
    if (granted >= q) {
      return 'won';
    }
    return this.votes.size - granted >= q ? 'lost' : 'pending';
  }

  private grantedVotes(): number {
    let granted = 0;
    for (const v of this.votes.values()) {
      if (v) {
        granted++;
      }
    }
    return granted;
  }

  // ---------------------------------------------------------------------------------------------
  // Log replication: leader side (§5.3)
  // ---------------------------------------------------------------------------------------------

  private handlePropose(m: Message): void {
    if (this.leadTransferee !== None) {
      // §3.10: the transferee must hold our whole log before it campaigns; a log that keeps
      // growing would never let it.
      throw new ProposalDroppedError(
        `node ${this.id} is handing leadership to ${this.leadTransferee} in term ${this.term}: proposal of ${m.entries.length} entries dropped`,
      );
    }
    if (m.entries.length === 0) {
      return;
    }
    this.appendEntries(m.entries);
    this.bcastAppend();
    this.maybeCommit();
  }

  /** Appends entries to the leader's own log with its term and consecutive indexes. */
  private appendEntries(proposed: readonly Entry[]): void {
    let index = this.raftLog.lastIndex();
    const ents: Entry[] = new Array(proposed.length);
    for (let k = 0; k < proposed.length; k++) {
      const p = proposed[k] as Entry;
      const e: Entry = {
        entryType: p.entryType ?? EntryType.Normal,
        term: this.term,
        index: ++index,
      };
      if (p.data !== undefined) {
        e.data = p.data;
      }
      ents[k] = e;
    }
    this.raftLog.append(ents);
    const self = this.prs.get(this.id);
    if (self !== undefined) {
      self.match = index;
      self.next = index + 1;
    }
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) {
      if (id !== this.id) {
        this.sendAppend(id);
      }
    }
  }

  /**
   * Sends `to` the entries from its `next` on (at most `maxSizePerMsg` bytes of them), after the
   * entry that precedes them so that the follower can check it (§5.3). If those entries were
   * compacted, sends the snapshot instead.
   */
  sendAppend(to: number): void {
    const pr = this.prs.get(to);
    if (pr === undefined) {
      return;
    }
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.termOrUndefined(prevIndex);
    if (prevTerm === undefined) {
      // `next` never passes lastIndex + 1, so the entry before it was compacted away.
      this.sendSnapshot(to, pr);
      return;
    }
    const entries = this.entriesToSend(pr.next);
    this.msgs.push(
      message({
        msgType: MessageType.MsgAppend,
        from: this.id,
        to,
        term: this.term,
        logTerm: prevTerm,
        index: prevIndex,
        entries,
        commit: this.raftLog.committed,
      }),
    );
    const last = entries[entries.length - 1];
    if (pr.state === ProgressState.Replicate && last !== undefined) {
      // Optimistic: a follower known to match receives each entry once; a lost message shows up
      // as a rejection of the next one, which sends us back to probing.
      pr.next = last.index + 1;
    }
  }

  private entriesToSend(from: number): Entry[] {
    const last = this.raftLog.lastIndex();
    if (from > last) {
      return [];
    }
    let hi = from;
    let size = 0;
    // Always at least one entry, so that an entry larger than the limit still goes out.
    do {
      const e = this.raftLog.entries[hi - this.raftLog.firstIndex()] as Entry;
      size += entryOverhead + (e.data?.length ?? 0);
      hi++;
    } while (hi <= last && size < this.maxSizePerMsg);
    return this.raftLog.slice(from, hi);
  }

  private sendSnapshot(to: number, pr: Progress): void {
    let snapshot: ReturnType<RaftLog['storage']['snapshot']>;
    try {
      snapshot = this.raftLog.storage.snapshot();
    } catch {
      // The storage is still building one (SnapshotTemporarilyUnavailableError); the next
      // heartbeat response retries.
      return;
    }
    this.msgs.push(
      message({
        msgType: MessageType.MsgSnapshot,
        from: this.id,
        to,
        term: this.term,
        snapshot,
      }),
    );
    pr.next = snapshot.metadata.index + 1;
    pr.state = ProgressState.Probe;
  }

  handleAppendEntriesResponse(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) {
      return;
    }
    if (!m.reject && m.index > this.raftLog.lastIndex()) {
      throw new MalformedMessageError(
        `MsgAppendResponse from ${m.from} acknowledges index ${m.index}, past our last index ${this.raftLog.lastIndex()}`,
      );
    }
    pr.recentActive = true;
    if (m.reject) {
      // The follower's log does not hold our entry at the index we sent after; its hint (the
      // last index whose term is ≤ the term we sent, and that term) lets us skip a whole term.
      const probe = this.raftLog.findConflictByTerm(m.index, m.logTerm);
      pr.state = ProgressState.Probe;
      pr.next = Math.max(pr.match + 1, Math.min(pr.next, probe + 1));
      this.sendAppend(m.from);
      return;
    }
    if (m.index > pr.match) {
      pr.match = m.index;
    }
    if (m.index + 1 > pr.next) {
      pr.next = m.index + 1;
    }
    pr.state = ProgressState.Replicate;
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else if (pr.next <= this.raftLog.lastIndex()) {
      this.sendAppend(m.from);
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      // §3.10: the transferee has caught up, so it can win: tell it to campaign.
      this.sendTimeoutNow(m.from);
    }
  }

  /**
   * §5.3, §5.4.2: commit the highest index matched by a majority, but only if that entry is of
   * the current term; entries of earlier terms are committed with it, never by counting alone.
   */
  private maybeCommit(): boolean {
    const matches = this.matchScratch;
    let n = 0;
    for (const pr of this.prs.values()) {
      matches[n++] = pr.match;
    }
    const index = majorityIndex(matches, n);
    if (index > this.raftLog.committed && this.raftLog.termOrUndefined(index) === this.term) {
      this.raftLog.commitTo(index);
      return true;
    }
    return false;
  }

  private bcastHeartbeat(): void {
    for (const [id, pr] of this.prs) {
      if (id !== this.id) {
        this.sendHeartbeat(id, pr);
      }
    }
  }

  /**
   * A heartbeat carries the commit index only up to what the follower is known to match, so it
   * can never make a follower commit an entry it has not verified.
   */
  private sendHeartbeat(to: number, pr: Progress): void {
    this.msgs.push(
      message({
        msgType: MessageType.MsgHeartbeat,
        from: this.id,
        to,
        term: this.term,
        commit: Math.min(this.raftLog.committed, pr.match),
      }),
    );
  }

  /** A follower that answers a heartbeat but lags behind is sent what it misses. */
  handleHeartbeatResponse(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) {
      return;
    }
    pr.recentActive = true;
    if (pr.match < this.raftLog.lastIndex()) {
      // Whatever was in flight may be lost: send again from what the follower is known to hold.
      pr.state = ProgressState.Probe;
      pr.next = pr.match + 1;
      this.sendAppend(m.from);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leadership transfer (§3.10)
  // ---------------------------------------------------------------------------------------------

  /**
   * §3.10: hand leadership to the member `m.from`. Stop taking proposals, bring the transferee's
   * log up to ours, then tell it to campaign at once (MsgTimeoutNow): with a log as up to date as
   * anyone's, it wins. The transfer has an election timeout to complete (see `tickHeartbeat`); a
   * request for another member replaces it. A request for a non-member, for this leader or for the
   * transfer under way changes nothing: in particular it cannot cancel a transfer, since the
   * MsgTimeoutNow may be on its way already, and entries proposed now would be lost to the
   * transferee's election.
   */
  private handleTransferLeader(m: Message): void {
    const transferee = m.from;
    const pr = this.prs.get(transferee);
    if (pr === undefined || transferee === this.id || transferee === this.leadTransferee) {
      return;
    }
    this.leadTransferee = transferee;
    // The election timer times the transfer: it gets a whole election timeout (and the leader's
    // next check-quorum round comes that much later).
    this.electionElapsed = 0;
    if (pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.sendAppend(transferee);
    }
  }

  private sendTimeoutNow(to: number): void {
    this.msgs.push(
      message({ msgType: MessageType.MsgTimeoutNow, from: this.id, to, term: this.term }),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Log replication: follower side (§5.3)
  // ---------------------------------------------------------------------------------------------

  /**
   * §5.3: accept entries only after the leader's entry at `m.index` matches ours (`m.logTerm`);
   * delete a conflicting suffix, append what is new, and commit up to the leader's commit but
   * never past the last entry this message vouches for.
   */
  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to our commit index is settled: answer with it so the leader moves on.
      this.sendAppendResponse(m.from, this.raftLog.committed);
      return;
    }
    if (!this.raftLog.matchTerm(m.index, m.logTerm)) {
      const hint = this.raftLog.findConflictByTerm(m.index, m.logTerm);
      this.msgs.push(
        message({
          msgType: MessageType.MsgAppendResponse,
          from: this.id,
          to: m.from,
          term: this.term,
          index: hint,
          logTerm: this.raftLog.termOrUndefined(hint) ?? 0,
          reject: true,
        }),
      );
      return;
    }
    const lastNew = m.index + m.entries.length;
    // m.index ≥ committed here, so a conflict can only be with an uncommitted entry.
    const conflict = this.raftLog.findConflict(m.entries);
    if (conflict !== 0) {
      this.raftLog.append(m.entries.slice(conflict - m.index - 1));
    }
    this.raftLog.commitTo(Math.min(m.commit, lastNew));
    this.sendAppendResponse(m.from, lastNew);
  }

  private sendAppendResponse(to: number, index: number): void {
    this.msgs.push(
      message({
        msgType: MessageType.MsgAppendResponse,
        from: this.id,
        to,
        term: this.term,
        index,
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    // The leader sends at most our match index, so this commits only verified entries.
    this.raftLog.commitTo(Math.min(m.commit, this.raftLog.lastIndex()));
    this.msgs.push(
      message({
        msgType: MessageType.MsgHeartbeatResponse,
        from: this.id,
        to: m.from,
        term: this.term,
      }),
    );
  }

  /** §7: replace the log with the leader's snapshot unless we already hold what it covers. */
  handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (snap === undefined) {
      return;
    }
    const { index, term } = snap.metadata;
    if (index <= this.raftLog.committed) {
      this.sendAppendResponse(m.from, this.raftLog.committed);
      return;
    }
    if (this.raftLog.matchTerm(index, term)) {
      // We hold the entry the snapshot ends with: everything before it matches (log matching).
      this.raftLog.commitTo(index);
      this.sendAppendResponse(m.from, index);
      return;
    }
    this.raftLog.restore(snap);
    const next = index + 1;
    this.prs.clear();
    for (const id of snap.metadata.confState.nodes) {
      this.prs.set(id, newProgress(next));
    }
    this.sendAppendResponse(m.from, index);
  }
}
