import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Message, None, type Transport } from '@tinyraft/raft-core';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeMessages,
  encodeMessagesInto,
  FrameError,
  FrameSlab,
} from './codec.js';
import { ClientHandshake, MAX_HANDSHAKE_BYTES, ServerHandshake } from './handshake.js';
import {
  emptyStats,
  type InboundDropReason,
  type OutboundDropReason,
  type TransportStats,
} from './stats.js';

/** RFC 6455 §7.4.1: the peer broke a rule of ours. */
const POLICY_VIOLATION = 1008;

export interface ReconnectOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface WebSocketTransportOptions {
  /** This node's raft id. */
  id: number;
  /** Where peers connect to this node. Port 0 picks a free port; `start()` returns it. */
  listen: { host: string; port: number };
  /**
   * The WebSocket URL of every peer, by id. An entry for this node is skipped, so all nodes can
   * share one map. Only these ids may connect to this node.
   */
  peers: ReadonlyMap<number, string> | Readonly<Record<number, string>>;
  /** The cluster's shared secret. Every node holds the same one; 32 random bytes is plenty. */
  secret: string | Uint8Array;
  /** The largest frame sent or accepted (default 16 MiB). A snapshot must fit in one frame. */
  maxFrameBytes?: number;
  /** Per peer: once more bytes than this wait to be written, more messages are dropped (64 MiB). */
  maxBufferedBytes?: number;
  /** Redial delays double from `initialDelayMs` up to `maxDelayMs` (default 100 ms and 5 s). */
  reconnect?: ReconnectOptions;
  /** How long either side of a new connection waits for the handshake (default 5 s). */
  handshakeTimeoutMs?: number;
  /** Bad frames an authenticated peer may send before its connection is closed (default 10). */
  violationLimit?: number;
  /** Uniform in [0, 1), for the redial jitter; default `Math.random`. Nonces use node:crypto. */
  random?: () => number;
}

/** Options that cannot describe a working transport. The message names the option and value. */
export class TransportOptionsError extends Error {
  override name = 'TransportOptionsError';
}

/**
 * The delay before redial number `failures + 1`: doubling from the initial delay up to the
 * maximum, half of it random so that nodes that lost the same peer do not redial in lockstep.
 */
export function backoffDelay(
  failures: number,
  reconnect: ReconnectOptions,
  random: () => number,
): number {
  const base = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** failures);
  return base / 2 + (random() * base) / 2;
}

/** Our connection to a peer; it carries our messages to it, and nothing back. */
interface Link {
  readonly ws: WebSocket;
  readonly handshake: ClientHandshake;
  stage: 'hello' | 'welcome' | 'open';
  /** Bytes handed to `ws.send` whose write has not completed. */
  unflushed: number;
  /** The size of each of those frames, oldest first: writes complete in the order they were made. */
  readonly unflushedFrames: number[];
  /**
   * The write callback of every frame. One function for all of them lets Node settle the writes
   * that complete in the same turn with one callback tick, rather than one tick per frame.
   */
  readonly flushed: () => void;
  timer: NodeJS.Timeout | undefined;
}

interface Peer {
  readonly id: number;
  readonly url: string;
  link: Link | undefined;
  /** Dials that failed since the last successful handshake, for the backoff. */
  failures: number;
  dialled: boolean;
  retry: NodeJS.Timeout | undefined;
}

/** A peer's connection to us; it carries the peer's messages to us, and nothing back. */
interface Inbound {
  readonly ws: WebSocket;
  readonly handshake: ServerHandshake;
  /** The id the peer proved, or `None` while the handshake runs. */
  peerId: number;
  violations: number;
  timer: NodeJS.Timeout | undefined;
}

function fail(option: string, value: unknown, rule: string): never {
  throw new TransportOptionsError(`${option} must be ${rule}, got ${String(value)}`);
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    fail(option, value, 'a positive integer');
  }
  return value;
}

function checkUrl(id: number, url: string): string {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    fail(`peers[${id}]`, url, 'a ws:// or wss:// URL');
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    fail(`peers[${id}]`, url, 'a ws:// or wss:// URL');
  }
  return url;
}

function newPeer(id: number, url: string): Peer {
  positiveInteger('peer id', id);
  return {
    id,
    url: checkUrl(id, url),
    link: undefined,
    failures: 0,
    dialled: false,
    retry: undefined,
  };
}

/**
 * Frames are encoded straight into Buffer slabs: `ws` sends a Buffer as it is, while a Uint8Array
 * it first wraps in one, which makes V8 move a small array's bytes off its heap first.
 */
function slabBuffer(size: number): Uint8Array {
  return Buffer.allocUnsafeSlow(size);
}

function allFromUsTo(messages: readonly Message[], from: number, to: number): boolean {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Message;
    if (m.to !== to || m.from !== from) {
      return false;
    }
  }
  return true;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) {
    return Buffer.concat(data);
  }
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/**
 * A `Transport` over WebSockets. Each node listens for its peers and dials each of them once:
 * a connection carries messages one way only, from the node that dialled it. Both directions
 * authenticate with the shared secret before any message moves (see handshake.ts), every inbound
 * frame is checked before it is delivered, and what cannot be sent at once is dropped and
 * counted rather than queued: Raft retries on its own (§5.3).
 */
export class WebSocketTransport implements Transport {
  readonly id: number;
  private readonly listenOn: { host: string; port: number };
  private readonly secret: Uint8Array;
  private readonly maxFrameBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly reconnect: ReconnectOptions;
  private readonly handshakeTimeoutMs: number;
  private readonly violationLimit: number;
  private readonly random: () => number;
  private readonly peers = new Map<number, Peer>();
  private readonly inbound = new Set<Inbound>();
  private readonly counters: TransportStats = emptyStats();
  /** Outgoing frames, end to end; shared by every link (frames are encoded one at a time). */
  private readonly slab = new FrameSlab(slabBuffer);
  private handler: ((m: Message) => void) | undefined;
  private server: Server | undefined;
  private boundPort = 0;
  private starting: Promise<number> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: WebSocketTransportOptions) {
    this.id = positiveInteger('id', options.id);
    const { host, port } = options.listen;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      fail('listen.port', port, 'an integer in [0, 65535]');
    }
    this.listenOn = { host, port };
    this.secret =
      typeof options.secret === 'string'
        ? new TextEncoder().encode(options.secret)
        : Uint8Array.from(options.secret);
    if (this.secret.length === 0) {
      fail('secret', '(empty)', 'non-empty');
    }
    this.maxFrameBytes = positiveInteger(
      'maxFrameBytes',
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    );
    this.maxBufferedBytes = positiveInteger(
      'maxBufferedBytes',
      options.maxBufferedBytes ?? 64 * 1024 * 1024,
    );
    const reconnect = options.reconnect ?? { initialDelayMs: 100, maxDelayMs: 5000 };
    positiveInteger('reconnect.initialDelayMs', reconnect.initialDelayMs);
    if (positiveInteger('reconnect.maxDelayMs', reconnect.maxDelayMs) < reconnect.initialDelayMs) {
      fail('reconnect.maxDelayMs', reconnect.maxDelayMs, 'at least reconnect.initialDelayMs');
    }
    this.reconnect = { ...reconnect };
    this.handshakeTimeoutMs = positiveInteger(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs ?? 5000,
    );
    this.violationLimit = positiveInteger('violationLimit', options.violationLimit ?? 10);
    this.random = options.random ?? Math.random;
    const peers =
      options.peers instanceof Map
        ? [...options.peers.entries()]
        : Object.entries(options.peers).map(([id, url]) => [Number(id), url] as const);
    for (const [id, url] of peers) {
      if (id !== this.id) {
        this.peers.set(id, newPeer(id, url));
      }
    }
  }

  /** The port this node listens on, once `start()` has resolved; 0 before. */
  get port(): number {
    return this.boundPort;
  }

  /** Starts listening and dialling the peers. Resolves with the bound port. */
  start(): Promise<number> {
    if (this.closing !== undefined) {
      return Promise.reject(new Error(`transport of node ${this.id} is closed and cannot start`));
    }
    this.starting ??= this.listen();
    return this.starting;
  }

  /**
   * Adds a peer, or moves one to a new URL (dropping its current connection). Useful when ports
   * are only known once every node has started, and when membership changes.
   */
  setPeer(id: number, url: string): void {
    if (id === this.id) {
      throw new TransportOptionsError(`node ${id} cannot be its own peer`);
    }
    const old = this.peers.get(id);
    if (old?.url === url) {
      return;
    }
    const peer = newPeer(id, url);
    if (old !== undefined) {
      this.forget(old);
    }
    this.peers.set(id, peer);
    if (this.server?.listening === true && this.closing === undefined) {
      this.dial(peer);
    }
  }

  onMessage(handler: (m: Message) => void): void {
    this.handler = handler;
  }

  /**
   * Sends each message to `m.to`, one frame per peer. Never throws and never waits: a message
   * that cannot go out right now is dropped and counted in `stats().droppedOutbound`.
   */
  send(messages: readonly Message[]): void {
    const to = messages[0]?.to;
    if (to !== undefined && allFromUsTo(messages, this.id, to)) {
      // One peer, the common case: no need to group.
      this.sendTo(to, messages);
      return;
    }
    const byPeer = new Map<number, Message[]>();
    for (const m of messages) {
      // The peer checks that every message comes from the node it authenticated, and counts one
      // that does not as a violation: never send it one.
      if (m.from !== this.id) {
        this.dropOutbound('not-from-us', 1);
        continue;
      }
      const batch = byPeer.get(m.to);
      if (batch === undefined) {
        byPeer.set(m.to, [m]);
      } else {
        batch.push(m);
      }
    }
    for (const [peer, batch] of byPeer) {
      this.sendTo(peer, batch);
    }
  }

  private sendTo(to: number, batch: readonly Message[]): void {
    const link = this.peers.get(to)?.link;
    if (!this.peers.has(to)) {
      this.dropOutbound('unknown-peer', batch.length);
    } else if (this.closing !== undefined || link?.stage !== 'open') {
      this.dropOutbound('not-connected', batch.length);
    } else {
      this.write(link, batch);
    }
  }

  stats(): TransportStats {
    const c = this.counters;
    return {
      ...c,
      droppedInbound: { ...c.droppedInbound },
      droppedOutbound: { ...c.droppedOutbound },
      connectedPeers: [...this.peers.values()]
        .filter((p) => p.link?.stage === 'open')
        .map((p) => p.id)
        .sort((a, b) => a - b),
      inboundConnections: this.inbound.size,
    };
  }

  /** Stops listening, closes every connection and cancels every timer. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async listen(): Promise<number> {
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.maxFrameBytes,
      perMessageDeflate: false,
    });
    const server = createServer((_req, res) => {
      res.writeHead(426).end();
    });
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenOn.port, this.listenOn.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    for (const peer of this.peers.values()) {
      this.dial(peer);
    }
    return this.boundPort;
  }

  private async shutdown(): Promise<void> {
    await this.starting?.catch(() => undefined);
    for (const peer of this.peers.values()) {
      this.forget(peer);
    }
    for (const conn of this.inbound) {
      clearTimeout(conn.timer);
      conn.ws.terminate();
    }
    const server = this.server;
    if (server?.listening === true) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Connections that never upgraded would otherwise hold the server open.
        server.closeAllConnections();
      });
    }
  }

  /** Cancels the peer's redial and drops its connection. */
  private forget(peer: Peer): void {
    clearTimeout(peer.retry);
    peer.retry = undefined;
    const link = peer.link;
    peer.link = undefined;
    if (link !== undefined) {
      clearTimeout(link.timer);
      link.ws.terminate();
    }
  }

  private dropOutbound(reason: OutboundDropReason, count: number): void {
    this.counters.droppedOutbound[reason] += count;
  }

  // Outbound: dial, authenticate, send, redial.

  private dial(peer: Peer): void {
    peer.retry = undefined;
    if (this.closing !== undefined || this.peers.get(peer.id) !== peer) {
      return;
    }
    if (peer.dialled) {
      this.counters.reconnects++;
    }
    peer.dialled = true;
    const ws = new WebSocket(peer.url, {
      perMessageDeflate: false,
      maxPayload: MAX_HANDSHAKE_BYTES,
    });
    const link: Link = {
      ws,
      handshake: new ClientHandshake(this.secret, this.id, peer.id),
      stage: 'hello',
      unflushed: 0,
      unflushedFrames: [],
      flushed: () => {
        link.unflushed -= link.unflushedFrames.shift() ?? 0;
      },
      timer: undefined,
    };
    peer.link = link;
    link.timer = setTimeout(() => {
      if (ws.readyState === WebSocket.OPEN) {
        this.counters.authFailures++;
      }
      ws.terminate();
    }, this.handshakeTimeoutMs);
    ws.on('message', (data, isBinary) => this.onLinkFrame(peer, link, toBytes(data), isBinary));
    // A refused or broken connection also emits 'close', which schedules the redial.
    ws.on('error', () => undefined);
    ws.on('close', () => this.onLinkClosed(peer, link));
  }

  private onLinkFrame(peer: Peer, link: Link, bytes: Uint8Array, isBinary: boolean): void {
    if (link.ws.readyState !== WebSocket.OPEN) {
      return;
    }
    if (link.stage === 'open') {
      // Peers never answer on our connection; whatever arrives is not part of the protocol.
      this.counters.policyCloses++;
      link.ws.close(POLICY_VIOLATION, 'unexpected frame');
      return;
    }
    try {
      if (!isBinary) {
        throw new FrameError('bad-field', 'text frame during the handshake');
      }
      if (link.stage === 'hello') {
        link.ws.send(link.handshake.answer(bytes));
        link.stage = 'welcome';
      } else {
        link.handshake.confirm(bytes);
        link.stage = 'open';
        clearTimeout(link.timer);
        peer.failures = 0;
      }
    } catch {
      this.counters.authFailures++;
      link.ws.close(POLICY_VIOLATION, 'authentication failed');
    }
  }

  private onLinkClosed(peer: Peer, link: Link): void {
    clearTimeout(link.timer);
    if (peer.link !== link) {
      return;
    }
    peer.link = undefined;
    if (this.closing !== undefined) {
      return;
    }
    const delay = backoffDelay(peer.failures, this.reconnect, this.random);
    peer.failures++;
    peer.retry = setTimeout(() => this.dial(peer), delay);
  }

  private write(link: Link, batch: readonly Message[]): void {
    let frame: Uint8Array;
    try {
      frame = encodeMessagesInto(batch, this.slab);
    } catch {
      // One malformed message must not sink the others in its batch.
      if (batch.length > 1) {
        for (const m of batch) {
          this.write(link, [m]);
        }
      } else {
        this.dropOutbound('invalid', 1);
      }
      return;
    }
    if (frame.length > this.maxFrameBytes) {
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        this.write(link, batch.slice(0, half));
        this.write(link, batch.slice(half));
      } else {
        this.dropOutbound('too-large', 1);
      }
      return;
    }
    // `unflushed` runs from `send` to its write callback, so it covers ws's `bufferedAmount` and
    // also what was sent earlier in this same turn of the event loop.
    if (link.unflushed > this.maxBufferedBytes) {
      this.dropOutbound('backpressure', batch.length);
      return;
    }
    const size = frame.length;
    link.unflushed += size;
    link.unflushedFrames.push(size);
    link.ws.send(frame, link.flushed);
    this.counters.framesSent++;
    this.counters.bytesSent += size;
    this.counters.messagesSent += batch.length;
  }

  // Inbound: accept, authenticate, check every frame, deliver.

  private accept(ws: WebSocket): void {
    if (this.closing !== undefined) {
      ws.terminate();
      return;
    }
    const conn: Inbound = {
      ws,
      handshake: new ServerHandshake(this.secret, this.id, (id) => this.peers.has(id)),
      peerId: None,
      violations: 0,
      timer: undefined,
    };
    this.inbound.add(conn);
    conn.timer = setTimeout(() => this.refuse(conn), this.handshakeTimeoutMs);
    ws.on('message', (data, isBinary) => this.onInboundFrame(conn, toBytes(data), isBinary));
    ws.on('error', (error: Error & { code?: string }) => {
      // ws enforces maxPayload from the frame header, before buffering the payload, then
      // closes with 1009 on its own.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && conn.peerId !== None) {
        this.counters.droppedInbound['too-large']++;
      }
    });
    ws.on('close', () => {
      clearTimeout(conn.timer);
      this.inbound.delete(conn);
    });
    ws.send(conn.handshake.hello());
  }

  /** Fails the handshake: nothing from this connection is ever read or delivered. */
  private refuse(conn: Inbound): void {
    clearTimeout(conn.timer);
    this.counters.authFailures++;
    conn.ws.close(POLICY_VIOLATION, 'authentication failed');
  }

  private onInboundFrame(conn: Inbound, bytes: Uint8Array, isBinary: boolean): void {
    if (conn.ws.readyState !== WebSocket.OPEN) {
      return;
    }
    if (conn.peerId === None) {
      try {
        if (!isBinary) {
          throw new FrameError('bad-field', 'text frame during the handshake');
        }
        const { peerId, welcome } = conn.handshake.verify(bytes);
        conn.peerId = peerId;
        clearTimeout(conn.timer);
        conn.ws.send(welcome);
      } catch {
        this.refuse(conn);
      }
      return;
    }
    this.counters.framesReceived++;
    this.counters.bytesReceived += bytes.length;
    if (!isBinary) {
      this.violation(conn, 'not-binary');
      return;
    }
    let messages: Message[];
    try {
      messages = decodeMessages(bytes, this.maxFrameBytes);
    } catch (error) {
      this.violation(conn, error instanceof FrameError ? error.reason : 'bad-field');
      return;
    }
    for (const m of messages) {
      if (m.to !== this.id) {
        this.violation(conn, 'wrong-to');
        return;
      }
      if (m.from !== conn.peerId) {
        this.violation(conn, 'wrong-from');
        return;
      }
    }
    const handler = this.handler;
    if (handler === undefined) {
      this.counters.droppedInbound['no-handler']++;
      return;
    }
    let delivered = 0;
    for (const m of messages) {
      try {
        handler(m);
        delivered++;
      } catch {
        this.counters.droppedInbound['handler-error']++;
      }
    }
    this.counters.messagesDelivered += delivered;
  }

  /** Drops a bad frame; a peer that keeps sending them is cut off. */
  private violation(conn: Inbound, reason: InboundDropReason): void {
    this.counters.droppedInbound[reason]++;
    conn.violations++;
    if (conn.violations === this.violationLimit) {
      this.counters.policyCloses++;
      conn.ws.close(POLICY_VIOLATION, 'too many bad frames');
    }
  }
}
