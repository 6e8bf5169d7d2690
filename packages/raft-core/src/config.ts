import type { Storage } from '@tinyraft/raft-log';
import { ConfigError } from './errors.js';
import { None } from './message.js';

/** How to build a `Raft` node. */
export interface Config {
  /** This node's id; never `None` (0). */
  id: number;
  /**
   * Every member of a brand-new cluster, this node included. When absent or empty the membership
   * comes from `storage.initialState().confState.nodes` (a restarted node).
   */
  peers?: number[];
  /** Ticks a follower waits without hearing from a leader before it campaigns (randomized in [et, 2·et)). */
  electionTick: number;
  /** Ticks between a leader's heartbeats. Must be less than `electionTick`. */
  heartbeatTick: number;
  /** The node's stable storage, read-only to raft. */
  storage: Storage;
  /** The index of the last entry the application has already applied (for restarts). */
  applied?: number;
  /** A uniform source in [0, 1); default `Math.random`. Seed it to make a run reproducible. */
  random?: () => number;
  /**
   * The most entry payload bytes one MsgAppend carries (at least one entry is always sent).
   * Default 1 MiB. Bounds the size of the messages that catch up a lagging follower.
   */
  maxSizePerMsg?: number;
  /**
   * A leader that has not heard from a majority within an election timeout steps down, so that a
   * partitioned leader stops believing it leads. Default false (the TinyKV behaviour).
   */
  checkQuorum?: boolean;
  /**
   * A brand-new node (term 0, empty log) starts its first election timer already
   * `electionTick - heartbeatTick - 1` ticks in, so a new cluster elects its first leader that
   * many ticks sooner. The timeout itself is still drawn from [et, 2·et); what is left of it, at
   * least `heartbeatTick + 1` ticks, still gives a live leader time to be heard first. A node that
   * restarts with state waits the whole timeout. Default false (the TinyKV behaviour).
   */
  fastFirstElection?: boolean;
  /**
   * Pre-Vote (§9.6 of the Raft dissertation): a node whose election timer fires first asks the
   * others whether they would vote for it, keeping its term; only with a majority's yes does it
   * campaign. A member that could not win (its log is behind, or the others still hear from a
   * leader) then never raises the cluster's term, so a node rejoining after a partition does not
   * depose a working leader. Default false (the TinyKV behaviour).
   */
  preVote?: boolean;
}

const isCount = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Throws `ConfigError` for the first problem found, in the order the API contract fixes. */
export function validateConfig(c: Config): void {
  if (c.id === None) {
    throw new ConfigError('cannot use none as id');
  }
  if (!isCount(c.id)) {
    throw new ConfigError(`id must be a positive integer, got ${String(c.id)}`);
  }
  if (typeof c.heartbeatTick !== 'number' || !(c.heartbeatTick > 0)) {
    throw new ConfigError('heartbeat tick must be greater than 0');
  }
  if (!Number.isSafeInteger(c.heartbeatTick)) {
    throw new ConfigError(`heartbeat tick must be an integer, got ${c.heartbeatTick}`);
  }
  if (typeof c.electionTick !== 'number' || !(c.electionTick > c.heartbeatTick)) {
    throw new ConfigError('election tick must be greater than heartbeat tick');
  }
  if (!Number.isSafeInteger(c.electionTick)) {
    throw new ConfigError(`election tick must be an integer, got ${c.electionTick}`);
  }
  if (c.storage === undefined || c.storage === null) {
    throw new ConfigError('storage cannot be nil');
  }
  if (c.applied !== undefined && !isCount(c.applied)) {
    throw new ConfigError(`applied must be a non-negative integer, got ${String(c.applied)}`);
  }
  if (c.random !== undefined && typeof c.random !== 'function') {
    throw new ConfigError('random must be a function returning a number in [0, 1)');
  }
  for (const [name, value] of [
    ['checkQuorum', c.checkQuorum],
    ['fastFirstElection', c.fastFirstElection],
    ['preVote', c.preVote],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new ConfigError(`${name} must be a boolean, got ${typeof value}`);
    }
  }
  if (c.maxSizePerMsg !== undefined && !(isCount(c.maxSizePerMsg) && c.maxSizePerMsg > 0)) {
    throw new ConfigError(
      `maxSizePerMsg must be a positive integer, got ${String(c.maxSizePerMsg)}`,
    );
  }
  if (c.peers !== undefined) {
    if (!Array.isArray(c.peers)) {
      throw new ConfigError('peers must be an array of node ids');
    }
    const seen = new Set<number>();
    for (const p of c.peers) {
      if (!isCount(p) || p === None) {
        throw new ConfigError(`peer ids must be positive integers, got ${String(p)}`);
      }
      if (seen.has(p)) {
        throw new ConfigError(`peer ${p} is listed twice`);
      }
      seen.add(p);
    }
    if (c.peers.length > 0 && !seen.has(c.id)) {
      throw new ConfigError(`peers [${c.peers.join(', ')}] must include this node's id ${c.id}`);
    }
  }
}
