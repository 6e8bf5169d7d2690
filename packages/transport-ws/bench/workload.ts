/**
 * What the benches send: the messages, the equivalent raw frames for the plain `ws` baseline, and
 * the acknowledgements the peer sends back. Shared by the driver (run.ts) and the peer process.
 */
import { EntryType, type Message, MessageType, message } from '@tinyraft/raft-core';
import { encodeMessages } from '../src/index.js';

/** The driver is node 1 and sends; the forked peer is node 2 and acknowledges. */
export const SENDER_ID = 1;
export const PEER_ID = 2;
const TERM = 9;

export type Impl = 'tinyraft' | 'raw';

export interface Workload {
  /** The row label. */
  name: string;
  /** What one `send` carries: one frame. */
  messages: Message[];
  /** The same number of bytes as tinyraft's frame for `messages`, for the raw baseline. */
  rawFrame: Buffer;
  /** Messages per throughput sample; a multiple of `ackEvery`. */
  total: number;
  /** The peer acknowledges every `ackEvery` messages; a multiple of `messages.length`. */
  ackEvery: number;
  /** At most this many messages are sent and not yet acknowledged; a multiple of `ackEvery`. */
  window: number;
}

function heartbeat(): Message {
  return message({
    msgType: MessageType.MsgHeartbeat,
    from: SENDER_ID,
    to: PEER_ID,
    term: TERM,
    commit: 1_234_567,
  });
}

function append(entries: number, bytes: number): Message {
  return message({
    msgType: MessageType.MsgAppend,
    from: SENDER_ID,
    to: PEER_ID,
    term: TERM,
    logTerm: TERM,
    index: 1_000_000,
    commit: 999_990,
    entries: Array.from({ length: entries }, (_, k) => ({
      entryType: EntryType.Normal,
      term: TERM,
      index: 1_000_001 + k,
      data: new Uint8Array(bytes).fill(k),
    })),
  });
}

function workload(
  name: string,
  messages: Message[],
  sizes: Pick<Workload, 'total' | 'ackEvery' | 'window'>,
): Workload {
  const perSend = messages.length;
  if (sizes.ackEvery % perSend !== 0 || sizes.total % sizes.ackEvery !== 0) {
    throw new Error(`workload ${name}: total and ackEvery must be multiples of ${perSend}`);
  }
  if (sizes.window % sizes.ackEvery !== 0) {
    throw new Error(`workload ${name}: window ${sizes.window} is no multiple of ${sizes.ackEvery}`);
  }
  // A copy, so that nothing the baseline does to its buffer can touch tinyraft's bytes.
  return { name, messages, rawFrame: Buffer.from(encodeMessages(messages)), ...sizes };
}

/**
 * Heartbeat-sized messages one and 64 per send (a leader's heartbeats and the responses to them),
 * and a MsgAppend of 64 entries of 256 bytes (replication under load). The totals make one
 * throughput sample last a few hundred milliseconds on a 2-core machine.
 */
export function workloads(): Workload[] {
  return [
    workload('heartbeat, 1 per send', [heartbeat()], {
      total: 60_000,
      ackEvery: 500,
      window: 4_000,
    }),
    workload(
      'heartbeat, 64 per send',
      Array.from({ length: 64 }, () => heartbeat()),
      { total: 655_360, ackEvery: 2_048, window: 16_384 },
    ),
    workload('MsgAppend, 64 × 256 B', [append(64, 256)], {
      total: 6_000,
      ackEvery: 8,
      window: 64,
    }),
  ];
}

/** The peer's acknowledgement over tinyraft: how many messages it has received this sample. */
export function ack(received: number): Message {
  return message({
    msgType: MessageType.MsgHeartbeatResponse,
    from: PEER_ID,
    to: SENDER_ID,
    term: TERM,
    commit: received,
  });
}

/** The raw baseline's acknowledgement: the count, padded to the size of tinyraft's. */
const RAW_ACK_BYTES = encodeMessages([ack(1_000_000)]).length;

export function rawAck(received: number): Buffer {
  const b = Buffer.alloc(RAW_ACK_BYTES);
  b.writeUInt32LE(received, 0);
  return b;
}

export function readRawAck(frame: Buffer): number {
  return frame.readUInt32LE(0);
}
