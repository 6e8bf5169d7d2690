// The whole test run: make sure the browser the end-to-end test drives is installed, run every
// package's tests through turbo, then print the closing "N passed, M failed" line.
import { spawnSync } from 'node:child_process';

const run = (cmd, args) =>
  spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });

const ensure = run(process.execPath, [new URL('./ensure-chromium.mjs', import.meta.url).pathname]);
const tests = run('turbo', ['run', 'test', ...process.argv.slice(2)]);
run(process.execPath, [new URL('./test-summary.mjs', import.meta.url).pathname]);
process.exit(ensure.status || tests.status || 0);
