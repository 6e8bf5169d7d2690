import { MessageType, message } from '@tinyraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, encodeMessages, type WebSocketTransport } from '../src/index.js';
import {
  closeAll,
  link,
  newTransport,
  RawPeer,
  reportSeedOnFailure,
  seed,
  seededRandom,
  waitUntil,
} from './helpers.js';
import { agreedLeader, ManualTicker, type Member, startMember } from './raft.js';

afterEach(closeAll);

const ids = [1, 2, 3];
const violationLimit = 6;
const maxFrameBytes = 64 * 1024;

/**
 * Three raft nodes over real sockets, ticked in lockstep by the test: every round ticks each node
 * once and then waits until every message sent has been delivered, so the run is the same each
 * time and nothing but the test's own input can change the cluster.
 */
async function lockstepCluster() {
  const transports = ids.map((id) => newTransport(id, { violationLimit, maxFrameBytes }));
  await link(transports);
  const tickers = ids.map(() => new ManualTicker());
  const members = ids.map((id, i) =>
    startMember(id, ids, transports[i] as WebSocketTransport, tickers[i] as ManualTicker, seed),
  );
  const total = (key: 'messagesSent' | 'messagesDelivered') =>
    transports.reduce((sum, t) => sum + t.stats()[key], 0);
  const round = async () => {
    for (const t of tickers) {
      t.tick();
    }
    await waitUntil(
      () => total('messagesSent') === total('messagesDelivered'),
      `every message to be delivered`,
      2000,
    );
  };
  const roundsUntil = async (condition: () => boolean, what: string, limit = 200) => {
    for (let r = 0; r < limit && !condition(); r++) {
      await round();
    }
    expect(condition(), `${what} within ${limit} rounds`).toBe(true);
  };
  return { transports, members, round, roundsUntil };
}

const statusOf = (members: Member[]) => members.map((m) => m.node.status());

describe('hostile frames from an authenticated peer', () => {
  it('are dropped and counted, the peer is cut off, and the cluster keeps its leader, term and state', async () => {
    reportSeedOnFailure();
    const { transports, members, round, roundsUntil } = await lockstepCluster();
    // A leader, and its first entry committed and applied everywhere: from here on only the
    // test's input could change any node's state.
    await roundsUntil(() => {
      const lastIndex = members.map((m) => m.node.status().lastIndex);
      return (
        agreedLeader(members) !== undefined &&
        statusOf(members).every((s) => s.applied === Math.max(...lastIndex))
      );
    }, 'a leader with its first entry applied everywhere');
    const { leader, term } = agreedLeader(members) ?? { leader: 0, term: 0 };
    const target = transports[leader - 1] as WebSocketTransport;
    const [follower, other] = ids.filter((id) => id !== leader) as [number, number];
    const before = statusOf(members);
    const deliveredBefore = target.stats().messagesDelivered;

    // The attacker holds the secret and proves it as `follower`, then misbehaves.
    const attacker = new RawPeer(target.port);
    await attacker.authenticate(follower, leader);
    const valid = message({
      msgType: MessageType.MsgHeartbeatResponse,
      from: follower,
      to: leader,
      term: term + 5,
    });
    const random = seededRandom(seed);
    const garbage = Uint8Array.from({ length: 64 }, () => Math.floor(random() * 256));
    garbage[0] = 0;
    const whole = encodeMessage(valid);
    await attacker.send(garbage);
    await attacker.send(whole.subarray(0, whole.length - 3));
    await attacker.send('a text frame');
    await attacker.send(encodeMessage({ ...valid, from: other }));
    await attacker.send(encodeMessage({ ...valid, to: other }));
    // One forged message spoils its frame: the valid one beside it is not delivered either.
    await attacker.send(encodeMessages([valid, { ...valid, from: other }]));
    // Past the limit the connection is closed, and what follows is never read.
    attacker.ws.send(whole);

    expect(await attacker.closeCode()).toBe(1008);
    const stats = target.stats();
    expect(stats.droppedInbound).toMatchObject({
      'bad-magic': 1,
      truncated: 1,
      'not-binary': 1,
      'wrong-from': 2,
      'wrong-to': 1,
    });
    expect(stats.policyCloses).toBe(1);
    expect(stats.messagesDelivered).toBe(deliveredBefore);

    // A frame over the size limit is refused by ws from its header, before it is buffered.
    const big = new RawPeer(target.port);
    await big.authenticate(follower, leader);
    await big.send(new Uint8Array(maxFrameBytes + 1));
    expect(await big.closeCode()).toBe(1009);
    expect(target.stats().droppedInbound['too-large']).toBe(1);
    expect(target.stats().messagesDelivered).toBe(deliveredBefore);

    // Nothing changed, and it stays that way through more than an election timeout.
    expect(statusOf(members)).toEqual(before);
    for (let r = 0; r < 30; r++) {
      await round();
    }
    expect(statusOf(members)).toEqual(before);
    expect(agreedLeader(members)).toEqual({ leader, term });

    // And the cluster still works.
    const leaderNode = members[leader - 1];
    let committed = false;
    void leaderNode?.node.propose(Uint8Array.of(42)).then(() => {
      committed = true;
    });
    await roundsUntil(
      () => committed && members.every((m) => m.applied.some((e) => e.data?.[0] === 42)),
      'the proposal to be applied everywhere',
    );
  });
});
