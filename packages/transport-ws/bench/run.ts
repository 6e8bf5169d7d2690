/**
 * How fast transport-ws is, and how that compares with `ws` on its own: `pnpm bench` at the root,
 * or `npx tsx bench/run.ts [codec] [throughput] [latency]` here. See bench/README.md for how to
 * read the figures; they are for comparing versions on one machine, never pass/fail.
 */
import { codecBench } from './codec.js';
import { fmt, fmtSpread, printTable, writeResults } from './harness.js';
import { type LatencyResult, latencyBench } from './latency.js';
import { Pair } from './pair.js';
import { type ThroughputResult, throughputBench } from './throughput.js';
import { workloads } from './workload.js';

const SECTIONS = ['codec', 'throughput', 'latency'] as const;
type Section = (typeof SECTIONS)[number];

function isSection(s: string): s is Section {
  return (SECTIONS as readonly string[]).includes(s);
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => !isSection(a));
if (unknown.length > 0) {
  throw new Error(`unknown section ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')}`);
}
const sections: readonly Section[] = args.length === 0 ? SECTIONS : (args as Section[]);
const settings = {
  throughput: { samples: 7, warmupMs: 1000 },
  latency: { samples: 5, pings: 250 },
};

const started = performance.now();
// BENCH_FILTER=64 runs only the workloads whose name contains "64", e.g. to profile one of them.
const filter = process.env.BENCH_FILTER ?? '';
const loads = workloads().filter((w) => w.name.includes(filter));
if (loads.length === 0) {
  throw new Error(`no workload name contains BENCH_FILTER ${JSON.stringify(filter)}`);
}
/** The goal: tinyraft moves at least this share of the messages plain `ws` moves. */
const TARGET_RATIO = 0.7;

const results: {
  settings: typeof settings;
  codec?: unknown;
  throughput?: ThroughputResult[];
  latency?: LatencyResult[];
  summary?: unknown;
} = { settings };
if (sections.includes('codec')) {
  results.codec = codecBench(loads);
}
if (sections.includes('throughput') || sections.includes('latency')) {
  const pair = await Pair.open();
  // A bench stopped by a signal still takes its peer process down with it.
  const interrupted = (signal: NodeJS.Signals) => {
    void pair.close().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    if (sections.includes('throughput')) {
      results.throughput = await throughputBench(pair, loads, settings.throughput);
    }
    if (sections.includes('latency')) {
      results.latency = await latencyBench(pair, loads, settings.latency);
    }
  } finally {
    await pair.close();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}
/** One line per workload: the throughput ratio against the target, and both round trips. */
function summarize(): void {
  const rows = loads.map((load) => {
    const ours = results.throughput?.find((r) => r.workload === load.name && r.impl === 'tinyraft');
    const rtt = (impl: string) =>
      results.latency?.find((r) => r.workload === load.name && r.impl === impl);
    const ratio = ours?.ratioToRaw;
    return {
      workload: load.name,
      messagesPerSecRatio: ratio,
      targetRatio: TARGET_RATIO,
      met: ratio === undefined ? undefined : ratio.median >= TARGET_RATIO,
      roundTripP50Us: { tinyraft: rtt('tinyraft')?.pooledP50Us, raw: rtt('raw')?.pooledP50Us },
      roundTripP99Us: { tinyraft: rtt('tinyraft')?.pooledP99Us, raw: rtt('raw')?.pooledP99Us },
    };
  });
  results.summary = rows;
  const us = (x: number | undefined) => (x === undefined ? '' : fmt(x));
  printTable(
    `Summary: tinyraft / raw ws messages per second (target ≥ ${TARGET_RATIO}), round trips in µs`,
    ['workload', 'tinyraft / raw', 'target', 'RTT p50 ours', 'raw', 'RTT p99 ours', 'raw'],
    rows.map((r) => [
      r.workload,
      r.messagesPerSecRatio === undefined ? '' : fmtSpread(r.messagesPerSecRatio),
      r.met === undefined ? '' : r.met ? 'met' : 'missed',
      us(r.roundTripP50Us.tinyraft),
      us(r.roundTripP50Us.raw),
      us(r.roundTripP99Us.tinyraft),
      us(r.roundTripP99Us.raw),
    ]),
  );
}

summarize();
writeResults('transport', results);
console.log(`done in ${fmt((performance.now() - started) / 1000)} s`);
