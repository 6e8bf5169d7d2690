/**
 * The faults a simulation injects on a schedule. Each one is self-contained (it starts at `at` and
 * ends `duration` later), so that any subset of a schedule is itself a valid schedule: this is
 * what lets the shrinker drop faults one by one.
 */
export type Fault =
  /** Messages between `side` and the other nodes are lost, both ways. */
  | { kind: 'partition'; at: number; duration: number; side: number[] }
  /** Messages from a node in `from` to a node in `to` are lost; the other direction works. */
  | { kind: 'one-way'; at: number; duration: number; from: number[]; to: number[] }
  /** The node loses everything it has not persisted, and restarts from its storage at the end. */
  | { kind: 'crash'; at: number; duration: number; node: number }
  /**
   * A crash of whichever node leads when the fault starts (if any) or, with `onCommit`, of the
   * first leader whose commit index advances while the fault is on, before it tells anyone. Leader
   * churn is what tests the commit rules (§5.4.2, Figure 8). The node restarts when the fault ends.
   */
  | { kind: 'crash-leader'; at: number; duration: number; onCommit: boolean }
  /** The node stops (a long GC pause, a stalled VM): no ticks, inputs wait until it resumes. */
  | { kind: 'pause'; at: number; duration: number; node: number }
  /** The node snapshots its state machine and compacts its storage up to what it applied. */
  | { kind: 'compact'; at: number; duration: 0; node: number };

export type FaultKind = Fault['kind'];

export const faultKinds: readonly FaultKind[] = [
  'partition',
  'one-way',
  'crash',
  'crash-leader',
  'pause',
  'compact',
];

/** One line naming the fault, with times in ticks of `unitsPerTick` time units. */
export function describeFault(f: Fault, unitsPerTick: number): string {
  const span = (at: number, duration: number): string =>
    `ticks ${(at / unitsPerTick).toFixed(1)}–${((at + duration) / unitsPerTick).toFixed(1)}`;
  switch (f.kind) {
    case 'partition':
      return `partition {${f.side.join(',')}} from the rest, ${span(f.at, f.duration)}`;
    case 'one-way':
      return `one-way loss {${f.from.join(',')}} → {${f.to.join(',')}}, ${span(f.at, f.duration)}`;
    case 'crash':
      return `crash node ${f.node}, ${span(f.at, f.duration)}`;
    case 'crash-leader':
      return `crash the leader${f.onCommit ? ' as soon as it commits' : ''}, ${span(f.at, f.duration)}`;
    case 'pause':
      return `pause node ${f.node}, ${span(f.at, f.duration)}`;
    case 'compact':
      return `compact node ${f.node}'s log, tick ${(f.at / unitsPerTick).toFixed(1)}`;
  }
}

/**
 * The faults in force right now. Faults overlap freely: a link is cut while any fault cuts it, a
 * node is down while any crash covers it.
 */
export class ActiveFaults {
  private readonly active = new Set<Fault>();

  start(f: Fault): void {
    this.active.add(f);
  }

  end(f: Fault): void {
    this.active.delete(f);
  }

  clear(): void {
    this.active.clear();
  }

  /** Whether a message from `from` to `to` is lost to a partition. */
  blocks(from: number, to: number): boolean {
    for (const f of this.active) {
      if (f.kind === 'partition') {
        if (f.side.includes(from) !== f.side.includes(to)) {
          return true;
        }
      } else if (f.kind === 'one-way') {
        if (f.from.includes(from) && f.to.includes(to)) {
          return true;
        }
      }
    }
    return false;
  }

  isDown(node: number): boolean {
    return this.covers('crash', node);
  }

  isPaused(node: number): boolean {
    return this.covers('pause', node);
  }

  private covers(kind: 'crash' | 'pause', node: number): boolean {
    for (const f of this.active) {
      if (f.kind === kind && f.node === node) {
        return true;
      }
    }
    return false;
  }
}
