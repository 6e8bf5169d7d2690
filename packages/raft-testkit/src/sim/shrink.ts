import { runSimulation, type SimOptions, type SimResult } from './cluster.js';
import type { InvariantName } from './invariants.js';
import {
  editPlan,
  type PlanEdit,
  type PlanOptions,
  planSimulation,
  type Quietable,
  quietables,
} from './plan.js';

export interface Shrunk {
  /** The smallest change of the seed's plan found that still breaks the same invariant. */
  edit: PlanEdit;
  /** The failing run of the shrunk plan, traced. */
  result: SimResult;
  /** Simulations run while shrinking. */
  runs: number;
}

/**
 * Shrinks a failing seed: delta debugging (Zeller's ddmin) over its fault schedule finds a
 * subset of faults, minimal in that removing any one chunk more makes the failure go away; then
 * each network and disk behaviour is switched off if the failure survives it. "Still fails"
 * means: breaks the same invariant. Every run is deterministic, so the result replays exactly.
 */
export function shrinkFailure(
  seed: number,
  invariant: InvariantName,
  planOptions: PlanOptions = {},
  simOptions: SimOptions = {},
  maxRuns = 300,
): Shrunk {
  const base = planSimulation(seed, planOptions);
  let runs = 0;
  const fails = (edit: PlanEdit): boolean => {
    runs++;
    return runSimulation(editPlan(base, edit), simOptions).violation?.invariant === invariant;
  };

  let keep = base.faults.map((_, k) => k);
  if (keep.length > 0 && fails({ keep: [] })) {
    keep = [];
  }
  let granularity = 2;
  while (keep.length >= 2 && runs < maxRuns) {
    const chunks = split(keep, granularity);
    let reduced = false;
    for (const chunk of chunks) {
      if (fails({ keep: chunk })) {
        keep = chunk;
        granularity = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && granularity > 2) {
      for (const chunk of chunks) {
        const rest = keep.filter((k) => !chunk.includes(k));
        if (fails({ keep: rest })) {
          keep = rest;
          granularity = Math.max(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (granularity >= keep.length) {
        break;
      }
      granularity = Math.min(granularity * 2, keep.length);
    }
  }

  const quiet: Quietable[] = [];
  for (const q of quietables) {
    if (runs < maxRuns && fails({ keep, quiet: [...quiet, q] })) {
      quiet.push(q);
    }
  }
  const edit: PlanEdit = { keep, quiet };
  const result = runSimulation(editPlan(base, edit), { ...simOptions, trace: true });
  return { edit, result, runs };
}

/** `items` in `n` contiguous chunks of near-equal size. */
function split(items: readonly number[], n: number): number[][] {
  const chunks: number[][] = [];
  let start = 0;
  for (let k = 0; k < n; k++) {
    const end = start + Math.floor((items.length - start) / (n - k));
    if (end > start) {
      chunks.push(items.slice(start, end));
    }
    start = end;
  }
  return chunks;
}
