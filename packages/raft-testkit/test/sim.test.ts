/**
 * The quick chaos run inside `pnpm test`: 3,000 seeded simulations of 3-, 5- and 7-node
 * clusters under clock skew, message delay, reordering, duplication and loss, symmetric and one-way
 * partitions, pauses, log compaction and crash/restarts. Every invariant is checked after every
 * event (see src/sim/invariants.ts); once the faults stop, a leader must be elected and new
 * proposals must reach every node within bounds.
 *
 * A failure names its seed and the command that replays (and shrinks) it. The long campaign is
 * `pnpm sim --seeds 100000`. SIM_FROM / SIM_SEEDS choose another range here.
 */
import { describe, expect, test } from 'vitest';
import {
  addResult,
  emptySummary,
  faultKinds,
  type PlanOptions,
  planSimulation,
  replayArgs,
  runSimulation,
} from '../src/sim/index.js';

const from = Number(process.env.SIM_FROM ?? 1);
const seeds = Number(process.env.SIM_SEEDS ?? 3000);
const chunk = 250;
/** Shorter chaos than the campaign's default, to keep the suite fast. */
const planOptions: PlanOptions = { chaosTicks: 100 };

describe('chaos simulation', () => {
  const summary = emptySummary();

  for (let start = from; start < from + seeds; start += chunk) {
    const end = Math.min(start + chunk, from + seeds) - 1;
    test(`seeds ${start}…${end}: no invariant breaks, and once faults stop a leader is elected and proposals commit everywhere`, () => {
      for (let seed = start; seed <= end; seed++) {
        const result = runSimulation(planSimulation(seed, planOptions));
        addResult(summary, result);
        const replay = `replay and shrink: pnpm sim ${replayArgs(seed, {}, planOptions)}`;
        expect(result.violation?.message, `seed ${seed} (${replay})`).toBeUndefined();
        expect(result.stats.ticksToLeader, `seed ${seed}: a leader after the faults`).toBeDefined();
        expect(
          result.stats.ticksToCommit,
          `seed ${seed}: every liveness proposal applied everywhere`,
        ).toHaveLength(3);
      }
    }, 120_000);
  }

  test('the runs covered every cluster size and every kind of fault', () => {
    expect(summary.seeds).toBe(seeds);
    if (seeds >= 300) {
      expect(Object.keys(summary.bySize).sort()).toEqual(['3', '5', '7']);
      for (const kind of faultKinds) {
        expect(summary.faults[kind], `${kind} faults injected`).toBeGreaterThan(0);
      }
      const net = summary.network;
      expect(
        [net.lost, net.cut, net.duplicated, net.reordered].every((n) => n > 0),
        `losses, partitions, duplicates and reorderings all happened: ${JSON.stringify(net)}`,
      ).toBe(true);
      expect(summary.lostWrites, 'crashes cut disk writes short').toBeGreaterThan(0);
    }
  });
});
