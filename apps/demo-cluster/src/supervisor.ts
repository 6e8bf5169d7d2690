import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';
import {
  host,
  isToSupervisor,
  type NodeReport,
  type NodeSpec,
  nodeSpecEnv,
  secretEnv,
  type ToNode,
} from './protocol.js';

export interface ClusterOptions {
  nodes: number;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /**
   * Start a brand-new node's first election timer part way in, so a new cluster has its leader
   * sooner (raft-core's `Config.fastFirstElection`). Default true; restarted nodes always wait
   * the whole timeout.
   */
  fastFirstElection?: boolean;
  /** Where node data and logs go; a fresh temporary directory (removed at stop) when absent. */
  dataDir?: string;
  /** Ports `basePort, basePort+1, …` (two per node: raft, then HTTP); free ports when absent. */
  basePort?: number;
  /** The node process entry point; defaults to the compiled `node-main.js` next to this file. */
  nodeEntry?: string;
  /**
   * Where to publish the running cluster for the CLI client; `null` publishes nowhere. Default
   * `os.tmpdir()/tinyraft-demo/current.json`.
   */
  currentFile?: string | null;
}

/**
 * The well-known file through which the CLI finds the running demo; `TINYRAFT_DEMO_CURRENT`
 * moves it (the tests do, so that they never touch a demo the user is running).
 */
export const defaultCurrentFile: string =
  process.env.TINYRAFT_DEMO_CURRENT ?? join(tmpdir(), 'tinyraft-demo', 'current.json');

/** What `cluster.json` (and the current file) hold. */
export interface ClusterInfo {
  supervisorPid: number;
  dataDir: string;
  dashboardUrl?: string;
  nodes: Array<{ id: number; url: string; raftUrl: string }>;
}

export type ProcessState = 'starting' | 'up' | 'down';

export interface NodeView {
  id: number;
  url: string;
  state: ProcessState;
  pid: number | null;
  restarts: number;
  /** The latest report of the current process; null until it is ready. */
  report: NodeReport | null;
  /** When the latest report arrived (ms since epoch). */
  reportedAt: number;
}

export type ClusterEventKind =
  | 'election'
  | 'leader'
  | 'step-down'
  | 'kill'
  | 'exit'
  | 'restart'
  | 'isolate'
  | 'heal'
  | 'error';

export interface ClusterEvent {
  at: number;
  kind: ClusterEventKind;
  node: number;
  term?: number;
  message: string;
}

/** Something the supervisor was asked to do and could not. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

/** A condition that did not become true before its deadline. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

interface Member {
  spec: NodeSpec;
  view: NodeView;
  child: ChildProcess | null;
  exited: Promise<void>;
}

const maxEvents = 200;
const readyDeadlineMs = 10_000;
const stopDeadlineMs = 4_000;

/**
 * Runs a cluster of node processes on 127.0.0.1: picks ports, generates the transport's shared
 * secret (handed to children through their environment only), forks one process per node,
 * collects their reports over IPC, turns role and term changes into a timeline of events, and
 * kills, restarts and isolates nodes on request.
 */
export class Cluster {
  readonly dataDir: string;
  readonly events: ClusterEvent[] = [];
  private readonly members = new Map<number, Member>();
  private readonly secret = randomBytes(32).toString('hex');
  private readonly ownsDataDir: boolean;
  private readonly currentFile: string | null;
  private readonly nodeEntry: string;
  private readonly eventListeners = new Set<(e: ClusterEvent) => void>();
  private readonly changeListeners = new Set<() => void>();
  private stopped = false;
  private info: ClusterInfo | undefined;

  private constructor(
    readonly options: ClusterOptions,
    specs: NodeSpec[],
    dataDir: string,
    ownsDataDir: boolean,
  ) {
    this.dataDir = dataDir;
    this.ownsDataDir = ownsDataDir;
    this.currentFile = options.currentFile === undefined ? defaultCurrentFile : options.currentFile;
    this.nodeEntry =
      options.nodeEntry ?? join(dirname(fileURLToPath(import.meta.url)), 'node-main.js');
    for (const spec of specs) {
      this.members.set(spec.id, {
        spec,
        view: {
          id: spec.id,
          url: `http://${host}:${spec.httpPort}`,
          state: 'down',
          pid: null,
          restarts: 0,
          report: null,
          reportedAt: 0,
        },
        child: null,
        exited: Promise.resolve(),
      });
    }
  }

  /** Starts every node and resolves once each has reported ready. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    validateOptions(options);
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tinyraft-demo-'));
    mkdirSync(dataDir, { recursive: true });
    const ports =
      options.basePort !== undefined
        ? Array.from({ length: 2 * options.nodes }, (_, i) => (options.basePort as number) + i)
        : await freePorts(2 * options.nodes, host);
    const members = Array.from({ length: options.nodes }, (_, i) => ({
      id: i + 1,
      raftPort: ports[2 * i] as number,
      httpPort: ports[2 * i + 1] as number,
    }));
    const specs: NodeSpec[] = members.map((m) => ({
      ...m,
      dataDir: join(dataDir, `node-${m.id}`),
      tickMs: options.tickMs,
      electionTicks: options.electionTicks,
      heartbeatTicks: options.heartbeatTicks,
      fastFirstElection: options.fastFirstElection ?? true,
      members,
    }));
    const cluster = new Cluster(options, specs, dataDir, ownsDataDir);
    try {
      await Promise.all(specs.map((s) => cluster.spawn(s.id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    cluster.publish();
    return cluster;
  }

  get ids(): number[] {
    return [...this.members.keys()];
  }

  nodes(): NodeView[] {
    return [...this.members.values()].map((m) => m.view);
  }

  node(id: number): NodeView {
    return this.member(id).view;
  }

  urls(): string[] {
    return this.nodes().map((n) => n.url);
  }

  /** Records the dashboard's address in the published cluster info. */
  setDashboardUrl(url: string): void {
    if (this.info !== undefined) {
      this.info.dashboardUrl = url;
      this.writeInfo();
    }
  }

  /**
   * Calls `listener` with every event from now on; with `replay`, first with the events already
   * recorded (a fast first election can be over before a view has started).
   */
  onEvent(listener: (e: ClusterEvent) => void, replay = false): () => void {
    if (replay) {
      for (const e of this.events) {
        listener(e);
      }
    }
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * The leader as the cluster sees it: among running nodes that say they lead, the one with the
   * highest term (an isolated old leader may still believe it leads until check quorum demotes
   * it). `undefined` when there is none.
   */
  leader(): NodeView | undefined {
    let best: NodeView | undefined;
    for (const n of this.nodes()) {
      if (n.state === 'up' && n.report?.role === 'leader') {
        if (best === undefined || n.report.term > (best.report as NodeReport).term) {
          best = n;
        }
      }
    }
    return best;
  }

  /** Resolves with the leader once one is elected that every running, connected node follows. */
  async waitForLeader(timeoutMs: number, exclude?: number): Promise<NodeView> {
    let found: NodeView | undefined;
    await this.waitUntil(
      () => {
        const l = this.leader();
        if (l === undefined || l.id === exclude || l.report?.isolated) {
          return false;
        }
        const term = (l.report as NodeReport).term;
        found = l;
        return this.nodes().every(
          (n) =>
            n.state !== 'up' ||
            n.report?.isolated === true ||
            (n.report?.term === term && n.report.leader === l.id),
        );
      },
      timeoutMs,
      'a leader followed by every running node',
    );
    return found as NodeView;
  }

  /** Polls `condition` until it holds; throws `DeadlineError` naming `what` after `timeoutMs`. */
  waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        if (this.stopped) {
          reject(new ClusterError(`cluster stopped while waiting for ${what}`));
        } else if (condition()) {
          resolve();
        } else if (Date.now() >= deadline) {
          reject(new DeadlineError(`no ${what} within ${timeoutMs} ms`));
        } else {
          setTimeout(check, 10);
        }
      };
      check();
    });
  }

  /** SIGKILLs a node's process (a crash: nothing is flushed or closed) and waits for it to exit. */
  async kill(id: number): Promise<void> {
    const m = this.member(id);
    if (m.child === null) {
      throw new ClusterError(`node ${id} is not running`);
    }
    this.record({
      kind: 'kill',
      node: id,
      message: `node ${id} killed (SIGKILL, pid ${m.child.pid})`,
    });
    m.child.kill('SIGKILL');
    await m.exited;
  }

  /** Starts a stopped node again with the same data directory and ports. */
  async restart(id: number): Promise<void> {
    const m = this.member(id);
    if (m.child !== null) {
      throw new ClusterError(`node ${id} is still running (pid ${m.child.pid})`);
    }
    m.view.restarts++;
    this.record({ kind: 'restart', node: id, message: `node ${id} restarting` });
    await this.spawn(id);
  }

  /** Cuts a node off from its peers (or reconnects it): its transport drops everything. */
  isolate(id: number, isolated: boolean): void {
    const m = this.member(id);
    if (m.child === null || m.view.state !== 'up') {
      throw new ClusterError(`node ${id} is not running`);
    }
    const command: ToNode = { type: 'isolate', isolated };
    m.child.send(command);
    this.record({
      kind: isolated ? 'isolate' : 'heal',
      node: id,
      message: isolated ? `node ${id} isolated from its peers` : `node ${id} reconnected`,
    });
  }

  /** Stops every node (politely, then SIGKILL after a deadline) and cleans up. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        const child = m.child;
        if (child === null) {
          return;
        }
        if (child.connected) {
          const command: ToNode = { type: 'shutdown' };
          child.send(command, () => {});
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), stopDeadlineMs);
        await m.exited;
        clearTimeout(timer);
      }),
    );
    if (this.currentFile !== null) {
      removeIfOurs(this.currentFile);
    }
    if (this.ownsDataDir) {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }

  private member(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) {
      throw new ClusterError(`no node ${id}; nodes are ${this.ids.join(', ')}`);
    }
    return m;
  }

  private spawn(id: number): Promise<void> {
    const m = this.member(id);
    const log = openSync(join(this.dataDir, `node-${id}.log`), 'a');
    let child: ChildProcess;
    try {
      child = fork(this.nodeEntry, [], {
        env: { ...process.env, [nodeSpecEnv]: JSON.stringify(m.spec), [secretEnv]: this.secret },
        execArgv: [],
        stdio: ['ignore', log, log, 'ipc'],
      });
    } finally {
      closeSync(log);
    }
    m.child = child;
    m.view.state = 'starting';
    m.view.pid = child.pid ?? null;
    m.view.report = null;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new ClusterError(`node ${id} did not report ready within ${readyDeadlineMs} ms`)),
        readyDeadlineMs,
      );
      child.on('message', (msg: unknown) => {
        if (!isToSupervisor(msg)) {
          return;
        }
        if (msg.type === 'error') {
          this.record({ kind: 'error', node: id, message: `node ${id}: ${msg.message}` });
          return;
        }
        if (msg.type === 'ready') {
          clearTimeout(timer);
          m.view.state = 'up';
          resolve();
        }
        this.observe(m, msg.report);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const tail = logTail(join(this.dataDir, `node-${id}.log`), 8);
        reject(
          new ClusterError(
            `node ${id} exited before it was ready (code ${code}, signal ${signal}); its log ends:\n${tail}`,
          ),
        );
      });
    });
    m.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        m.child = null;
        m.view.state = 'down';
        m.view.pid = null;
        if (!this.stopped && signal !== 'SIGKILL') {
          this.record({
            kind: 'exit',
            node: id,
            message: `node ${id} exited (code ${code}, signal ${signal})`,
          });
        }
        this.changed();
        resolve();
      });
    });
    return ready;
  }

  /** Turns a node's report into timeline events by comparing it with the previous one. */
  private observe(m: Member, r: NodeReport): void {
    const prev = m.view.report;
    m.view.report = r;
    m.view.reportedAt = Date.now();
    const id = m.view.id;
    if (r.role === 'leader' && (prev?.role !== 'leader' || prev.term !== r.term)) {
      this.record({
        kind: 'leader',
        node: id,
        term: r.term,
        message: `node ${id} is leader of term ${r.term}`,
      });
    } else if (
      (r.role === 'candidate' || r.role === 'pre-candidate') &&
      (prev?.role !== r.role || prev.term !== r.term) &&
      // An isolated node campaigns every election timeout; its first attempt says enough.
      !(r.isolated && prev?.isolated && prev.role === r.role)
    ) {
      this.record({
        kind: 'election',
        node: id,
        term: r.term,
        message:
          r.role === 'candidate'
            ? `node ${id} started an election for term ${r.term}`
            : `node ${id} asked for pre-votes for term ${r.term + 1}`,
      });
    } else if (prev?.role === 'leader' && r.role === 'follower') {
      const why = r.term === prev.term ? 'lost contact with a majority' : `saw term ${r.term}`;
      this.record({
        kind: 'step-down',
        node: id,
        term: r.term,
        message: `node ${id} stepped down as leader of term ${prev.term} (${why})`,
      });
    }
    this.changed();
  }

  private record(e: Omit<ClusterEvent, 'at'>): void {
    const event: ClusterEvent = { at: Date.now(), ...e };
    this.events.push(event);
    if (this.events.length > maxEvents) {
      this.events.shift();
    }
    for (const l of this.eventListeners) {
      l(event);
    }
    this.changed();
  }

  private changed(): void {
    for (const l of this.changeListeners) {
      l();
    }
  }

  private publish(): void {
    this.info = {
      supervisorPid: process.pid,
      dataDir: this.dataDir,
      nodes: [...this.members.values()].map((m) => ({
        id: m.spec.id,
        url: m.view.url,
        raftUrl: `ws://${host}:${m.spec.raftPort}`,
      })),
    };
    this.writeInfo();
  }

  private writeInfo(): void {
    const json = `${JSON.stringify(this.info, null, 2)}\n`;
    writeFileSync(join(this.dataDir, 'cluster.json'), json);
    if (this.currentFile !== null) {
      mkdirSync(dirname(this.currentFile), { recursive: true });
      writeFileSync(this.currentFile, json);
    }
  }
}

function validateOptions(o: ClusterOptions): void {
  const positive = (name: string, v: number) => {
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new ClusterError(`${name} must be a positive integer, got ${v}`);
    }
  };
  positive('nodes', o.nodes);
  positive('tick-ms', o.tickMs);
  positive('election-ticks', o.electionTicks);
  positive('heartbeat-ticks', o.heartbeatTicks);
  if (o.electionTicks <= o.heartbeatTicks) {
    throw new ClusterError(
      `election-ticks (${o.electionTicks}) must be greater than heartbeat-ticks (${o.heartbeatTicks})`,
    );
  }
  if (
    o.basePort !== undefined &&
    (!Number.isSafeInteger(o.basePort) || o.basePort <= 0 || o.basePort + 2 * o.nodes > 65_536)
  ) {
    throw new ClusterError(`base-port ${o.basePort} leaves no room for ${2 * o.nodes} ports`);
  }
}

function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(cannot read ${file}: ${String(error)})`;
  }
}

/** Removes the published file unless another supervisor has replaced it since. */
function removeIfOurs(file: string): void {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterInfo>;
    if (info.supervisorPid === process.pid) {
      rmSync(file, { force: true });
    }
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}
