/**
 * `pnpm demo`: starts a cluster of node processes with a live terminal view and a web dashboard,
 * or runs one of the scenarios (`--scenario failover|writes`) and exits with its verdict.
 */
import { parseArgs } from 'node:util';
import { Dashboard } from './dashboard.js';
import { type FailoverReport, failoverScenario } from './scenario-failover.js';
import { type WritesReport, writesScenario } from './scenario-writes.js';
import { Cluster, ClusterError, type ClusterOptions } from './supervisor.js';
import { clock, formatEvent, TerminalView } from './terminal-view.js';

const usage = `Usage: node apps/demo-cluster/dist/main.js [options]

  --nodes <n>             cluster size (default 3)
  --tick-ms <ms>          milliseconds per raft tick (default 100)
  --election-ticks <n>    election timeout in ticks (default 10)
  --heartbeat-ticks <n>   heartbeat interval in ticks (default 1)
  --whole-first-timeout   brand-new nodes wait a whole election timeout before their first
                          campaign (default: fastFirstElection, the first leader comes sooner)
  --data-dir <dir>        where nodes keep their logs (default: a fresh temporary directory,
                          removed on exit; a chosen directory is kept and reused)
  --base-port <port>      use ports port, port+1, … (two per node) instead of free ones
  --dashboard-port <port> dashboard port on 127.0.0.1 (default: a free port)
  --scenario <name>       run a scenario and exit: failover | writes
  --writes <n>            writes in the "writes" scenario (default 10000)
  --concurrency <n>       writes in flight in the "writes" scenario (default 32)
  --help                  show this help
`;

function integer(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      'heartbeat-ticks': { type: 'string' },
      'whole-first-timeout': { type: 'boolean' },
      'data-dir': { type: 'string' },
      'base-port': { type: 'string' },
      'dashboard-port': { type: 'string' },
      scenario: { type: 'string' },
      writes: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  const scenario = values.scenario;
  if (scenario !== undefined && scenario !== 'failover' && scenario !== 'writes') {
    throw new UsageError(
      `--scenario must be "failover" or "writes", got ${JSON.stringify(scenario)}`,
    );
  }
  const cluster: ClusterOptions = {
    nodes: integer('nodes', values.nodes, 3),
    tickMs: integer('tick-ms', values['tick-ms'], 100),
    electionTicks: integer('election-ticks', values['election-ticks'], 10),
    heartbeatTicks: integer('heartbeat-ticks', values['heartbeat-ticks'], 1),
    fastFirstElection: values['whole-first-timeout'] !== true,
  };
  if (values['data-dir'] !== undefined) {
    cluster.dataDir = values['data-dir'];
  }
  if (values['base-port'] !== undefined) {
    cluster.basePort = integer('base-port', values['base-port'], 0);
  }
  return {
    help: values.help === true,
    cluster,
    scenario,
    dashboardPort: integer('dashboard-port', values['dashboard-port'], 0),
    writes: integer('writes', values.writes, 10_000),
    concurrency: Math.max(1, integer('concurrency', values.concurrency, 32)),
  };
}

function printFailover(r: FailoverReport, out: (s: string) => void): void {
  out('failover report:');
  out(`  old leader       node ${r.oldLeader ?? '-'} (term ${r.oldTerm ?? '-'})`);
  out(`  new leader       node ${r.newLeader ?? '-'} (term ${r.newTerm ?? '-'})`);
  out(`  re-election      ${r.reelectionMs ?? '-'} ms`);
  out(`  restarted term   ${r.bootTerm ?? '-'} (persisted; had ${r.oldTerm ?? '-'})`);
  out(`  rejoin           ${r.rejoinMs ?? '-'} ms (process ready after ${r.bootMs ?? '-'} ms)`);
  out(`  result           ${r.ok ? 'PASS' : `FAIL: ${r.failure}`}`);
}

function printWrites(r: WritesReport, out: (s: string) => void): void {
  out('writes report:');
  out(
    `  writes acknowledged   ${r.acknowledged} of ${r.attempted} (${r.unacknowledged} never acknowledged)`,
  );
  out(`  client retries        ${r.retries} (redirects followed: ${r.redirects})`);
  out(
    `  retries deduplicated  ${r.retriesAcknowledged} acknowledged as already applied, ${r.duplicatesSkipped} re-proposed entries skipped at apply`,
  );
  r.kills.forEach((k, i) => {
    out(
      `  kill ${i + 1}                node ${k.node} (term ${k.term}): re-election ${k.reelectionMs} ms, writes resumed ${k.recoveryMs} ms, rejoin ${k.rejoinMs} ms`,
    );
  });
  out(
    `  write phase           ${r.writeMs} ms (${r.writeMs > 0 ? Math.round((r.acknowledged * 1000) / r.writeMs) : 0} writes/s)`,
  );
  out(`  reads verified        ${r.readsVerified}`);
  if (r.digest !== undefined) {
    out(
      `  applied log           index ${r.digest.applied}, ${r.digest.keys} keys, sha256 ${r.digest.hash} on every node`,
    );
  }
  out(`  total time            ${r.totalMs} ms`);
  out(`  result                ${r.ok ? 'PASS' : `FAIL: ${r.failure}`}`);
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const cluster = await Cluster.start(args.cluster);
  let stopping: Promise<void> | undefined;
  let dashboard: Dashboard | undefined;
  let view: TerminalView | undefined;
  const stop = () => {
    stopping ??= (async () => {
      view?.stop();
      await dashboard?.close();
      await cluster.stop();
    })();
    return stopping;
  };
  const interrupted = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      view?.stop();
      view = undefined;
      out(`\n${clock(Date.now())}  ${signal}: stopping every node`);
      void stop().then(() => resolve(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });

  const { nodes, tickMs, electionTicks, heartbeatTicks } = args.cluster;
  out(
    `tinyraft demo: ${nodes} nodes, tick ${tickMs} ms, election ${electionTicks} ticks, heartbeat ${heartbeatTicks} ticks`,
  );
  out(`data dir:  ${cluster.dataDir}${args.cluster.dataDir === undefined ? ' (temporary)' : ''}`);
  for (const n of cluster.nodes()) {
    out(`node ${n.id}:    ${n.url}  (pid ${n.pid})`);
  }

  if (args.scenario !== undefined) {
    cluster.onEvent((e) => out(`${formatEvent(e)}`), true);
    const log = (s: string) => out(`${clock(Date.now())}  [${args.scenario}] ${s}`);
    const run = async (): Promise<number> => {
      if (args.scenario === 'failover') {
        const r = await failoverScenario(cluster, log);
        printFailover(r, out);
        return r.ok ? 0 : 1;
      }
      const r = await writesScenario(
        cluster,
        { writes: args.writes, concurrency: args.concurrency, kills: 2 },
        log,
      );
      printWrites(r, out);
      return r.ok ? 0 : 1;
    };
    const code = await Promise.race([run(), interrupted]);
    await stop();
    return code;
  }

  dashboard = new Dashboard(cluster);
  const url = await dashboard.listen(args.dashboardPort);
  cluster.setDashboardUrl(url);
  out(`dashboard: ${url}`);
  out('kv:        pnpm kv put greeting hello · pnpm kv get greeting   (Ctrl-C stops the cluster)');
  const live = process.stdout.isTTY === true && process.env.CI !== 'true';
  view = new TerminalView(cluster, {
    out: process.stdout,
    live,
    banner: [`dashboard ${url}`],
  });
  view.start();
  return interrupted;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`${error.message}\n\n${usage}`);
      process.exit(2);
    }
    process.stderr.write(
      `${error instanceof ClusterError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
