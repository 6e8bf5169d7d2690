/**
 * What every tinyraft benchmark reports with: a median with its 10th and 90th percentiles,
 * aligned tables, and the same figures as JSON in `bench-results/<name>.json` at the repository
 * root (gitignored), together with the machine they were measured on.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Spread {
  median: number;
  p10: number;
  p90: number;
}

/** The value below which a fraction `q` (0…1) of the sorted values lie, interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const pos = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(pos)] as number;
  const hi = sorted[Math.ceil(pos)] as number;
  return lo + (hi - lo) * (pos - Math.floor(pos));
}

/** The median and the 10th and 90th percentiles of `values`. */
export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9) };
}

/** A precision that suits the size: 1234567 → "1,234,567", 12.34 → "12.3", 0.1234 → "0.123". */
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

/** "median [p10–p90]", each followed by `unit`. */
export function fmtSpread(s: Spread, unit = ''): string {
  return `${fmt(s.median)}${unit} [${fmt(s.p10)}–${fmt(s.p90)}]`;
}

/** Prints rows as an aligned table: numbers to the right, text to the left. */
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
        return /^[-\d.,[\]–%×µ ]+$/.test(cell) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) {
    console.log(line(r));
  }
}

/** The repository root: this file lives in packages/raft-testkit/src (or dist). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the machine-readable results go. */
export const resultsDir: string = join(repoRoot, 'bench-results');

/** Writes `bench-results/<name>.json`, with the machine it ran on, and prints its path. */
export function writeResults(name: string, body: Record<string, unknown>): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  const cpu = cpus();
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
  };
  writeFileSync(file, `${JSON.stringify({ name, environment, ...body }, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), file)}`);
  return file;
}
