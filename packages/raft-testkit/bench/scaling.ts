import type { CommitShape } from './commit.js';
import type { ColdStart } from './election.js';
import { type CaseResult, fmt } from './harness.js';

/** How a cost changes between two cluster sizes (or two batch or payload sizes). */
export interface Growth {
  what: string;
  from: number;
  to: number;
  /** cost(to) / cost(from). */
  factor: number;
  /** log(factor) / log(to / from): 1 is linear, 0 flat, 2 quadratic. */
  exponent: number;
}

function growth(what: string, from: number, to: number, a: number, b: number): Growth {
  const factor = b / a;
  return { what, from, to, factor, exponent: Math.log(factor) / Math.log(to / from) };
}

/** Names the shape of a growth exponent, with some slack for measurement noise. */
function shape(exponent: number): string {
  if (Math.abs(exponent) < 0.2) {
    return 'flat';
  }
  if (Math.abs(exponent - 1) < 0.25) {
    return 'linear';
  }
  return exponent < 1 ? 'sub-linear' : 'super-linear';
}

export interface ScalingInput {
  election: readonly CaseResult[];
  electionMessages: ReadonlyMap<number, number>;
  cold: readonly ColdStart[];
  heartbeat: readonly CaseResult[];
  commit: readonly CaseResult[];
  commitMessages: readonly (CommitShape & { perEntry: number })[];
  /** Which build's rows to read. */
  label: string;
}

/**
 * Reads the medians as growth rates and says in a few sentences why they grow that way. Every
 * ratio compares cases of one interleaved group (the election sizes, the heartbeat sizes, the
 * commit shapes), so machine drift cancels out.
 */
export function analyse(input: ScalingInput): { growth: Growth[]; text: string[] } {
  const pick = (results: readonly CaseResult[], params: Record<string, number>) => {
    const r = results.find(
      (x) =>
        x.params.core === input.label &&
        Object.entries(params).every(([k, v]) => x.params[k] === v),
    );
    if (r === undefined) {
      throw new Error(`scaling: no measured case with ${JSON.stringify(params)}`);
    }
    return r;
  };
  const elect = (nodes: number) => pick(input.election, { nodes }).cpuUsPerOp.median;
  const electMsgs = (nodes: number) => input.electionMessages.get(nodes) as number;
  const beat = (nodes: number) => pick(input.heartbeat, { nodes });
  const commit = (nodes: number, batch: number, payload: number) =>
    pick(input.commit, { nodes, batch, payload }).cpuUsPerOp.median;
  const commitMsgs = (nodes: number, batch: number) =>
    input.commitMessages.find((x) => x.nodes === nodes && x.batch === batch && x.payload === 16)
      ?.perEntry ?? Number.NaN;
  const cold = (nodes: number, fast = false) =>
    input.cold.find((c) => c.nodes === nodes && c.fastFirstElection === fast) as ColdStart;

  const e = growth('election: CPU per election', 3, 9, elect(3), elect(9));
  const em = growth('election: messages per election', 3, 9, electMsgs(3), electMsgs(9));
  const ep = growth(
    'election: CPU per message',
    3,
    9,
    elect(3) / electMsgs(3),
    elect(9) / electMsgs(9),
  );
  const cs = growth('cold start: p50 ticks to a leader', 3, 9, cold(3).p50, cold(9).p50);
  const hb = growth(
    'heartbeat: CPU per message',
    3,
    9,
    beat(3).cpuUsPerOp.median,
    beat(9).cpuUsPerOp.median,
  );
  const rounds = (n: number) => beat(n).opsPerSec.median / (2 * (n - 1));
  const hr = growth('heartbeat: rounds per second', 3, 9, rounds(3), rounds(9));
  const c = [1, 64, 1024].map((batch) =>
    growth(
      `commit: CPU per entry, batch ${batch}, 16 B`,
      3,
      5,
      commit(3, batch, 16),
      commit(5, batch, 16),
    ),
  ) as [Growth, Growth, Growth];
  const cm = growth(
    'commit: messages per entry, batch 1',
    3,
    5,
    commitMsgs(3, 1),
    commitMsgs(5, 1),
  );
  const batching = growth(
    'commit: CPU per entry, 3 nodes, 16 B, by batch',
    1,
    1024,
    commit(3, 1, 16),
    commit(3, 1024, 16),
  );
  const payload = [1, 64, 1024].map((batch) =>
    growth(
      `commit: CPU per entry, 3 nodes, batch ${batch}, by payload`,
      16,
      1024,
      commit(3, batch, 16),
      commit(3, batch, 1024),
    ),
  ) as [Growth, Growth, Growth];

  const perFollower = ep.factor * em.factor;
  const text = [
    `Elections grow ${shape(Math.log(e.factor) / Math.log(8 / 2))} in the number of followers: ` +
      `CPU per election ×${fmt(e.factor)} from 3 to 9 nodes, while the followers grow ×4 and the ` +
      `messages with them (${electMsgs(3)} → ${electMsgs(9)}: a vote request and its answer, the ` +
      'no-op append and its acknowledgement, the commit append and its acknowledgement, per follower). ' +
      `CPU per message changes ×${fmt(ep.factor)}, so the cost is the messages (×${fmt(perFollower)}) and ` +
      'no step does work proportional to the cluster size more than once per message.',
    `Cold start gets faster with size: p50 ${fmt(cold(3).p50)} → ${fmt(cold(9).p50)} ticks, p99 ` +
      `${fmt(cold(3).p99)} → ${fmt(cold(9).p99)}, split votes ${fmt(100 * cold(3).splitVoteRate)} % → ` +
      `${fmt(100 * cold(9).splitVoteRate)} %. The first leader appears at the smallest of N timeouts drawn ` +
      'uniformly from [10, 20); for 3 nodes that minimum is ≤ 11 with probability 1 − 0.8³ = 0.488, so ' +
      'its median is 12 even with no split votes. It depends on the timeout distribution, not on CPU. ' +
      `With fastFirstElection a brand-new node's first timer starts 8 ticks in (et − hb − 1), so the ` +
      `same draws give p50 ${fmt(cold(3, true).p50)} → ${fmt(cold(9, true).p50)} ticks, p99 ` +
      `${fmt(cold(3, true).p99)} → ${fmt(cold(9, true).p99)}.`,
    `Heartbeats: CPU per message stepped is ${shape(hb.exponent)} (×${fmt(hb.factor)} from 3 to 9 nodes); ` +
      `a round is 2·(N − 1) messages, so rounds per second fall ×${fmt(hr.factor)} (1/(N − 1) predicts ×0.25).`,
    `Commits: CPU per entry grows ×${fmt(c[0].factor)} (batch 1), ×${fmt(c[1].factor)} (batch 64) and ` +
      `×${fmt(c[2].factor)} (batch 1,024) from 3 to 5 nodes; nodes grow ×1.67 and followers ×2. Every node ` +
      'persists and applies every entry and the leader sends it to every follower, so the cost grows ' +
      `${shape((c[0].exponent + c[1].exponent + c[2].exponent) / 3)} in the size (exponent in N: ` +
      `${fmt(c[0].exponent)}, ${fmt(c[1].exponent)}, ${fmt(c[2].exponent)}). ` +
      `At batch 1 the messages per entry grow ${fmt(commitMsgs(3, 1))} → ${fmt(commitMsgs(5, 1))} (×${fmt(cm.factor)}).`,
    `Batching: at 3 nodes and 16 B an entry costs ×${fmt(1 / batching.factor)} as much CPU at batch 1 as at ` +
      `batch 1,024. At batch 1 each entry pays a whole round: ${fmt(commitMsgs(3, 1))} messages, a Ready per ` +
      `node and a hard-state write. At batch 64 (${fmt(commitMsgs(3, 64))} messages per entry) that is ` +
      `amortised, and batch 1,024 costs ×${fmt(commit(3, 1024, 16) / commit(3, 64, 16))} of batch 64 per ` +
      'entry: what is left is per entry (creating it, appending it to the log and to storage on every node, ' +
      'applying it), which batching cannot share.',
    `Payload: 1 KiB entries cost ×${fmt(payload[0].factor)} (batch 1), ×${fmt(payload[1].factor)} (batch 64) ` +
      `and ×${fmt(payload[2].factor)} (batch 1,024) the CPU of 16 B ones: flat. In memory, raft passes ` +
      'payloads by reference and never reads them; only the MsgAppend size limit (1 MiB) counts their ' +
      'bytes, which splits a batch of 1,024 one-KiB entries into two messages. A transport that copies or ' +
      'encodes payloads would add a cost linear in the bytes; none is measured here.',
  ];
  return { growth: [e, em, ep, cs, hb, hr, ...c, cm, batching, ...payload], text };
}
