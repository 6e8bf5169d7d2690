import type { Entry, Message, Snapshot } from '@tinyraft/raft-core';
import type { ActiveFaults } from './faults.js';
import type { NetworkProfile } from './plan.js';

/** What the network did to messages, by kind. */
export interface NetworkCounts {
  sent: number;
  /** Lost to `NetworkProfile.loss`. */
  lost: number;
  /** Lost to a partition, when sent or when due. */
  cut: number;
  duplicated: number;
  reordered: number;
}

/**
 * Entries go over the wire (and to disk) as copies, as they would when serialized. Freezing them
 * turns an in-place change by raft into a thrown TypeError instead of a silent corruption.
 */
export function copyEntry(e: Entry): Entry {
  return Object.freeze({ ...e });
}

function copySnapshot(s: Snapshot): Snapshot {
  const copy: Snapshot = {
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      confState: { nodes: [...s.metadata.confState.nodes] },
    },
  };
  if (s.data !== undefined) {
    copy.data = s.data.slice();
  }
  return copy;
}

function copyMessage(m: Message): Message {
  const copy: Message = { ...m, entries: m.entries.map(copyEntry) };
  if (m.snapshot !== undefined) {
    copy.snapshot = copySnapshot(m.snapshot);
  }
  return copy;
}

/**
 * The simulated network: every message takes a random delay (so messages overtake each other),
 * some are held back much longer, lost or delivered twice, and partitions cut links. All coin
 * flips come from one seeded stream.
 */
export class SimNetwork {
  readonly counts: NetworkCounts = { sent: 0, lost: 0, cut: 0, duplicated: 0, reordered: 0 };
  private profile: NetworkProfile;
  private readonly faults: ActiveFaults;
  private readonly random: () => number;
  private readonly deliver: (at: number, m: Message) => void;

  /** `deliver(at, m)` schedules `m`'s arrival at time `at`. */
  constructor(
    profile: NetworkProfile,
    faults: ActiveFaults,
    random: () => number,
    deliver: (at: number, m: Message) => void,
  ) {
    this.profile = profile;
    this.faults = faults;
    this.random = random;
    this.deliver = deliver;
  }

  /** From now on no message is lost, duplicated or held back; ordinary delays remain. */
  quiet(): void {
    this.profile = { ...this.profile, loss: 0, duplicate: 0, reorder: 0 };
  }

  send(m: Message, now: number): void {
    this.counts.sent++;
    if (this.faults.blocks(m.from, m.to)) {
      this.counts.cut++;
      return;
    }
    const p = this.profile;
    if (p.loss > 0 && this.random() < p.loss) {
      this.counts.lost++;
      return;
    }
    this.deliver(now + this.delay(), copyMessage(m));
    if (p.duplicate > 0 && this.random() < p.duplicate) {
      this.counts.duplicated++;
      this.deliver(now + this.delay(), copyMessage(m));
    }
  }

  /** Whether a message due now is lost to a partition formed while it was in flight. */
  cutInFlight(m: Message): boolean {
    if (this.faults.blocks(m.from, m.to)) {
      this.counts.cut++;
      return true;
    }
    return false;
  }

  private delay(): number {
    const p = this.profile;
    let d = 1 + Math.floor(this.random() * p.maxDelay);
    if (p.reorder > 0 && this.random() < p.reorder) {
      this.counts.reordered++;
      d += Math.floor(this.random() * p.reorderDelay);
    }
    return d;
  }
}
