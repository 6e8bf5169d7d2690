/**
 * The codec alone, in this process: what encoding and decoding one frame of each workload costs,
 * with no sockets. It tells how much of the transport's cost per message is the codec's.
 */
import { decodeMessages, encodeMessages } from '../src/index.js';
import { fmtSpread, printTable, type Spread, spread } from './harness.js';
import type { Workload } from './workload.js';

export interface CodecResult {
  workload: string;
  op: 'encode' | 'decode';
  frameBytes: number;
  messagesPerFrame: number;
  /** Frames per timed run. */
  n: number;
  samples: number;
  framesPerSec: Spread;
  nsPerMessage: Spread;
}

interface Case {
  load: Workload;
  op: 'encode' | 'decode';
  run: () => void;
}

const SAMPLES = 9;
const WARMUP_MS = 150;
const TARGET_MS = 40;

function timeRun(c: Case, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    c.run();
  }
  return performance.now() - t0;
}

/** Doubles `n` until a run is measurable and the warm-up is spent, then scales it to the target. */
function calibrate(c: Case): number {
  const until = performance.now() + WARMUP_MS;
  let n = 1;
  for (;;) {
    const ms = timeRun(c, n);
    if (ms >= TARGET_MS / 4 && performance.now() >= until) {
      return Math.max(1, Math.round((n * TARGET_MS) / ms));
    }
    if (ms < TARGET_MS / 4) {
      n *= 2;
    }
  }
}

export function codecBench(loads: readonly Workload[]): CodecResult[] {
  const cases: Case[] = loads.flatMap((load) => {
    const frame = encodeMessages(load.messages);
    return [
      { load, op: 'encode' as const, run: () => encodeMessages(load.messages) },
      { load, op: 'decode' as const, run: () => decodeMessages(frame) },
    ];
  });
  const ns = cases.map(calibrate);
  const times: number[][] = cases.map(() => []);
  // Interleaved, one sample of every case per round, so that drift hits them all alike.
  for (let round = 0; round < SAMPLES; round++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (round + j) % cases.length;
      (times[k] as number[]).push(timeRun(cases[k] as Case, ns[k] as number));
    }
  }
  const results = cases.map((c, k): CodecResult => {
    const n = ns[k] as number;
    const ms = times[k] as number[];
    const perFrame = c.load.messages.length;
    return {
      workload: c.load.name,
      op: c.op,
      frameBytes: c.load.rawFrame.length,
      messagesPerFrame: perFrame,
      n,
      samples: ms.length,
      framesPerSec: spread(ms.map((t) => (n * 1000) / t)),
      nsPerMessage: spread(ms.map((t) => (t * 1e6) / (n * perFrame))),
    };
  });
  printTable(
    `Codec, in process (median [p10–p90] of ${SAMPLES} samples)`,
    ['workload', 'op', 'frame B', 'frames/s', 'ns/message'],
    results.map((r) => [
      r.workload,
      r.op,
      r.frameBytes.toLocaleString('en-US'),
      fmtSpread(r.framesPerSec),
      fmtSpread(r.nsPerMessage),
    ]),
  );
  return results;
}
