import { seededRandom } from '../random.js';
import type { Fault } from './faults.js';

/** Virtual time units in one nominal tick; nodes' clocks run a little faster or slower. */
export const unitsPerTick = 100;

/** How the network treats each message while faults are on (all zero once they stop). */
export interface NetworkProfile {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Probability that a message is held back by up to `reorderDelay` units, overtaken by later ones. */
  reorder: number;
  /** Ordinary delivery takes 1 … `maxDelay` units (uniform), so messages reorder a little anyway. */
  maxDelay: number;
  reorderDelay: number;
}

/**
 * Every random decision of a run that is not a per-message coin flip, drawn from the seed up
 * front: the cluster, its configuration, the clocks, the network's and disks' behaviour and the
 * fault schedule. A plan can be edited (faults removed, the network made perfect) and run again
 * with the same seed: that is how a failure is shrunk and replayed.
 */
export interface SimPlan {
  seed: number;
  nodes: number;
  electionTick: number;
  heartbeatTick: number;
  checkQuorum: boolean;
  /** Drawn after everything else, so that adding it left the rest of every seed's plan as it was. */
  fastFirstElection: boolean;
  /** Drawn after `fastFirstElection`, for the same reason. */
  preVote: boolean;
  /**
   * Whether, during the chaos, nodes are asked now and then to hand leadership to a random member
   * (§3.10): the leader, a follower that forwards the request, or one that drops it. Drawn last.
   */
  transferLeader: boolean;
  /** Small values force one entry per MsgAppend, so catching up takes many round trips. */
  maxSizePerMsg: number | undefined;
  /** Time units between two ticks of each node (index 0 is node 1): clock skew. */
  tickIntervals: number[];
  network: NetworkProfile;
  /** A Ready's disk write takes 0 … `diskDelay` units (0: synchronous), during which a crash loses it. */
  diskDelay: number;
  /** Mean time units between two client proposals during the chaos phase. */
  proposeEvery: number;
  /** Length of the chaos phase, in ticks; then every fault stops and liveness is measured. */
  chaosTicks: number;
  faults: Fault[];
}

export interface PlanOptions {
  /** Cluster size; default 3, 5 or 7 by `seed % 3`. */
  nodes?: number;
  /** Default 150. */
  chaosTicks?: number;
}

/**
 * Which independent random stream of a seed a component draws from: the plan, the network's coin
 * flips, client proposals, disk delays and clock phases, and one per node (raft's election
 * timeouts and the runtime's batching), numbered `Node + id`.
 */
export const Stream = { Plan: 1, Network: 2, Proposals: 3, Timing: 4, Node: 16 } as const;

/**
 * A generator for one component of a run. Streams are independent, so that editing the plan (say,
 * dropping a fault) does not shift the draws of the plan itself.
 */
export function streamRandom(seed: number, stream: number): () => number {
  return seededRandom(seed * 64 + stream);
}

const defaultChaosTicks = 150;

/** Draws the plan of run `seed`. */
export function planSimulation(seed: number, options: PlanOptions = {}): SimPlan {
  const random = streamRandom(seed, Stream.Plan);
  const chance = (p: number): boolean => random() < p;
  const between = (lo: number, hi: number): number => lo + random() * (hi - lo);
  const int = (lo: number, hi: number): number => Math.floor(between(lo, hi + 1));
  const nodes = options.nodes ?? ([3, 5, 7][seed % 3] as number);
  const chaosTicks = options.chaosTicks ?? defaultChaosTicks;
  const ids = Array.from({ length: nodes }, (_, k) => k + 1);
  const subset = (from: number[]): number[] => {
    // A non-empty proper subset, in id order.
    for (;;) {
      const s = from.filter(() => chance(0.5));
      if (s.length > 0 && s.length < from.length) {
        return s;
      }
    }
  };

  const skew = between(0, 0.2);
  const plan: SimPlan = {
    seed,
    nodes,
    electionTick: 10,
    heartbeatTick: [1, 1, 2, 3][int(0, 3)] as number,
    checkQuorum: chance(0.5),
    fastFirstElection: false,
    preVote: false,
    transferLeader: false,
    maxSizePerMsg: chance(0.3) ? int(1, 80) : undefined,
    tickIntervals: ids.map(() => Math.round(unitsPerTick * (1 + between(-skew, skew)))),
    network: {
      loss: chance(0.3) ? 0 : between(0, 0.25),
      duplicate: chance(0.5) ? 0 : between(0, 0.1),
      reorder: chance(0.5) ? 0 : between(0, 0.2),
      maxDelay: int(1, 1.5 * unitsPerTick),
      reorderDelay: 3 * unitsPerTick,
    },
    diskDelay: chance(0.4) ? 0 : int(1, 40),
    proposeEvery: between(0.5, 3) * unitsPerTick,
    chaosTicks,
    faults: [],
  };

  const chaosUnits = chaosTicks * unitsPerTick;
  const count = int(0, 12);
  for (let k = 0; k < count; k++) {
    const at = Math.floor(between(0, chaosUnits));
    const duration = Math.floor(between(1, 60) * unitsPerTick);
    const roll = random();
    if (roll < 0.25) {
      plan.faults.push({ kind: 'partition', at, duration, side: subset(ids) });
    } else if (roll < 0.37) {
      const from = subset(ids);
      const rest = ids.filter((id) => !from.includes(id));
      plan.faults.push({
        kind: 'one-way',
        at,
        duration,
        from,
        to: rest.length > 1 && chance(0.5) ? subset(rest) : rest,
      });
    } else if (roll < 0.55) {
      plan.faults.push({ kind: 'crash', at, duration, node: int(1, nodes) });
    } else if (roll < 0.7) {
      plan.faults.push({ kind: 'crash-leader', at, duration, onCommit: chance(0.5) });
    } else if (roll < 0.8) {
      plan.faults.push({ kind: 'pause', at, duration, node: int(1, nodes) });
    } else {
      plan.faults.push({ kind: 'compact', at, duration: 0, node: int(1, nodes) });
    }
  }
  if (chance(0.25)) {
    // Leader churn: leaders crash in quick succession and come back, the setting of Figure 8,
    // where a leader that commits an earlier term's entry by counting replicas loses it.
    const churn = int(10, 30);
    for (let k = 0; k < churn; k++) {
      const at = Math.floor(between(0, chaosUnits));
      plan.faults.push({
        kind: 'crash-leader',
        at,
        duration: Math.floor(between(1, 15) * unitsPerTick),
        onCommit: chance(0.5),
      });
    }
  }
  plan.fastFirstElection = chance(0.5);
  plan.preVote = chance(0.5);
  plan.transferLeader = chance(0.5);
  plan.faults.sort((a, b) => a.at - b.at);
  return plan;
}

/** What can be switched off in a plan's network and disks while shrinking a failure. */
export const quietables = ['loss', 'duplicate', 'reorder', 'disk'] as const;
export type Quietable = (typeof quietables)[number];

/** A change to a seed's plan: keep only some of its faults, silence some network behaviours. */
export interface PlanEdit {
  /** Indexes into the original plan's `faults`; absent = keep them all. */
  keep?: number[];
  quiet?: Quietable[];
}

export function editPlan(plan: SimPlan, edit: PlanEdit): SimPlan {
  const network = { ...plan.network };
  const quiet = new Set(edit.quiet ?? []);
  if (quiet.has('loss')) {
    network.loss = 0;
  }
  if (quiet.has('duplicate')) {
    network.duplicate = 0;
  }
  if (quiet.has('reorder')) {
    network.reorder = 0;
  }
  const keep = edit.keep;
  return {
    ...plan,
    network,
    diskDelay: quiet.has('disk') ? 0 : plan.diskDelay,
    faults: keep === undefined ? plan.faults : plan.faults.filter((_, k) => keep.includes(k)),
  };
}

/** The command-line arguments that replay `seed` with `edit` (see sim/cli.ts). */
export function replayArgs(seed: number, edit: PlanEdit, options: PlanOptions = {}): string {
  const args = [`--seed ${seed}`];
  if (options.nodes !== undefined) {
    args.push(`--nodes ${options.nodes}`);
  }
  if (options.chaosTicks !== undefined) {
    args.push(`--chaos-ticks ${options.chaosTicks}`);
  }
  if (edit.keep !== undefined) {
    args.push(`--keep ${edit.keep.length > 0 ? edit.keep.join(',') : 'none'}`);
  }
  if (edit.quiet !== undefined && edit.quiet.length > 0) {
    args.push(`--quiet ${edit.quiet.join(',')}`);
  }
  return args.join(' ');
}
