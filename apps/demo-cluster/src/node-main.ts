/**
 * One cluster member, run as a child process of the supervisor (`child_process.fork`): a
 * `RaftNode` over transport-ws with a FileStorage, the key-value state machine and its HTTP API.
 * It reports its status over the IPC channel and takes commands from it, and it exits when that
 * channel closes, so a supervisor that dies leaves no node behind.
 */
import { RaftNode, StateType } from '@tinyraft/raft-core';
import { FileStorage } from '@tinyraft/raft-log/file';
import { WebSocketTransport } from '@tinyraft/transport-ws';
import { GatedTransport } from './gated-transport.js';
import { KvStore } from './kv.js';
import { KvServer } from './kv-server.js';
import {
  host,
  isToNode,
  type NodeReport,
  type NodeSpec,
  nodeSpecEnv,
  type Role,
  secretEnv,
  type ToSupervisor,
} from './protocol.js';
import { IntervalTicker } from './ticker.js';

const roleNames: Record<StateType, Role> = {
  [StateType.Follower]: 'follower',
  [StateType.PreCandidate]: 'pre-candidate',
  [StateType.Candidate]: 'candidate',
  [StateType.Leader]: 'leader',
};

/** How often a node reports its status when nothing notable happens. */
const reportIntervalMs = 50;
/** A node that cannot shut down cleanly in this time exits anyway. */
const shutdownDeadlineMs = 3_000;

function readSpec(): { spec: NodeSpec; secret: string } {
  const rawSpec = process.env[nodeSpecEnv];
  const secret = process.env[secretEnv];
  if (rawSpec === undefined || secret === undefined || secret.length === 0) {
    throw new Error(`${nodeSpecEnv} and ${secretEnv} must be set (the supervisor starts nodes)`);
  }
  return { spec: JSON.parse(rawSpec) as NodeSpec, secret };
}

function send(m: ToSupervisor): void {
  if (process.connected) {
    process.send?.(m);
  }
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    throw new Error('node-main runs as a child of the supervisor, with an IPC channel');
  }
  const { spec, secret } = readSpec();
  // Ctrl-C reaches the whole process group; the supervisor decides how its nodes stop.
  process.on('SIGINT', () => {});

  const electionMs = spec.electionTicks * spec.tickMs;
  const storage = FileStorage.open(spec.dataDir);
  const bootTerm = storage.initialState().hardState.term;
  const peers: Record<number, string> = {};
  for (const m of spec.members) {
    if (m.id !== spec.id) {
      peers[m.id] = `ws://${host}:${m.raftPort}`;
    }
  }
  const wsTransport = new WebSocketTransport({
    id: spec.id,
    listen: { host, port: spec.raftPort },
    peers,
    secret,
    // Redial a restarted peer within half an election timeout rather than the default 5 s cap,
    // so that it hears from the leader (and rejoins) promptly.
    reconnect: {
      initialDelayMs: Math.min(50, electionMs),
      maxDelayMs: Math.max(50, Math.floor(electionMs / 2)),
    },
  });
  const transport = new GatedTransport(wsTransport);
  const store = new KvStore();
  const node = new RaftNode({
    config: {
      id: spec.id,
      peers: spec.members.map((m) => m.id),
      electionTick: spec.electionTicks,
      heartbeatTick: spec.heartbeatTicks,
      storage,
      checkQuorum: true,
      // An isolated node that comes back does not depose a healthy leader with its raised term.
      preVote: true,
      fastFirstElection: spec.fastFirstElection,
    },
    transport,
    ticker: new IntervalTicker(spec.tickMs),
    apply: (entry) => store.apply(entry),
    // Writes and messages that arrive in one turn of the event loop share one Ready: one fsync.
    schedule: (run) => setImmediate(run),
  });

  const report = (): NodeReport => {
    const s = node.status();
    return {
      id: s.id,
      pid: process.pid,
      role: roleNames[s.role],
      term: s.term,
      leader: s.leader,
      lastIndex: s.lastIndex,
      commit: s.commit,
      applied: s.applied,
      lastHeartbeatAt: s.role === StateType.Candidate ? 0 : transport.lastHeartbeatAt,
      isolated: transport.isolated,
      bootTerm,
    };
  };
  const memberUrls = new Map(spec.members.map((m) => [m.id, `http://${host}:${m.httpPort}`]));
  const kv = new KvServer({
    node,
    store,
    memberUrls,
    proposalTimeoutMs: Math.max(1_000, 3 * electionMs),
    status: () => ({
      ...report(),
      duplicates: store.duplicates,
      transport: wsTransport.stats(),
    }),
  });

  const reportNow = () => send({ type: 'status', report: report() });
  node.on('roleChanged', reportNow);
  node.on('leaderChanged', reportNow);
  node.on('termChanged', reportNow);
  const reporter = setInterval(reportNow, reportIntervalMs);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) {
      return;
    }
    stopping = true;
    setTimeout(() => process.exit(1), shutdownDeadlineMs).unref();
    clearInterval(reporter);
    await Promise.allSettled([node.stop(), kv.close()]);
    storage.close();
    process.exit(0);
  };
  // The supervisor is gone (even if it was SIGKILLed): a node never outlives it.
  process.on('disconnect', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.on('message', (m: unknown) => {
    if (!isToNode(m)) {
      return;
    }
    if (m.type === 'shutdown') {
      void shutdown();
    } else {
      transport.isolated = m.isolated;
      reportNow();
    }
  });

  await kv.listen(spec.httpPort, host);
  // The node takes the transport's handler first, so no peer message arrives to no one.
  node.start();
  await wsTransport.start();
  send({ type: 'ready', report: report() });
}

main().catch((error: unknown) => {
  console.error(error);
  const m: ToSupervisor = {
    type: 'error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  };
  // Exit once the report is on its way (or at once without a channel).
  if (process.connected && process.send !== undefined) {
    process.send(m, () => process.exit(1));
  } else {
    process.exit(1);
  }
});
