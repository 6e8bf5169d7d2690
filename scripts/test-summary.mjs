// Sums the vitest JSON reports that `turbo run test` leaves in every package (or restores from its
// cache) and prints one closing line: "N passed, M failed".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
for (const group of ['packages', 'apps']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkgDir = join(dir, name);
    const pkgJson = join(pkgDir, 'package.json');
    if (!existsSync(pkgJson) || !JSON.parse(readFileSync(pkgJson, 'utf8')).scripts?.test) continue;
    const report = join(pkgDir, 'test-report.json');
    if (!existsSync(report)) {
      console.log(`${group}/${name}: no test report (its tests did not run to completion)`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    const p = r.numPassedTests ?? 0;
    // Skipped, todo or pending tests are not allowed here: count them as failures.
    const f = (r.numFailedTests ?? 0) + (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    const suitesFailed = r.numFailedTestSuites ?? 0;
    console.log(
      `${group}/${name}: ${p} passed, ${f} failed${suitesFailed ? `, ${suitesFailed} files failed to run` : ''}`,
    );
    passed += p;
    failed += f + suitesFailed;
  }
}
console.log(`${passed} passed, ${failed} failed`);
