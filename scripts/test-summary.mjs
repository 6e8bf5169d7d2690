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
    // A file that failed without a failing test did not run at all (an import or syntax error).
    const brokenFiles = (r.testResults ?? []).filter(
      (file) =>
        file.status === 'failed' && !file.assertionResults?.some((a) => a.status === 'failed'),
    ).length;
    const note = brokenFiles ? `, ${brokenFiles} test files failed to run` : '';
    console.log(`${group}/${name}: ${p} passed, ${f + brokenFiles} failed${note}`);
    passed += p;
    failed += f + brokenFiles;
  }
}
console.log(`${passed} passed, ${failed} failed`);
