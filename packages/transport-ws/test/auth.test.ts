import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { MessageType, message } from '@tinyraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { FrameKind, Writer } from '../src/codec.js';
import { ClientHandshake, ServerHandshake } from '../src/handshake.js';
import { encodeMessage } from '../src/index.js';
import {
  closeAll,
  HOST,
  inbox,
  link,
  newTransport,
  RawPeer,
  SECRET,
  track,
  waitUntil,
  within,
} from './helpers.js';

afterEach(closeAll);

const POLICY_VIOLATION = 1008;
const secret = new TextEncoder().encode(SECRET);
const heartbeat2to1 = encodeMessage(
  message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 1 }),
);

/** Node 1, which knows node 2, and what it delivers. */
async function nodeOne(handshakeTimeoutMs = 5000) {
  const one = newTransport(1, { handshakeTimeoutMs });
  const two = newTransport(2);
  await link([one, two]);
  return { one, received: inbox(one) };
}

describe('handshake: a peer must prove the shared secret before anything it sends is read', () => {
  it('delivers the messages of a peer that proves the secret', async () => {
    const { one, received } = await nodeOne();
    const peer = new RawPeer(one.port);
    await peer.authenticate(2, 1);
    await peer.send(heartbeat2to1);
    await waitUntil(() => received.length === 1, 'the heartbeat to be delivered');
    expect(received[0]).toMatchObject({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1 });
    expect(one.stats().authFailures).toBe(0);
  });

  it('refuses a peer with the wrong secret, and delivers nothing it sent after its proof', async () => {
    const { one, received } = await nodeOne();
    const peer = new RawPeer(one.port);
    const handshake = new ClientHandshake(new TextEncoder().encode('wrong secret'), 2, 1);
    await peer.send(handshake.answer(await peer.next()));
    peer.ws.send(heartbeat2to1);
    expect(await peer.closeCode()).toBe(POLICY_VIOLATION);
    expect(peer.frames).toEqual([]);
    expect(one.stats().authFailures).toBe(1);
    expect(received).toEqual([]);
    expect(one.stats().messagesDelivered).toBe(0);
  });

  it('refuses a peer that sends a raft message instead of its proof', async () => {
    const { one, received } = await nodeOne();
    const peer = new RawPeer(one.port);
    await peer.next();
    await peer.send(heartbeat2to1);
    expect(await peer.closeCode()).toBe(POLICY_VIOLATION);
    expect(one.stats().authFailures).toBe(1);
    expect(received).toEqual([]);
  });

  it('refuses a peer that never answers, once the handshake timeout passes', async () => {
    const { one, received } = await nodeOne(100);
    const peer = new RawPeer(one.port);
    await peer.next();
    expect(await peer.closeCode()).toBe(POLICY_VIOLATION);
    expect(one.stats().authFailures).toBe(1);
    expect(received).toEqual([]);
    await waitUntil(() => one.stats().inboundConnections === 1, 'the refused socket to close');
  });

  /** Node 1's Hello as if node `serverId` had sent it: same nonce, another id. */
  function helloAs(hello: Uint8Array, serverId: number): Uint8Array {
    const w = new Writer(FrameKind.Hello);
    w.varint(serverId);
    w.raw(hello.subarray(hello.length - 32));
    return w.finish();
  }

  const proofs: [string, (hello: Uint8Array) => Uint8Array | string][] = [
    ['an id that is not a peer', (hello) => new ClientHandshake(secret, 7, 1).answer(hello)],
    ["the node's own id", (hello) => new ClientHandshake(secret, 1, 1).answer(hello)],
    [
      'a MAC made for another node',
      (hello) => new ClientHandshake(secret, 2, 3).answer(helloAs(hello, 3)),
    ],
    ['a text frame', () => 'let me in'],
  ];
  it.each(proofs)('refuses a proof with %s', async (_name, proof) => {
    const { one, received } = await nodeOne();
    const peer = new RawPeer(one.port);
    await peer.send(proof(await peer.next()));
    expect(await peer.closeCode()).toBe(POLICY_VIOLATION);
    expect(one.stats().authFailures).toBe(1);
    expect(received).toEqual([]);
  });

  it('never connects two nodes that hold different secrets', async () => {
    const one = newTransport(1, { secret: 'secret A' });
    const two = newTransport(2, { secret: 'secret B' });
    const received = [inbox(one), inbox(two)];
    await link([one, two], false);
    await waitUntil(
      () => one.stats().authFailures >= 2 && two.stats().authFailures >= 2,
      'both nodes to refuse each other twice',
    );
    one.send([message({ msgType: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 })]);
    expect(one.stats().connectedPeers).toEqual([]);
    expect(one.stats().droppedOutbound['not-connected']).toBe(1);
    expect(received).toEqual([[], []]);
  });

  describe('the dialling side checks the node it reached', () => {
    /** A server that plays node 2 without the secret: it answers every proof with `welcome`. */
    async function impostor(serverId: number, welcome: () => Uint8Array): Promise<number> {
      const wss = new WebSocketServer({ host: HOST, port: 0 });
      await within(new Promise((resolve) => wss.once('listening', resolve)), 2000, 'listening');
      wss.on('connection', (ws) => {
        ws.send(new ServerHandshake(randomBytes(32), serverId, () => true).hello());
        ws.on('message', () => ws.send(welcome()));
      });
      track({
        close: () =>
          new Promise<void>((resolve) => {
            for (const ws of wss.clients) {
              ws.terminate();
            }
            wss.close(() => resolve());
          }),
      });
      return (wss.address() as AddressInfo).port;
    }

    const bogusWelcome = () => {
      const w = new Writer(FrameKind.Welcome);
      w.raw(randomBytes(32));
      return w.finish();
    };

    it('refuses a server that cannot prove the secret', async () => {
      const port = await impostor(2, bogusWelcome);
      const one = newTransport(1, { peers: { 2: `ws://${HOST}:${port}` } });
      await one.start();
      await waitUntil(() => one.stats().authFailures >= 2, 'two refused handshakes');
      expect(one.stats().connectedPeers).toEqual([]);
      expect(one.stats().reconnects).toBeGreaterThanOrEqual(1);
    });

    it('refuses a server that is not the node it dialled', async () => {
      const port = await impostor(3, bogusWelcome);
      const one = newTransport(1, { peers: { 2: `ws://${HOST}:${port}` } });
      await one.start();
      await waitUntil(() => one.stats().authFailures >= 2, 'two refused handshakes');
      expect(one.stats().connectedPeers).toEqual([]);
    });
  });
});
