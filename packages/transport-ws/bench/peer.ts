/**
 * The receiving node, in a process of its own (forked by pair.ts). It runs a tinyraft transport
 * (node 2) and a plain `ws` server side by side, counts what arrives on either, and acknowledges
 * every `ackEvery` messages over the same implementation they came by. It exits when the driver
 * says so or when the driver's IPC channel goes away, so that it never outlives a crashed bench.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { WebSocketTransport } from '../src/index.js';
import { type Reply, type Request, SECRET_ENV } from './protocol.js';
import { ack, type Impl, PEER_ID, rawAck, SENDER_ID } from './workload.js';

function reply(r: Reply): void {
  process.send?.(r);
}

const secret = process.env[SECRET_ENV];
if (secret === undefined || process.send === undefined) {
  throw new Error(`peer.ts is forked by the bench with ${SECRET_ENV} set; run bench/run.ts`);
}
process.on('disconnect', () => process.exit(0));

const transport = new WebSocketTransport({
  id: PEER_ID,
  listen: { host: '127.0.0.1', port: 0 },
  peers: {},
  secret,
  reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
});

let impl: Impl = 'tinyraft';
let perFrame = 1;
let ackEvery = 1;
let received = 0;
let misrouted = 0;
let cpu0 = process.cpuUsage();
let drops0 = 0;

function drops(): number {
  const s = transport.stats();
  return (
    Object.values(s.droppedInbound).reduce((a, b) => a + b, 0) +
    Object.values(s.droppedOutbound).reduce((a, b) => a + b, 0)
  );
}

transport.onMessage(() => {
  if (impl !== 'tinyraft') {
    misrouted++;
  }
  received++;
  if (received % ackEvery === 0) {
    transport.send([ack(received)]);
  }
});

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws: WebSocket) => {
  ws.on('message', () => {
    if (impl !== 'raw') {
      misrouted++;
    }
    received += perFrame;
    if (received % ackEvery === 0) {
      ws.send(rawAck(received));
    }
  });
});

async function connect(url: string): Promise<void> {
  transport.setPeer(SENDER_ID, url);
  for (let waited = 0; !transport.stats().connectedPeers.includes(SENDER_ID); waited += 5) {
    if (waited >= 5000) {
      throw new Error(`node ${PEER_ID} did not connect to ${url} within 5 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function stop(): Promise<void> {
  await transport.close();
  for (const ws of wss.clients) {
    ws.terminate();
  }
  await new Promise((resolve) => wss.close(resolve));
}

async function handle(r: Request): Promise<Reply> {
  switch (r.type) {
    case 'connect':
      await connect(r.url);
      return { type: 'connected' };
    case 'expect':
      impl = r.impl;
      perFrame = r.perFrame;
      ackEvery = r.ackEvery;
      received = 0;
      misrouted = 0;
      drops0 = drops();
      cpu0 = process.cpuUsage();
      return { type: 'ready' };
    case 'report': {
      const cpu = process.cpuUsage(cpu0);
      const dropped = drops() - drops0;
      return { type: 'report', received, misrouted, cpuUs: cpu.user + cpu.system, dropped };
    }
    case 'stop':
      await stop();
      return { type: 'stopped' };
  }
}

process.on('message', (r: Request) => {
  handle(r).then(
    (answer) => {
      reply(answer);
      if (answer.type === 'stopped') {
        process.disconnect();
      }
    },
    (error: unknown) => reply({ type: 'error', message: String(error) }),
  );
});

const [transportPort] = await Promise.all([
  transport.start(),
  new Promise((resolve) => wss.once('listening', resolve)),
]);
reply({ type: 'listening', transportPort, rawPort: (wss.address() as AddressInfo).port });
