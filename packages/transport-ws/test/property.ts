import fc from 'fast-check';
import { expect } from 'vitest';
import { seed } from './helpers.js';

/** Checks a property with the run's seed; a failure names the seed and the counterexample. */
export function checkProperty<T>(
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => void,
  numRuns = 300,
): void {
  const details = fc.check(fc.property(arbitrary, predicate), { seed, numRuns });
  expect(
    details.failed,
    `failed with seed ${seed} (replay with TEST_SEED=${seed})\n${fc.defaultReportMessage(details)}`,
  ).toBe(false);
}
