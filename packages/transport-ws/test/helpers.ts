import type { Message } from '@tinyraft/raft-core';
import { onTestFailed } from 'vitest';
import { WebSocket } from 'ws';
import { ClientHandshake } from '../src/handshake.js';
import { WebSocketTransport, type WebSocketTransportOptions } from '../src/index.js';

export const HOST = '127.0.0.1';
export const SECRET = 'correct horse battery staple, 32b';

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `condition()` holds, checking every millisecond; fails at the deadline. */
export async function waitUntil(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** The seed of every randomized test in this run: TEST_SEED replays a failure. */
export const seed: number = Number(process.env.TEST_SEED ?? 0x7261_6674);

/** Makes the current test print the seed if it fails, whatever assertion fails. */
export function reportSeedOnFailure(): void {
  onTestFailed(() => {
    console.error(`failed with seed ${seed}; replay with TEST_SEED=${seed}`);
  });
}

/** A small seeded generator (mulberry32), uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const opened: { close(): Promise<void> | void }[] = [];

/** Registers something for `closeAll` to close. */
export function track(closeable: { close(): Promise<void> | void }): void {
  opened.push(closeable);
}

/** Closes every transport and socket a test opened; call it from `afterEach`. */
export async function closeAll(): Promise<void> {
  const all = opened.splice(0);
  await Promise.all(all.map((o) => o.close()));
}

/** A transport on 127.0.0.1 with a free port and quick redials; closed by `closeAll`. */
export function newTransport(
  id: number,
  options: Partial<WebSocketTransportOptions> = {},
): WebSocketTransport {
  const t = new WebSocketTransport({
    id,
    listen: { host: HOST, port: 0 },
    peers: {},
    secret: SECRET,
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
    ...options,
  });
  opened.push(t);
  return t;
}

export function urlOf(t: WebSocketTransport): string {
  return `ws://${HOST}:${t.port}`;
}

/** Starts the transports, tells each about the others, and waits until all are connected. */
export async function link(transports: WebSocketTransport[], connect = true): Promise<void> {
  await Promise.all(transports.map((t) => t.start()));
  for (const a of transports) {
    for (const b of transports) {
      if (a !== b) {
        a.setPeer(b.id, urlOf(b));
      }
    }
  }
  if (connect) {
    await waitUntil(
      () => transports.every((t) => t.stats().connectedPeers.length === transports.length - 1),
      'every transport to connect to every other',
    );
  }
}

/** Collects what a transport delivers. */
export function inbox(t: WebSocketTransport): Message[] {
  const received: Message[] = [];
  t.onMessage((m) => received.push(m));
  return received;
}

/**
 * A raw WebSocket to a node, for playing a peer by hand. Frames it receives queue up in
 * `frames`; `closed` resolves with the close code.
 */
export class RawPeer {
  readonly ws: WebSocket;
  readonly frames: Uint8Array[] = [];
  readonly closed: Promise<number>;
  private readonly opened: Promise<void>;
  private wake: (() => void) | undefined;

  constructor(port: number) {
    this.ws = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data) => {
      this.frames.push(new Uint8Array(data as Buffer));
      this.wake?.();
    });
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve()));
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    opened.push({ close: () => this.ws.terminate() });
  }

  /** The next frame from the node. */
  async next(ms = 2000): Promise<Uint8Array> {
    await within(
      new Promise<void>((resolve) => {
        if (this.frames.length > 0) {
          resolve();
        } else {
          this.wake = resolve;
        }
      }),
      ms,
      'a frame from the node',
    );
    this.wake = undefined;
    return this.frames.shift() as Uint8Array;
  }

  async send(bytes: Uint8Array | string): Promise<void> {
    await within(this.opened, 2000, 'the connection to open');
    await new Promise<void>((resolve, reject) =>
      this.ws.send(bytes, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The close code the node sent, within a bound. */
  closeCode(ms = 3000): Promise<number> {
    return within(this.closed, ms, 'the node to close the connection');
  }

  /** Runs the handshake as node `id`, proving `secret`, against node `serverId`. */
  async authenticate(id: number, serverId: number, secret: string = SECRET): Promise<void> {
    const handshake = new ClientHandshake(new TextEncoder().encode(secret), id, serverId);
    await this.send(handshake.answer(await this.next()));
    handshake.confirm(await this.next());
  }
}
