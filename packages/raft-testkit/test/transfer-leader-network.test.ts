/**
 * Leadership transfer (§3.10) through whole clusters: on the synchronous test network, and with
 * `RaftNode` on fake time.
 */
import {
  type Config,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  None,
  ProposalDroppedError,
  RaftNode,
  StateType,
} from '@tinyraft/raft-core';
import { describe, expect, test } from 'vitest';
import { blackHole, ManualTicker, MemoryTransportHub, Network } from '../src/index.js';
import { beat, hup, propose, raftOf, text } from './helpers.js';

/** The request to move leadership to `transferee`, stepped at node `at`. */
const transfer = (transferee: number, at: number): Message =>
  message({ msgType: MessageType.MsgTransferLeader, from: transferee, to: at });

/** Three nodes (or the given peers) with node 1 elected and the no-op committed everywhere. */
function cluster(
  configure?: (c: Config) => void,
  peers: Array<null | typeof blackHole> = [null, null, null],
): Network {
  const nt = new Network(peers, configure === undefined ? {} : { configure });
  nt.send(hup(1));
  expect(raftOf(nt, 1).state).toBe(StateType.Leader);
  return nt;
}

const leaders = (nt: Network): number[] =>
  [...nt.peers.keys()].filter(
    (id) => nt.peers.get(id) !== blackHole && raftOf(nt, id).state === StateType.Leader,
  );

describe('leadership transfer on the test network', () => {
  test('to an up-to-date follower: it campaigns at once and wins the next term', () => {
    const nt = cluster();
    nt.send(transfer(2, 1));
    expect(leaders(nt)).toEqual([2]);
    for (const id of [1, 2, 3]) {
      expect([raftOf(nt, id).term, raftOf(nt, id).lead], `node ${id}`).toEqual([2, 2]);
    }
  });

  test('to a lagging follower: it is brought up to date first, so it wins and nothing is lost', () => {
    const nt = cluster();
    nt.isolate(3);
    for (const d of ['a', 'b', 'c']) {
      nt.send(propose(1, d));
    }
    nt.recover();
    expect(raftOf(nt, 3).raftLog.lastIndex()).toBe(1);

    nt.send(transfer(3, 1));
    expect(leaders(nt)).toEqual([3]);
    nt.send(propose(3, 'd'));
    const log = raftOf(nt, 3).raftLog;
    expect(log.nextEnts().map(text)).toEqual(['', 'a', 'b', 'c', '', 'd']);
    for (const id of [1, 2]) {
      expect(raftOf(nt, id).raftLog.committed).toBe(log.lastIndex());
    }
  });

  test('a follower forwards the request to its leader', () => {
    const nt = cluster();
    nt.send(transfer(3, 2));
    expect(leaders(nt)).toEqual([3]);
    expect(raftOf(nt, 1).term).toBe(2);
  });

  test.each([
    ['the leader itself', 1],
    ['a node that is not a member', 7],
  ])('a request for %s changes nothing', (_name, transferee) => {
    const nt = cluster();
    nt.send(transfer(transferee, 1));
    expect(leaders(nt)).toEqual([1]);
    expect(raftOf(nt, 1).leadTransferee).toBe(None);
    nt.send(propose(1, 'taken'));
    expect(raftOf(nt, 2).raftLog.committed).toBe(2);
  });

  test('to a member that never answers: proposals are dropped for an election timeout, then the leader takes them again', () => {
    const nt = cluster(undefined, [null, null, blackHole]);
    const leader = raftOf(nt, 1);
    nt.send(transfer(3, 1));
    expect(leader.leadTransferee).toBe(3);
    for (let t = 0; t < 9; t++) {
      leader.tick();
      nt.send(...leader.readMessages());
    }
    expect(() => leader.step(propose(1, 'dropped'))).toThrow(ProposalDroppedError);
    expect(leader.raftLog.lastIndex()).toBe(1);

    leader.tick();
    expect(leader.leadTransferee).toBe(None);
    nt.send(...leader.readMessages(), propose(1, 'taken'));
    expect(leader.state).toBe(StateType.Leader);
    expect(raftOf(nt, 2).raftLog.committed).toBe(2);
  });

  test('with Pre-Vote and check quorum, the transferee wins though every follower is in the leader lease, where an election timeout could not', () => {
    const nt = cluster((c) => {
      c.preVote = true;
      c.checkQuorum = true;
    });
    nt.send(hup(3));
    expect(leaders(nt), 'a timeout in the lease wins no pre-votes').toEqual([1]);
    expect(raftOf(nt, 3).term).toBe(1);

    nt.send(transfer(3, 1));
    expect(leaders(nt)).toEqual([3]);
    expect([1, 2, 3].map((id) => raftOf(nt, id).term)).toEqual([2, 2, 2]);
    nt.send(beat(3), propose(3, 'x'));
    expect(raftOf(nt, 1).raftLog.committed).toBe(3);
  });
});

describe('RaftNode.transferLeadership', () => {
  test('on the leader or on a follower, moves leadership; a proposal made meanwhile is rejected, not thrown', async () => {
    const hub = new MemoryTransportHub();
    const ids = [1, 2, 3];
    const nodes = ids.map((id) => {
      const ticker = new ManualTicker();
      const node = new RaftNode({
        config: {
          id,
          peers: ids,
          electionTick: 10,
          heartbeatTick: 1,
          storage: new MemoryStorage(),
          preVote: true,
        },
        transport: hub.transport(id),
        ticker,
      });
      node.start();
      return { node, ticker };
    });
    const [one, two, three] = nodes.map((x) => x.node) as [RaftNode, RaftNode, RaftNode];
    one.campaign();
    hub.flush();
    expect(one.status().role).toBe(StateType.Leader);

    // Node 3 is cut off and misses an entry, so the transfer waits for it to catch up.
    hub.isolate(3);
    const first = one.propose(new Uint8Array([1]));
    hub.flush();
    expect(await first).toBe(2);
    one.transferLeadership(3);
    hub.flush();
    await expect(one.propose(new Uint8Array([2]))).rejects.toBeInstanceOf(ProposalDroppedError);

    hub.heal();
    nodes[0]?.ticker.tick();
    hub.flush();
    expect(three.status()).toMatchObject({ role: StateType.Leader, term: 2 });
    expect(one.status()).toMatchObject({ role: StateType.Follower, leader: 3, term: 2 });

    // A follower asking for itself: its request reaches the leader from the transferee.
    two.transferLeadership(2);
    hub.flush();
    expect(two.status()).toMatchObject({ role: StateType.Leader, term: 3 });
    const index = two.propose(new Uint8Array([3]));
    hub.flush();
    expect(await index).toBe(5);
  });
});
