import { type Config, type Message, Raft, type Storage } from '@tinyraft/raft-core';

/** Anything a `Network` can deliver to: a `Raft`, or a stand-in such as `blackHole`. */
export interface StateMachine {
  step(m: Message): void;
  /** Returns everything the machine wants to send and forgets it. */
  readMessages(): Message[];
}

/** A dead peer: swallows every message and never answers. */
export const blackHole: StateMachine = Object.freeze({
  step: (_m: Message): void => undefined,
  readMessages: (): Message[] => [],
});

/** A `Config` with exactly the given fields (and the default `Math.random`). */
export function newTestConfig(
  id: number,
  peers: number[],
  electionTick: number,
  heartbeatTick: number,
  storage: Storage,
): Config {
  return { id, peers, electionTick, heartbeatTick, storage };
}

/** A fresh `Raft` built from `newTestConfig`: a follower in term 0 (unless `storage` says otherwise). */
export function newTestRaft(
  id: number,
  peers: number[],
  electionTick: number,
  heartbeatTick: number,
  storage: Storage,
): Raft {
  return new Raft(newTestConfig(id, peers, electionTick, heartbeatTick, storage));
}

/** The ids of an `n`-node cluster: `[1, …, n]`. */
export function idsBySize(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`cluster size must be a non-negative integer, got ${n}`);
  }
  return Array.from({ length: n }, (_, k) => k + 1);
}
