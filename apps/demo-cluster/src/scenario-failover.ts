import { KvClient } from './client.js';
import type { Cluster, ClusterEvent } from './supervisor.js';

export interface FailoverReport {
  ok: boolean;
  /** What went wrong, when `ok` is false. */
  failure?: string;
  oldLeader?: number;
  oldTerm?: number;
  newLeader?: number;
  newTerm?: number;
  /** From the SIGKILL to the report of a new leader. */
  reelectionMs?: number;
  /** The term the restarted node loaded from its storage. */
  bootTerm?: number;
  /** From the restart to the new process reporting ready (process start, storage recovery). */
  bootMs?: number;
  /** From the restart to the node following the new leader and having applied the probe write. */
  rejoinMs?: number;
}

/** Deadlines scaled to the cluster's election timeout, with floors for slow machines. */
export function deadlines(cluster: Cluster): {
  leaderMs: number;
  electionMs: number;
  rejoinMs: number;
} {
  const election = cluster.options.electionTicks * cluster.options.tickMs;
  return {
    leaderMs: Math.max(10_000, 20 * election),
    electionMs: Math.max(5_000, 10 * election),
    rejoinMs: Math.max(10_000, 20 * election),
  };
}

/** The first event of `kind` after `since` that `match` accepts, once it has happened. */
export async function waitForEvent(
  cluster: Cluster,
  since: number,
  match: (e: ClusterEvent) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ClusterEvent> {
  let found: ClusterEvent | undefined;
  await cluster.waitUntil(
    () => {
      found = cluster.events.find((e) => e.at >= since && match(e));
      return found !== undefined;
    },
    timeoutMs,
    what,
  );
  return found as ClusterEvent;
}

/**
 * Kills the leader's process with SIGKILL, measures how long the others take to elect a new
 * leader, restarts the killed node on its data directory and ports, and checks that it comes
 * back with the term it had persisted (§5.1, Figure 2: currentTerm is stable state) and rejoins
 * as a follower of the new leader, catching up on what it missed.
 */
export async function failoverScenario(
  cluster: Cluster,
  log: (line: string) => void,
): Promise<FailoverReport> {
  const report: FailoverReport = { ok: false };
  const limits = deadlines(cluster);
  try {
    const leader = await cluster.waitForLeader(limits.leaderMs);
    const oldLeader = leader.id;
    const oldTerm = leader.report?.term ?? 0;
    report.oldLeader = oldLeader;
    report.oldTerm = oldTerm;
    log(`leader is node ${oldLeader} in term ${oldTerm}`);

    const client = new KvClient({ urls: cluster.urls(), deadlineMs: limits.leaderMs });
    const probeIndex = (await client.put('failover-probe', `before-kill-${Date.now()}`)) ?? 0;
    log(`probe write committed at index ${probeIndex}`);

    const killedAt = Date.now();
    await cluster.kill(oldLeader);
    log(`killed node ${oldLeader} (SIGKILL)`);
    const elected = await waitForEvent(
      cluster,
      killedAt,
      (e) => e.kind === 'leader' && e.node !== oldLeader && (e.term ?? 0) > oldTerm,
      limits.electionMs,
      `new leader after killing node ${oldLeader}`,
    );
    report.newLeader = elected.node;
    report.newTerm = elected.term as number;
    report.reelectionMs = elected.at - killedAt;
    log(`node ${elected.node} elected in term ${elected.term} after ${report.reelectionMs} ms`);

    // A write in the new term, so the restarted node has something to catch up on.
    const afterIndex = (await client.put('failover-probe', `after-kill-${Date.now()}`)) ?? 0;

    const restartedAt = Date.now();
    await cluster.restart(oldLeader);
    report.bootMs = Date.now() - restartedAt;
    const boot = cluster.node(oldLeader).report;
    report.bootTerm = boot?.bootTerm ?? 0;
    if (report.bootTerm < oldTerm) {
      throw new Error(
        `node ${oldLeader} restarted with term ${report.bootTerm}, below the term ${oldTerm} it had persisted`,
      );
    }
    log(
      `restarted node ${oldLeader} in ${report.bootMs} ms; it loaded term ${report.bootTerm} from disk`,
    );
    await cluster.waitUntil(
      () => {
        const r = cluster.node(oldLeader).report;
        const current = cluster.leader();
        return (
          r !== null &&
          current !== undefined &&
          r.role === 'follower' &&
          r.leader === current.id &&
          r.term >= oldTerm &&
          r.applied >= Math.max(probeIndex, afterIndex)
        );
      },
      limits.rejoinMs,
      `node ${oldLeader} following the leader with index ${afterIndex} applied`,
    );
    report.rejoinMs = Date.now() - restartedAt;
    const r = cluster.node(oldLeader).report;
    log(
      `node ${oldLeader} rejoined as follower of node ${r?.leader} in term ${r?.term} after ${report.rejoinMs} ms (applied ${r?.applied})`,
    );
    report.ok = true;
  } catch (error) {
    report.failure = error instanceof Error ? error.message : String(error);
  }
  return report;
}
