import {
  type Entry,
  MemoryStorage,
  RaftNode,
  type RaftNodeStatus,
  StateType,
  type Ticker,
  type Transport,
} from '@tinyraft/raft-core';
import { seededRandom } from './helpers.js';

/** Ticks only when the test says so. */
export class ManualTicker implements Ticker {
  private onTick: (() => void) | undefined;

  start(onTick: () => void): void {
    this.onTick = onTick;
  }

  stop(): void {
    this.onTick = undefined;
  }

  tick(): void {
    this.onTick?.();
  }
}

/** Ticks every `ms` milliseconds: the runtime of a live node, not a wait. */
export class IntervalTicker implements Ticker {
  private timer: NodeJS.Timeout | undefined;
  private readonly ms: number;

  constructor(ms: number) {
    this.ms = ms;
  }

  start(onTick: () => void): void {
    this.timer = setInterval(onTick, this.ms);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface Member {
  id: number;
  node: RaftNode;
  storage: MemoryStorage;
  applied: Entry[];
}

/** A started RaftNode of a brand-new cluster of `ids`, on `transport` and `ticker`. */
export function startMember(
  id: number,
  ids: number[],
  transport: Transport,
  ticker: Ticker,
  seed: number,
  storage: MemoryStorage = new MemoryStorage(),
): Member {
  const applied: Entry[] = [];
  const node = new RaftNode({
    config: {
      id,
      peers: ids,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      random: seededRandom(seed * 31 + id),
    },
    transport,
    ticker,
    apply: (e) => applied.push(e),
  });
  node.start();
  return { id, node, storage, applied };
}

/** The leader every given node agrees on, with its term, or undefined while they disagree. */
export function agreedLeader(members: Member[]): { leader: number; term: number } | undefined {
  const statuses: RaftNodeStatus[] = members.map((m) => m.node.status());
  const leaders = statuses.filter((s) => s.role === StateType.Leader);
  const [first] = leaders;
  if (first === undefined || leaders.length !== 1) {
    return undefined;
  }
  const agreed = statuses.every((s) => s.leader === first.id && s.term === first.term);
  return agreed ? { leader: first.id, term: first.term } : undefined;
}
