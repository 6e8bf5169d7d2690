/**
 * Hostile input: a single `Raft`, and a single `RawNode` driven like a runtime, are fed long
 * random sequences of ticks and messages — mostly plausible ones, aimed at the node's current term
 * and log so that it elects itself, replicates and commits, and many damaged ones: unknown types,
 * negative, fractional, NaN, huge or missing numbers, wrong types, entries with bad indexes, broken
 * snapshots, not even objects.
 *
 * After every step:
 * - the node threw nothing but `MalformedMessageError` or `ProposalDroppedError`;
 * - a step that threw left the node exactly as it was (term, vote, role, leader, timers, log,
 *   commit, progress, votes, outbox);
 * - its term and commit index never went down, and a committed entry never changed.
 *
 * Seeds: FUZZ_SEED=<n> (and FUZZ_RUNS=<count>) choose the runs; fast-check prints the seed, the
 * path and the shrunk counterexample on failure, and every assertion names the run's seed.
 */
import {
  type Entry,
  MalformedMessageError,
  MemoryStorage,
  type Message,
  MessageType,
  ProposalDroppedError,
  Raft,
  RawNode,
  type Ready,
  StateType,
} from '@tinyraft/raft-core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { seededRandom } from '../src/random.js';

const seed = Number(process.env.FUZZ_SEED ?? 72_024);
const peers = [1, 2, 3];

/** A number relative to the node's state, resolved when the step runs, or an absolute one. */
type Rel = 'cur' | 'next' | 'prev' | number;

interface MessageSpec {
  msgType: number;
  from: number;
  term: Rel;
  index: 'last' | 'commit' | 'before-last' | number;
  logTerm: 'match' | Rel;
  commit: 'commit' | 'last' | number;
  reject: boolean;
  entries: Array<{ term: Rel; data: boolean }>;
  snapshot: { ahead: number; term: Rel; nodes: number[] } | null;
  damage: readonly Damage[];
}

/** One way to break a message after building it. */
type Damage =
  | { at: 'message'; field: string; value: unknown }
  | { at: 'entry'; k: number; field: string; value: unknown }
  | { at: 'entries'; value: unknown }
  | { at: 'snapshot'; field: 'metadata' | 'index' | 'term' | 'nodes' | 'data'; value: unknown }
  | { at: 'whole'; value: unknown };

const missing = Symbol('missing');

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    -1,
    -0.5,
    0.5,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    2 ** 53,
    Number.MAX_VALUE,
    '1',
    '',
    null,
    true,
    {},
    [],
    [1],
    1n,
    missing,
  ),
  fc.double(),
  fc.integer({ min: -5, max: 30 }),
);

const rel: fc.Arbitrary<Rel> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Rel>('cur', 'next', 'prev') },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 8 }) },
);

const messageFields = ['msgType', 'to', 'from', 'term', 'logTerm', 'index', 'commit', 'reject'];

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({
    at: fc.constant('message' as const),
    field: fc.constantFrom(...messageFields, 'entries', 'snapshot'),
    value: hostile,
  }),
  fc.record({
    at: fc.constant('entry' as const),
    k: fc.integer({ min: 0, max: 3 }),
    field: fc.constantFrom('entryType', 'term', 'index', 'data'),
    value: hostile,
  }),
  fc.record({ at: fc.constant('entries' as const), value: fc.oneof(hostile, fc.constant([null])) }),
  fc.record({
    at: fc.constant('snapshot' as const),
    field: fc.constantFrom('metadata', 'index', 'term', 'nodes', 'data'),
    value: fc.oneof(hostile, fc.constant([0]), fc.constant([-1, 2])),
  }),
  fc.record({ at: fc.constant('whole' as const), value: hostile }),
);

const messageSpec: fc.Arbitrary<MessageSpec> = fc.record({
  msgType: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...Object.values(MessageType)) },
    { weight: 1, arbitrary: fc.integer({ min: -2, max: 20 }) },
  ),
  from: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(2, 3) }, fc.constantFrom(0, 1, 4, 99)),
  term: rel,
  index: fc.oneof(
    fc.constantFrom<MessageSpec['index']>('last', 'commit', 'before-last'),
    fc.integer({ min: 0, max: 12 }),
  ),
  logTerm: fc.oneof(fc.constant<'match'>('match'), rel),
  commit: fc.oneof(
    fc.constantFrom<MessageSpec['commit']>('commit', 'last'),
    fc.integer({ min: 0, max: 12 }),
  ),
  reject: fc.boolean(),
  entries: fc.array(fc.record({ term: rel, data: fc.boolean() }), { maxLength: 4 }),
  snapshot: fc.option(
    fc.record({
      ahead: fc.integer({ min: -2, max: 4 }),
      term: rel,
      nodes: fc.constantFrom([1, 2, 3], [2, 3], [1, 2, 3, 4, 5], [], [7]),
    }),
  ),
  damage: fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(damage, { minLength: 1, maxLength: 3 }) },
  ),
});

type Action =
  | { kind: 'tick'; times: number }
  | { kind: 'step'; spec: MessageSpec }
  /** A peer's natural answer to one of the node's last outgoing messages, granted or not. */
  | { kind: 'reply'; pick: number; grant: boolean; damage: readonly Damage[] }
  | { kind: 'propose'; entries: number }
  | { kind: 'ready' }
  | { kind: 'restart' };

const actions = (withRuntime: boolean): fc.Arbitrary<Action[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('tick' as const),
          times: fc.integer({ min: 1, max: 12 }),
        }),
      },
      {
        weight: 8,
        arbitrary: fc.record({ kind: fc.constant('step' as const), spec: messageSpec }),
      },
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('reply' as const),
          pick: fc.nat(),
          grant: fc.boolean(),
          damage: fc.oneof(
            { weight: 4, arbitrary: fc.constant([]) },
            { weight: 1, arbitrary: fc.array(damage, { minLength: 1, maxLength: 2 }) },
          ),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('propose' as const),
          entries: fc.integer({ min: 0, max: 3 }),
        }),
      },
      { weight: withRuntime ? 4 : 0, arbitrary: fc.constant({ kind: 'ready' as const }) },
      { weight: withRuntime ? 1 : 0, arbitrary: fc.constant({ kind: 'restart' as const }) },
    ),
    { minLength: 20, maxLength: 200, size: 'max' },
  );

let payloads = 0;

/** What peer `m.to` would answer to the node's message `m`, if anything. */
function reply(m: Message, grant: boolean, damages: readonly Damage[]): unknown {
  const base = {
    to: m.from,
    from: m.to,
    term: m.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: !grant,
  };
  let answer: Record<string, unknown> | undefined;
  switch (m.msgType) {
    case MessageType.MsgRequestVote:
      answer = { ...base, msgType: MessageType.MsgRequestVoteResponse };
      break;
    case MessageType.MsgAppend:
      answer = grant
        ? { ...base, msgType: MessageType.MsgAppendResponse, index: m.index + m.entries.length }
        : { ...base, msgType: MessageType.MsgAppendResponse, index: Math.max(m.index - 1, 0) };
      break;
    case MessageType.MsgSnapshot:
      answer = {
        ...base,
        msgType: MessageType.MsgAppendResponse,
        index: m.snapshot?.metadata.index ?? 0,
        reject: false,
      };
      break;
    case MessageType.MsgHeartbeat:
      answer = { ...base, msgType: MessageType.MsgHeartbeatResponse, reject: false };
      break;
  }
  let whole: unknown = answer;
  for (const d of damages) {
    whole = applyDamage(whole, d);
  }
  return whole;
}

/** Builds the (possibly broken) message a spec describes, against the node's current state. */
function build(spec: MessageSpec, r: Raft): unknown {
  const log = r.raftLog;
  const term = (t: Rel): number =>
    t === 'cur' ? r.term : t === 'next' ? r.term + 1 : t === 'prev' ? Math.max(r.term - 1, 0) : t;
  const index =
    spec.index === 'last'
      ? log.lastIndex()
      : spec.index === 'commit'
        ? log.committed
        : spec.index === 'before-last'
          ? Math.max(log.lastIndex() - 1, 0)
          : spec.index;
  const logTerm = spec.logTerm === 'match' ? (log.termOrUndefined(index) ?? 0) : term(spec.logTerm);
  const entries = spec.entries.map((e, k) => {
    const entry: Entry = { entryType: 0, term: term(e.term), index: index + 1 + k };
    if (e.data) {
      entry.data = new TextEncoder().encode(`f${++payloads}`);
    }
    return entry;
  });
  const m: Record<string, unknown> = {
    msgType: spec.msgType,
    to: r.id,
    from: spec.from,
    term: term(spec.term),
    logTerm,
    index,
    entries,
    commit:
      spec.commit === 'commit'
        ? log.committed
        : spec.commit === 'last'
          ? log.lastIndex()
          : spec.commit,
    reject: spec.reject,
  };
  if (spec.snapshot !== null) {
    m.snapshot = {
      metadata: {
        index: Math.max(log.lastIndex() + spec.snapshot.ahead, 0),
        term: term(spec.snapshot.term),
        confState: { nodes: spec.snapshot.nodes },
      },
    };
  }
  let whole: unknown = m;
  for (const d of spec.damage) {
    whole = applyDamage(whole, d);
  }
  return whole;
}

function set(target: unknown, field: string, value: unknown): void {
  if (typeof target !== 'object' || target === null) {
    return;
  }
  const t = target as Record<string, unknown>;
  if (value === missing) {
    delete t[field];
  } else {
    t[field] = value;
  }
}

function applyDamage(m: unknown, d: Damage): unknown {
  if (d.at === 'whole') {
    return d.value === missing ? undefined : d.value;
  }
  if (typeof m !== 'object' || m === null) {
    return m;
  }
  const msg = m as Record<string, unknown>;
  switch (d.at) {
    case 'message':
      set(msg, d.field, d.value);
      break;
    case 'entries':
      set(msg, 'entries', d.value);
      break;
    case 'entry': {
      const entries = msg.entries;
      if (Array.isArray(entries) && entries.length > 0) {
        const k = d.k % entries.length;
        entries[k] = { ...entries[k] };
        set(entries[k], d.field, d.value);
      }
      break;
    }
    case 'snapshot': {
      const snap = (msg.snapshot ?? {
        metadata: { index: 1, term: 1, confState: { nodes: [1] } },
      }) as {
        metadata?: { confState?: object };
      };
      msg.snapshot = snap;
      if (d.field === 'metadata' || d.field === 'data') {
        set(snap, d.field, d.value);
      } else if (d.field === 'nodes') {
        set(snap.metadata?.confState, 'nodes', d.value);
      } else {
        set(snap.metadata, d.field, d.value);
      }
      break;
    }
  }
  return m;
}

/** Everything a refused step must leave untouched. */
function stateOf(r: Raft): unknown {
  const log = r.raftLog;
  return {
    term: r.term,
    vote: r.vote,
    state: r.state,
    lead: r.lead,
    electionElapsed: r.electionElapsed,
    heartbeatElapsed: r.heartbeatElapsed,
    randomizedElectionTimeout: r.randomizedElectionTimeout,
    committed: log.committed,
    applied: log.applied,
    stabled: log.stabled,
    first: log.firstIndex(),
    entries: log.entries.map((e) => [e.index, e.term, e.entryType, e.data?.join(',')]),
    pendingSnapshot: log.pendingSnapshot?.metadata.index,
    prs: [...r.prs].map(([id, p]) => [id, { ...p }]),
    votes: [...r.votes],
    outbox: r.msgs.length,
  };
}

const entryKey = (e: Entry): string => `${e.term}/${e.entryType}/${e.data?.join(',') ?? '-'}`;

/** The invariants that hold for one node whatever it is sent. */
class NodeInvariants {
  private term = 0;
  private committed = 0;
  private readonly committedEntries = new Map<number, string>();

  constructor(private readonly runSeed: number) {}

  check(r: Raft, after: string): void {
    const log = r.raftLog;
    coverage.leader ||= r.state === StateType.Leader;
    coverage.commit ||= log.committed > 0;
    coverage.snapshot ||= log.firstIndex() > 1;
    expect(r.term, `seed ${this.runSeed}: term went down after ${after}`).toBeGreaterThanOrEqual(
      this.term,
    );
    expect(
      log.committed,
      `seed ${this.runSeed}: commit went down after ${after}`,
    ).toBeGreaterThanOrEqual(this.committed);
    expect(log.committed, `seed ${this.runSeed}: commit past the log`).toBeLessThanOrEqual(
      log.lastIndex(),
    );
    this.term = r.term;
    this.committed = log.committed;
    const first = log.firstIndex();
    for (let i = first; i <= log.committed; i++) {
      const key = entryKey(log.entries[i - first] as Entry);
      const before = this.committedEntries.get(i);
      if (before === undefined) {
        this.committedEntries.set(i, key);
      } else {
        expect(key, `seed ${this.runSeed}: committed entry ${i} changed after ${after}`).toBe(
          before,
        );
      }
    }
  }

  /**
   * A restart goes back to what was persisted: term and commit may fall back to the persisted
   * ones, and entries committed past the persisted commit may be replaced.
   */
  restarted(r: Raft): void {
    this.term = r.term;
    this.committed = r.raftLog.committed;
    for (const i of this.committedEntries.keys()) {
      if (i > this.committed) {
        this.committedEntries.delete(i);
      }
    }
  }
}

/**
 * What a 'step' action (a built message, however malformed) or a 'reply' action (an answer to one
 * of the messages in `outbox`) feeds the node; `undefined` when a reply has nothing to answer.
 */
function inputOf(
  a: Extract<Action, { kind: 'step' | 'reply' }>,
  r: Raft,
  outbox: readonly Message[],
): { input: unknown } | undefined {
  if (a.kind === 'step') {
    return { input: build(a.spec, r) };
  }
  const to = outbox[a.pick % Math.max(outbox.length, 1)];
  return to === undefined ? undefined : { input: reply(to, a.grant, a.damage) };
}

function describeInput(m: unknown): string {
  try {
    return JSON.stringify(m, (_k, v) =>
      typeof v === 'bigint' || typeof v === 'symbol'
        ? String(v)
        : v instanceof Uint8Array
          ? [...v]
          : v,
    );
  } catch {
    return String(m);
  }
}

/** Steps `input`; a throw must be one of the documented errors and must change nothing. */
function stepChecked(r: Raft, step: () => void, input: string, runSeed: number): void {
  const before = stateOf(r);
  try {
    step();
  } catch (error) {
    coverage.malformed ||= error instanceof MalformedMessageError;
    coverage.dropped ||= error instanceof ProposalDroppedError;
    const typed = error instanceof MalformedMessageError || error instanceof ProposalDroppedError;
    expect(typed, `seed ${runSeed}: ${input} threw ${String(error)}`).toBe(true);
    expect(
      stateOf(r),
      `seed ${runSeed}: ${input} threw ${String(error)} and changed the node`,
    ).toEqual(before);
  }
}

function proposal(n: number): Message {
  const entries: Entry[] = Array.from({ length: n }, () => ({
    entryType: 0,
    term: 0,
    index: 0,
    data: new TextEncoder().encode(`c${++payloads}`),
  }));
  return {
    msgType: MessageType.MsgPropose,
    to: 1,
    from: 1,
    term: 0,
    logTerm: 0,
    index: 0,
    entries,
    commit: 0,
    reject: false,
  };
}

/**
 * What the fuzzer reached, so that a change that makes it miss the interesting states (a node that
 * never leads, never commits) fails instead of passing vacuously.
 */
const coverage = {
  leader: false,
  commit: false,
  snapshot: false,
  malformed: false,
  dropped: false,
};

function expectCoverage(): void {
  expect(coverage, `seed ${seed}: the fuzzer reached every kind of state`).toEqual({
    leader: true,
    commit: true,
    snapshot: true,
    malformed: true,
    dropped: true,
  });
  for (const k of Object.keys(coverage) as Array<keyof typeof coverage>) {
    coverage[k] = false;
  }
}

describe('fuzz: hostile messages never crash a node or corrupt it', () => {
  test('a Raft fed random and broken messages and ticks throws only typed errors, and a throw changes nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), actions(false), (runSeed, list) => {
        const r = new Raft({
          id: 1,
          peers,
          electionTick: 10,
          heartbeatTick: 1,
          storage: new MemoryStorage(),
          random: seededRandom(runSeed),
        });
        const invariants = new NodeInvariants(runSeed);
        let outbox: Message[] = [];
        for (const a of list) {
          if (a.kind === 'tick') {
            for (let k = 0; k < a.times; k++) {
              stepChecked(r, () => r.tick(), 'tick', runSeed);
            }
            invariants.check(r, 'ticks');
          } else if (a.kind === 'propose') {
            const m = proposal(a.entries);
            stepChecked(r, () => r.step(m), 'a proposal', runSeed);
            invariants.check(r, 'a proposal');
          } else if (a.kind === 'step' || a.kind === 'reply') {
            const fed = inputOf(a, r, outbox);
            if (fed !== undefined) {
              const m = fed.input;
              const input = describeInput(m);
              stepChecked(r, () => r.step(m as Message), input, runSeed);
              invariants.check(r, input);
            }
          }
          const sent = r.readMessages();
          if (sent.length > 0) {
            outbox = sent;
          }
        }
      }),
      { seed, numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
    );
    expectCoverage();
  }, 60_000);

  test('a RawNode driven like a runtime (persist, apply, advance, restart) stays consistent under the same input', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), actions(true), (runSeed, list) => {
        const storage = new MemoryStorage();
        const random = seededRandom(runSeed);
        const start = (): RawNode =>
          new RawNode({ id: 1, peers, electionTick: 10, heartbeatTick: 1, storage, random });
        let node = start();
        let applied = 0;
        let outbox: Message[] = [];
        const invariants = new NodeInvariants(runSeed);
        const handleReady = (rd: Ready): void => {
          if (rd.hardState !== undefined) {
            const before = storage.initialState().hardState;
            expect(
              rd.hardState.term,
              `seed ${runSeed}: persisted term went down`,
            ).toBeGreaterThanOrEqual(before.term);
            expect(
              rd.hardState.commit,
              `seed ${runSeed}: persisted commit went down`,
            ).toBeGreaterThanOrEqual(before.commit);
            storage.setHardState(rd.hardState);
          }
          if (rd.snapshot !== undefined) {
            storage.applySnapshot(rd.snapshot);
            applied = rd.snapshot.metadata.index;
          }
          storage.append(rd.entries);
          for (const e of rd.committedEntries) {
            expect(e.index, `seed ${runSeed}: entries are applied in order, once`).toBe(
              applied + 1,
            );
            applied = e.index;
          }
          node.advance(rd);
        };
        for (const a of list) {
          const r = node.raft;
          switch (a.kind) {
            case 'tick':
              for (let k = 0; k < a.times; k++) {
                stepChecked(r, () => node.tick(), 'tick', runSeed);
              }
              break;
            case 'propose':
              stepChecked(
                r,
                () =>
                  node.proposeBatch(proposal(a.entries).entries.map((e) => e.data as Uint8Array)),
                'a proposal',
                runSeed,
              );
              break;
            case 'step':
            case 'reply': {
              const fed = inputOf(a, r, outbox);
              if (fed !== undefined) {
                const m = fed.input;
                stepChecked(r, () => node.step(m as Message), describeInput(m), runSeed);
              }
              break;
            }
            case 'ready':
              if (node.hasReady()) {
                const rd = node.ready();
                handleReady(rd);
                if (rd.messages.length + rd.persistedMessages.length > 0) {
                  outbox = [...rd.messages, ...rd.persistedMessages];
                }
              }
              break;
            case 'restart': {
              const persisted = storage.initialState().hardState;
              node = start();
              applied = storage.firstIndex() - 1;
              expect(
                [node.raft.term, node.raft.vote, node.raft.raftLog.committed],
                `seed ${runSeed}: a restarted node resumes from its persisted hard state`,
              ).toEqual([persisted.term, persisted.vote, persisted.commit]);
              invariants.restarted(node.raft);
              break;
            }
          }
          invariants.check(node.raft, a.kind);
        }
      }),
      { seed, numRuns: Number(process.env.FUZZ_RUNS ?? 100) },
    );
    expectCoverage();
  }, 60_000);
});
