/**
 * The chaos simulator's command line.
 *
 *   npx tsx sim/cli.ts --seed 42                 one seed: its plan, its result; a failure is shrunk
 *   npx tsx sim/cli.ts --seed 42 --trace         … and print every event
 *   npx tsx sim/cli.ts --seed 42 --keep 0,3 --quiet loss,disk   replay a shrunk failure
 *   npx tsx sim/cli.ts --seeds 100000 [--from 1] [--workers 2]  a campaign, with a summary
 *
 * Common options: --nodes 3|5|7 (default: by seed), --chaos-ticks N (default 150),
 * --bug forget-vote|apply-before-commit|grant-every-vote (break things on purpose, to see the checker fail).
 * Exits with status 1 when any invariant was violated.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type CampaignSummary,
  describeFault,
  editPlan,
  emptySummary,
  type Fault,
  formatSummary,
  type InjectedBug,
  type InvariantName,
  mergeSummaries,
  type PlanEdit,
  type PlanOptions,
  planSimulation,
  type Quietable,
  quietables,
  replayArgs,
  runCampaign,
  runSimulation,
  type SimOptions,
  shrinkFailure,
  unitsPerTick,
} from '../src/sim/index.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string', default: '1' },
    workers: { type: 'string' },
    nodes: { type: 'string' },
    'chaos-ticks': { type: 'string' },
    keep: { type: 'string' },
    quiet: { type: 'string' },
    trace: { type: 'boolean', default: false },
    bug: { type: 'string' },
    'no-shrink': { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
  },
});

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return n;
}

const planOptions: PlanOptions = {};
const nodes = int('nodes', values.nodes);
if (nodes !== undefined) {
  planOptions.nodes = nodes;
}
const chaosTicks = int('chaos-ticks', values['chaos-ticks']);
if (chaosTicks !== undefined) {
  planOptions.chaosTicks = chaosTicks;
}
const simOptions: SimOptions = {};
const bugs: readonly InjectedBug[] = ['forget-vote', 'apply-before-commit', 'grant-every-vote'];
if (values.bug !== undefined) {
  const bug = bugs.find((b) => b === values.bug);
  if (bug === undefined) {
    throw new Error(`--bug takes ${bugs.join(', ')}; got ${values.bug}`);
  }
  simOptions.bug = bug;
}

function parseEdit(): PlanEdit {
  const edit: PlanEdit = {};
  if (values.keep !== undefined) {
    edit.keep = values.keep === 'none' ? [] : values.keep.split(',').map((k) => Number(k));
  }
  if (values.quiet !== undefined) {
    const quiet = values.quiet.split(',');
    for (const q of quiet) {
      if (!(quietables as readonly string[]).includes(q)) {
        throw new Error(`--quiet takes ${quietables.join(', ')}; got ${q}`);
      }
    }
    edit.quiet = quiet as Quietable[];
  }
  return edit;
}

/** How to replay a seed (from the repository root; or `npx tsx sim/cli.ts …` in this package). */
function replay(seed: number, edit: PlanEdit, extra = ''): string {
  const bug = simOptions.bug === undefined ? '' : ` --bug ${simOptions.bug}`;
  return `pnpm sim ${replayArgs(seed, edit, planOptions)}${bug}${extra}`;
}

function runOne(seed: number): boolean {
  const edit = parseEdit();
  const full = planSimulation(seed, planOptions);
  const plan = editPlan(full, edit);
  console.log(
    `seed ${seed}: ${plan.nodes} nodes, electionTick ${plan.electionTick}, heartbeatTick ${plan.heartbeatTick}, checkQuorum ${plan.checkQuorum}, preVote ${plan.preVote}, fastFirstElection ${plan.fastFirstElection}, transfers ${plan.transferLeader}, maxSizePerMsg ${plan.maxSizePerMsg ?? 'default'}`,
  );
  console.log(
    `  network: loss ${plan.network.loss.toFixed(3)}, duplicate ${plan.network.duplicate.toFixed(3)}, reorder ${plan.network.reorder.toFixed(3)}, delay ≤ ${plan.network.maxDelay} units; disk delay ≤ ${plan.diskDelay} units; clocks ${plan.tickIntervals.join('/')} units per tick (${unitsPerTick} nominal)`,
  );
  console.log(`  faults (${plan.faults.length} of ${full.faults.length}):`);
  full.faults.forEach((f, k) => {
    if (plan.faults.includes(f) || edit.keep === undefined) {
      console.log(`    [${k}] ${describeFault(f, unitsPerTick)}`);
    }
  });
  const result = runSimulation(plan, { ...simOptions, trace: values.trace });
  if (values.trace) {
    console.log(result.trace.join('\n'));
  }
  const s = result.stats;
  console.log(
    `  ${s.events} events, ${s.checks} invariant checks, ended at tick ${s.endTick.toFixed(1)}; leader ${s.ticksToLeader ?? '-'} ticks after the calm; proposals applied everywhere after ${s.ticksToCommit.map((t) => t.toFixed(1)).join(', ') || '-'} ticks`,
  );
  if (result.violation === undefined) {
    console.log('  no violation');
    return true;
  }
  console.log(`  VIOLATION ${result.violation.message}`);
  if (result.violation.cause !== undefined) {
    console.log(String((result.violation.cause as Error).stack));
  }
  if (!values['no-shrink'] && values.keep === undefined && values.quiet === undefined) {
    reportShrunk(seed, result.violation.invariant);
  }
  console.log(`  replay: ${replay(seed, edit)}`);
  return false;
}

function reportShrunk(seed: number, invariant: InvariantName): void {
  const shrunk = shrinkFailure(seed, invariant, planOptions, simOptions);
  const full = planSimulation(seed, planOptions);
  const keep = shrunk.edit.keep ?? [];
  console.log(
    `  shrunk in ${shrunk.runs} runs to ${keep.length} of ${full.faults.length} faults${shrunk.edit.quiet?.length ? `, without ${shrunk.edit.quiet.join(', ')}` : ''}:`,
  );
  for (const k of keep) {
    console.log(`    [${k}] ${describeFault(full.faults[k] as Fault, unitsPerTick)}`);
  }
  console.log(`  ${shrunk.result.violation?.message ?? 'no violation?'}`);
  const tail = story(shrunk.result.trace).slice(-60);
  console.log(
    `  the end of the trace (${shrunk.result.trace.length} lines; heartbeats and repeats left out):`,
  );
  for (const line of tail) {
    console.log(`    ${line}`);
  }
  console.log(`  replay shrunk: ${replay(seed, shrunk.edit, ' --trace')}`);
}

/**
 * A trace for reading: heartbeats are most of it and rarely the story, and a line that repeats
 * one of the few before it (a message storm, a retry loop) is counted instead of printed again.
 * `--trace` on the replay shows everything.
 */
function story(trace: readonly string[]): string[] {
  const lines: Array<{ text: string; line: string; repeats: number }> = [];
  for (const line of trace) {
    if (line.includes(' MsgHeartbeat')) {
      continue;
    }
    const text = line.slice(line.indexOf('  ') + 2);
    const recent = lines.slice(-4).find((l) => l.text === text);
    if (recent !== undefined) {
      recent.repeats++;
    } else {
      lines.push({ text, line, repeats: 0 });
    }
  }
  return lines.map((l) => (l.repeats > 0 ? `${l.line}   (and ${l.repeats} more times)` : l.line));
}

async function runMany(from: number, seeds: number): Promise<boolean> {
  const started = Date.now();
  const workers = Math.max(
    1,
    Math.min(int('workers', values.workers) ?? availableParallelism(), seeds),
  );
  const share = Math.ceil(seeds / workers);
  const parts: Array<Promise<CampaignSummary>> = [];
  for (let w = 0; w < workers; w++) {
    const start = from + w * share;
    const n = Math.min(share, from + seeds - start);
    if (n > 0) {
      parts.push(workers === 1 ? Promise.resolve(runRange(start, n)) : spawnWorker(start, n));
    }
  }
  const summary = (await Promise.all(parts)).reduce(mergeSummaries, emptySummary());
  console.log(formatSummary(summary, Date.now() - started));
  for (const f of summary.failures.slice(0, 20)) {
    console.log(`FAILED seed ${f.seed}: ${f.message}\n  replay: ${replay(f.seed, {})}`);
  }
  const first = summary.failures[0];
  if (first !== undefined && !values['no-shrink']) {
    console.log(`shrinking seed ${first.seed}:`);
    reportShrunk(first.seed, first.invariant);
  }
  return summary.failures.length === 0;
}

function runRange(from: number, seeds: number): CampaignSummary {
  let done = 0;
  const step = Math.max(1, Math.floor(seeds / 10));
  return runCampaign(from, seeds, planOptions, simOptions, () => {
    done++;
    if (done % step === 0) {
      process.stderr.write(`  [seeds ${from}…] ${done}/${seeds}\n`);
    }
  });
}

/** Runs a range in a child process (same loader flags, so tsx works there too). */
function spawnWorker(from: number, seeds: number): Promise<CampaignSummary> {
  const args = process.argv
    .slice(2)
    .filter(
      (a, k, all) =>
        !['--seeds', '--from', '--workers'].includes(a) &&
        !['--seeds', '--from', '--workers'].includes(all[k - 1] ?? ''),
    );
  const child = fork(
    fileURLToPath(import.meta.url),
    [...args, '--worker', '--from', String(from), '--seeds', String(seeds)],
    {
      execArgv: process.execArgv,
    },
  );
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as CampaignSummary));
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`worker for seeds ${from}… exited with ${code}`));
      }
    });
  });
}

async function main(): Promise<number> {
  if (values.worker) {
    const summary = runRange(int('from', values.from) ?? 1, int('seeds', values.seeds) ?? 0);
    await new Promise<void>((resolve) => process.send?.(summary, () => resolve()));
    return 0;
  }
  const seed = int('seed', values.seed);
  if (seed !== undefined) {
    return runOne(seed) ? 0 : 1;
  }
  const seeds = int('seeds', values.seeds);
  if (seeds !== undefined) {
    return (await runMany(int('from', values.from) ?? 1, seeds)) ? 0 : 1;
  }
  console.error(
    'usage: sim/cli.ts --seed <n> [--trace] | --seeds <count> [--from <n>] [--workers <n>]',
  );
  return 2;
}

process.exitCode = await main();
