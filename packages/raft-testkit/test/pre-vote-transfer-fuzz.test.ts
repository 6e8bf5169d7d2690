/**
 * Hostile input aimed at Pre-Vote and leadership transfer: a `RawNode` with `preVote` on (and
 * check quorum on or off) is fed random ticks, proposals, local transfer requests, the natural
 * answers to what it sends, and pre-votes, pre-vote responses, transfer requests and MsgTimeoutNow
 * of every term from any sender, some of them damaged.
 *
 * After every step:
 * - the node threw nothing but `MalformedMessageError` or `ProposalDroppedError`, and a step that
 *   threw changed nothing;
 * - its term and commit index never went down;
 * - a pre-vote changed nothing but the outbox, where it left exactly one answer: a grant with the
 *   term asked about, or a rejection with the node's term;
 * - a pre-vote response moved the term only as the protocol allows: to a rejection's higher term,
 *   or from a pre-candidate's term to the next when it starts its campaign;
 * - a transfer request from the network changed nothing at a node that does not lead, and at a
 *   leader changed neither its term, its role nor its log.
 *
 * FUZZ_SEED=<n> and FUZZ_RUNS=<count> choose the runs; fast-check prints the shrunk counterexample.
 */
import {
  MalformedMessageError,
  MemoryStorage,
  type Message,
  MessageType,
  message,
  ProposalDroppedError,
  RawNode,
  StateType,
} from '@tinyraft/raft-core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { seededRandom } from '../src/random.js';

const seed = Number(process.env.FUZZ_SEED ?? 72_024);
const peers = [1, 2, 3];

type TermChoice = 'prev' | 'cur' | 'next' | 'far';

type Action =
  | { kind: 'tick'; times: number }
  | { kind: 'propose' }
  | { kind: 'ready' }
  /** The operator asks this node to hand leadership to `transferee`. */
  | { kind: 'transfer'; transferee: number }
  /** A peer's natural answer to one of the node's last messages. */
  | { kind: 'reply'; pick: number; grant: boolean }
  /** A message of the new kinds from anyone, of any term, perhaps damaged. */
  | {
      kind: 'hostile';
      msgType: MessageType;
      from: number;
      term: TermChoice;
      logAhead: number;
      reject: boolean;
      damage: { field: string; value: unknown } | null;
    };

const hostileTypes = [
  MessageType.MsgPreVote,
  MessageType.MsgPreVoteResponse,
  MessageType.MsgTransferLeader,
  MessageType.MsgTimeoutNow,
  MessageType.MsgHeartbeat,
] as const;

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      times: fc.integer({ min: 1, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'propose' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'ready' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('transfer' as const),
      transferee: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('reply' as const),
      pick: fc.nat(),
      grant: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('hostile' as const),
      msgType: fc.constantFrom(...hostileTypes),
      from: fc.constantFrom(0, 1, 2, 3, 4),
      term: fc.constantFrom<TermChoice>('prev', 'cur', 'next', 'far'),
      logAhead: fc.integer({ min: -3, max: 3 }),
      reject: fc.boolean(),
      damage: fc.option(
        fc.record({
          field: fc.constantFrom('term', 'index', 'logTerm', 'from', 'reject', 'entries'),
          value: fc.constantFrom(-1, 0, 1.5, Number.NaN, '2', null, undefined, 2 ** 60),
        }),
        { freq: 4 },
      ),
    }),
  },
);

/** What a peer would answer to the node's message `m`, granted or not. */
function reply(m: Message, grant: boolean): Message | undefined {
  const base = { from: m.to, to: m.from, term: m.term, reject: !grant };
  switch (m.msgType) {
    case MessageType.MsgPreVote:
      return message({ ...base, msgType: MessageType.MsgPreVoteResponse });
    case MessageType.MsgRequestVote:
      return message({ ...base, msgType: MessageType.MsgRequestVoteResponse });
    case MessageType.MsgAppend:
      return message({
        ...base,
        msgType: MessageType.MsgAppendResponse,
        reject: false,
        index: m.index + m.entries.length,
      });
    case MessageType.MsgHeartbeat:
      return message({ ...base, msgType: MessageType.MsgHeartbeatResponse, reject: false });
    default:
      return undefined;
  }
}

function hostile(a: Action & { kind: 'hostile' }, rn: RawNode): unknown {
  const r = rn.raft;
  const term = {
    prev: Math.max(r.term - 1, 1),
    cur: Math.max(r.term, 1),
    next: r.term + 1,
    far: r.term + 50,
  }[a.term];
  const index = Math.max(r.raftLog.lastIndex() + a.logAhead, 0);
  const m: Record<string, unknown> = {
    ...message({
      msgType: a.msgType,
      from: a.from,
      to: 1,
      term: a.msgType === MessageType.MsgTransferLeader ? 0 : term,
      index,
      logTerm: index === 0 ? 0 : Math.max(r.raftLog.lastTerm() + Math.sign(a.logAhead), 0),
      reject: a.reject,
    }),
  };
  if (a.damage !== null) {
    m[a.damage.field] = a.damage.value;
  }
  return m;
}

/** Everything a step can change. */
function stateOf(rn: RawNode): unknown {
  const r = rn.raft;
  return {
    term: r.term,
    vote: r.vote,
    state: r.state,
    lead: r.lead,
    leadTransferee: r.leadTransferee,
    electionElapsed: r.electionElapsed,
    heartbeatElapsed: r.heartbeatElapsed,
    randomizedElectionTimeout: r.randomizedElectionTimeout,
    committed: r.raftLog.committed,
    last: r.raftLog.lastIndex(),
    prs: [...r.prs].map(([id, p]) => [id, { ...p }]),
    votes: [...r.votes],
    outbox: r.msgs.length,
  };
}

const coverage = {
  preCandidate: false,
  campaignAfterPreVote: false,
  leader: false,
  transferring: false,
  timeoutNowSent: false,
  malformed: false,
};

/** Checks what one well-formed message of the new kinds may do, given the state before it. */
function checkEffect(
  m: Message,
  rn: RawNode,
  before: { term: number; vote: number; state: StateType; last: number; outbox: number },
  why: string,
): void {
  const r = rn.raft;
  if (m.msgType === MessageType.MsgPreVote) {
    const sent = r.msgs.slice(before.outbox);
    expect(sent, why).toHaveLength(1);
    const answer = sent[0] as Message;
    expect([answer.msgType, answer.to], why).toEqual([MessageType.MsgPreVoteResponse, m.from]);
    expect(answer.term, why).toBe(answer.reject ? before.term : m.term);
    expect([r.term, r.vote, r.state], why).toEqual([before.term, before.vote, before.state]);
  } else if (m.msgType === MessageType.MsgPreVoteResponse) {
    if (r.term !== before.term) {
      const steppedDown = m.reject && m.term === r.term && r.state === StateType.Follower;
      const campaigned =
        before.state === StateType.PreCandidate && !m.reject && r.term === before.term + 1;
      coverage.campaignAfterPreVote ||= campaigned;
      expect(steppedDown || campaigned, `${why}: term ${before.term} → ${r.term}`).toBe(true);
    } else {
      expect(r.vote, why).toBe(before.vote);
    }
  } else if (m.msgType === MessageType.MsgTransferLeader) {
    if (before.state === StateType.Leader) {
      expect([r.term, r.state, r.raftLog.lastIndex()], why).toEqual([
        before.term,
        StateType.Leader,
        before.last,
      ]);
    } else {
      expect(r.msgs.length, `${why}: a non-leader sent something`).toBe(before.outbox);
    }
  }
}

describe('fuzz: Pre-Vote and leadership transfer under hostile input', () => {
  test('a RawNode with Pre-Vote throws only typed errors, and every message of the new kinds does only what it may', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.boolean(),
        fc.array(action, { minLength: 20, maxLength: 200, size: 'max' }),
        (runSeed, checkQuorum, actions) => {
          const storage = new MemoryStorage();
          const rn = new RawNode({
            id: 1,
            peers,
            electionTick: 10,
            heartbeatTick: 1,
            storage,
            random: seededRandom(runSeed),
            preVote: true,
            checkQuorum,
          });
          let outbox: Message[] = [];
          let payload = 0;
          let term = 0;
          let committed = 0;
          for (const a of actions) {
            const r = rn.raft;
            let input: unknown;
            let run: () => void;
            switch (a.kind) {
              case 'tick':
                run = () => {
                  for (let k = 0; k < a.times; k++) rn.tick();
                };
                break;
              case 'propose':
                run = () => rn.propose(new TextEncoder().encode(`p${++payload}`));
                break;
              case 'transfer':
                run = () => rn.transferLeader(a.transferee);
                break;
              case 'ready':
                run = () => {
                  if (!rn.hasReady()) return;
                  const rd = rn.ready();
                  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
                  storage.append(rd.entries);
                  const sent = [...rd.messages, ...rd.persistedMessages];
                  coverage.timeoutNowSent ||= sent.some(
                    (m) => m.msgType === MessageType.MsgTimeoutNow,
                  );
                  if (sent.length > 0) outbox = sent;
                  rn.advance(rd);
                };
                break;
              case 'reply': {
                const to = outbox[a.pick % Math.max(outbox.length, 1)];
                input = to === undefined ? undefined : reply(to, a.grant);
                if (input === undefined) continue;
                run = () => rn.step(input as Message);
                break;
              }
              case 'hostile':
                input = hostile(a, rn);
                run = () => rn.step(input as Message);
                break;
            }
            const why = `seed ${runSeed}: ${a.kind} ${JSON.stringify(input ?? a)}`;
            const before = stateOf(rn);
            const prior = {
              term: r.term,
              vote: r.vote,
              state: r.state,
              last: r.raftLog.lastIndex(),
              outbox: r.msgs.length,
            };
            let threw = false;
            try {
              run();
            } catch (error) {
              threw = true;
              coverage.malformed ||= error instanceof MalformedMessageError;
              expect(
                error instanceof MalformedMessageError || error instanceof ProposalDroppedError,
                `${why} threw ${String(error)}`,
              ).toBe(true);
              expect(stateOf(rn), `${why} threw and changed the node`).toEqual(before);
            }
            if (!threw && input !== undefined) {
              checkEffect(input as Message, rn, prior, why);
            }
            expect(r.term, `${why}: term went down`).toBeGreaterThanOrEqual(term);
            expect(r.raftLog.committed, `${why}: commit went down`).toBeGreaterThanOrEqual(
              committed,
            );
            term = r.term;
            committed = r.raftLog.committed;
            coverage.preCandidate ||= r.state === StateType.PreCandidate;
            coverage.leader ||= r.state === StateType.Leader;
            coverage.transferring ||= r.leadTransferee !== 0;
          }
        },
      ),
      { seed, numRuns: Number(process.env.FUZZ_RUNS ?? 200) },
    );
    expect(coverage, `seed ${seed}: the fuzzer reached every kind of state`).toEqual({
      preCandidate: true,
      campaignAfterPreVote: true,
      leader: true,
      transferring: true,
      timeoutNowSent: true,
      malformed: true,
    });
  }, 60_000);
});
