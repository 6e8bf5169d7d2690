import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const packagesDir = join(here, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'tinyraft-pack-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** pnpm as the one running this test (it sets npm_execpath), else from PATH. */
function pnpm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  if (execPath?.includes('pnpm')) {
    return execFileSync(process.execPath, [execPath, ...args], { cwd, encoding: 'utf8' });
  }
  return execFileSync('pnpm', args, { cwd, encoding: 'utf8' });
}

// The published shape: pack raft-log and raft-core as pnpm would publish them, install the
// tarballs into a project outside the workspace, and elect a leader there.
test('the packed tarballs install and elect a leader outside the workspace', () => {
  for (const pkg of ['raft-log', 'raft-core']) {
    pnpm(['pack', '--pack-destination', work], join(packagesDir, pkg));
  }
  const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  const log = tarballs.find((f) => f.includes('raft-log'));
  const core = tarballs.find((f) => f.includes('raft-core'));
  expect(log, `tarballs: ${tarballs.join(', ')}`).toBeDefined();
  expect(core, `tarballs: ${tarballs.join(', ')}`).toBeDefined();

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'tinyraft-pack-check',
      private: true,
      type: 'module',
      dependencies: {
        '@tinyraft/raft-log': `file:../${log}`,
        '@tinyraft/raft-core': `file:../${core}`,
      },
      overrides: { '@tinyraft/raft-log': `file:../${log}` },
    }),
  );
  writeFileSync(
    join(app, 'main.js'),
    `import { MemoryStorage, Raft, StateType } from '@tinyraft/raft-core';
const ids = [1, 2, 3];
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const nodes = new Map(ids.map((id) => [id, new Raft({ id, peers: ids, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), random })]));
for (let t = 0; t < 100; t++) {
  for (const n of nodes.values()) n.tick();
  const queue = [...nodes.values()].flatMap((n) => n.readMessages());
  while (queue.length > 0) {
    const m = queue.shift();
    const to = nodes.get(m.to);
    to.step(m);
    queue.push(...to.readMessages());
  }
  const leader = [...nodes.values()].find((n) => n.state === StateType.Leader);
  if (leader) {
    console.log(JSON.stringify({ leader: leader.id, term: leader.term, tick: t }));
    process.exit(0);
  }
}
console.error('no leader after 100 ticks');
process.exit(1);
`,
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    encoding: 'utf8',
  });
  const out = JSON.parse(
    execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' }),
  );
  expect([1, 2, 3]).toContain(out.leader);
  expect(out.term).toBeGreaterThanOrEqual(1);
}, 180_000);
