import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ProposalDroppedError, type RaftNode, StateType } from '@tinyraft/raft-core';
import { encodeCommand, type KvCommand, type KvStore, maxKeyLength } from './kv.js';

/** The longest value a PUT may carry. */
export const maxValueBytes: number = 1024 * 1024;
const maxRequestIdLength = 128;

/** A proposal that did not settle in time: it may still commit, so the client must retry with its id. */
export class ProposalTimeoutError extends Error {
  override readonly name = 'ProposalTimeoutError';
}

/** An HTTP request this server refuses, with the status to answer. */
class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface KvServerOptions {
  node: RaftNode;
  store: KvStore;
  /** HTTP base URL (`http://host:port`) of every member, by id, for redirects to the leader. */
  memberUrls: ReadonlyMap<number, string>;
  /** How long a write or read waits for its entry to apply before answering 503. */
  proposalTimeoutMs: number;
  /** Extra fields for `GET /status`. */
  status: () => Record<string, unknown>;
}

/**
 * The key-value HTTP API of one node.
 *
 * - `PUT /kv/:key` (body = value), `DELETE /kv/:key`: answered once the write is committed and
 *   applied here. `X-Request-Id` names the write; a retry with the same id takes effect once.
 * - `GET /kv/:key`: linearizable. The leader appends an empty "read barrier" entry and answers
 *   once it has applied it: committing an entry of its term proves it was still the leader when
 *   the read arrived (§8), and applying it means every earlier write is in the map.
 * - A follower answers `307` with `Location` on the leader; with no known leader, `503`.
 * - `GET /status`: this node's raft status and state-machine digest.
 */
export class KvServer {
  readonly server: Server;
  private readonly barrier: ReadBarrier;

  constructor(private readonly options: KvServerOptions) {
    this.barrier = new ReadBarrier(options.node, options.proposalTimeoutMs);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        sendJson(res, status, { error: String(error instanceof Error ? error.message : error) });
      });
    });
    // Keep-alive sockets would hold `close()` open; a node going down drops them all.
    this.server.keepAliveTimeout = 5_000;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/status' && req.method === 'GET') {
      sendJson(res, 200, { ...this.options.status(), digest: this.options.store.digest() });
      return;
    }
    if (!url.pathname.startsWith('/kv/')) {
      throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
    }
    const key = parseKey(url.pathname.slice('/kv/'.length));
    const method = req.method ?? '';
    if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') {
      res.setHeader('Allow', 'GET, PUT, DELETE');
      throw new HttpError(405, `method ${method} is not allowed on /kv/:key`);
    }
    // Read the whole body before any answer, so that a redirect never leaves half a request on
    // a keep-alive connection.
    const body = await readBody(req, maxValueBytes);
    if (!this.redirectUnlessLeader(req, res)) {
      return;
    }
    if (method === 'GET') {
      await this.barrier.wait();
      const value = this.options.store.get(key);
      if (value === undefined) {
        sendJson(res, 404, { error: `key ${JSON.stringify(key)} not found` });
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(value);
      }
      return;
    }
    const id = parseRequestId(req.headers['x-request-id']);
    const command: KvCommand =
      method === 'PUT' ? { op: 'put', key, value: body, id } : { op: 'delete', key, id };
    const index = await this.write(command);
    sendJson(res, 200, { ok: true, index, id });
  }

  /** Answers a redirect (or 503) and returns false unless this node is the leader. */
  private redirectUnlessLeader(req: IncomingMessage, res: ServerResponse): boolean {
    const status = this.options.node.status();
    if (status.role === StateType.Leader) {
      return true;
    }
    const leaderUrl = this.options.memberUrls.get(status.leader);
    if (leaderUrl === undefined) {
      res.setHeader('Retry-After', '1');
      sendJson(res, 503, { error: `node ${status.id} knows no leader in term ${status.term}` });
      return false;
    }
    res.writeHead(307, {
      Location: `${leaderUrl}${req.url ?? '/'}`,
      'X-Raft-Leader': status.leader,
    });
    res.end();
    return false;
  }

  private async write(command: KvCommand): Promise<number | null> {
    if (this.options.store.hasApplied(command.id)) {
      // A retry of a write that already took effect: acknowledge it without a second entry.
      return null;
    }
    try {
      return await withTimeout(
        this.options.node.propose(encodeCommand(command)),
        this.options.proposalTimeoutMs,
        `write ${command.id} did not apply within ${this.options.proposalTimeoutMs} ms; it may still commit`,
      );
    } catch (error) {
      if (error instanceof ProposalDroppedError || error instanceof ProposalTimeoutError) {
        throw new HttpError(503, error.message);
      }
      throw error;
    }
  }
}

/**
 * Batches linearizable reads: every read that arrives waits for a barrier entry proposed after
 * it arrived; reads that arrive while one barrier is in flight share the next one.
 */
class ReadBarrier {
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private inFlight = false;

  constructor(
    private readonly node: RaftNode,
    private readonly timeoutMs: number,
  ) {}

  wait(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.inFlight) {
      this.flush();
    }
    return p;
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    withTimeout(
      this.node.propose(new Uint8Array(0)),
      this.timeoutMs,
      `read barrier did not apply within ${this.timeoutMs} ms`,
    )
      .then(
        () => {
          for (const w of batch) {
            w.resolve();
          }
        },
        (error: unknown) => {
          const e =
            error instanceof ProposalDroppedError || error instanceof ProposalTimeoutError
              ? new HttpError(503, error.message)
              : (error as Error);
          for (const w of batch) {
            w.reject(e);
          }
        },
      )
      .finally(() => {
        this.inFlight = false;
        if (this.waiting.length > 0) {
          this.flush();
        }
      });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ProposalTimeoutError(message)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function parseKey(encoded: string): string {
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, `key ${JSON.stringify(encoded)} is not valid percent-encoding`);
  }
  if (key.length === 0 || key.length > maxKeyLength) {
    throw new HttpError(400, `key must be 1..${maxKeyLength} characters, got ${key.length}`);
  }
  return key;
}

function parseRequestId(header: string | string[] | undefined): string {
  if (header === undefined) {
    return randomUUID();
  }
  const id = Array.isArray(header) ? header[0] : header;
  if (id === undefined || id.length === 0 || id.length > maxRequestIdLength) {
    throw new HttpError(400, `X-Request-Id must be 1..${maxRequestIdLength} characters`);
  }
  return id;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Drain the rest without keeping it, so the 413 can still be answered.
        req.off('data', onData);
        req.resume();
        reject(new HttpError(413, `body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
