// The dashboard's end-to-end test drives Debian's Chromium. Install it when it is missing and we
// are allowed to (root with apt-get, as on a fresh CI machine); otherwise say what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(chromium)) {
  process.exit(0);
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  console.error(
    `Chromium not found at ${chromium}: install Debian's "chromium" package (or set CHROMIUM_PATH).`,
  );
  process.exit(1);
}
console.log('Installing Chromium for the dashboard end-to-end test (apt-get install chromium)…');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`apt-get ${args.join(' ')} failed with status ${r.status}`);
    process.exit(1);
  }
}
