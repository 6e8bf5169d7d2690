/**
 * The raft-core benchmark suite; README.md says how to run and read it.
 *
 *   tsx bench/run.ts                      # everything (what `pnpm bench` runs)
 *   tsx bench/run.ts election commit      # some sections: election coldstart heartbeat commit scaling
 *   BENCH_FILTER='3 nodes batch 1 ' ...   # only the cases whose name matches
 *   BENCH_BASELINE=<raft-core index.js>   # also measure another build, interleaved (save-baseline.ts)
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as workspaceCore from '@tinyraft/raft-core';
import type { CoreModule } from './cluster.js';
import { type CommitShape, commitCase, heapGrowthPer100k, messagesPerEntry } from './commit.js';
import { type ColdStart, coldStart, electionCase, messagesPerElection } from './election.js';
import {
  type BenchCase,
  type CaseResult,
  defaultGroupOptions,
  fmt,
  fmtSpread,
  measureGroup,
  printTable,
  writeResults,
} from './harness.js';
import { heartbeatCase } from './heartbeat.js';
import { analyse } from './scaling.js';

const sections = ['election', 'coldstart', 'heartbeat', 'commit', 'scaling'];
const args = process.argv.slice(2);
for (const a of args) {
  if (!sections.includes(a)) {
    throw new Error(`unknown section ${a}; the sections are ${sections.join(', ')}`);
  }
}
const selected = new Set(args.length > 0 ? args : sections);
if (selected.has('scaling')) {
  for (const s of sections) {
    selected.add(s);
  }
}

const current = 'current';
const cores: { label: string; core: CoreModule }[] = [{ label: current, core: workspaceCore }];
const baselinePath = process.env.BENCH_BASELINE;
if (baselinePath !== undefined && baselinePath !== '') {
  const url = pathToFileURL(resolve(baselinePath)).href;
  cores.push({ label: 'baseline', core: (await import(url)) as CoreModule });
  console.log(`comparing the workspace raft-core (current) with ${baselinePath} (baseline)`);
}
const withBaseline = cores.length > 1;

/** BENCH_FILTER, a regular expression, keeps only the cases whose name matches. */
const filter = new RegExp(process.env.BENCH_FILTER ?? '');

/** The cases of every build, the builds' versions of one case next to each other. */
function casesFor(build: (label: string, core: CoreModule) => BenchCase[]): BenchCase[] {
  const perCore = cores.map(({ label, core }) => build(label, core));
  const first = perCore[0] as BenchCase[];
  return first
    .flatMap((_, k) => perCore.map((cases) => cases[k] as BenchCase))
    .filter((c) => filter.test(c.name));
}

const sizes = [3, 5, 7, 9];
const coldStartSeeds = 10_000;
const commitShapes: CommitShape[] = [];
for (const nodes of [3, 5]) {
  for (const payload of [16, 1024]) {
    for (const batch of [1, 64, 1024]) {
      commitShapes.push({ nodes, batch, payload });
    }
  }
}

const mine = (r: CaseResult, params: Record<string, number>) =>
  r.params.core === current && Object.entries(params).every(([k, v]) => r.params[k] === v);

/** The baseline row measured with the same parameters as a current row, if any. */
function baselineOf(results: readonly CaseResult[], r: CaseResult): CaseResult | undefined {
  if (r.params.core !== current) {
    return undefined;
  }
  return results.find(
    (b) =>
      b.params.core !== current &&
      Object.entries(r.params).every(([k, v]) => k === 'core' || b.params[k] === v),
  );
}

/** How many times more CPU per unit the baseline needs than the workspace build (same run). */
function cpuRatio(results: readonly CaseResult[], r: CaseResult): number | undefined {
  const b = baselineOf(results, r);
  return b === undefined ? undefined : b.cpuUsPerOp.median / r.cpuUsPerOp.median;
}

const vsHeader = withBaseline ? ['baseline CPU / current CPU'] : [];
function vsCell(results: readonly CaseResult[], r: CaseResult): string[] {
  if (!withBaseline) {
    return [];
  }
  const x = cpuRatio(results, r);
  return [x === undefined ? '' : `×${fmt(x)}`];
}

/** For the JSON: every current/baseline pair as a ratio of medians from the same interleaved run. */
function ratios(
  results: readonly CaseResult[],
): { case: string; baselineCpuOverCurrent: number }[] {
  return results.flatMap((r) => {
    const x = cpuRatio(results, r);
    return x === undefined ? [] : [{ case: r.name, baselineCpuOverCurrent: x }];
  });
}

const started = performance.now();
let election: CaseResult[] = [];
let cold: ColdStart[] = [];
let heartbeat: CaseResult[] = [];
let commit: CaseResult[] = [];
const electionMessages = new Map<number, number>();
const commitMessages: (CommitShape & { perEntry: number })[] = [];

if (selected.has('election')) {
  election = measureGroup(
    casesFor((label, core) => sizes.map((n) => electionCase(label, core, n))),
  );
  for (const n of sizes) {
    electionMessages.set(n, messagesPerElection(workspaceCore, n));
  }
  printTable(
    'Election: MsgHup until every node follows the new leader and has committed its no-op (median [p10–p90])',
    [
      'core',
      'nodes',
      'messages',
      'CPU µs / election',
      'elections / s',
      'CPU µs / message',
      ...vsHeader,
    ],
    election.map((r) => {
      const msgs = electionMessages.get(r.params.nodes as number) as number;
      return [
        String(r.params.core),
        String(r.params.nodes),
        String(msgs),
        fmtSpread(r.cpuUsPerOp),
        fmtSpread(r.opsPerSec),
        fmt(r.cpuUsPerOp.median / msgs),
        ...vsCell(election, r),
      ];
    }),
  );
  writeResults('election', {
    options: defaultGroupOptions,
    messagesPerElection: Object.fromEntries(electionMessages),
    results: election,
    ratios: ratios(election),
  });
}

if (selected.has('coldstart')) {
  cold = [false, true].flatMap((fast) =>
    sizes.map((n) => coldStart(workspaceCore, n, coldStartSeeds, fast)),
  );
  printTable(
    `Cold start: ticks until the first leader, ${coldStartSeeds.toLocaleString('en-US')} seeds per size (election tick 10, heartbeat tick 1)`,
    ['first timer', 'nodes', 'p50', 'p99', 'max', 'mean', 'split votes', 'p50 without splits'],
    cold.map((c) => [
      c.fastFirstElection ? 'fastFirstElection' : 'whole timeout',
      String(c.nodes),
      fmt(c.p50),
      fmt(c.p99),
      String(c.max),
      fmt(c.mean),
      `${fmt(100 * c.splitVoteRate)} %`,
      String(c.noSplitP50),
    ]),
  );
  writeResults('coldstart', { results: cold });
}

if (selected.has('heartbeat')) {
  heartbeat = measureGroup(
    casesFor((label, core) => sizes.map((n) => heartbeatCase(label, core, n))),
  );
  printTable(
    'Heartbeats: a settled leader ticks, the cluster settles (median [p10–p90])',
    ['core', 'nodes', 'messages stepped / s', 'rounds / s', 'CPU µs / message', ...vsHeader],
    heartbeat.map((r) => [
      String(r.params.core),
      String(r.params.nodes),
      fmtSpread(r.opsPerSec),
      fmt(r.opsPerSec.median / (2 * ((r.params.nodes as number) - 1))),
      fmtSpread(r.cpuUsPerOp),
      ...vsCell(heartbeat, r),
    ]),
  );
  writeResults('heartbeat', {
    options: defaultGroupOptions,
    results: heartbeat,
    ratios: ratios(heartbeat),
  });
}

if (selected.has('commit')) {
  commit = measureGroup(
    casesFor((label, core) => commitShapes.map((s) => commitCase(label, core, s))),
  );
  const measured = commitShapes.filter((s) => commit.some((r) => mine(r, { ...s })));
  const heap = measured.map((s) => ({ ...s, bytesPer100k: heapGrowthPer100k(workspaceCore, s) }));
  for (const s of measured) {
    commitMessages.push({ ...s, perEntry: messagesPerEntry(workspaceCore, s) });
  }
  const perEntry = (r: CaseResult) =>
    commitMessages.find((x) => mine(r, { nodes: x.nodes, batch: x.batch, payload: x.payload }))
      ?.perEntry;
  printTable(
    'Commit: entries committed and applied on every node, RawNode + MemoryStorage (median [p10–p90])',
    [
      'core',
      'nodes',
      'batch',
      'payload B',
      'messages / entry',
      'entries / s',
      'CPU µs / entry',
      'heap KiB / 100k',
      ...vsHeader,
    ],
    commit.map((r) => {
      const h = heap.find((x) => mine(r, { nodes: x.nodes, batch: x.batch, payload: x.payload }));
      return [
        String(r.params.core),
        String(r.params.nodes),
        String(r.params.batch),
        String(r.params.payload),
        perEntry(r) === undefined ? '' : fmt(perEntry(r) as number),
        fmtSpread(r.opsPerSec),
        fmtSpread(r.cpuUsPerOp),
        h === undefined ? '' : fmt(h.bytesPer100k / 1024),
        ...vsCell(commit, r),
      ];
    }),
  );
  writeResults('commit', {
    options: defaultGroupOptions,
    results: commit,
    heapGrowth: heap,
    messagesPerEntry: commitMessages,
    ratios: ratios(commit),
  });
}

if (selected.has('scaling')) {
  const { growth, text } = analyse({
    election,
    electionMessages,
    cold,
    heartbeat,
    commit,
    commitMessages,
    label: current,
  });
  printTable(
    'Scaling (medians of the runs above)',
    ['cost', 'from', 'to', 'factor', 'exponent'],
    growth.map((g) => [g.what, String(g.from), String(g.to), `×${fmt(g.factor)}`, fmt(g.exponent)]),
  );
  console.log('');
  for (const line of text) {
    console.log(`- ${line}`);
  }
  writeResults('scaling', { growth, analysis: text });

  const median = (results: CaseResult[], params: Record<string, number>, pick: 'cpu' | 'rate') => {
    const r = results.find((x) => mine(x, params));
    return pick === 'cpu'
      ? (r?.cpuUsPerOp.median ?? Number.NaN)
      : (r?.opsPerSec.median ?? Number.NaN);
  };
  const targets = [
    {
      what: 'CPU µs per complete 3-node election',
      measured: median(election, { nodes: 3 }, 'cpu'),
      goal: 20,
      atMost: true,
    },
    {
      what: 'cold-start ticks to a leader, 3 nodes, p50, fastFirstElection',
      measured: cold.find((c) => c.nodes === 3 && c.fastFirstElection)?.p50 ?? Number.NaN,
      goal: 11,
      atMost: true,
    },
    {
      what: 'messages stepped / s, 3 nodes',
      measured: median(heartbeat, { nodes: 3 }, 'rate'),
      goal: 1_000_000,
      atMost: false,
    },
    {
      what: 'entries / s, 3 nodes, batch 1,024, 16 B',
      measured: median(commit, { nodes: 3, batch: 1024, payload: 16 }, 'rate'),
      goal: 350_000,
      atMost: false,
    },
    {
      what: 'entries / s, 3 nodes, batch 1, 16 B',
      measured: median(commit, { nodes: 3, batch: 1, payload: 16 }, 'rate'),
      goal: 200_000,
      atMost: false,
    },
  ].map((t) => ({ ...t, met: t.atMost ? t.measured <= t.goal : t.measured >= t.goal }));
  printTable(
    'Targets (workspace build, medians)',
    ['target', 'measured', 'goal', 'met'],
    targets.map((t) => [
      t.what,
      fmt(t.measured),
      `${t.atMost ? '≤' : '≥'} ${fmt(t.goal)}`,
      t.met ? 'yes' : 'NO',
    ]),
  );
  writeResults('summary', { targets });
}

console.log(`\nbench time ${fmt((performance.now() - started) / 1000)} s`);
