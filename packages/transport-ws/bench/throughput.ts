/**
 * Messages per second from node 1 to node 2 in another process, over tinyraft and over the plain
 * `ws` baseline, sample for sample in alternation. The sender keeps at most `window` messages
 * unacknowledged (the peer acknowledges every `ackEvery`), so both sides run at the speed of the
 * slower one rather than piling frames into memory, and tinyraft never drops for backpressure.
 */
import { fmt, fmtSpread, printTable, type Spread, spread } from './harness.js';
import type { Pair } from './pair.js';
import type { Impl, Workload } from './workload.js';

const IMPLS: readonly Impl[] = ['tinyraft', 'raw'];

export interface ThroughputOptions {
  samples: number;
  /** Untimed rounds (one sample of each implementation) run until this much time has passed. */
  warmupMs: number;
}

interface Sample {
  wallMs: number;
  /** CPU time, user + system, of this process (the sender) and of the peer (the receiver). */
  senderCpuUs: number;
  peerCpuUs: number;
}

export interface ThroughputResult {
  workload: string;
  impl: Impl;
  messagesPerSample: number;
  messagesPerSend: number;
  frameBytes: number;
  window: number;
  ackEvery: number;
  samples: number;
  messagesPerSec: Spread;
  megabytesPerSec: Spread;
  /** CPU per message of the sending and of the receiving process. */
  senderCpuUsPerMessage: Spread;
  peerCpuUsPerMessage: Spread;
  /** tinyraft only: its messages per second over the baseline's, round by round. */
  ratioToRaw?: Spread;
}

async function sample(pair: Pair, impl: Impl, load: Workload): Promise<Sample> {
  await pair.expect(impl, load, load.ackEvery);
  const droppedBefore = pair.droppedBySender();
  const perSend = load.messages.length;
  let sent = 0;
  let acked = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const finished = new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < load.total && sent - acked < load.window) {
        pair.send(impl, load);
        sent += perSend;
      }
    };
    pair.onAck = (received) => {
      acked = received;
      if (acked >= load.total) {
        resolve();
      } else {
        pump();
      }
    };
    pump();
  });
  await pair.wait(
    finished,
    30_000,
    () => `${impl} ${load.name}: ${acked} of ${sent} sent messages acknowledged`,
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  pair.onAck = () => undefined;
  const peer = await pair.report();
  const dropped = peer.dropped + pair.droppedBySender() - droppedBefore;
  if (peer.received !== load.total || peer.misrouted !== 0 || dropped !== 0) {
    throw new Error(
      `${impl} ${load.name}: the peer received ${peer.received} of ${load.total} messages ` +
        `(${peer.misrouted} over the wrong connection, ${dropped} dropped)`,
    );
  }
  return { wallMs, senderCpuUs: cpu.user + cpu.system, peerCpuUs: peer.cpuUs };
}

export async function throughputBench(
  pair: Pair,
  loads: readonly Workload[],
  options: ThroughputOptions,
): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];
  for (const load of loads) {
    const until = performance.now() + options.warmupMs;
    do {
      for (const impl of IMPLS) {
        await sample(pair, impl, load);
      }
    } while (performance.now() < until);
    const samples: Record<Impl, Sample[]> = { tinyraft: [], raw: [] };
    for (let round = 0; round < options.samples; round++) {
      // Alternate which goes first, so that neither always follows the other's garbage.
      const order = round % 2 === 0 ? IMPLS : [...IMPLS].reverse();
      for (const impl of order) {
        samples[impl].push(await sample(pair, impl, load));
      }
    }
    const perSec = (s: Sample) => (load.total * 1000) / s.wallMs;
    const ratios = samples.tinyraft.map((s, k) => perSec(s) / perSec(samples.raw[k] as Sample));
    const frames = load.total / load.messages.length;
    for (const impl of IMPLS) {
      const ss = samples[impl];
      const result: ThroughputResult = {
        workload: load.name,
        impl,
        messagesPerSample: load.total,
        messagesPerSend: load.messages.length,
        frameBytes: load.rawFrame.length,
        window: load.window,
        ackEvery: load.ackEvery,
        samples: ss.length,
        messagesPerSec: spread(ss.map(perSec)),
        megabytesPerSec: spread(ss.map((s) => (frames * load.rawFrame.length) / s.wallMs / 1000)),
        senderCpuUsPerMessage: spread(ss.map((s) => s.senderCpuUs / load.total)),
        peerCpuUsPerMessage: spread(ss.map((s) => s.peerCpuUs / load.total)),
      };
      if (impl === 'tinyraft') {
        result.ratioToRaw = spread(ratios);
      }
      results.push(result);
    }
  }
  printTable(
    `Throughput, node 1 → node 2 in another process over 127.0.0.1 (median [p10–p90] of ${options.samples} samples)`,
    ['workload', 'impl', 'messages/s', 'MB/s', 'CPU µs/msg sender', 'receiver', 'tinyraft / raw'],
    results.map((r) => [
      r.workload,
      r.impl,
      fmtSpread(r.messagesPerSec),
      fmt(r.megabytesPerSec.median),
      fmtSpread(r.senderCpuUsPerMessage),
      fmtSpread(r.peerCpuUsPerMessage),
      r.ratioToRaw === undefined ? '' : fmtSpread(r.ratioToRaw),
    ]),
  );
  return results;
}
