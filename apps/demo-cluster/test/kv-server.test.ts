import type { AddressInfo } from 'node:net';
import {
  MemoryStorage,
  type Message,
  MessageType,
  message,
  RaftNode,
  type Transport,
} from '@tinyraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { KvStore } from '../src/kv.js';
import { KvServer, maxValueBytes } from '../src/kv-server.js';

/** A transport that sends nowhere and lets the test deliver messages by hand. */
class HandTransport implements Transport {
  handler: ((m: Message) => void) | undefined;
  send(): void {}
  onMessage(handler: (m: Message) => void): void {
    this.handler = handler;
  }
  async close(): Promise<void> {}
}

/** Time only moves when the test says so. */
const stillTicker = { start(): void {}, stop(): void {} };

interface Fixture {
  node: RaftNode;
  transport: HandTransport;
  server: KvServer;
  url: string;
}

const running: Fixture[] = [];

afterEach(async () => {
  for (const f of running.splice(0)) {
    await f.node.stop();
    await f.server.close();
  }
});

async function start(peers: number[], memberUrls: Map<number, string>): Promise<Fixture> {
  const transport = new HandTransport();
  const store = new KvStore();
  const node = new RaftNode({
    config: { id: 1, peers, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage() },
    transport,
    ticker: stillTicker,
    apply: (e) => store.apply(e),
  });
  node.start();
  const server = new KvServer({
    node,
    store,
    memberUrls,
    proposalTimeoutMs: 1_000,
    status: () => ({ id: 1 }),
  });
  await server.listen(0, '127.0.0.1');
  const { port } = server.server.address() as AddressInfo;
  const f = { node, transport, server, url: `http://127.0.0.1:${port}` };
  running.push(f);
  return f;
}

describe('KvServer on a leader', () => {
  it('acknowledges a put once applied and reads it back through a read barrier', async () => {
    const f = await start([1], new Map());
    f.node.campaign();
    const put = await fetch(`${f.url}/kv/a%20key`, { method: 'PUT', body: 'v1' });
    expect(put.status).toBe(200);
    const { index } = (await put.json()) as { index: number };
    expect(f.node.status().applied).toBeGreaterThanOrEqual(index);
    const get = await fetch(`${f.url}/kv/a%20key`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('v1');
    // The read appended a barrier entry after the write.
    expect(f.node.status().lastIndex).toBe(index + 1);
    expect((await fetch(`${f.url}/kv/missing`)).status).toBe(404);
    expect((await fetch(`${f.url}/kv/a%20key`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${f.url}/kv/a%20key`)).status).toBe(404);
  });

  it('applies a write retried with the same request id once', async () => {
    const f = await start([1], new Map());
    f.node.campaign();
    const headers = { 'X-Request-Id': 'retry-me' };
    expect((await fetch(`${f.url}/kv/k`, { method: 'PUT', body: 'first', headers })).status).toBe(
      200,
    );
    expect((await fetch(`${f.url}/kv/k`, { method: 'PUT', body: 'second' })).status).toBe(200);
    const retry = await fetch(`${f.url}/kv/k`, { method: 'PUT', body: 'first', headers });
    expect(retry.status).toBe(200);
    expect(await (await fetch(`${f.url}/kv/k`)).text()).toBe('second');
  });

  it('refuses hostile requests without changing state', async () => {
    const f = await start([1], new Map());
    f.node.campaign();
    const before = f.node.status().lastIndex;
    const cases: Array<[string, RequestInit, number]> = [
      ['/kv/%E0%A4%A', { method: 'PUT', body: 'x' }, 400],
      [`/kv/${'k'.repeat(600)}`, { method: 'PUT', body: 'x' }, 400],
      ['/kv/k', { method: 'POST', body: 'x' }, 405],
      ['/nope', {}, 404],
      ['/kv/k', { method: 'PUT', body: 'x', headers: { 'X-Request-Id': 'i'.repeat(200) } }, 400],
      ['/kv/k', { method: 'PUT', body: 'x'.repeat(maxValueBytes + 1) }, 413],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(`${f.url}${path}`, init);
      expect(res.status, `${init.method ?? 'GET'} ${path.slice(0, 40)}`).toBe(status);
    }
    expect(f.node.status().lastIndex).toBe(before);
  });
});

describe('KvServer on a follower', () => {
  it('redirects to the leader it knows, and answers 503 while it knows none', async () => {
    const urls = new Map([
      [2, 'http://127.0.0.1:1'],
      [3, 'http://127.0.0.1:2'],
    ]);
    const f = await start([1, 2, 3], urls);
    const none = await fetch(`${f.url}/kv/a`, { redirect: 'manual' });
    expect(none.status).toBe(503);
    f.transport.handler?.(message({ msgType: MessageType.MsgHeartbeat, from: 3, to: 1, term: 1 }));
    for (const init of [{}, { method: 'PUT', body: 'v' }, { method: 'DELETE' }]) {
      const res = await fetch(`${f.url}/kv/a?x=1`, { ...init, redirect: 'manual' });
      expect(res.status).toBe(307);
      expect(res.headers.get('location')).toBe('http://127.0.0.1:2/kv/a?x=1');
    }
  });
});

describe('KvClient', () => {
  it('follows a redirect from a follower to the leader', async () => {
    const leader = await start([1], new Map());
    leader.node.campaign();
    const follower = await start([1, 2, 3], new Map([[2, leader.url]]));
    follower.transport.handler?.(
      message({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 1 }),
    );
    const client = new KvClient({ urls: [follower.url], deadlineMs: 5_000 });
    await client.put('x', 'y');
    expect(await client.get('x')).toBe('y');
    expect(client.stats.redirects).toBe(1);
  });
});
