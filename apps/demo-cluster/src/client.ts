import { randomUUID } from 'node:crypto';

/** A request that did not succeed before the client's deadline; names the last failure. */
export class KvClientError extends Error {
  override readonly name = 'KvClientError';
}

export interface KvClientOptions {
  /** Base URLs (`http://host:port`) of the cluster's nodes. */
  urls: string[];
  /** How long one HTTP request may take before it counts as failed. */
  requestTimeoutMs?: number;
  /** How long one operation may keep retrying. */
  deadlineMs?: number;
}

/** Counters over the client's lifetime. */
export interface KvClientStats {
  /** Attempts that failed (connection refused or reset, timeout, 503) and were tried again. */
  retries: number;
  /** 307 redirects followed from a follower to the leader. */
  redirects: number;
}

const maxBackoffMs = 200;

/**
 * A client of the cluster's key-value API: it remembers the leader, follows a follower's 307 to
 * it, and retries through failures until a deadline. Every write carries one request id across
 * its retries, so a retry after a lost acknowledgement does not apply twice.
 */
export class KvClient {
  readonly stats: KvClientStats = { retries: 0, redirects: 0 };
  private readonly urls: string[];
  private readonly requestTimeoutMs: number;
  private readonly deadlineMs: number;
  private target: string;
  private rotation = 0;

  constructor(options: KvClientOptions) {
    if (options.urls.length === 0) {
      throw new KvClientError('a KvClient needs at least one node URL');
    }
    this.urls = options.urls;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.target = options.urls[0] as string;
  }

  /**
   * Stores `value` under `key`; resolves once the write is committed and applied, with its log
   * index (`null` when a retry found it applied already).
   */
  async put(key: string, value: string, id: string = randomUUID()): Promise<number | null> {
    return writeIndex(await this.request('PUT', key, value, id));
  }

  async delete(key: string, id: string = randomUUID()): Promise<number | null> {
    return writeIndex(await this.request('DELETE', key, undefined, id));
  }

  /** The value of `key`, or `undefined` when it has none; read through the leader. */
  async get(key: string): Promise<string | undefined> {
    const res = await this.request('GET', key, undefined, undefined);
    return res.status === 404 ? undefined : res.body;
  }

  private async request(
    method: string,
    key: string,
    body: string | undefined,
    id: string | undefined,
  ): Promise<{ status: number; body: string }> {
    const path = `/kv/${encodeURIComponent(key)}`;
    const deadline = Date.now() + this.deadlineMs;
    let lastFailure = 'no attempt';
    let hops = 0;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const url = `${this.target}${path}`;
      try {
        const headers: Record<string, string> = {};
        if (id !== undefined) {
          headers['X-Request-Id'] = id;
        }
        const init: RequestInit = {
          method,
          headers,
          redirect: 'manual',
          signal: AbortSignal.timeout(
            Math.max(1, Math.min(this.requestTimeoutMs, deadline - Date.now())),
          ),
        };
        if (body !== undefined) {
          init.body = body;
        }
        const res = await fetch(url, init);
        const text = await res.text();
        if (res.status === 307) {
          const location = res.headers.get('location');
          // Nodes may briefly disagree on the leader; a chain of hops longer than the cluster
          // backs off like any other failure.
          if (location !== null && hops++ < this.urls.length) {
            this.stats.redirects++;
            this.target = new URL(location).origin;
            continue;
          }
        }
        hops = 0;
        if (res.status === 200 || (res.status === 404 && method === 'GET')) {
          return { status: res.status, body: text };
        }
        if (res.status !== 503 && res.status !== 307) {
          // Anything but "not now" is the server refusing this request: retrying cannot help.
          throw new KvClientError(`${method} ${url} answered ${res.status}: ${text}`);
        }
        lastFailure = `${url} answered ${res.status}: ${text}`;
        this.rotate();
      } catch (error) {
        if (error instanceof KvClientError) {
          throw error;
        }
        lastFailure = `${method} ${url} failed: ${describe(error)}`;
        this.rotate();
      }
      this.stats.retries++;
      await new Promise((r) =>
        setTimeout(r, Math.min(maxBackoffMs, 10 * 2 ** Math.min(attempt, 5))),
      );
    }
    throw new KvClientError(
      `${method} ${path} did not succeed within ${this.deadlineMs} ms; last failure: ${lastFailure}`,
    );
  }

  /** After a node failed to answer, try the next one; it will redirect us to the leader. */
  private rotate(): void {
    this.rotation = (this.rotation + 1) % this.urls.length;
    const next = this.urls[this.rotation] as string;
    this.target =
      next === this.target ? (this.urls[(this.rotation + 1) % this.urls.length] as string) : next;
  }
}

function writeIndex(res: { body: string }): number | null {
  const { index } = JSON.parse(res.body) as { index?: unknown };
  return typeof index === 'number' ? index : null;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
