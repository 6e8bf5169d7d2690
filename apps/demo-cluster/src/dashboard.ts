import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { KvClient } from './client.js';
import { dashboardPage } from './dashboard-page.js';
import { host } from './protocol.js';
import type { Cluster, ClusterEvent } from './supervisor.js';

/** One node as the dashboard shows it; nulls where a stopped node has nothing to say. */
export interface NodeSnapshot {
  id: number;
  url: string;
  state: string;
  pid: number | null;
  restarts: number;
  role: string | null;
  term: number | null;
  leader: number | null;
  heartbeatAgoMs: number | null;
  lastIndex: number | null;
  commit: number | null;
  applied: number | null;
  isolated: boolean;
}

export interface ClusterSnapshot {
  now: number;
  leader: number;
  nodes: NodeSnapshot[];
  events: ClusterEvent[];
}

export function snapshot(cluster: Cluster): ClusterSnapshot {
  const now = Date.now();
  const nodes = cluster.nodes().map((n): NodeSnapshot => {
    const r = n.state === 'up' ? n.report : null;
    return {
      id: n.id,
      url: n.url,
      state: n.state,
      pid: n.pid,
      restarts: n.restarts,
      role: r?.role ?? null,
      term: r?.term ?? null,
      leader: r?.leader ?? null,
      heartbeatAgoMs:
        r === null || r.lastHeartbeatAt === 0 ? null : Math.max(0, now - r.lastHeartbeatAt),
      lastIndex: r?.lastIndex ?? null,
      commit: r?.commit ?? null,
      applied: r?.applied ?? null,
      isolated: r?.isolated ?? false,
    };
  });
  return { now, leader: cluster.leader()?.id ?? 0, nodes, events: cluster.events.slice(-100) };
}

const actions = ['kill', 'restart', 'isolate', 'heal'] as const;
type Action = (typeof actions)[number];
const maxBurst = 1_000;
const pushIntervalMs = 100;

/**
 * The supervisor's web dashboard on 127.0.0.1: the page, its WebSocket feed, and the actions
 * behind its buttons. Actions need the token embedded in the page (a custom header, so another
 * site's page cannot forge them), and every request must name this server in its Host header
 * (so a DNS-rebound name cannot reach it either).
 */
export class Dashboard {
  readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly token = randomBytes(16).toString('hex');
  private readonly client: KvClient;
  private timer: ReturnType<typeof setInterval> | undefined;
  private dirty = true;
  private port = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly cluster: Cluster) {
    this.client = new KvClient({ urls: cluster.urls(), deadlineMs: 15_000 });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        json(res, 500, { error: error instanceof Error ? error.message : String(error) });
      });
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    this.server.on('upgrade', (req, socket, head) => {
      if (!this.hostAllowed(req) || new URL(req.url ?? '/', 'http://x').pathname !== '/ws') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(JSON.stringify(snapshot(this.cluster)));
      });
    });
  }

  get url(): string {
    return `http://${host}:${this.port}/`;
  }

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    this.port = address !== null && typeof address === 'object' ? address.port : port;
    this.unsubscribe = this.cluster.onChange(() => {
      this.dirty = true;
    });
    // Heartbeat ages move even when nothing else does, so push at a steady pace while dirty or
    // at least once a second.
    let idle = 0;
    this.timer = setInterval(() => {
      idle++;
      if (!this.dirty && idle < 1_000 / pushIntervalMs) {
        return;
      }
      this.dirty = false;
      idle = 0;
      this.push();
    }, pushIntervalMs);
    return this.url;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    for (const ws of this.wss.clients) {
      ws.terminate();
    }
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private push(): void {
    if (this.wss.clients.size === 0) {
      return;
    }
    const data = JSON.stringify(snapshot(this.cluster));
    for (const ws of this.wss.clients) {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(data);
      }
    }
  }

  private hostAllowed(req: IncomingMessage): boolean {
    const h = req.headers.host;
    return h === `${host}:${this.port}` || h === `localhost:${this.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.hostAllowed(req)) {
      json(res, 403, { error: `unexpected Host header ${JSON.stringify(req.headers.host)}` });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws:",
      });
      res.end(dashboardPage(this.token));
      return;
    }
    if (req.method === 'GET' && path === '/api/state') {
      json(res, 200, snapshot(this.cluster));
      return;
    }
    if (req.method !== 'POST') {
      json(res, 404, { error: `no route for ${req.method} ${path}` });
      return;
    }
    if (req.headers['x-dashboard-token'] !== this.token) {
      json(res, 403, { error: 'missing or wrong X-Dashboard-Token' });
      return;
    }
    const body = await readJson(req);
    const m = /^\/api\/nodes\/(\d+)\/([a-z]+)$/.exec(path);
    if (m !== null) {
      const id = Number(m[1]);
      const action = m[2] as Action;
      if (!actions.includes(action) || !this.cluster.ids.includes(id)) {
        json(res, 404, { error: `no action ${m[2]} for node ${m[1]}` });
        return;
      }
      try {
        await this.act(id, action);
        json(res, 200, { ok: true });
      } catch (error) {
        json(res, 409, { error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    if (path === '/api/kv') {
      const { key, value } = body as { key?: unknown; value?: unknown };
      if (typeof key !== 'string' || key.length === 0 || typeof value !== 'string') {
        json(res, 400, { error: 'body must be {"key": non-empty string, "value": string}' });
        return;
      }
      const started = Date.now();
      await this.client.put(key, value);
      json(res, 200, { ok: true, ms: Date.now() - started });
      return;
    }
    if (path === '/api/kv/burst') {
      const count = Math.min(
        maxBurst,
        Math.max(1, Number((body as { count?: unknown }).count) || 100),
      );
      const started = Date.now();
      const prefix = `burst-${started}`;
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          await this.client.put(`${prefix}-${i}`, String(i));
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      json(res, 200, { ok: true, count, ms: Date.now() - started });
      return;
    }
    json(res, 404, { error: `no route for POST ${path}` });
  }

  private act(id: number, action: Action): Promise<void> {
    switch (action) {
      case 'kill':
        return this.cluster.kill(id);
      case 'restart':
        return this.cluster.restart(id);
      case 'isolate':
        this.cluster.isolate(id, true);
        return Promise.resolve();
      case 'heal':
        this.cluster.isolate(id, false);
        return Promise.resolve();
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) {
        req.destroy();
        reject(new Error('request body larger than 64 KiB'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.length === 0 ? {} : JSON.parse(text));
      } catch {
        resolve({});
      }
    });
    req.on('error', reject);
  });
}
