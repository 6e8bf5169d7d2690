/**
 * Round-trip latency: node 1 sends one frame of the workload, node 2 answers with one small
 * acknowledgement, node 1 times the pair with its own clock (a one-way figure would need the two
 * processes' clocks to agree to the microsecond). Pings go out about once a millisecond, a rate
 * at which both processes sleep in between, as a heartbeat would find them.
 */
import { fmt, fmtSpread, printTable, quantile, type Spread, spread } from './harness.js';

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

import type { Pair } from './pair.js';
import type { Impl, Workload } from './workload.js';

const IMPLS: readonly Impl[] = ['tinyraft', 'raw'];

export interface LatencyOptions {
  samples: number;
  /** Round trips per sample. */
  pings: number;
}

export interface LatencyResult {
  workload: string;
  impl: Impl;
  samples: number;
  pingsPerSample: number;
  /** Over samples: each sample's median and 99th percentile round trip, in microseconds. */
  p50Us: Spread;
  p99Us: Spread;
  /** Every round trip of every sample together. */
  pooledP50Us: number;
  pooledP99Us: number;
  /** tinyraft only: its median round trip over the baseline's, round by round. */
  p50RatioToRaw?: Spread;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Round trips in microseconds, ascending. */
async function sample(pair: Pair, impl: Impl, load: Workload, pings: number): Promise<number[]> {
  const perSend = load.messages.length;
  await pair.expect(impl, load, perSend);
  const rtts: number[] = [];
  for (let i = 0; i < pings; i++) {
    const answered = new Promise<void>((resolve) => {
      const t0 = performance.now();
      pair.onAck = () => {
        rtts.push((performance.now() - t0) * 1000);
        resolve();
      };
      pair.send(impl, load);
    });
    await pair.wait(answered, 5000, () => `${impl} ${load.name}: ping ${i}`);
    await pause(1);
  }
  pair.onAck = () => undefined;
  const peer = await pair.report();
  if (peer.received !== pings * perSend || peer.misrouted !== 0 || peer.dropped !== 0) {
    throw new Error(
      `${impl} ${load.name}: the peer received ${peer.received} of ${pings * perSend} messages`,
    );
  }
  return ascending(rtts);
}

export async function latencyBench(
  pair: Pair,
  loads: readonly Workload[],
  options: LatencyOptions,
): Promise<LatencyResult[]> {
  const results: LatencyResult[] = [];
  for (const load of loads) {
    // One untimed sample of each, shorter, to warm up the code and the connections.
    for (const impl of IMPLS) {
      await sample(pair, impl, load, Math.ceil(options.pings / 4));
    }
    const samples: Record<Impl, number[][]> = { tinyraft: [], raw: [] };
    for (let round = 0; round < options.samples; round++) {
      const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
      for (const impl of order) {
        samples[impl].push(await sample(pair, impl, load, options.pings));
      }
    }
    const p50 = (rtts: number[]) => quantile(rtts, 0.5);
    const ratios = samples.tinyraft.map((s, k) => p50(s) / p50(samples.raw[k] as number[]));
    for (const impl of IMPLS) {
      const ss = samples[impl];
      const pooled = ascending(ss.flat());
      const result: LatencyResult = {
        workload: load.name,
        impl,
        samples: ss.length,
        pingsPerSample: options.pings,
        p50Us: spread(ss.map(p50)),
        p99Us: spread(ss.map((s) => quantile(s, 0.99))),
        pooledP50Us: quantile(pooled, 0.5),
        pooledP99Us: quantile(pooled, 0.99),
      };
      if (impl === 'tinyraft') {
        result.p50RatioToRaw = spread(ratios);
      }
      results.push(result);
    }
  }
  printTable(
    `Round trip, µs, about 1 ping per ms (median [p10–p90] over ${options.samples} samples of ${options.pings} pings; pooled over all)`,
    ['workload', 'impl', 'p50', 'p99', 'pooled p50', 'pooled p99', 'p50 tinyraft / raw'],
    results.map((r) => [
      r.workload,
      r.impl,
      fmtSpread(r.p50Us),
      fmtSpread(r.p99Us),
      fmt(r.pooledP50Us),
      fmt(r.pooledP99Us),
      r.p50RatioToRaw === undefined ? '' : fmtSpread(r.p50RatioToRaw),
    ]),
  );
  return results;
}
