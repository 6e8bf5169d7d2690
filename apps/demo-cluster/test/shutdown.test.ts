import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, mainEntry, pidAlive, portFree, waitFor } from './helpers.js';

interface Demo {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  dir: string;
}

const demos: Demo[] = [];

beforeAll(assertBuilt);

afterEach(() => {
  for (const d of demos.splice(0)) {
    d.process.kill('SIGKILL');
    rmSync(d.dir, { recursive: true, force: true });
  }
});

/** Starts `main.js` as a user would (plain output, since stdout is a pipe) with its own files. */
function startDemo(): Demo {
  const dir = mkdtempSync(join(tmpdir(), 'tinyraft-demo-test-'));
  const child = spawn(
    process.execPath,
    [mainEntry, '--tick-ms', '20', '--data-dir', join(dir, 'data')],
    {
      env: { ...process.env, CI: 'true', TINYRAFT_DEMO_CURRENT: join(dir, 'current.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const demo = { process: child, output: () => out, exited, dir };
  demos.push(demo);
  return demo;
}

/** The node pids and ports the demo printed at start, once it has printed the dashboard URL. */
async function started(demo: Demo): Promise<{ pids: number[]; ports: number[] }> {
  await waitFor(
    () => demo.output().includes('dashboard: '),
    15_000,
    `the demo to start:\n${demo.output()}`,
  );
  const nodes = [
    ...demo.output().matchAll(/node \d+:\s+http:\/\/127\.0\.0\.1:(\d+)\s+\(pid (\d+)\)/g),
  ];
  expect(nodes).toHaveLength(3);
  return { pids: nodes.map((m) => Number(m[2])), ports: nodes.map((m) => Number(m[1])) };
}

describe('stopping the demo', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s stops every node process, frees their ports and removes the current file',
    async (signal) => {
      const demo = startDemo();
      const { pids, ports } = await started(demo);
      expect(pids.every(pidAlive)).toBe(true);
      expect(existsSync(join(demo.dir, 'current.json'))).toBe(true);
      await waitFor(() => demo.output().includes('is leader of term'), 15_000, 'a leader');
      demo.process.kill(signal);
      const code = await Promise.race([
        demo.exited,
        new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000)),
      ]);
      expect(code).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(pids.filter(pidAlive)).toEqual([]);
      for (const port of ports) {
        expect(await portFree(port), `port ${port} still bound`).toBe(true);
      }
      expect(existsSync(join(demo.dir, 'current.json'))).toBe(false);
    },
  );

  it('a supervisor killed with SIGKILL leaves no orphans: nodes exit when the IPC channel closes', async () => {
    const demo = startDemo();
    const { pids } = await started(demo);
    demo.process.kill('SIGKILL');
    await demo.exited;
    await waitFor(() => !pids.some(pidAlive), 10_000, `node pids ${pids.join(', ')} to exit`);
  });
});
