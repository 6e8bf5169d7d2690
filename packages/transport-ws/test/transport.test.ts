import { connect } from 'node:net';
import { EntryType, type Message, MessageType, message } from '@tinyraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  TransportOptionsError,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from '../src/index.js';
import { backoffDelay } from '../src/transport.js';
import { closeAll, HOST, inbox, link, newTransport, SECRET, waitUntil, within } from './helpers.js';

afterEach(closeAll);

const hb = (from: number, to: number): Message =>
  message({ msgType: MessageType.MsgHeartbeat, from, to, term: 1 });

describe('options', () => {
  const base: WebSocketTransportOptions = {
    id: 1,
    listen: { host: HOST, port: 0 },
    peers: {},
    secret: SECRET,
  };
  const invalid: [string, Partial<WebSocketTransportOptions>, string][] = [
    ['id 0', { id: 0 }, 'id must be a positive integer, got 0'],
    ['a fractional id', { id: 1.5 }, 'id must be a positive integer, got 1.5'],
    ['a port past 65535', { listen: { host: HOST, port: 70_000 } }, 'listen.port'],
    ['an empty secret', { secret: '' }, 'secret must be non-empty'],
    ['an empty secret as bytes', { secret: new Uint8Array(0) }, 'secret must be non-empty'],
    ['a peer URL that is not one', { peers: { 2: 'not a url' } }, 'peers[2]'],
    ['a peer URL over http', { peers: { 2: 'http://127.0.0.1:1' } }, 'peers[2]'],
    ['peer id 0', { peers: { 0: 'ws://127.0.0.1:1' } }, 'peer id must be'],
    ['a zero frame limit', { maxFrameBytes: 0 }, 'maxFrameBytes'],
    [
      'a maximum redial delay below the initial one',
      { reconnect: { initialDelayMs: 100, maxDelayMs: 50 } },
      'reconnect.maxDelayMs must be at least reconnect.initialDelayMs, got 50',
    ],
    ['a zero violation limit', { violationLimit: 0 }, 'violationLimit'],
  ];
  it.each(invalid)('refuses %s with TransportOptionsError', (_name, override, text) => {
    expect(() => new WebSocketTransport({ ...base, ...override })).toThrow(TransportOptionsError);
    expect(() => new WebSocketTransport({ ...base, ...override })).toThrow(text);
  });

  it("skips this node's own entry in a shared peer map, but refuses it in setPeer", () => {
    const t = new WebSocketTransport({ ...base, peers: new Map([[1, 'ws://127.0.0.1:1']]) });
    t.send([hb(1, 1)]);
    expect(t.stats().droppedOutbound['unknown-peer']).toBe(1);
    expect(() => t.setPeer(1, 'ws://127.0.0.1:1')).toThrow('node 1 cannot be its own peer');
  });
});

describe('redial backoff', () => {
  const reconnect = { initialDelayMs: 100, maxDelayMs: 1000 };
  it.each([
    [0, 0, 50],
    [0, 0.999_999, 100],
    [1, 0, 100],
    [3, 0.5, 600],
    [4, 0, 500],
    [30, 1 - 2 ** -52, 1000],
  ])('after %i failures with random %f waits about %f ms', (failures, r, expected) => {
    expect(backoffDelay(failures, reconnect, () => r)).toBeCloseTo(expected, 2);
  });
});

describe('lifecycle', () => {
  it('resolves start with the bound port, once, however often it is called', async () => {
    const t = newTransport(1);
    expect(t.port).toBe(0);
    const port = await t.start();
    expect(port).toBeGreaterThan(0);
    expect(t.port).toBe(port);
    expect(await t.start()).toBe(port);
  });

  it('rejects start on a port already in use', async () => {
    const one = newTransport(1);
    await one.start();
    const two = newTransport(2, { listen: { host: HOST, port: one.port } });
    await expect(two.start()).rejects.toThrow('EADDRINUSE');
  });

  it('closes idempotently, frees the port, and drops what is sent afterwards', async () => {
    const one = newTransport(1);
    const two = newTransport(2);
    await link([one, two]);
    const port = one.port;
    await Promise.all([one.close(), one.close()]);
    await one.close();
    one.send([hb(1, 2)]);
    expect(one.stats().droppedOutbound['not-connected']).toBe(1);
    await expect(one.start()).rejects.toThrow('closed');
    const again = newTransport(1, { listen: { host: HOST, port } });
    expect(await again.start()).toBe(port);
  });

  it('follows a peer to a new URL with setPeer, and keeps the old one on a bad URL', async () => {
    const one = newTransport(1);
    const two = newTransport(2);
    await link([one, two]);
    expect(() => one.setPeer(2, 'http://127.0.0.1:1')).toThrow(TransportOptionsError);
    expect(one.stats().connectedPeers).toEqual([2]);

    await two.close();
    const moved = newTransport(2);
    const received = inbox(moved);
    await link([one, moved]);
    one.send([hb(1, 2)]);
    await waitUntil(() => received.length === 1, 'delivery at the new URL');
  });

  it('refuses to start once closed', async () => {
    const t = newTransport(1);
    await t.close();
    await expect(t.start()).rejects.toThrow('closed');
  });

  it('closes even with a connection that never sent an HTTP request', async () => {
    const t = newTransport(1);
    await t.start();
    const socket = connect(t.port, HOST);
    socket.on('error', () => undefined);
    await within(new Promise((resolve) => socket.once('connect', resolve)), 2000, 'connect');
    await within(t.close(), 2000, 'close');
  });
});

describe('sending', () => {
  it('sends each peer its messages in one frame', async () => {
    const [one, two, three] = [newTransport(1), newTransport(2), newTransport(3)];
    const at2 = inbox(two);
    const at3 = inbox(three);
    await link([one, two, three]);
    one.send([hb(1, 2), hb(1, 3), { ...hb(1, 2), commit: 4 }, hb(1, 9)]);
    await waitUntil(() => at2.length === 2 && at3.length === 1, 'delivery');
    expect(at2.map((m) => m.commit)).toEqual([0, 4]);
    expect(one.stats()).toMatchObject({
      framesSent: 2,
      messagesSent: 3,
      droppedOutbound: { 'unknown-peer': 1 },
    });
  });

  it('splits a batch that is over the frame limit, and drops a single message that is', async () => {
    const entry = (index: number, bytes: number) => ({
      entryType: EntryType.Normal,
      term: 1,
      index,
      data: new Uint8Array(bytes),
    });
    const append = (bytes: number) =>
      message({
        msgType: MessageType.MsgAppend,
        from: 1,
        to: 2,
        term: 1,
        entries: [entry(1, bytes)],
      });
    const one = newTransport(1, { maxFrameBytes: 1000 });
    const two = newTransport(2, { maxFrameBytes: 1000 });
    const received = inbox(two);
    await link([one, two]);
    one.send([append(600), append(600), append(2000), hb(1, 2)]);
    await waitUntil(() => received.length === 3, 'the messages that fit');
    expect(received.map((m) => m.entries[0]?.data?.length ?? 0)).toEqual([600, 600, 0]);
    expect(one.stats().droppedOutbound['too-large']).toBe(1);
  });

  it('never sends a message on behalf of another node, which the peer would count as a violation', async () => {
    const one = newTransport(1);
    const two = newTransport(2);
    const received = inbox(two);
    await link([one, two]);
    // What a follower makes of transferLeader(3): the request, forwarded to its leader, from 3.
    const forwarded = message({ msgType: MessageType.MsgTransferLeader, from: 3, to: 2 });
    one.send([forwarded, { ...hb(1, 2), commit: 7 }]);
    one.send([{ ...hb(1, 2), commit: 8 }]);
    await waitUntil(() => received.length === 2, 'the messages from node 1');
    expect(received.map((m) => m.commit)).toEqual([7, 8]);
    expect(one.stats().droppedOutbound['not-from-us']).toBe(1);
    expect(two.stats().droppedInbound['wrong-from']).toBe(0);
  });

  it('drops a malformed message and still sends the rest of its batch', async () => {
    const one = newTransport(1);
    const two = newTransport(2);
    const received = inbox(two);
    await link([one, two]);
    one.send([hb(1, 2), { ...hb(1, 2), term: -1 }, { ...hb(1, 2), commit: 9 }]);
    await waitUntil(() => received.length === 2, 'the well-formed messages');
    expect(received.map((m) => m.commit)).toEqual([0, 9]);
    expect(one.stats().droppedOutbound.invalid).toBe(1);
  });
});

describe('receiving', () => {
  it('counts messages that arrive before a handler is set, or whose handler throws', async () => {
    const one = newTransport(1);
    const two = newTransport(2);
    await link([one, two]);
    one.send([hb(1, 2)]);
    await waitUntil(() => two.stats().droppedInbound['no-handler'] === 1, 'the unhandled frame');

    const received: Message[] = [];
    two.onMessage((m) => {
      if (m.commit === 1) {
        throw new Error('handler failure');
      }
      received.push(m);
    });
    one.send([
      { ...hb(1, 2), commit: 1 },
      { ...hb(1, 2), commit: 2 },
    ]);
    await waitUntil(() => received.length === 1, 'the message after the one that threw');
    expect(two.stats()).toMatchObject({
      messagesDelivered: 1,
      droppedInbound: { 'handler-error': 1, 'no-handler': 1 },
    });
  });
});
