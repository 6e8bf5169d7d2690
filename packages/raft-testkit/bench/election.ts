import { type CoreModule, electionTick, RaftCluster } from './cluster.js';
import { type BenchCase, quantile } from './harness.js';

/**
 * One complete election per unit of work: node `id` steps MsgHup, and the cluster settles. Settled
 * means every node follows the new leader and holds (and has committed) its no-op entry. The
 * nodes take turns to campaign, so every election replaces a leader whose log the candidate
 * already matches, and the cluster is reused: the timed part holds no construction.
 */
export function electionCase(label: string, core: CoreModule, size: number): BenchCase {
  return {
    name: `${label} election ${size} nodes`,
    params: { core: label, nodes: size },
    prepare(n) {
      const c = new RaftCluster(core, size);
      const hup = (id: number) =>
        core.message({ msgType: core.MessageType.MsgHup, from: id, to: id });
      return () => {
        for (let k = 0; k < n; k++) {
          const id = (k % size) + 1;
          c.node(id).step(hup(id));
          c.settle();
        }
        checkSettled(core, c, ((n - 1) % size) + 1, n);
        return n;
      };
    },
  };
}

/** Throws unless every node follows `leader` in `term` and holds its committed no-op at `term`. */
function checkSettled(core: CoreModule, c: RaftCluster, leader: number, term: number): void {
  for (const r of c.nodes) {
    const ok =
      r.term === term &&
      r.lead === leader &&
      r.raftLog.lastIndex() === term &&
      r.raftLog.committed === term &&
      (r.id === leader) === (r.state === core.StateType.Leader);
    if (!ok) {
      throw new Error(
        `election ${term}: node ${r.id} has term ${r.term}, lead ${r.lead}, last index ${r.raftLog.lastIndex()}, committed ${r.raftLog.committed}; expected leader ${leader}`,
      );
    }
  }
}

/** Messages stepped in one election, counted on a separate, untimed run. */
export function messagesPerElection(core: CoreModule, size: number): number {
  const c = new RaftCluster(core, size);
  c.node(1).step(core.message({ msgType: core.MessageType.MsgHup, from: 1, to: 1 }));
  c.settle();
  c.node(2).step(core.message({ msgType: core.MessageType.MsgHup, from: 2, to: 2 }));
  return c.settle();
}

export interface ColdStart {
  nodes: number;
  seeds: number;
  /** Whether the nodes ran with `Config.fastFirstElection`. */
  fastFirstElection: boolean;
  /** Ticks until the first node became leader, over all seeds. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** Seeds where the first election did not produce a leader (a split vote or a lost race). */
  splitVoteRate: number;
  /** The p50 if every first election succeeded: the median of the smallest randomized timeout. */
  noSplitP50: number;
}

/**
 * From a cold start (every node a follower, timeouts drawn from a seeded `Config.random`), ticks
 * every node once per tick and lets messages settle within the tick, until some node leads.
 */
export function coldStart(
  core: CoreModule,
  size: number,
  seeds: number,
  fastFirstElection = false,
): ColdStart {
  const ticks: number[] = [];
  let split = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const c = new RaftCluster(core, size, seed, fastFirstElection);
    let t = 0;
    let leader: (typeof c.nodes)[number] | undefined;
    while (leader === undefined) {
      t++;
      if (t > 100 * electionTick) {
        throw new Error(`cold start seed ${seed}, ${size} nodes: no leader after ${t} ticks`);
      }
      for (const r of c.nodes) {
        r.tick();
      }
      c.settle();
      leader = c.nodes.find((r) => r.state === core.StateType.Leader);
    }
    if (leader.term > 1) {
      split++;
    }
    ticks.push(t);
  }
  ticks.sort((a, b) => a - b);
  return {
    nodes: size,
    seeds,
    fastFirstElection,
    p50: quantile(ticks, 0.5),
    p99: quantile(ticks, 0.99),
    max: ticks[ticks.length - 1] as number,
    mean: ticks.reduce((a, b) => a + b, 0) / ticks.length,
    splitVoteRate: split / seeds,
    noSplitP50: noSplitMedian(size) - (fastFirstElection ? firstTimerHeadStart(core) : 0),
  };
}

/** How far `fastFirstElection` starts a brand-new node's first timer, as the core sets it. */
function firstTimerHeadStart(core: CoreModule): number {
  return new RaftCluster(core, 1, 1, true).node(1).electionElapsed;
}

/**
 * Each timeout is uniform over [et, 2·et), so the smallest of `size` exceeds k with probability
 * ((2·et − 1 − k) / et)^size; the median is the first k where that drops to one half or below.
 */
function noSplitMedian(size: number): number {
  for (let k = electionTick; k < 2 * electionTick; k++) {
    if (((2 * electionTick - 1 - k) / electionTick) ** size <= 0.5) {
      return k;
    }
  }
  return 2 * electionTick - 1;
}
