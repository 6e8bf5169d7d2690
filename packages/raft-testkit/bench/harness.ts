import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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

export interface Spread {
  median: number;
  p10: number;
  p90: number;
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

/** The value below which `q` (0…1) of the sorted values lie, interpolating between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9) };
}

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

// -------------------------------------------------------------------------------------------------
// Output
// -------------------------------------------------------------------------------------------------

/** Formats a number with a precision that suits its size: 1234567 → "1,234,567", 0.123 → "0.123". */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) {
    return String(x);
  }
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function fmtSpread(s: Spread): string {
  return `${fmt(s.median)} [${fmt(s.p10)}–${fmt(s.p90)}]`;
}

/** Prints rows as an aligned table; numbers go right, text left. */
export function printTable(
  title: string,
  header: readonly string[],
  rows: readonly string[][],
): void {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, k) => {
        const w = widths[k] as number;
        return /^[-\d.,[\]–% ×µ]+$/.test(cell) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) {
    console.log(line(r));
  }
}

/** The repository root: this file lives in packages/raft-testkit/bench. */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the machine-readable results go; gitignored. */
export const resultsDir: string = join(repoRoot, 'bench-results');

/** The environment a result was measured in, recorded next to every result. */
function environment(): Record<string, string | number> {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
  };
}

/** Writes `bench-results/<name>.json` and prints its path. */
export function writeResults(name: string, body: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, environment: environment(), ...body }, null, 2)}\n`,
  );
  console.log(`\nwrote ${relative(process.cwd(), file)}`);
  return file;
}
