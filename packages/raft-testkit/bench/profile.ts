/**
 * Prints the functions with the most self time in a V8 CPU profile, e.g. one written by
 * `node --cpu-prof --cpu-prof-dir=../../bench-results/profiles --import tsx bench/run.ts commit`.
 * Usage: tsx bench/profile.ts <file.cpuprofile> [how many rows, default 25]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fmt, printTable } from './harness.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg] = process.argv.slice(2);
if (file === undefined) {
  throw new Error('usage: tsx bench/profile.ts <file.cpuprofile> [rows]');
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

// Self time of a node: the time deltas of the samples taken while it was on top of the stack.
const selfUs = new Map<string, number>();
let totalUs = 0;
profile.samples.forEach((id, k) => {
  const node = byId.get(id);
  const dt = profile.timeDeltas[k] ?? 0;
  if (node === undefined) {
    return;
  }
  const f = node.callFrame;
  const where = f.url === '' ? '' : ` ${basename(f.url)}:${f.lineNumber + 1}`;
  const key = `${f.functionName || '(anonymous)'}${where}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  totalUs += dt;
});

const rows = [...selfUs.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(rowsArg ?? 25))
  .map(([name, us]) => [name, fmt(us / 1000), `${fmt((100 * us) / totalUs)} %`]);
printTable(`Self time, ${fmt(totalUs / 1000)} ms sampled`, ['function', 'ms', 'share'], rows);
