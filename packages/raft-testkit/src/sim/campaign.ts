import { runSimulation, type SimOptions, type SimResult, type SimStats } from './cluster.js';
import { type FaultKind, faultKinds } from './faults.js';
import type { InvariantName } from './invariants.js';
import type { NetworkCounts } from './net.js';
import { type PlanOptions, planSimulation } from './plan.js';

/** One failing seed of a campaign. */
export interface CampaignFailure {
  seed: number;
  invariant: InvariantName;
  message: string;
}

/**
 * What a run of many seeds did, in plain data so that summaries from several worker processes
 * can be merged. Liveness timings are histograms: `ticksToLeader[t]` runs took t ticks (rounded up).
 */
/** The counters a run's stats and a campaign's summary both keep. */
type Counters = Pick<
  SimStats,
  | 'events'
  | 'checks'
  | 'proposals'
  | 'faults'
  | 'network'
  | 'lostWrites'
  | 'elections'
  | 'snapshotsInstalled'
>;

export interface CampaignSummary extends Counters {
  seeds: number;
  /** Seeds per cluster size. */
  bySize: Record<string, number>;
  ticksToLeader: number[];
  ticksToCommit: number[];
  failures: CampaignFailure[];
}

export function emptySummary(): CampaignSummary {
  return {
    seeds: 0,
    bySize: {},
    events: 0,
    checks: 0,
    proposals: 0,
    faults: Object.fromEntries(faultKinds.map((k) => [k, 0])) as Record<FaultKind, number>,
    network: { sent: 0, lost: 0, cut: 0, duplicated: 0, reordered: 0 },
    lostWrites: 0,
    elections: 0,
    snapshotsInstalled: 0,
    ticksToLeader: [],
    ticksToCommit: [],
    failures: [],
  };
}

function count(histogram: number[], ticks: number): void {
  const t = Math.ceil(ticks);
  for (let k = histogram.length; k <= t; k++) {
    histogram[k] = 0;
  }
  histogram[t] = (histogram[t] as number) + 1;
}

function addHistogram(into: number[], from: readonly number[]): void {
  for (let t = 0; t < from.length; t++) {
    into[t] = (into[t] ?? 0) + (from[t] as number);
  }
}

function addCounters(into: Counters, from: Counters): void {
  into.events += from.events;
  into.checks += from.checks;
  into.proposals += from.proposals;
  for (const k of faultKinds) {
    into.faults[k] += from.faults[k];
  }
  for (const k of Object.keys(from.network) as Array<keyof NetworkCounts>) {
    into.network[k] += from.network[k];
  }
  into.lostWrites += from.lostWrites;
  into.elections += from.elections;
  into.snapshotsInstalled += from.snapshotsInstalled;
}

export function addResult(summary: CampaignSummary, result: SimResult): void {
  const s = result.stats;
  summary.seeds++;
  const size = String(result.plan.nodes);
  summary.bySize[size] = (summary.bySize[size] ?? 0) + 1;
  addCounters(summary, s);
  if (s.ticksToLeader !== undefined) {
    count(summary.ticksToLeader, s.ticksToLeader);
  }
  for (const t of s.ticksToCommit) {
    count(summary.ticksToCommit, t);
  }
  if (result.violation !== undefined) {
    summary.failures.push({
      seed: result.plan.seed,
      invariant: result.violation.invariant,
      message: result.violation.message,
    });
  }
}

export function mergeSummaries(a: CampaignSummary, b: CampaignSummary): CampaignSummary {
  const merged = emptySummary();
  for (const s of [a, b]) {
    merged.seeds += s.seeds;
    for (const [size, n] of Object.entries(s.bySize)) {
      merged.bySize[size] = (merged.bySize[size] ?? 0) + n;
    }
    addCounters(merged, s);
    addHistogram(merged.ticksToLeader, s.ticksToLeader);
    addHistogram(merged.ticksToCommit, s.ticksToCommit);
    merged.failures.push(...s.failures);
  }
  return merged;
}

/** Runs seeds `from` … `from + seeds - 1`; `onResult` sees each result (to report progress). */
export function runCampaign(
  from: number,
  seeds: number,
  planOptions: PlanOptions = {},
  simOptions: SimOptions = {},
  onResult?: (result: SimResult) => void,
): CampaignSummary {
  const summary = emptySummary();
  for (let seed = from; seed < from + seeds; seed++) {
    const result = runSimulation(planSimulation(seed, planOptions), simOptions);
    addResult(summary, result);
    onResult?.(result);
  }
  return summary;
}

/** The smallest t such that at least fraction `p` of the histogram's samples are ≤ t. */
function percentile(histogram: readonly number[], p: number): number | undefined {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) {
    return undefined;
  }
  let seen = 0;
  for (let t = 0; t < histogram.length; t++) {
    seen += histogram[t] as number;
    if (seen >= p * total) {
      return t;
    }
  }
  return histogram.length - 1;
}

function distribution(histogram: readonly number[]): string {
  const p = (q: number): string => String(percentile(histogram, q) ?? '-');
  const n = histogram.reduce((a, b) => a + b, 0);
  return `p50 ${p(0.5)}  p99 ${p(0.99)}  max ${p(1)}  (ticks, ${n} samples)`;
}

/** A human-readable report of a campaign. */
export function formatSummary(s: CampaignSummary, wallMs: number): string {
  const sizes = Object.entries(s.bySize)
    .map(([size, n]) => `${n}×${size} nodes`)
    .join(', ');
  const faults = Object.entries(s.faults)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const net = s.network;
  return [
    `seeds run:          ${s.seeds} (${sizes})`,
    `events:             ${s.events}`,
    `faults injected:    ${faults}, writes lost to crashes ${s.lostWrites}`,
    `messages:           ${net.sent} sent, ${net.lost} lost, ${net.cut} cut by partitions, ${net.duplicated} duplicated, ${net.reordered} reordered`,
    `client proposals:   ${s.proposals}`,
    `raft activity:      ${s.elections} leaders elected, ${s.snapshotsInstalled} snapshots installed`,
    `invariant checks:   ${s.checks}`,
    `violations:         ${s.failures.length}`,
    `ticks to leader:    ${distribution(s.ticksToLeader)}`,
    `ticks to commit:    ${distribution(s.ticksToCommit)}`,
    `wall time:          ${(wallMs / 1000).toFixed(1)} s`,
  ].join('\n');
}
