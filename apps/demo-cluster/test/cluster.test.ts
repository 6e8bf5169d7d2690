import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { failoverScenario } from '../src/scenario-failover.js';
import { Cluster, type ClusterInfo } from '../src/supervisor.js';
import { TerminalView } from '../src/terminal-view.js';
import { assertBuilt, nodeEntry, pidAlive, portFree, waitFor } from './helpers.js';

let cluster: Cluster | undefined;

beforeAll(assertBuilt);

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Three node processes on 20 ms ticks; `afterEach` stops them. */
async function startCluster(): Promise<Cluster> {
  cluster = await Cluster.start({
    nodes: 3,
    tickMs: 20,
    electionTicks: 10,
    heartbeatTicks: 1,
    nodeEntry,
    currentFile: null,
  });
  return cluster;
}

describe('a cluster of node processes', () => {
  it('elects a leader, serves the KV API through a follower, fails over, and stops cleanly', async () => {
    const c = await startCluster();
    const info = JSON.parse(readFileSync(`${c.dataDir}/cluster.json`, 'utf8')) as ClusterInfo;
    expect(info.nodes.map((n) => n.id)).toEqual([1, 2, 3]);

    const leader = await c.waitForLeader(10_000);
    const follower = c.nodes().find((n) => n.id !== leader.id);
    if (follower === undefined) {
      throw new Error('no follower');
    }
    const redirect = await fetch(`${follower.url}/kv/greeting`, {
      method: 'PUT',
      body: 'hello',
      redirect: 'manual',
    });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe(`${leader.url}/kv/greeting`);

    const client = new KvClient({ urls: [follower.url], deadlineMs: 10_000 });
    const index = await client.put('greeting', 'hello');
    expect(index).toBeGreaterThan(0);
    expect(await client.get('greeting')).toBe('hello');
    expect(client.stats.redirects).toBeGreaterThan(0);
    // The write reaches every replica's state machine.
    await c.waitUntil(
      () => c.nodes().every((n) => (n.report?.applied ?? 0) >= (index ?? 0)),
      10_000,
      `every node applying index ${index}`,
    );

    const lines: string[] = [];
    const report = await failoverScenario(c, (l) => lines.push(l));
    expect(report.ok, `${report.failure}\n${lines.join('\n')}`).toBe(true);
    expect(report.newLeader).not.toBe(report.oldLeader);
    expect(report.bootTerm).toBeGreaterThanOrEqual(report.oldTerm ?? Number.NaN);
    // The value written before the failover survives it.
    expect(await client.get('greeting')).toBe('hello');

    const pids = c.nodes().map((n) => n.pid as number);
    const ports = info.nodes.flatMap((n) => [
      Number(new URL(n.url).port),
      Number(new URL(n.raftUrl).port),
    ]);
    await c.stop();
    cluster = undefined;
    expect(pids.filter(pidAlive)).toEqual([]);
    for (const port of ports) {
      expect(await portFree(port), `port ${port} still bound`).toBe(true);
    }
    expect(existsSync(c.dataDir)).toBe(false);
  });

  it('a view started after the first election still shows it', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader(10_000);
    let printed = '';
    const out = { write: (s: string) => (printed += s) } as unknown as NodeJS.WriteStream;
    const view = new TerminalView(c, { out, live: false });
    view.start();
    view.stop();
    expect(printed).toContain(`node ${leader.id} is leader of term ${leader.report?.term}`);
  });

  it('isolating the leader makes it step down (check quorum) and the rest elect another', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader(10_000);
    c.isolate(leader.id, true);
    const other = await c.waitForLeader(10_000, leader.id);
    expect(other.id).not.toBe(leader.id);
    await waitFor(
      () => c.node(leader.id).report?.role !== 'leader',
      10_000,
      'the isolated leader stepping down',
    );
    expect(c.events.some((e) => e.kind === 'step-down' && e.node === leader.id)).toBe(true);
    c.isolate(leader.id, false);
    await waitFor(
      () => {
        const r = c.node(leader.id).report;
        const current = c.leader();
        return r !== null && !r.isolated && current !== undefined && r.leader === current.id;
      },
      10_000,
      `node ${leader.id} following a leader after it is healed`,
    );
  });
});
