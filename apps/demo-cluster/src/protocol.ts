/**
 * What the supervisor and its node processes say to each other over the IPC channel of
 * `child_process.fork`, and how a node process is configured (environment variables).
 */

/** Everything a node process needs to know, passed as JSON in `TINYRAFT_NODE`. */
export interface NodeSpec {
  id: number;
  /** Raft traffic (transport-ws) listens here. */
  raftPort: number;
  /** The key-value HTTP API listens here. */
  httpPort: number;
  /** Where this node's FileStorage lives. */
  dataDir: string;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** raft-core's `Config.fastFirstElection`: a brand-new node's first timer starts part way in. */
  fastFirstElection: boolean;
  /** Every member, this node included. */
  members: Array<{ id: number; raftPort: number; httpPort: number }>;
}

export const nodeSpecEnv = 'TINYRAFT_NODE';
/** The shared secret of the cluster's transport; never written to disk. */
export const secretEnv = 'TINYRAFT_SECRET';

export const host = '127.0.0.1';

/** The role names the views show (raft-core's StateType, by name). */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface NodeReport {
  id: number;
  pid: number;
  role: Role;
  term: number;
  leader: number;
  lastIndex: number;
  commit: number;
  applied: number;
  /** When this node last heard from its leader (or, as leader, from a follower); 0 = never. */
  lastHeartbeatAt: number;
  isolated: boolean;
  /** The term this process loaded from its storage when it started. */
  bootTerm: number;
}

export type ToSupervisor =
  | { type: 'ready'; report: NodeReport }
  | { type: 'status'; report: NodeReport }
  | { type: 'error'; message: string };

export type ToNode = { type: 'isolate'; isolated: boolean } | { type: 'shutdown' };

export function isToNode(m: unknown): m is ToNode {
  if (typeof m !== 'object' || m === null) {
    return false;
  }
  const t = (m as { type?: unknown }).type;
  return (
    t === 'shutdown' ||
    (t === 'isolate' && typeof (m as { isolated?: unknown }).isolated === 'boolean')
  );
}

export function isToSupervisor(m: unknown): m is ToSupervisor {
  if (typeof m !== 'object' || m === null) {
    return false;
  }
  const t = (m as { type?: unknown }).type;
  return t === 'ready' || t === 'status' || t === 'error';
}
