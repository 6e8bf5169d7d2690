/**
 * Copies the current build of raft-core (packages/raft-core/dist) to
 * bench-results/baseline/raft-core, so that a later run can measure a changed core against it:
 *   tsx bench/save-baseline.ts            # before the change (after building raft-core)
 *   BENCH_BASELINE=../../bench-results/baseline/raft-core/dist/index.js tsx bench/run.ts
 *   tsx bench/equivalence.ts              # and check that the change kept the behaviour
 */
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot, resultsDir } from './harness.js';

const source = join(repoRoot, 'packages/raft-core');
const target = join(resultsDir, 'baseline/raft-core');
if (!existsSync(join(source, 'dist/index.js'))) {
  throw new Error(`no build at ${source}/dist: run tsc -p tsconfig.build.json in raft-core first`);
}
rmSync(target, { recursive: true, force: true });
mkdirSync(join(target, 'node_modules/@tinyraft'), { recursive: true });
cpSync(join(source, 'dist'), join(target, 'dist'), { recursive: true });
cpSync(join(source, 'package.json'), join(target, 'package.json'));
// The copy resolves raft-log to the workspace's, so that both cores share one storage class.
symlinkSync(join(repoRoot, 'packages/raft-log'), join(target, 'node_modules/@tinyraft/raft-log'));
console.log(`saved ${relative(process.cwd(), join(target, 'dist/index.js'))}`);
