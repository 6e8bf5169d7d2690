import type { AddressInfo } from 'node:net';
import { EntryType, MessageType, message } from '@tinyraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ServerHandshake } from '../src/handshake.js';
import { closeAll, HOST, inbox, link, newTransport, SECRET, track, waitUntil } from './helpers.js';

afterEach(closeAll);

const heartbeat = message({ msgType: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 });

function append(bytes: number) {
  return message({
    msgType: MessageType.MsgAppend,
    from: 1,
    to: 2,
    term: 1,
    entries: [{ entryType: EntryType.Normal, term: 1, index: 1, data: new Uint8Array(bytes) }],
  });
}

describe('backpressure: messages to a peer that is not keeping up are dropped, not queued', () => {
  it('drops and counts what is sent while more than maxBufferedBytes wait to be written', async () => {
    const one = newTransport(1, { maxBufferedBytes: 1 });
    const two = newTransport(2);
    const received = inbox(two);
    await link([one, two]);

    // Writes complete no sooner than the next turn of the event loop, so within this one the
    // first frame is still waiting when the others come.
    for (let i = 0; i < 10; i++) {
      one.send([heartbeat]);
    }
    expect(one.stats()).toMatchObject({ messagesSent: 1, droppedOutbound: { backpressure: 9 } });
    await waitUntil(() => received.length === 1, 'the one frame that was sent');

    // Once the buffer has drained, messages flow again.
    one.send([heartbeat]);
    await waitUntil(() => received.length === 2, 'the next frame');
    expect(one.stats()).toMatchObject({ messagesSent: 2, droppedOutbound: { backpressure: 9 } });
  });

  it('bounds what waits for a peer that stops reading', async () => {
    // A peer that authenticates as node 2 and then never reads again: the kernel's buffers fill
    // and the writes back up in this process.
    const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
    track({
      close: () =>
        new Promise<void>((resolve) => {
          for (const ws of wss.clients) {
            ws.terminate();
          }
          wss.close(() => resolve());
        }),
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws, req) => {
      const handshake = new ServerHandshake(new TextEncoder().encode(SECRET), 2, (id) => id === 1);
      ws.once('message', (proof: Buffer) => {
        ws.send(handshake.verify(proof).welcome);
        req.socket.pause();
      });
      ws.send(handshake.hello());
    });
    const port = (wss.address() as AddressInfo).port;
    const frameBytes = 256 * 1024;
    const maxBufferedBytes = 1024 * 1024;
    const one = newTransport(1, {
      peers: { 2: `ws://${HOST}:${port}` },
      maxBufferedBytes,
      maxFrameBytes: 2 * frameBytes,
    });
    await one.start();
    await waitUntil(() => one.stats().connectedPeers.length === 1, 'the handshake');

    // Far more than any loopback socket buffers; the limit must be reached long before.
    const big = append(frameBytes);
    for (let i = 0; i < 512 && one.stats().droppedOutbound.backpressure === 0; i++) {
      one.send([big]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = one.stats();
    expect(stats.droppedOutbound.backpressure).toBe(1);
    expect(stats.messagesSent).toBeGreaterThan(maxBufferedBytes / frameBytes);
  });
});
