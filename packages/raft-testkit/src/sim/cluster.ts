import { type Entry, type Message, MessageType, StateType } from '@tinyraft/raft-core';
import { ActiveFaults, describeFault, type Fault, type FaultKind, faultKinds } from './faults.js';
import {
  checkLogsAgree,
  entryKey,
  InvariantViolation,
  SafetyChecker,
  showKey,
} from './invariants.js';
import { type NetworkCounts, SimNetwork } from './net.js';
import { describeMessage, type InjectedBug, type NodeHost, SimNode } from './node.js';
import { type SimPlan, Stream, streamRandom, unitsPerTick } from './plan.js';
import { EventQueue } from './scheduler.js';

export interface SimOptions {
  /** Record every event in `SimResult.trace` (slower; failures are replayed with it on). */
  trace?: boolean;
  /** Break the runtime on purpose, to show that the checker notices. */
  bug?: InjectedBug;
  /** Ticks after the faults stop within which a leader that every node follows must be elected; default 500. */
  leaderBound?: number;
  /** Ticks within which a proposal made after that must be applied on every node; default 300. */
  commitBound?: number;
}

export interface SimStats {
  /** Events the scheduler ran: ticks, deliveries, disk writes, faults, proposals. */
  events: number;
  /** Invariant checks run (each node-state check covers every invariant that applies to it). */
  checks: number;
  /** Client proposals offered during the chaos phase (to leaders mostly, to anyone sometimes). */
  proposals: number;
  faults: Record<FaultKind, number>;
  network: NetworkCounts;
  /** Disk writes a crash cut short. */
  lostWrites: number;
  /** Terms that had a leader. */
  elections: number;
  /** Snapshots sent by a leader and installed by a lagging follower. */
  snapshotsInstalled: number;
  /** Ticks from the end of the faults to a leader every node follows; undefined if it never came. */
  ticksToLeader: number | undefined;
  /** For each liveness proposal, ticks from proposing it to its being applied on every node. */
  ticksToCommit: number[];
  /** Virtual time at the end of the run, in ticks. */
  endTick: number;
}

export interface SimResult {
  plan: SimPlan;
  violation: InvariantViolation | undefined;
  stats: SimStats;
  /** The event trace, when `SimOptions.trace` was set; ends with the violation, if any. */
  trace: string[];
}

type SimEvent =
  | { kind: 'tick'; node: SimNode; life: number }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'disk'; node: SimNode; life: number }
  | { kind: 'fault-start'; fault: Fault }
  | { kind: 'fault-end'; fault: Fault }
  | { kind: 'propose' }
  | { kind: 'calm' }
  | { kind: 'probe' };

/** A proposal made once the faults stopped, which must reach every node in time. */
interface Probe {
  data: Uint8Array;
  key: string;
  firstTry: number;
  /** Waiting in a node's inbox. */
  offered: boolean;
  /** A leader appended it. */
  taken: boolean;
  appliedBy: Set<number>;
}

const encoder = new TextEncoder();

/** Liveness proposals per run, and the ticks between them. */
const probeCount = 3;
const probeSpacing = 3;
/** A run that schedules this many events is stuck in a loop: fail rather than hang. */
const maxEvents = 2_000_000;
/**
 * Events within one tick of virtual time beyond which the cluster is in a message storm (a few
 * hundred is normal): messages that answer each other without end, multiplied by duplication.
 */
const maxEventsPerTick = 20_000;

/** Runs one simulation of `plan` and reports the first invariant it broke, if any. */
export function runSimulation(plan: SimPlan, options: SimOptions = {}): SimResult {
  return new Simulation(plan, options).run();
}

/**
 * The discrete-event simulation of a cluster: a chaos phase, where the plan's faults come and go
 * while clients propose, then a calm phase (every partition healed, every node restarted, no
 * more losses) that must elect a leader and commit new proposals everywhere within bounds.
 * The checker looks at every node after every step it takes.
 */
class Simulation implements NodeHost {
  readonly plan: SimPlan;
  readonly checker: SafetyChecker;
  readonly bug: InjectedBug | undefined;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[];
  private readonly faults = new ActiveFaults();
  private readonly network: SimNetwork;
  private readonly proposalRandom: () => number;
  private readonly timingRandom: () => number;
  private readonly tracing: boolean;
  private readonly trace: string[] = [];
  private readonly leaderBound: number;
  private readonly commitBound: number;
  private readonly stats: SimStats;
  private readonly calmAt: number;
  private calm = false;
  /** The leader every node has followed since `since`, while it lasts. */
  private followed: { node: SimNode; term: number; since: number } | undefined;
  private probes: Probe[] = [];
  private readonly ticksAtCalm = new Map<SimNode, number>();
  /** The crash each started `crash-leader` fault became, once it knew whom to crash. */
  private readonly leaderCrashes = new Map<Fault, Fault>();
  /** `crash-leader` faults waiting for a leader's commit index to advance. */
  private readonly armed = new Set<Fault>();
  private nextPayload = 1;
  private stormTick = 0;
  private stormEvents = 0;
  private done = false;

  constructor(plan: SimPlan, options: SimOptions) {
    this.plan = plan;
    this.bug = options.bug;
    this.tracing = options.trace ?? false;
    this.leaderBound = options.leaderBound ?? 500;
    this.commitBound = options.commitBound ?? 300;
    const ids = Array.from({ length: plan.nodes }, (_, k) => k + 1);
    this.checker = new SafetyChecker(ids);
    this.nodes = ids.map((id) => new SimNode(id, this, streamRandom(plan.seed, Stream.Node + id)));
    this.network = new SimNetwork(
      plan.network,
      this.faults,
      streamRandom(plan.seed, Stream.Network),
      (at, msg) => this.queue.push(at, { kind: 'deliver', msg }),
    );
    this.proposalRandom = streamRandom(plan.seed, Stream.Proposals);
    this.timingRandom = streamRandom(plan.seed, Stream.Timing);
    this.calmAt = plan.chaosTicks * unitsPerTick;
    this.stats = {
      events: 0,
      checks: 0,
      proposals: 0,
      faults: Object.fromEntries(faultKinds.map((k) => [k, 0])) as Record<FaultKind, number>,
      network: this.network.counts,
      lostWrites: 0,
      elections: 0,
      snapshotsInstalled: 0,
      ticksToLeader: undefined,
      ticksToCommit: [],
      endTick: 0,
    };
  }

  run(): SimResult {
    let violation: InvariantViolation | undefined;
    try {
      this.schedule();
      while (!this.done) {
        const ev = this.queue.pop();
        if (ev === undefined || this.stats.events >= maxEvents) {
          throw new InvariantViolation(
            'liveness',
            `the run stalled after ${this.stats.events} events`,
          );
        }
        this.stats.events++;
        this.countTowardsStorm();
        this.handle(ev);
      }
      this.finalCheck();
    } catch (error) {
      violation =
        error instanceof InvariantViolation
          ? error
          : new InvariantViolation('api-contract', `unexpected error: ${String(error)}`, {
              cause: error,
            });
      this.note(() => `VIOLATION ${violation?.message}`);
    }
    this.stats.checks = this.checker.checks;
    this.stats.elections = this.checker.leaderTerms;
    this.stats.snapshotsInstalled = this.nodes.reduce((n, node) => n + node.snapshotsInstalled, 0);
    this.stats.endTick = this.queue.now / unitsPerTick;
    return { plan: this.plan, violation, stats: this.stats, trace: this.trace };
  }

  private countTowardsStorm(): void {
    const tick = Math.floor(this.queue.now / unitsPerTick);
    if (tick !== this.stormTick) {
      this.stormTick = tick;
      this.stormEvents = 0;
    } else if (++this.stormEvents > maxEventsPerTick) {
      throw new InvariantViolation(
        'liveness',
        `message storm: more than ${maxEventsPerTick} events within tick ${tick}`,
      );
    }
  }

  private schedule(): void {
    for (const node of this.nodes) {
      node.start();
      this.scheduleTicks(node);
    }
    for (const fault of this.plan.faults) {
      this.queue.push(fault.at, { kind: 'fault-start', fault });
      if (fault.duration > 0) {
        this.queue.push(fault.at + fault.duration, { kind: 'fault-end', fault });
      }
    }
    this.queue.push(this.nextProposalDelay(), { kind: 'propose' });
    this.queue.push(this.calmAt, { kind: 'calm' });
  }

  /** A (re)started node's clock: its first tick falls anywhere within one interval. */
  private scheduleTicks(node: SimNode): void {
    const interval = this.interval(node);
    this.queue.push(this.queue.now + 1 + Math.floor(this.timingRandom() * interval), {
      kind: 'tick',
      node,
      life: node.life,
    });
  }

  private interval(node: SimNode): number {
    return this.plan.tickIntervals[node.id - 1] as number;
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const node = ev.node;
        if (node.life !== ev.life || !node.up) {
          return;
        }
        this.queue.push(this.queue.now + this.interval(node), ev);
        if (!node.paused) {
          node.offer({ kind: 'tick' });
        }
        return;
      }
      case 'deliver': {
        const m = ev.msg;
        const node = this.nodes[m.to - 1] as SimNode;
        if (this.network.cutInFlight(m) || !node.up) {
          return;
        }
        this.note(() => `deliver ${describeMessage(m)}`);
        node.offer({ kind: 'message', msg: m });
        return;
      }
      case 'disk':
        if (ev.node.life === ev.life) {
          ev.node.diskDone();
        }
        return;
      case 'fault-start':
        if (!this.calm) {
          this.startFault(ev.fault);
        }
        return;
      case 'fault-end':
        if (!this.calm) {
          this.endFault(ev.fault);
        }
        return;
      case 'propose':
        if (!this.calm) {
          this.proposeChaos();
          this.queue.push(this.queue.now + this.nextProposalDelay(), ev);
        }
        return;
      case 'calm':
        this.startCalm();
        return;
      case 'probe':
        this.probe();
        this.queue.push(this.queue.now + unitsPerTick, ev);
        return;
    }
  }

  private startFault(f: Fault): void {
    this.note(() => `fault: ${describeFault(f, unitsPerTick)}`);
    switch (f.kind) {
      case 'partition':
      case 'one-way':
        this.faults.start(f);
        break;
      case 'crash':
        this.crash(f);
        break;
      case 'crash-leader': {
        if (f.onCommit) {
          this.armed.add(f);
          return;
        }
        const leader = this.currentLeader(this.nodes);
        if (leader === undefined) {
          return;
        }
        this.crashLeader(f, leader);
        break;
      }
      case 'pause':
        this.faults.start(f);
        this.node(f.node).pause();
        break;
      case 'compact':
        if (!this.node(f.node).compact()) {
          return;
        }
        break;
    }
    this.stats.faults[f.kind]++;
  }

  private crashLeader(f: Fault, leader: SimNode): void {
    const crash: Fault = { kind: 'crash', at: f.at, duration: f.duration, node: leader.id };
    this.leaderCrashes.set(f, crash);
    this.crash(crash);
  }

  private crash(f: Fault & { kind: 'crash' }): void {
    const node = this.node(f.node);
    this.faults.start(f);
    if (node.up) {
      if (node.writing !== undefined) {
        this.stats.lostWrites++;
      }
      node.crash();
      this.note(() => `node ${node.id} crashed`);
    }
  }

  private endFault(planned: Fault): void {
    const f = this.leaderCrashes.get(planned) ?? planned;
    if (planned.kind === 'crash-leader' && f === planned) {
      // It never found a leader to crash.
      this.armed.delete(planned);
      return;
    }
    this.faults.end(f);
    if (f.kind === 'crash' && !this.faults.isDown(f.node)) {
      this.restart(this.node(f.node));
    } else if (f.kind === 'pause' && !this.faults.isPaused(f.node)) {
      this.node(f.node).resume();
    } else if (f.kind === 'partition' || f.kind === 'one-way') {
      this.note(() => `healed: ${describeFault(f, unitsPerTick)}`);
    }
  }

  private restart(node: SimNode): void {
    if (node.up) {
      return;
    }
    node.start();
    this.scheduleTicks(node);
    const r = node.raw?.raft;
    this.note(
      () =>
        `node ${node.id} restarted: term ${r?.term} vote ${r?.vote} commit ${r?.raftLog.committed} log ${r?.raftLog.firstIndex()}..${r?.raftLog.lastIndex()}`,
    );
  }

  private nextProposalDelay(): number {
    return Math.max(1, Math.floor(this.plan.proposeEvery * (0.5 + this.proposalRandom())));
  }

  /** A client's proposal: usually to the leader it believes in, sometimes to anyone. */
  private proposeChaos(): void {
    const up = this.nodes.filter((n) => n.up);
    if (up.length === 0) {
      return;
    }
    let target = this.currentLeader(up);
    if (target === undefined || this.proposalRandom() < 0.1) {
      target = up[Math.floor(this.proposalRandom() * up.length)] as SimNode;
    }
    const data = this.payload();
    this.stats.proposals++;
    this.note(() => `client proposes ${showKey(entryKey(entryOf(data)))} to node ${target.id}`);
    target.offer({ kind: 'propose', data });
  }

  /** The running leader of the highest term, if any. */
  private currentLeader(candidates: readonly SimNode[]): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of candidates) {
      const r = n.raw?.raft;
      if (r !== undefined && r.state === StateType.Leader) {
        if (best === undefined || r.term > (best.raw?.raft.term ?? 0)) {
          best = n;
        }
      }
    }
    return best;
  }

  /** Unique client payloads `p1`, `p2`, … */
  private payload(): Uint8Array {
    const data = encoder.encode(`p${this.nextPayload++}`);
    this.checker.noteProposal(data);
    return data;
  }

  /** The faults stop: heal every link, restart every node, no more losses. */
  private startCalm(): void {
    this.calm = true;
    this.faults.clear();
    this.armed.clear();
    this.network.quiet();
    this.note(() => 'calm: every fault ends');
    for (const node of this.nodes) {
      this.ticksAtCalm.set(node, node.ticks);
      this.restart(node);
      if (node.paused) {
        node.resume();
      }
    }
    this.queue.push(this.queue.now, { kind: 'probe' });
  }

  /** Once per tick after the calm: wait for a leader, then propose and watch the proposals land. */
  private probe(): void {
    const now = this.queue.now;
    const elapsed = (now - this.calmAt) / unitsPerTick;
    const leader = this.stableLeader();
    if (this.stats.ticksToLeader === undefined) {
      if (leader !== undefined) {
        const ticks = ((this.followed?.since ?? now) - this.calmAt) / unitsPerTick;
        this.stats.ticksToLeader = ticks;
        this.note(
          () =>
            `liveness: leader ${leader.id}, followed by all since ${ticks} ticks after the calm`,
        );
      } else if (elapsed > this.leaderBound) {
        throw new InvariantViolation(
          'liveness',
          `no leader followed by every node ${this.leaderBound} ticks after the faults stopped (terms ${this.nodes.map((n) => n.raw?.raft.term).join(',')}, states ${this.nodes.map((n) => n.raw?.raft.state).join(',')})`,
        );
      } else {
        return;
      }
    }
    const last = this.probes[this.probes.length - 1];
    if (
      this.probes.length < probeCount &&
      (last === undefined || now - last.firstTry >= probeSpacing * unitsPerTick)
    ) {
      const data = this.payload();
      this.probes.push({
        data,
        key: entryKey(entryOf(data)),
        firstTry: now,
        offered: false,
        taken: false,
        appliedBy: new Set(),
      });
    }
    let pending = 0;
    for (const p of this.probes) {
      if (p.appliedBy.size === this.nodes.length) {
        continue;
      }
      pending++;
      if (now - p.firstTry > this.commitBound * unitsPerTick) {
        const missing = this.nodes.filter((n) => !p.appliedBy.has(n.id)).map((n) => n.id);
        throw new InvariantViolation(
          'liveness',
          `proposal ${showKey(p.key)} made ${((now - p.firstTry) / unitsPerTick).toFixed(1)} ticks ago is not applied on nodes ${missing.join(',')}`,
        );
      }
      if (!p.taken && !p.offered && leader !== undefined) {
        p.offered = true;
        this.note(() => `liveness: propose ${showKey(p.key)} to node ${leader.id}`);
        leader.offer({ kind: 'propose', data: p.data });
      }
    }
    if (pending === 0 && this.probes.length === probeCount) {
      this.done = true;
    }
  }

  /**
   * The leader to propose to once the faults stopped: one that every node has followed (see
   * `followedLeader`) for longer than an election timeout of its own clock. By then no node's
   * timer that ran during a partition can fire, and with check quorum the leader has passed a
   * quorum check on answers it got after the calm. A proposal made earlier can be lost to such a
   * campaign or step-down: Raft working, not a liveness failure.
   */
  private stableLeader(): SimNode | undefined {
    const leader = this.followedLeader();
    const term = leader?.raw?.raft.term;
    if (leader === undefined || term === undefined) {
      this.followed = undefined;
      return undefined;
    }
    const now = this.queue.now;
    if (this.followed?.node !== leader || this.followed.term !== term) {
      this.followed = { node: leader, term, since: now };
    }
    const settle = (this.plan.electionTick + 1) * this.interval(leader);
    return now - this.followed.since >= settle ? leader : undefined;
  }

  /**
   * A leader that every node follows: all are in its term, name it as leader, and have reset
   * their election timers since the faults stopped (heard from it, or voted).
   */
  private followedLeader(): SimNode | undefined {
    const leader = this.currentLeader(this.nodes);
    const r = leader?.raw?.raft;
    if (leader === undefined || r === undefined) {
      return undefined;
    }
    for (const n of this.nodes) {
      const f = n.raw?.raft;
      if (f === undefined || f.term !== r.term || f.lead !== r.id) {
        return undefined;
      }
      const ticksSinceCalm = n.ticks - (this.ticksAtCalm.get(n) ?? 0);
      if (n !== leader && f.electionElapsed >= ticksSinceCalm) {
        return undefined;
      }
    }
    return leader;
  }

  /** A cross-check of the incremental checker: compare every pair of logs in full. */
  private finalCheck(): void {
    const views = this.nodes.map((n) => n.raw?.raft).filter((r) => r !== undefined);
    checkLogsAgree(views);
  }

  // NodeHost

  send(m: Message): void {
    if (this.bug === 'grant-every-vote' && m.msgType === MessageType.MsgRequestVoteResponse) {
      this.network.send({ ...m, reject: false }, this.queue.now);
      return;
    }
    this.network.send(m, this.queue.now);
  }

  writeDelay(): number {
    const max = this.plan.diskDelay;
    return max === 0 ? 0 : Math.floor(this.timingRandom() * (max + 1));
  }

  scheduleWrite(node: SimNode, delay: number): void {
    this.queue.push(this.queue.now + delay, { kind: 'disk', node, life: node.life });
  }

  stepped(node: SimNode, committed: boolean): void {
    if (!committed || this.armed.size === 0 || node.raw?.raft.state !== StateType.Leader) {
      return;
    }
    const [f] = this.armed;
    if (f !== undefined) {
      this.armed.delete(f);
      this.note(() => `node ${node.id} committed ${node.raw?.raft.raftLog.committed} as leader`);
      this.stats.faults['crash-leader']++;
      this.crashLeader(f, node);
    }
  }

  proposalHandled(data: Uint8Array, taken: boolean): void {
    for (const p of this.probes) {
      if (p.data === data) {
        p.offered = false;
        p.taken ||= taken;
      }
    }
  }

  applied(node: SimNode, e: Entry): void {
    if (!this.calm || e.data === undefined) {
      return;
    }
    const key = entryKey(e);
    for (const p of this.probes) {
      if (p.key === key) {
        p.appliedBy.add(node.id);
        if (p.appliedBy.size === this.nodes.length) {
          const ticks = (this.queue.now - p.firstTry) / unitsPerTick;
          this.stats.ticksToCommit.push(ticks);
          this.note(() => `liveness: ${showKey(key)} applied everywhere after ${ticks} ticks`);
        }
      }
    }
  }

  note(line: () => string): void {
    if (this.tracing) {
      this.trace.push(`${(this.queue.now / unitsPerTick).toFixed(2).padStart(7)}  ${line()}`);
    }
  }

  private node(id: number): SimNode {
    return this.nodes[id - 1] as SimNode;
  }
}

function entryOf(data: Uint8Array): Entry {
  return { entryType: 0, term: 0, index: 0, data };
}
