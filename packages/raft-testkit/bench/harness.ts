import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Spread, spread } from '../src/bench-report.js';

export {
  fmt,
  fmtSpread,
  printTable,
  quantile,
  repoRoot,
  resultsDir,
  type Spread,
  writeResults,
} from '../src/bench-report.js';

/**
 * One thing to measure. `prepare(n)` builds fresh state outside the timed region and returns the
 * timed part, which does about `n` units of work and returns how many units it did (an election,
 * a message, an entry...). The harness picks `n` so that one sample lasts about `targetMs`.
 */
export interface BenchCase {
  /** The row label, unique within a group. */
  name: string;
  params: Record<string, string | number>;
  prepare(n: number): () => number;
}

export interface CaseResult {
  name: string;
  params: Record<string, string | number>;
  /** Units of work per sample. */
  n: number;
  samples: number;
  /** CPU time (user + system) per unit. */
  cpuUsPerOp: Spread;
  /** Units per second of wall time. */
  opsPerSec: Spread;
}

export interface GroupOptions {
  samples: number;
  /** Untimed runs of every case before sampling, so that the JIT has settled. */
  warmupMs: number;
  /** How long one sample should take. */
  targetMs: number;
}

/** Defaults sized so that the whole suite stays within a few minutes on a 2-core machine. */
export const defaultGroupOptions: GroupOptions = { samples: 21, warmupMs: 300, targetMs: 80 };

/**
 * A handle on the garbage collector even when node was started without `--expose-gc`: turning the
 * flag on at run time exposes `gc` to contexts created afterwards.
 */
export const collectGarbage: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) {
    return existing;
  }
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

interface Timing {
  cpuUs: number;
  wallMs: number;
  ops: number;
}

function timeOnce(c: BenchCase, n: number): Timing {
  const work = c.prepare(n);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const ops = work();
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  if (!(ops > 0)) {
    throw new Error(`bench case ${c.name} did no work (n = ${n})`);
  }
  return { cpuUs: cpu.user + cpu.system, wallMs, ops };
}

/**
 * Warms a case up and picks its `n`: doubles `n` until one run takes a measurable time and the
 * warm-up time is spent, then scales `n` from the last (warm) run to `targetMs`.
 */
function calibrate(c: BenchCase, options: GroupOptions): number {
  const until = performance.now() + options.warmupMs;
  let n = 1;
  for (;;) {
    const t = timeOnce(c, n);
    const long = t.wallMs >= options.targetMs / 4 || n >= 1 << 24;
    if (long && performance.now() >= until) {
      return Math.max(1, Math.round((n * options.targetMs) / t.wallMs));
    }
    if (!long) {
      n *= 2;
    }
  }
}

/**
 * Measures every case of a group. After calibration and warm-up, the samples are interleaved (one
 * sample of each case per round, starting from a different case each round), so that drift in
 * the machine's speed affects every case alike and their ratios stay meaningful.
 *
 * There is no forced collection between samples: each sample pays for its own garbage at the
 * steady rate. A forced full collection of the previous sample's nodes also made V8 throw away
 * the optimised code that had embedded them ("weak objects" deopts), which measured the JIT
 * rather than raft.
 */
export function measureGroup(
  cases: readonly BenchCase[],
  options: GroupOptions = defaultGroupOptions,
): CaseResult[] {
  const ns = cases.map((c) => calibrate(c, options));
  const timings: Timing[][] = cases.map(() => []);
  for (let round = 0; round < options.samples; round++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (round + j) % cases.length;
      (timings[k] as Timing[]).push(timeOnce(cases[k] as BenchCase, ns[k] as number));
    }
  }
  return cases.map((c, k) => {
    const ts = timings[k] as Timing[];
    return {
      name: c.name,
      params: c.params,
      n: ns[k] as number,
      samples: ts.length,
      cpuUsPerOp: spread(ts.map((t) => t.cpuUs / t.ops)),
      opsPerSec: spread(ts.map((t) => (t.ops * 1000) / t.wallMs)),
    };
  });
}
