/**
 * The two nodes under test: this process (node 1, the sender) and a forked peer process (node 2),
 * joined over 127.0.0.1 twice — by two authenticated tinyraft transports, and by a plain `ws`
 * client and server that carry the same bytes with no handshake and no codec.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { WebSocketTransport } from '../src/index.js';
import type { PeerReport, Reply, Request } from './protocol.js';
import { SECRET_ENV } from './protocol.js';
import { type Impl, PEER_ID, readRawAck, SENDER_ID, type Workload } from './workload.js';

/** Rejects with a message naming `what` unless `work` settles within `ms`. */
export function deadline<T>(work: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function outboundDrops(t: WebSocketTransport): number {
  return Object.values(t.stats().droppedOutbound).reduce((a, b) => a + b, 0);
}

export class Pair {
  /** Called with the peer's running count on every acknowledgement, over either implementation. */
  onAck: (received: number) => void = () => undefined;

  private readonly peer: ChildProcess;
  private transport: WebSocketTransport | undefined;
  private raw: WebSocket | undefined;
  private pending: { type: Reply['type']; settle: (r: Reply | Error) => void } | undefined;
  private exited = false;
  /** Settles once the peer process is gone (or could not be started). */
  private readonly gone: Promise<void>;
  /** Rejects once the peer process is gone, saying why. */
  private readonly died: Promise<never>;

  private constructor(peer: ChildProcess) {
    this.peer = peer;
    let markGone: () => void = () => undefined;
    this.gone = new Promise((resolve) => {
      markGone = resolve;
    });
    let markDied: (error: Error) => void = () => undefined;
    this.died = new Promise((_, reject) => {
      markDied = reject;
    });
    // Nobody may be waiting when it happens.
    this.died.catch(() => undefined);
    const ended = (why: string) => {
      this.exited = true;
      this.pending?.settle(new Error(why));
      this.pending = undefined;
      markGone();
      markDied(new Error(why));
    };
    peer.on('exit', (code, signal) => {
      ended(`the peer process exited (code ${code}, signal ${signal})`);
    });
    peer.on('error', (error) => ended(`the peer process failed: ${error.message}`));
    peer.on('message', (r: Reply) => {
      const pending = this.pending;
      if (pending !== undefined && (r.type === pending.type || r.type === 'error')) {
        this.pending = undefined;
        pending.settle(r.type === 'error' ? new Error(`peer: ${r.message}`) : r);
      }
    });
  }

  /**
   * Forks the peer and connects both pairs of nodes. The fork inherits this process's `execArgv`,
   * so it runs TypeScript through the same tsx loader (and `--cpu-prof`, when profiling).
   */
  static async open(): Promise<Pair> {
    const secret = randomBytes(32).toString('base64');
    const peer = fork(fileURLToPath(new URL('./peer.ts', import.meta.url)), [], {
      env: { ...process.env, [SECRET_ENV]: secret },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pair = new Pair(peer);
    try {
      await pair.connect(secret);
    } catch (error) {
      await pair.close();
      throw error;
    }
    return pair;
  }

  /** Sends one frame of `load` from node 1 to node 2. */
  send(impl: Impl, load: Workload): void {
    if (impl === 'tinyraft') {
      this.transport?.send(load.messages);
    } else {
      this.raw?.send(load.rawFrame);
    }
  }

  /** Waits for `work`, but fails as soon as the peer dies or `ms` pass. */
  wait<T>(work: Promise<T>, ms: number, what: () => string): Promise<T> {
    return deadline(Promise.race([work, this.died]), ms, what);
  }

  /** Resets the peer's counters for a sample over `impl`. */
  async expect(impl: Impl, load: Workload, ackEvery: number): Promise<void> {
    await this.request({ type: 'expect', impl, perFrame: load.messages.length, ackEvery }, 'ready');
  }

  report(): Promise<PeerReport> {
    return this.request({ type: 'report' }, 'report');
  }

  /** Messages node 1's transport has dropped so far, for any reason. */
  droppedBySender(): number {
    return this.transport === undefined ? 0 : outboundDrops(this.transport);
  }

  /** Closes both sides and makes sure the peer process is gone, whatever state it is in. */
  async close(): Promise<void> {
    this.raw?.terminate();
    try {
      await this.transport?.close();
    } finally {
      if (!this.exited) {
        try {
          await this.request({ type: 'stop' }, 'stopped');
          await deadline(this.gone, 2000, () => 'waiting for the peer to exit');
        } catch {
          this.peer.kill('SIGKILL');
          await deadline(this.gone, 2000, () => 'waiting for the killed peer').catch(
            () => undefined,
          );
        }
      }
    }
  }

  /** Waits for the peer's next reply of `type`; a reply of any other type is a bug here. */
  private reply<T extends Reply['type']>(
    type: T,
    what: string,
  ): Promise<Extract<Reply, { type: T }>> {
    if (this.exited) {
      return Promise.reject(new Error(`the peer process has exited; cannot ${what}`));
    }
    if (this.pending !== undefined) {
      return Promise.reject(new Error(`${what} while ${this.pending.type} is pending`));
    }
    const answer = new Promise<Extract<Reply, { type: T }>>((resolve, reject) => {
      this.pending = {
        type,
        settle: (r) => (r instanceof Error ? reject(r) : resolve(r as Extract<Reply, { type: T }>)),
      };
    });
    const pending = this.pending;
    return deadline(answer, 10_000, () => `peer: ${what}`).finally(() => {
      // A reply that never came must not block the next request.
      if (this.pending === pending) {
        this.pending = undefined;
      }
    });
  }

  private request<T extends Reply['type']>(
    r: Request,
    type: T,
  ): Promise<Extract<Reply, { type: T }>> {
    const answer = this.reply(type, `request ${r.type}`);
    if (!this.exited) {
      this.peer.send(r);
    }
    return answer;
  }

  private async connect(secret: string): Promise<void> {
    const { transportPort, rawPort } = await this.reply('listening', 'start the peer');
    const transport = new WebSocketTransport({
      id: SENDER_ID,
      listen: { host: '127.0.0.1', port: 0 },
      peers: { [PEER_ID]: `ws://127.0.0.1:${transportPort}` },
      secret,
      // Each side refuses the other until it has been told the other's URL; redial soon.
      reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
    });
    this.transport = transport;
    transport.onMessage((m) => this.onAck(m.commit));
    const port = await transport.start();
    await this.request({ type: 'connect', url: `ws://127.0.0.1:${port}` }, 'connected');
    for (let waited = 0; !transport.stats().connectedPeers.includes(PEER_ID); waited += 5) {
      if (waited >= 5000) {
        throw new Error(`node ${SENDER_ID} did not connect to node ${PEER_ID} within 5 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const raw = new WebSocket(`ws://127.0.0.1:${rawPort}`, { perMessageDeflate: false });
    this.raw = raw;
    raw.on('message', (data) => this.onAck(readRawAck(data as Buffer)));
    await deadline(
      new Promise((resolve, reject) => {
        raw.once('open', resolve);
        raw.once('error', reject);
      }),
      5000,
      () => `plain ws connection to 127.0.0.1:${rawPort}`,
    );
  }
}
