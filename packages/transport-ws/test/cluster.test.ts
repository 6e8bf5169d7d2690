import { type Message, StateType, type Transport } from '@tinyraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketTransport } from '../src/index.js';
import {
  closeAll,
  HOST,
  link,
  newTransport,
  reportSeedOnFailure,
  seed,
  track,
  urlOf,
  waitUntil,
  within,
} from './helpers.js';
import { agreedLeader, IntervalTicker, type Member, startMember } from './raft.js';

afterEach(closeAll);

/** Lets a running node change transports, as a process would after its network restarts. */
class Replaceable implements Transport {
  private handler: ((m: Message) => void) | undefined;
  inner: WebSocketTransport;

  constructor(inner: WebSocketTransport) {
    this.inner = inner;
  }

  send(messages: readonly Message[]): void {
    this.inner.send(messages);
  }

  onMessage(handler: (m: Message) => void): void {
    this.handler = handler;
    this.inner.onMessage(handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async replace(next: WebSocketTransport): Promise<void> {
    this.inner = next;
    if (this.handler !== undefined) {
      next.onMessage(this.handler);
    }
    await next.start();
  }
}

const ids = [1, 2, 3];

describe('a cluster over real sockets', () => {
  it('elects a leader, replaces it when its transport closes, and takes it back as a follower', {
    timeout: 20_000,
  }, async () => {
    reportSeedOnFailure();
    const transports = ids.map((id) => newTransport(id));
    await link(transports);
    const wires = transports.map((t) => new Replaceable(t));
    const members = ids.map((id, i) =>
      startMember(id, ids, wires[i] as Replaceable, new IntervalTicker(5), seed),
    );
    track({ close: async () => void (await Promise.all(members.map((m) => m.node.stop()))) });

    const first = await leaderAmong(members, 'a first leader');
    const old = first.leader;
    const oldWire = wires[old - 1] as Replaceable;
    const oldPort = oldWire.inner.port;

    // The leader's network goes away; it keeps running and still believes it leads.
    await oldWire.inner.close();
    const others = members.filter((m) => m.id !== old);
    const second = await leaderAmong(others, 'a new leader among the other two');
    expect(second.leader).not.toBe(old);
    expect(second.term).toBeGreaterThan(first.term);

    const leader = members[second.leader - 1] as Member;
    const data = Uint8Array.of(7, 7, 7);
    await within(leader.node.propose(data), 5000, 'the proposal to commit on two nodes');

    // A fresh transport on the same port: the old leader hears the new term and follows.
    const peers = Object.fromEntries(
      others.map((m) => [m.id, urlOf(transports[m.id - 1] as WebSocketTransport)]),
    );
    const fresh = newTransport(old, { listen: { host: HOST, port: oldPort }, peers });
    await oldWire.replace(fresh);
    expect(fresh.port).toBe(oldPort);

    const rejoined = members[old - 1] as Member;
    await waitUntil(() => {
      const agreed = agreedLeader(members);
      return (
        agreed !== undefined &&
        agreed.leader !== old &&
        rejoined.applied.some((e) => e.data !== undefined && e.data[0] === 7)
      );
    }, `node ${old} to follow the new leader and apply its entry`);
    expect(rejoined.node.status().role).toBe(StateType.Follower);
    await waitUntil(
      () => fresh.stats().connectedPeers.length === others.length,
      'the fresh transport to reach both peers',
    );
    expect(
      others.every((m) => (transports[m.id - 1] as WebSocketTransport).stats().reconnects > 0),
    ).toBe(true);
  });
});

async function leaderAmong(members: Member[], what: string) {
  await waitUntil(() => agreedLeader(members) !== undefined, `${what}`);
  return agreedLeader(members) as { leader: number; term: number };
}
