import { randomBytes } from 'node:crypto';
import { KvClient, KvClientError } from './client.js';
import type { KvDigest } from './kv.js';
import { deadlines, waitForEvent } from './scenario-failover.js';
import type { Cluster } from './supervisor.js';

export interface WritesOptions {
  writes: number;
  concurrency: number;
  /** How many times the leader is killed (and restarted) while the writes run. */
  kills: number;
}

export interface KillFigures {
  node: number;
  term: number;
  /** From the SIGKILL to the report of a new leader. */
  reelectionMs: number;
  /** From the SIGKILL to the first acknowledgement of a write that started after it. */
  recoveryMs: number;
  /** From the restart to the node following the leader again. */
  rejoinMs: number;
}

export interface WritesReport {
  ok: boolean;
  failure?: string;
  attempted: number;
  acknowledged: number;
  /** Writes that were still not acknowledged when their retry deadline passed. */
  unacknowledged: number;
  retries: number;
  redirects: number;
  /** Retried writes the state machine recognised by request id and did not apply again. */
  duplicatesSkipped: number;
  /** Retried writes a leader acknowledged without a new entry, their id being applied already. */
  retriesAcknowledged: number;
  kills: KillFigures[];
  writeMs: number;
  totalMs: number;
  readsVerified: number;
  digest?: KvDigest;
}

interface NodeStatus {
  id: number;
  digest: KvDigest;
  duplicates: number;
}

/**
 * Writes `writes` distinct keys with `concurrency` requests in flight while the leader is killed
 * and restarted `kills` times. Then every acknowledged write must read back with its value
 * (through the leader, linearizably), and every node must report the same applied index and the
 * same hash of its applied entries.
 */
export async function writesScenario(
  cluster: Cluster,
  options: WritesOptions,
  log: (line: string) => void,
): Promise<WritesReport> {
  const started = Date.now();
  const limits = deadlines(cluster);
  const client = new KvClient({
    urls: cluster.urls(),
    requestTimeoutMs: Math.max(2_000, 4 * cluster.options.electionTicks * cluster.options.tickMs),
    deadlineMs: 60_000,
  });
  const run = randomBytes(4).toString('hex');
  const acked = new Map<string, string>();
  const report: WritesReport = {
    ok: false,
    attempted: 0,
    acknowledged: 0,
    unacknowledged: 0,
    retries: 0,
    redirects: 0,
    duplicatesSkipped: 0,
    retriesAcknowledged: 0,
    kills: [],
    writeMs: 0,
    totalMs: 0,
    readsVerified: 0,
  };
  /** Ack time of every write, keyed by the time its operation started. */
  const acks: Array<{ startedAt: number; ackedAt: number }> = [];
  let writing = true;

  try {
    await cluster.waitForLeader(limits.leaderMs);
    log(
      `writing ${options.writes} keys, ${options.concurrency} in flight, killing the leader ${options.kills} times`,
    );
    const writeStart = Date.now();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < options.writes; i = next++) {
        const key = `key-${i}`;
        const value = `value-${i}-${run}`;
        report.attempted++;
        const startedAt = Date.now();
        try {
          const index = await client.put(key, value, `${run}-${i}`);
          if (index === null) {
            // The leader found this request id applied already: an earlier attempt took effect.
            report.retriesAcknowledged++;
          }
          acked.set(key, value);
          acks.push({ startedAt, ackedAt: Date.now() });
          if (acked.size % 1_000 === 0) {
            log(`${acked.size} writes acknowledged`);
          }
        } catch (error) {
          if (!(error instanceof KvClientError)) {
            throw error;
          }
          report.unacknowledged++;
          log(`write ${key} not acknowledged: ${error.message}`);
        }
      }
    };
    const chaos = async () => {
      for (let k = 1; k <= options.kills; k++) {
        const threshold = Math.floor((k * options.writes) / (options.kills + 1));
        await cluster.waitUntil(
          () => acked.size >= threshold || !writing,
          limits.rejoinMs + 60_000,
          `${threshold} acknowledged writes`,
        );
        if (!writing) {
          return;
        }
        const leader = await cluster.waitForLeader(limits.leaderMs);
        const term = leader.report?.term ?? 0;
        const killedAt = Date.now();
        await cluster.kill(leader.id);
        log(`kill ${k}: killed leader node ${leader.id} (term ${term}) after ${acked.size} acks`);
        const elected = await waitForEvent(
          cluster,
          killedAt,
          (e) => e.kind === 'leader' && e.node !== leader.id && (e.term ?? 0) > term,
          limits.electionMs,
          `new leader after killing node ${leader.id}`,
        );
        await cluster.waitUntil(
          () => acks.some((a) => a.startedAt > killedAt) || !writing,
          limits.electionMs,
          `a write started after kill ${k} being acknowledged`,
        );
        const firstAfter = acks.filter((a) => a.startedAt > killedAt).map((a) => a.ackedAt);
        const recoveryMs = firstAfter.length > 0 ? Math.min(...firstAfter) - killedAt : Number.NaN;
        log(
          `kill ${k}: node ${elected.node} elected after ${elected.at - killedAt} ms; writes resumed after ${recoveryMs} ms`,
        );
        const restartedAt = Date.now();
        await cluster.restart(leader.id);
        await cluster.waitUntil(
          () => {
            const r = cluster.node(leader.id).report;
            const current = cluster.leader();
            return r?.role === 'follower' && current !== undefined && r.leader === current.id;
          },
          limits.rejoinMs,
          `node ${leader.id} following the leader after its restart`,
        );
        const rejoinMs = Date.now() - restartedAt;
        log(`kill ${k}: node ${leader.id} restarted and rejoined as follower after ${rejoinMs} ms`);
        report.kills.push({
          node: leader.id,
          term,
          reelectionMs: elected.at - killedAt,
          recoveryMs,
          rejoinMs,
        });
      }
    };
    const workers = Promise.all(Array.from({ length: options.concurrency }, worker)).finally(() => {
      writing = false;
    });
    await Promise.all([workers, chaos()]);
    report.writeMs = Date.now() - writeStart;
    report.acknowledged = acked.size;
    report.retries = client.stats.retries;
    report.redirects = client.stats.redirects;
    log(`${acked.size} writes acknowledged in ${report.writeMs} ms; reading them back`);

    const mismatches = await verifyReads(client, acked, options.concurrency);
    report.readsVerified = acked.size - mismatches.length;
    if (mismatches.length > 0) {
      throw new Error(
        `${mismatches.length} acknowledged writes read back wrong, e.g. ${mismatches.slice(0, 3).join('; ')}`,
      );
    }
    log(`all ${acked.size} acknowledged writes read back with their values`);

    const statuses = await convergedStatuses(cluster, limits.rejoinMs);
    const first = statuses[0] as NodeStatus;
    report.digest = first.digest;
    report.duplicatesSkipped = first.duplicates;
    for (const s of statuses) {
      log(
        `node ${s.id}: applied ${s.digest.applied}, ${s.digest.keys} keys, hash ${s.digest.hash.slice(0, 16)}…`,
      );
    }
    if (report.unacknowledged > 0) {
      throw new Error(`${report.unacknowledged} writes were never acknowledged`);
    }
    if (report.kills.length !== options.kills) {
      throw new Error(
        `only ${report.kills.length} of ${options.kills} kills happened before the writes finished`,
      );
    }
    report.ok = true;
  } catch (error) {
    report.failure = error instanceof Error ? error.message : String(error);
  } finally {
    writing = false;
    report.totalMs = Date.now() - started;
    report.acknowledged = acked.size;
    report.retries = client.stats.retries;
    report.redirects = client.stats.redirects;
  }
  return report;
}

async function verifyReads(
  client: KvClient,
  acked: ReadonlyMap<string, string>,
  concurrency: number,
): Promise<string[]> {
  const entries = [...acked];
  const mismatches: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < entries.length; i = next++) {
      const [key, want] = entries[i] as [string, string];
      const got = await client.get(key);
      if (got !== want) {
        mismatches.push(`${key}: wrote ${JSON.stringify(want)}, read ${JSON.stringify(got)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return mismatches;
}

/**
 * Waits until every node is up and has applied the same index, then asks each for its digest;
 * all must be equal. Retries while a node is still catching up, until `timeoutMs`.
 */
async function convergedStatuses(cluster: Cluster, timeoutMs: number): Promise<NodeStatus[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const up = cluster.nodes().every((n) => n.state === 'up');
    if (up) {
      const statuses = await Promise.all(
        cluster.nodes().map(async (n) => {
          const res = await fetch(`${n.url}/status`, { signal: AbortSignal.timeout(2_000) });
          return (await res.json()) as NodeStatus;
        }),
      );
      const hashes = new Set(statuses.map((s) => `${s.digest.applied}:${s.digest.hash}`));
      if (hashes.size === 1) {
        return statuses;
      }
      last = statuses
        .map((s) => `node ${s.id} applied ${s.digest.applied} hash ${s.digest.hash.slice(0, 12)}`)
        .join(', ');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `nodes did not converge on one applied log within ${timeoutMs} ms: ${last || 'not all up'}`,
  );
}
